//! cert-manager's controller (our main over the root module's packages, built by
//! `e2e/scripts/build-certmanager.sh`) against the test API server, with the Gateway API HTTP-01
//! solver enabled and every self-check DNS lookup sent to challtestsrv.

use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::process::{ManagedProcess, Reaper};

const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Logged by our main once every controller is constructed and the informers started.
const STARTED: &str = "starting controllers";

/// How cert-manager reaches the ACME server.
pub struct AcmeTransport<'a> {
    /// PEM bundle that replaces the system roots (`SSL_CERT_FILE`) for the ACME client.
    pub trust_pem: &'a str,
    /// `HTTPS_PROXY` for the ACME client ([`super::front`]); loopback, where the API server
    /// listens, is never proxied.
    pub https_proxy: Option<&'a str>,
    /// Domains never proxied (`NO_PROXY`, each also covering its subdomains): the tenants' names.
    /// cert-manager's HTTP-01 self-check honours the proxy variables too, and follows redirects:
    /// a check that meets the Gateway's HTTPS redirect must go to the Gateway, as it would on a
    /// cluster, not to the front.
    pub no_proxy: &'a [String],
}

/// A running cert-manager controller; dropping it kills it.
pub struct CertManager {
    reaper: Reaper,
    process: ManagedProcess,
    log: PathBuf,
}

impl CertManager {
    pub async fn start(
        bin_dir: &Path,
        kubeconfig: &Path,
        state_dir: &Path,
        dns: SocketAddr,
        transport: &AcmeTransport<'_>,
    ) -> Result<CertManager> {
        let trust = state_dir.join("cert-manager-trust.pem");
        std::fs::write(&trust, transport.trust_pem).context("writing cert-manager's trust bundle")?;
        let args = [
            format!("--kubeconfig={}", kubeconfig.display()),
            "--enable-gateway-api".to_owned(),
            format!("--acme-http01-solver-nameservers={dns}"),
            format!("--dns01-recursive-nameservers={dns}"),
            "-v=2".to_owned(),
        ];
        let mut env: Vec<(&str, &OsStr)> = vec![("SSL_CERT_FILE", trust.as_os_str())];
        if let Some(p) = transport.https_proxy {
            env.push(("HTTPS_PROXY", OsStr::new(p)));
        }
        let no_proxy = ["127.0.0.1", "localhost"]
            .into_iter()
            .map(str::to_owned)
            .chain(transport.no_proxy.iter().cloned())
            .collect::<Vec<_>>()
            .join(",");
        env.push(("NO_PROXY", OsStr::new(&no_proxy)));
        let log = state_dir.join("cert-manager.log");
        let mut reaper = Reaper::spawn()?;
        let mut process = ManagedProcess::spawn_with_env(
            "cert-manager",
            &bin_dir.join("cert-manager-controller"),
            &args,
            &env,
            log.clone(),
        )?;
        reaper.watch_pid(process.pid())?;
        let deadline = Instant::now() + START_TIMEOUT;
        while !process.log_contains(STARTED) {
            process.ensure_running()?;
            if Instant::now() > deadline {
                bail!(
                    "cert-manager did not start its controllers in time; log {}",
                    log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(CertManager { reaper, process, log })
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    pub fn ensure_running(&mut self) -> Result<()> {
        self.process.ensure_running()
    }

    pub fn log_tail(&self, lines: usize) -> String {
        self.process.log_tail(lines)
    }
}

impl Drop for CertManager {
    fn drop(&mut self) {
        self.reaper.disarm();
    }
}
