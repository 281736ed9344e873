//! The private network namespace the data-plane suite and the demo's data plane run in.
//!
//! A test calls [`rerun_inside`] when [`inside`] is false: the test binary runs again, filtered to
//! that one test, under `unshare --net` with `lo` up and [`ADDRESS`] added to it. Cargo and the Go
//! build run before, outside (the namespace has no route anywhere). Being root inside the namespace
//! (real root, or `--map-root-user` for an unprivileged caller) lets Traefik bind ports 80 and 443.

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, ensure};

/// The namespace's only non-loopback address: backends, Traefik's entry points and the client use
/// it. Private (RFC 1918), outside the test API server's service range (10.0.0.0/24).
pub const ADDRESS: Ipv4Addr = Ipv4Addr::new(10, 89, 0, 1);

/// Set (to [`ADDRESS`]) in the environment of the re-run inside the namespace.
pub const ENV: &str = "TGW_DATAPLANE_NETNS";

/// The shell step run inside the new namespace before the program: `lo` up, [`ADDRESS`] on it.
pub fn setup_script() -> String {
    format!("ip link set lo up && ip addr add {ADDRESS}/32 dev lo && exec \"$0\" \"$@\"")
}

/// True when this process runs inside the namespace [`rerun_inside`] prepared.
pub fn inside() -> bool {
    std::env::var(ENV).is_ok_and(|v| v == ADDRESS.to_string())
}

/// A `Command` that runs `program args` inside a fresh network namespace set up by
/// [`setup_script`]. Needs `unshare` (util-linux) and `ip` (iproute2).
pub fn command(program: &Path, args: &[String]) -> anyhow::Result<Command> {
    let mut cmd = Command::new("unshare");
    if !is_root()? {
        cmd.arg("--map-root-user");
    }
    cmd.args(["--net", "--", "sh", "-c", &setup_script()])
        .arg(program)
        .args(args)
        .env(ENV, ADDRESS.to_string());
    Ok(cmd)
}

/// Runs test `name` of the current test binary again inside a fresh network namespace and fails
/// if it fails there. Its output goes to this process's stdout/stderr.
pub fn rerun_inside(name: &str) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("locating the test binary")?;
    let args = [name, "--exact", "--nocapture", "--test-threads=1"].map(str::to_owned);
    let status = command(&exe, &args)?
        .status()
        .context("running `unshare --net` (util-linux) for the data-plane network namespace")?;
    ensure!(
        status.success(),
        "{name} failed inside its network namespace ({status}); its output is above"
    );
    Ok(())
}

/// True when a namespace can be made here (root, or unprivileged user namespaces allowed, and
/// `unshare` and `ip` installed): tries it with `true` as the program.
pub fn available() -> bool {
    command(Path::new("true"), &[])
        .map(|mut c| {
            c.stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .unwrap_or(false)
}

fn is_root() -> anyhow::Result<bool> {
    let status = std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|rest| rest.split_whitespace().nth(1))
        .context("no effective uid in /proc/self/status")?;
    Ok(euid == "0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setup_adds_the_private_address_to_lo_and_execs_the_program() {
        assert_eq!(
            setup_script(),
            "ip link set lo up && ip addr add 10.89.0.1/32 dev lo && exec \"$0\" \"$@\""
        );
        assert!(ADDRESS.is_private() && !ADDRESS.is_loopback());
    }
}
