//! The public DNS of the issuance suite: BIND 9 (`named` from Debian's `bind9` package, run
//! unmodified) as the authoritative server of the suite's zone on port 53 of the network
//! namespace's address, as a registrar's nameserver is on the internet:
//!
//! - Pebble (the ACME server) resolves through it, for HTTP-01 (A records: the gateway's address,
//!   or [`Zone::elsewhere`] for names whose validation must fail) and for DNS-01 (the
//!   `_acme-challenge` TXT records);
//! - cert-manager's rfc2136 DNS-01 solver writes those TXT records into it with dynamic updates
//!   (RFC 2136) signed with a TSIG key (RFC 8945, hmac-sha256) that only may change TXT records;
//! - cert-manager's DNS-01 self-check finds the zone through it and asks its nameserver (this
//!   one, by the zone's NS record) whether the record is there.
//!
//! TTLs are one second so an update is visible at once.

use std::fmt::Write as _;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use base64::Engine;
use tokio::net::TcpStream;

use crate::process::Supervised;

const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Debian's path of the BIND 9 server (package `bind9`, installed by scripts/setup.sh).
pub const NAMED: &str = "/usr/sbin/named";
/// The TSIG algorithm of the key (cert-manager's rfc2136 names it `HMACSHA256`).
pub const TSIG_ALGORITHM: &str = "HMACSHA256";

/// What the zone holds when the server starts.
#[derive(Debug, Clone)]
pub struct Zone {
    /// The zone apex, e.g. `example.org`.
    pub origin: String,
    /// Where every name of the zone points (wildcards at the apex and at each of
    /// [`Zone::wildcards_under`]), and the address of the zone's nameserver `ns.<origin>`.
    pub address: Ipv4Addr,
    /// Names below which a wildcard A record is added too: every name with records of its own
    /// below it (e.g. `alice.example.org` once `elsewhere.alice.example.org` exists) would
    /// otherwise stop the apex wildcard from matching its other names.
    pub wildcards_under: Vec<String>,
    /// Names answered with another address (their A record only).
    pub elsewhere: Vec<(String, Ipv4Addr)>,
}

impl Zone {
    /// The zone file (RFC 1035 master format).
    pub fn render(&self) -> String {
        let o = &self.origin;
        let mut z = format!(
            "$ORIGIN {o}.\n$TTL 1\n@ IN SOA ns.{o}. hostmaster.{o}. 1 1 1 1 1\n@ IN NS ns.{o}.\nns IN A {a}\n@ IN A {a}\n* IN A {a}\n",
            a = self.address
        );
        for name in &self.wildcards_under {
            let _ = writeln!(z, "*.{name}. IN A {}", self.address);
        }
        for (name, address) in &self.elsewhere {
            let _ = writeln!(z, "{name}. IN A {address}");
        }
        z
    }
}

/// A TSIG key: its name and base64 secret.
#[derive(Debug, Clone)]
pub struct TsigKey {
    pub name: String,
    pub secret: String,
}

impl TsigKey {
    /// A new hmac-sha256 key with 32 random bytes.
    pub fn generate(name: &str) -> Result<TsigKey> {
        let mut bytes = [0u8; 32];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut bytes))
            .context("reading /dev/urandom")?;
        Ok(TsigKey {
            name: name.to_owned(),
            secret: base64::engine::general_purpose::STANDARD.encode(bytes),
        })
    }
}

/// A running `named`; dropping it kills it.
pub struct Bind {
    process: Supervised,
    /// Where it answers (UDP and TCP), port 53.
    pub addr: SocketAddr,
    pub key: TsigKey,
    log: PathBuf,
}

impl Bind {
    /// Starts `named` in the foreground on port 53 of `address`, authoritative for `zone`, which
    /// holders of `key` may update (TXT records only). Its configuration, zone, journal and log
    /// live in `<state_dir>/named`. Waits until it answers on TCP.
    pub async fn start(state_dir: &Path, address: Ipv4Addr, zone: &Zone, key: TsigKey) -> Result<Bind> {
        let named = Path::new(NAMED);
        if !named.exists() {
            bail!("{NAMED} not found: install Debian's bind9 package (scripts/setup.sh does)");
        }
        let dir = state_dir.join("named");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let zone_file = dir.join(format!("{}.zone", zone.origin));
        std::fs::write(&zone_file, zone.render()).context("writing the zone file")?;
        let conf = dir.join("named.conf");
        std::fs::write(&conf, config(&dir, address, zone, &key)).context("writing named.conf")?;
        let addr = SocketAddr::from((address, 53));
        let log = state_dir.join("named.log");
        // -g: foreground, log to stderr (the log file); -4: IPv4 only.
        let mut process = Supervised::spawn(
            "named",
            named,
            &[
                "-g".to_owned(),
                "-4".to_owned(),
                "-c".to_owned(),
                conf.display().to_string(),
            ],
            log.clone(),
        )?;
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect(addr).await.is_err() || !process.log_contains("all zones loaded") {
            process.ensure_running()?;
            if Instant::now() > deadline {
                bail!("named did not answer on {addr} in time; log {}", log.display());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(Bind {
            process,
            addr,
            key,
            log,
        })
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The dynamic updates `named` applied, as it logged them (`<key>: updating zone '<zone>':
    /// adding an RR at '<name>' TXT "<value>"`, or `deleting an RR`), refused ones left out.
    pub fn updates(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("updating zone") && !l.contains("update failed"))
            .filter_map(|l| l.split_once("/key ").map(|(_, rest)| rest.to_owned()))
            .collect()
    }

    pub fn ensure_running(&mut self) -> Result<()> {
        self.process.ensure_running()
    }

    pub fn log_tail(&self, lines: usize) -> String {
        self.process.log_tail(lines)
    }
}

/// `named.conf`: one primary zone, no recursion, no control channel, every file in `dir`; the
/// key may add and delete TXT records anywhere in the zone and nothing else.
fn config(dir: &Path, address: Ipv4Addr, zone: &Zone, key: &TsigKey) -> String {
    let d = dir.display();
    format!(
        r#"options {{
  directory "{d}";
  pid-file "{d}/named.pid";
  session-keyfile "{d}/session.key";
  managed-keys-directory "{d}";
  listen-on port 53 {{ {address}; }};
  listen-on-v6 {{ none; }};
  recursion no;
  dnssec-validation no;
  allow-query {{ any; }};
  notify no;
  querylog yes;
}};
controls {{ }};
key "{name}" {{
  algorithm hmac-sha256;
  secret "{secret}";
}};
zone "{origin}" {{
  type primary;
  file "{origin}.zone";
  update-policy {{ grant {name} zonesub TXT; }};
}};
"#,
        name = key.name,
        secret = key.secret,
        origin = zone.origin,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_zone_points_every_name_at_the_gateway_but_the_ones_sent_elsewhere() {
        let zone = Zone {
            origin: "example.org".into(),
            address: Ipv4Addr::new(10, 89, 0, 1),
            wildcards_under: vec!["alice.example.org".into()],
            elsewhere: vec![("elsewhere.alice.example.org".into(), Ipv4Addr::LOCALHOST)],
        };
        assert_eq!(
            zone.render(),
            "$ORIGIN example.org.\n$TTL 1\n@ IN SOA ns.example.org. hostmaster.example.org. 1 1 1 1 1\n\
             @ IN NS ns.example.org.\nns IN A 10.89.0.1\n@ IN A 10.89.0.1\n* IN A 10.89.0.1\n\
             *.alice.example.org. IN A 10.89.0.1\nelsewhere.alice.example.org. IN A 127.0.0.1\n"
        );
    }
}
