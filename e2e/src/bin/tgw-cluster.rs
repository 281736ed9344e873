//! `tgw-cluster`: a local control plane for the demo and for manual testing.
//!
//! ```text
//! tgw-cluster up [--dir .cluster] [--detach]   start; write <dir>/pid, then <dir>/kubeconfig once ready
//! tgw-cluster down [--dir .cluster]            stop a running `up` (SIGTERM) and wait for it
//! tgw-cluster status [--dir .cluster]          say whether one is running
//! ```
//! `up` stays in the foreground until SIGTERM or SIGINT; with `--detach` it starts itself in the
//! background (log in `<dir>/cluster.log`) and returns once the kubeconfig is written. Both `up`
//! and `down` are idempotent.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tgw_e2e::TestCluster;

const USAGE: &str = "usage: tgw-cluster (up [--detach] | down | status) [--dir DIR]";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tgw-cluster: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

struct Paths {
    dir: PathBuf,
    pid: PathBuf,
    kubeconfig: PathBuf,
    log: PathBuf,
}

impl Paths {
    fn new(dir: PathBuf) -> Paths {
        Paths {
            pid: dir.join("pid"),
            kubeconfig: dir.join("kubeconfig"),
            log: dir.join("cluster.log"),
            dir,
        }
    }
}

fn run() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let command = args.next().context(USAGE)?;
    let mut dir = PathBuf::from(".cluster");
    let mut detach = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--dir" => dir = PathBuf::from(args.next().context("--dir needs a value")?),
            "--detach" => detach = true,
            other => bail!("unexpected argument {other:?}\n{USAGE}"),
        }
    }
    let paths = Paths::new(dir);
    match command.as_str() {
        "up" if detach => up_detached(&paths),
        "up" => up_foreground(&paths),
        "down" => down(&paths),
        "status" => {
            match running_pid(&paths)? {
                Some(pid) if paths.kubeconfig.is_file() => {
                    println!("running (pid {pid}); kubeconfig: {}", paths.kubeconfig.display());
                }
                Some(pid) => println!("starting (pid {pid})"),
                None => println!("not running"),
            }
            Ok(())
        }
        _ => bail!("{USAGE}"),
    }
}

/// The pid in `<dir>/pid` if that process is a live tgw-cluster.
fn running_pid(paths: &Paths) -> anyhow::Result<Option<u32>> {
    let Ok(text) = std::fs::read_to_string(&paths.pid) else {
        return Ok(None);
    };
    let pid: u32 = text
        .trim()
        .parse()
        .with_context(|| format!("{} holds no pid", paths.pid.display()))?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let zombie = stat
        .rsplit(')')
        .next()
        .is_some_and(|rest| rest.trim_start().starts_with('Z'));
    let ours = cmdline
        .split(|b| *b == 0)
        .next()
        .is_some_and(|argv0| argv0.ends_with(b"tgw-cluster"));
    Ok((ours && !zombie).then_some(pid))
}

fn up_detached(paths: &Paths) -> anyhow::Result<()> {
    if let Some(pid) = running_pid(paths)? {
        if paths.kubeconfig.is_file() {
            println!(
                "cluster already running (pid {pid}); kubeconfig: {}",
                abs(&paths.kubeconfig).display()
            );
            return Ok(());
        }
    } else {
        clear(paths);
    }
    std::fs::create_dir_all(&paths.dir).with_context(|| format!("creating {}", paths.dir.display()))?;
    let log = std::fs::File::create(&paths.log).with_context(|| format!("creating {}", paths.log.display()))?;
    let log_err = log.try_clone().context("duplicating the log handle")?;
    let exe = std::env::current_exe().context("locating the tgw-cluster executable")?;
    let mut child = Command::new(exe)
        .arg("up")
        .arg("--dir")
        .arg(&paths.dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        // Own process group: it outlives the caller (make) and its terminal's signals.
        .process_group(0)
        .spawn()
        .context("starting tgw-cluster in the background")?;
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        if paths.kubeconfig.is_file() {
            println!(
                "cluster up (pid {}); kubeconfig: {}",
                child.id(),
                abs(&paths.kubeconfig).display()
            );
            println!("  export KUBECONFIG={}", abs(&paths.kubeconfig).display());
            return Ok(());
        }
        if let Some(status) = child.try_wait().context("checking the background tgw-cluster")? {
            let log = std::fs::read_to_string(&paths.log).unwrap_or_default();
            bail!("tgw-cluster up exited ({status}) before the cluster was ready:\n{log}");
        }
        if Instant::now() > deadline {
            bail!("cluster not ready after 180s; see {}", paths.log.display());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn up_foreground(paths: &Paths) -> anyhow::Result<()> {
    if let Some(pid) = running_pid(paths)?
        && pid != std::process::id()
    {
        bail!("a cluster is already running from {} (pid {pid})", paths.dir.display());
    }
    std::fs::create_dir_all(&paths.dir).with_context(|| format!("creating {}", paths.dir.display()))?;
    let _ = std::fs::remove_file(&paths.kubeconfig);
    write_atomic(&paths.pid, format!("{}\n", std::process::id()).as_bytes())?;
    let runtime = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    let result = runtime.block_on(serve(paths));
    clear(paths);
    result
}

async fn serve(paths: &Paths) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut cluster = tokio::select! {
        c = TestCluster::start() => c?,
        _ = term.recv() => return Ok(()),
        _ = int.recv() => return Ok(()),
    };
    let kubeconfig = std::fs::read(cluster.kubeconfig_path()).context("reading the cluster's kubeconfig")?;
    write_atomic(&paths.kubeconfig, &kubeconfig)?;
    println!(
        "cluster ready at {}; kubeconfig {}",
        cluster.server_url(),
        abs(&paths.kubeconfig).display()
    );
    let mut check = tokio::time::interval(Duration::from_secs(2));
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = check.tick() => cluster.ensure_running()?,
        }
    }
    println!("stopping the cluster");
    drop(cluster);
    Ok(())
}

fn down(paths: &Paths) -> anyhow::Result<()> {
    let Some(pid) = running_pid(paths)? else {
        clear(paths);
        println!("no cluster running");
        return Ok(());
    };
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .context("running kill")?;
    anyhow::ensure!(status.success(), "kill -TERM {pid} failed");
    let deadline = Instant::now() + Duration::from_secs(30);
    while running_pid(paths)?.is_some() {
        if Instant::now() > deadline {
            bail!("tgw-cluster (pid {pid}) did not stop within 30s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    clear(paths);
    println!("cluster stopped (pid {pid})");
    Ok(())
}

fn clear(paths: &Paths) {
    let _ = std::fs::remove_file(&paths.kubeconfig);
    let _ = std::fs::remove_file(&paths.pid);
}

fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
}

fn abs(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
