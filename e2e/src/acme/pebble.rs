//! Pebble, the ACME test server, built from the Go module proxy by `e2e/scripts/build-pebble.sh`
//! and run unmodified on the network namespace's address. Its ACME API is served over TLS with a
//! listener certificate from the run's [`TestCa`] for its address, so its directory URL is
//! `https://<address>:<port>/dir` and a client trusts it only through that CA (cert-manager:
//! the Issuer's `spec.acme.caBundle`). Pebble validates HTTP-01 challenges by connecting to port
//! 80 (and TLS-ALPN-01 to 443) of the address its DNS server (the public view, [`super::dns`])
//! returns: the gateway's, so validation traffic goes through the tenant Gateway's `http`
//! listener in Traefik.

use std::ffi::OsStr;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rustls::RootCertStore;
use serde_json::json;
use tokio::net::TcpStream;

use super::https;
use crate::dataplane::TestCa;
use crate::process::Supervised;

/// The name on Pebble's TLS listener certificate (besides the address itself).
pub const TLS_NAME: &str = "pebble.tgw-e2e.test";
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Pebble's certificate profile with [`PebbleConfig::validity_secs`] (Let's Encrypt's default
/// profile has this name). Pebble picks a profile at random for an order that names none, so
/// every Issuer of the suites names one.
pub const LONG_PROFILE: &str = "classic";
/// Pebble's certificate profile with [`PebbleConfig::short_validity_secs`] (Let's Encrypt's
/// short-lived profile has this name).
pub const SHORT_PROFILE: &str = "shortlived";

/// How Pebble is configured for one run.
#[derive(Debug, Clone)]
pub struct PebbleConfig {
    /// Validity of certificates of the [`LONG_PROFILE`] profile (Pebble's `validityPeriod`, seconds).
    pub validity_secs: u64,
    /// Validity of certificates of the [`SHORT_PROFILE`] profile (seconds): what an Issuer with
    /// `spec.acme.profile: shortlived` gets.
    pub short_validity_secs: u64,
}

impl Default for PebbleConfig {
    fn default() -> Self {
        // Let's Encrypt's 90 days, and its short-lived six days.
        PebbleConfig {
            validity_secs: 90 * 24 * 3600,
            short_validity_secs: 6 * 24 * 3600,
        }
    }
}

/// A running Pebble; dropping it kills it.
pub struct Pebble {
    pebble: Supervised,
    /// The ACME API (TLS): directory at `/dir`.
    pub acme: SocketAddr,
    /// The management API (TLS): `/roots/0`, `/intermediates/0`.
    pub management: SocketAddr,
    root_pem: String,
    /// Verifies Pebble's TLS listener certificate (the run's local CA).
    listener_roots: RootCertStore,
    log: PathBuf,
}

/// A port on `address` that nothing listens on right now.
pub fn free_port(address: Ipv4Addr) -> Result<u16> {
    Ok(free_ports(address, 1)?[0])
}

/// `n` distinct ports on `address` that nothing listens on right now (each is held until all are
/// chosen, so the kernel cannot hand out one twice).
pub fn free_ports(address: Ipv4Addr, n: usize) -> Result<Vec<u16>> {
    let held = (0..n)
        .map(|_| std::net::TcpListener::bind((address, 0)).with_context(|| format!("binding a free port on {address}")))
        .collect::<Result<Vec<_>>>()?;
    held.iter().map(|l| Ok(l.local_addr()?.port())).collect()
}

impl Pebble {
    /// Starts Pebble (resolving through `dns`, validating on ports 80/443 of what it returns, its
    /// TLS listener certificate from `ca`), waits until it listens, then reads its issuing root.
    pub async fn start(
        bin_dir: &Path,
        state_dir: &Path,
        address: Ipv4Addr,
        dns: SocketAddr,
        ca: &TestCa,
        config: &PebbleConfig,
    ) -> Result<Pebble> {
        let ports = free_ports(address, 2)?;
        let [acme, management] = [0, 1].map(|i| SocketAddr::from((address, ports[i])));
        let cert = ca.issue("Pebble's ACME listener", &[TLS_NAME.to_owned(), address.to_string()])?;
        let (cert_path, key_path) = (state_dir.join("pebble.crt"), state_dir.join("pebble.key"));
        std::fs::write(&cert_path, &cert.cert_pem).context("writing Pebble's certificate")?;
        std::fs::write(&key_path, &cert.key_pem).context("writing Pebble's key")?;
        let config_path = state_dir.join("pebble.json");
        let cfg = json!({"pebble": {
            "listenAddress": acme.to_string(),
            "managementListenAddress": management.to_string(),
            "certificate": cert_path,
            "privateKey": key_path,
            "httpPort": 80,
            "tlsPort": 443,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
            "retryAfter": {"authz": 1, "order": 1},
            "keyAlgorithm": "ecdsa",
            "profiles": {
                LONG_PROFILE: {"description": "tgw-e2e", "validityPeriod": config.validity_secs},
                SHORT_PROFILE: {"description": "tgw-e2e short-lived", "validityPeriod": config.short_validity_secs},
            },
        }});
        std::fs::write(&config_path, serde_json::to_vec_pretty(&cfg)?).context("writing Pebble's config")?;
        let log = state_dir.join("pebble.log");
        let pebble = Supervised::spawn_with_env(
            "pebble",
            &bin_dir.join("pebble"),
            &[
                format!("-config={}", config_path.display()),
                format!("-dnsserver={dns}"),
            ],
            &[
                // Validate at once (no random 0-15 s sleep), accept every good nonce, and never
                // reuse an earlier authorization: every order is validated by real traffic.
                ("PEBBLE_VA_NOSLEEP", OsStr::new("1")),
                ("PEBBLE_WFE_NONCEREJECT", OsStr::new("0")),
                ("PEBBLE_AUTHZREUSE", OsStr::new("0")),
            ],
            log.clone(),
        )?;
        let mut p = Pebble {
            pebble,
            acme,
            management,
            root_pem: String::new(),
            listener_roots: ca.roots()?,
            log,
        };
        p.wait_listening(&[acme, management]).await?;
        let fetched = https::get(management, TLS_NAME, "/roots/0", &p.listener_roots).await?;
        if fetched.status != 200 {
            bail!("Pebble's /roots/0 answered {}", fetched.status);
        }
        p.root_pem = String::from_utf8(fetched.body).context("Pebble's root is not UTF-8 PEM")?;
        https::roots_from_pem(p.root_pem.as_bytes()).context("Pebble's /roots/0")?;
        Ok(p)
    }

    async fn wait_listening(&mut self, addrs: &[SocketAddr]) -> Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        for addr in addrs {
            loop {
                self.ensure_running()?;
                if TcpStream::connect(addr).await.is_ok() {
                    break;
                }
                if Instant::now() > deadline {
                    bail!("Pebble did not listen on {addr} in time; log {}", self.log.display());
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(())
    }

    /// Pebble's directory URL on its own address (its certificate names the address).
    pub fn directory_url(&self) -> String {
        format!("https://{}/dir", self.acme)
    }

    /// The IDs of every order Pebble has accepted, in order (its log says `Added order "<id>"`
    /// for each).
    pub fn order_ids(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| Some(l.split("Added order \"").nth(1)?.split('"').next()?.to_owned()))
            .collect()
    }

    /// The root every certificate Pebble issues in this run chains to (`/roots/0`).
    pub fn root_pem(&self) -> &str {
        &self.root_pem
    }

    pub fn roots(&self) -> Result<RootCertStore> {
        https::roots_from_pem(self.root_pem.as_bytes())
    }

    /// The roots that verify Pebble's own TLS listener (for its ACME and management APIs).
    pub fn listener_roots(&self) -> RootCertStore {
        self.listener_roots.clone()
    }

    /// ACME accounts Pebble holds (the last "There are now N accounts in memory" it logged).
    pub fn accounts(&self) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .rev()
            .find_map(|l| {
                l.split("There are now ")
                    .nth(1)?
                    .strip_suffix(" accounts in memory")?
                    .parse()
                    .ok()
            })
            .unwrap_or(0)
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Fails with the log tail if Pebble has exited.
    pub fn ensure_running(&mut self) -> Result<()> {
        self.pebble.ensure_running()
    }

    pub fn log_tail(&self, lines: usize) -> String {
        self.pebble.log_tail(lines)
    }
}
