//! DNS for the issuance suite: pebble-challtestsrv (built with Pebble by
//! `e2e/scripts/build-pebble.sh`, run unmodified) as a DNS server only. The suite runs two, one per
//! view of the world, as a real platform has two:
//!
//! - the **public** view, which the ACME server (Pebble) resolves through when it validates;
//! - the **cluster** view, which cert-manager resolves through for its HTTP-01 self-check.
//!
//! Both answer every A query with the gateway's address (no AAAA) unless told otherwise for a
//! host ([`Dns::add_a`]). A name whose public record points elsewhere passes cert-manager's
//! self-check and fails Pebble's validation: an ACME failure with every part real.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpStream;

use super::pebble::free_ports;
use crate::process::Supervised;

const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Bound on one management request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// A running challtestsrv; dropping it kills it.
pub struct Dns {
    process: Supervised,
    /// The DNS server (UDP and TCP).
    pub addr: SocketAddr,
    /// The management API (plain HTTP).
    management: SocketAddr,
}

impl Dns {
    /// Starts challtestsrv on free ports of `address`, answering every A query with `default_ipv4`;
    /// its log is `<state_dir>/<name>.log`. Waits until both its ports listen.
    pub async fn start(
        bin_dir: &Path,
        state_dir: &Path,
        name: &'static str,
        address: Ipv4Addr,
        default_ipv4: Ipv4Addr,
    ) -> Result<Dns> {
        let ports = free_ports(address, 2)?;
        let [addr, management] = [0, 1].map(|i| SocketAddr::from((address, ports[i])));
        let mut process = Supervised::spawn(
            name,
            &bin_dir.join("pebble-challtestsrv"),
            &[
                format!("-dnsserver={addr}"),
                format!("-management={management}"),
                format!("-defaultIPv4={default_ipv4}"),
                // No AAAA answers, and none of its own challenge servers.
                "-defaultIPv6=".to_owned(),
                "-http01=".to_owned(),
                "-https01=".to_owned(),
                "-doh=".to_owned(),
                "-tlsalpn01=".to_owned(),
            ],
            state_dir.join(format!("{name}.log")),
        )?;
        let deadline = Instant::now() + START_TIMEOUT;
        for a in [addr, management] {
            while TcpStream::connect(a).await.is_err() {
                process.ensure_running()?;
                if Instant::now() > deadline {
                    bail!("{name} did not listen on {a} in time");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(Dns {
            process,
            addr,
            management,
        })
    }

    /// From now on, A queries for `host` are answered with `address` only.
    pub async fn add_a(&self, host: &str, address: Ipv4Addr) -> Result<()> {
        let body = json!({"host": host, "addresses": [address.to_string()]}).to_string();
        tokio::time::timeout(REQUEST_TIMEOUT, self.post("/add-a", body))
            .await
            .with_context(|| format!("challtestsrv /add-a {host}: no answer within {REQUEST_TIMEOUT:?}"))?
            .with_context(|| format!("challtestsrv /add-a {host}"))
    }

    async fn post(&self, path: &str, body: String) -> Result<()> {
        let tcp = TcpStream::connect(self.management).await.context("connecting")?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .context("HTTP/1.1 handshake")?;
        tokio::spawn(conn);
        let req = Request::post(path)
            .header("host", self.management.to_string())
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .context("building the request")?;
        let resp = sender.send_request(req).await.context("sending")?;
        let status = resp.status();
        let text = resp
            .into_body()
            .collect()
            .await
            .context("reading the answer")?
            .to_bytes();
        if !status.is_success() {
            bail!("answered {status}: {}", String::from_utf8_lossy(&text));
        }
        Ok(())
    }

    pub fn ensure_running(&mut self) -> Result<()> {
        self.process.ensure_running()
    }
}
