//! cert-manager's controller (our main over the root module's packages, built by
//! `e2e/scripts/build-certmanager.sh`) against the test API server, with the Gateway API HTTP-01
//! solver enabled, its HTTP-01 self-check lookups sent to the cluster's DNS ([`super::dns`]) and
//! its DNS-01 ones to the public authoritative server ([`super::bind`]).
//! Its environment names no trust store and no proxy: it trusts the ACME server's TLS only
//! through the Issuer's `spec.acme.caBundle` (cert-manager builds each ACME client's root pool
//! from that field alone when it is set).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::process::Supervised;

const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Logged by our main once every controller is constructed and the informers started.
const STARTED: &str = "starting controllers";

/// A running cert-manager controller; dropping it kills it.
pub struct CertManager {
    process: Supervised,
    log: PathBuf,
}

impl CertManager {
    /// Starts cert-manager resolving HTTP-01 self-check names through `http01_dns`, and checking
    /// every 2 s through `dns01_dns` alone that a DNS-01 TXT record is there (cert-manager's
    /// `--dns01-recursive-nameservers-only`: it would otherwise resolve the zone's NS names with
    /// the host's resolver, which knows nothing of the suite's zone).
    pub async fn start(
        bin_dir: &Path,
        kubeconfig: &Path,
        state_dir: &Path,
        http01_dns: SocketAddr,
        dns01_dns: SocketAddr,
    ) -> Result<CertManager> {
        let args = [
            format!("--kubeconfig={}", kubeconfig.display()),
            "--enable-gateway-api".to_owned(),
            format!("--acme-http01-solver-nameservers={http01_dns}"),
            format!("--dns01-recursive-nameservers={dns01_dns}"),
            "--dns01-recursive-nameservers-only".to_owned(),
            "--dns01-check-retry-period=2s".to_owned(),
            "-v=2".to_owned(),
        ];
        let log = state_dir.join("cert-manager.log");
        let mut process = Supervised::spawn(
            "cert-manager",
            &bin_dir.join("cert-manager-controller"),
            &args,
            log.clone(),
        )?;
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
        Ok(CertManager { process, log })
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
