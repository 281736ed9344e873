//! Child processes of the control plane, and a reaper that removes them if the test process dies
//! without running destructors (SIGKILL, `std::process::exit`, a `static` cluster never dropped).

use std::fs::File;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::time::Duration;

use anyhow::Context;

/// A running child whose stdout and stderr go to a log file. Dropping it kills it (SIGKILL) and
/// waits for it, so its files can be removed afterwards.
pub struct ManagedProcess {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl ManagedProcess {
    pub fn spawn(name: &'static str, program: &Path, args: &[String], log: PathBuf) -> anyhow::Result<Self> {
        Self::spawn_with_env(name, program, args, &[], log)
    }

    /// Like [`ManagedProcess::spawn`], with extra environment variables for the child.
    pub fn spawn_with_env(
        name: &'static str,
        program: &Path,
        args: &[String],
        env: &[(&str, &std::ffi::OsStr)],
        log: PathBuf,
    ) -> anyhow::Result<Self> {
        let out = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone().context("duplicating a log file handle")?;
        let child = Command::new(program)
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("starting {name} ({})", program.display()))?;
        Ok(ManagedProcess { name, child, log })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Some(status)` once the process has exited.
    pub fn exited(&mut self) -> anyhow::Result<Option<ExitStatus>> {
        self.child
            .try_wait()
            .with_context(|| format!("checking whether {} is running", self.name))
    }

    /// Fails with the log tail if the process has exited.
    pub fn ensure_running(&mut self) -> anyhow::Result<()> {
        match self.exited()? {
            None => Ok(()),
            Some(status) => anyhow::bail!(
                "{} exited ({status}); last log lines:\n{}",
                self.name,
                self.log_tail(30)
            ),
        }
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    pub fn log_contains(&self, needle: &str) -> bool {
        std::fs::read_to_string(&self.log).is_ok_and(|t| t.contains(needle))
    }

    fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Drop for ManagedProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A [`ManagedProcess`] watched by a [`Reaper`] of its own: the suites' long-running helpers
/// (Traefik, Pebble, DNS servers, cert-manager). Dropping it kills the process; if the test
/// process dies without dropping it, the reaper does.
pub struct Supervised {
    // Drop order: the reaper is disarmed in Drop, then the process is killed.
    reaper: Reaper,
    process: ManagedProcess,
}

impl Supervised {
    pub fn spawn(name: &'static str, program: &Path, args: &[String], log: PathBuf) -> anyhow::Result<Self> {
        Self::spawn_with_env(name, program, args, &[], log)
    }

    /// Like [`Supervised::spawn`], with extra environment variables for the child.
    pub fn spawn_with_env(
        name: &'static str,
        program: &Path,
        args: &[String],
        env: &[(&str, &std::ffi::OsStr)],
        log: PathBuf,
    ) -> anyhow::Result<Self> {
        let mut reaper = Reaper::spawn()?;
        let process = ManagedProcess::spawn_with_env(name, program, args, env, log)?;
        reaper.watch_pid(process.pid())?;
        Ok(Supervised { reaper, process })
    }
}

impl std::ops::Deref for Supervised {
    type Target = ManagedProcess;
    fn deref(&self) -> &ManagedProcess {
        &self.process
    }
}

impl std::ops::DerefMut for Supervised {
    fn deref_mut(&mut self) -> &mut ManagedProcess {
        &mut self.process
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        self.reaper.disarm();
    }
}

/// A `sh` in its own process group holding the read end of a pipe from this process. When the
/// pipe closes without `disarm` (this process died), it SIGKILLs the registered pids and removes
/// the registered directory. Pipes are close-on-exec, so no other child keeps it open.
pub struct Reaper {
    child: Child,
    stdin: Option<ChildStdin>,
}

const REAPER_SCRIPT: &str = r#"
pids=; dir=
while IFS= read -r line; do
  case "$line" in
    "pid "*) pids="$pids ${line#pid }" ;;
    "dir "*) dir="${line#dir }" ;;
    disarm) exit 0 ;;
  esac
done
for p in $pids; do kill -KILL "$p" 2>/dev/null; done
i=0
while [ "$i" -lt 50 ]; do
  alive=
  for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
  [ -z "$alive" ] && break
  sleep 0.1; i=$((i + 1))
done
[ -n "$dir" ] && rm -rf -- "$dir"
"#;

impl Reaper {
    pub fn spawn() -> anyhow::Result<Reaper> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(REAPER_SCRIPT)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Own process group: a terminal's Ctrl-C must not kill it before it can clean up.
            .process_group(0)
            .spawn()
            .context("starting the clean-up watchdog (sh)")?;
        let stdin = child.stdin.take();
        Ok(Reaper { child, stdin })
    }

    pub fn watch_pid(&mut self, pid: u32) -> anyhow::Result<()> {
        self.send(&format!("pid {pid}"))
    }

    pub fn watch_dir(&mut self, dir: &Path) -> anyhow::Result<()> {
        let dir = dir.to_str().context("temporary directory path is not UTF-8")?;
        anyhow::ensure!(!dir.contains('\n'), "temporary directory path contains a newline");
        self.send(&format!("dir {dir}"))
    }

    fn send(&mut self, line: &str) -> anyhow::Result<()> {
        let stdin = self.stdin.as_mut().context("the clean-up watchdog is disarmed")?;
        writeln!(stdin, "{line}").context("talking to the clean-up watchdog")?;
        stdin.flush().context("talking to the clean-up watchdog")
    }

    /// Orderly shutdown: the owner cleans up itself, so the watchdog exits without acting.
    pub fn disarm(&mut self) {
        let _ = self.send("disarm");
        self.stdin = None;
        for _ in 0..20 {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        if self.stdin.is_some() {
            self.disarm();
        }
    }
}

/// A uniquely named directory under the system temp dir, removed on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(prefix: &str) -> anyhow::Result<TempDir> {
        let base = std::env::temp_dir();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        for attempt in 0..100u32 {
            let path = base.join(format!("{prefix}{}-{nanos:x}-{attempt}", std::process::id()));
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(TempDir { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
            }
        }
        anyhow::bail!("could not create a unique temporary directory under {}", base.display())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_is_killed_on_drop() -> anyhow::Result<()> {
        let dir = TempDir::new("tgw-e2e-test-")?;
        let proc = ManagedProcess::spawn("sleep", Path::new("sleep"), &["600".into()], dir.path().join("log"))?;
        let pid = proc.pid();
        drop(proc);
        // Killed and reaped: the pid is gone.
        assert!(!Path::new(&format!("/proc/{pid}")).exists());
        Ok(())
    }

    #[test]
    fn reaper_kills_and_removes_when_owner_goes_away() -> anyhow::Result<()> {
        let dir = TempDir::new("tgw-e2e-test-")?;
        let state = dir.path().join("state");
        std::fs::create_dir(&state)?;
        let mut sleeper = Command::new("sleep").arg("600").spawn()?;
        let mut reaper = Reaper::spawn()?;
        reaper.watch_pid(sleeper.id())?;
        reaper.watch_dir(&state)?;
        // Simulate the owner dying: close the pipe without disarming.
        reaper.stdin = None;
        let status = sleeper.wait()?;
        assert!(!status.success());
        for _ in 0..100 {
            if !state.exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!state.exists());
        let _ = reaper.child.wait();
        Ok(())
    }
}
