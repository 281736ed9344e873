//! **Stop-gap** until the controller can point a TenantGateway's Issuer at another ACME directory
//! (issue 20 item 5): today it renders `spec.acme.server` as Let's Encrypt's production or staging
//! URL and takes that field back from any other writer. So cert-manager is run with
//! `HTTPS_PROXY` set to this front, which stands in for those two hosts only: it accepts
//! `CONNECT acme-v02.api.letsencrypt.org:443` / `acme-staging-v02.api.letsencrypt.org:443`
//! (everything else gets 403 and is recorded), terminates TLS with a certificate for both names
//! from the run's [`LocalCa`] (which cert-manager trusts through `SSL_CERT_FILE`), and forwards
//! each request unchanged to Pebble, except Let's Encrypt's directory path `/directory`, which
//! becomes Pebble's `/dir`. The Host header is kept, so every URL Pebble hands out names the Let's
//! Encrypt host and comes back through the front. Nothing leaves the network namespace (it has no
//! route anywhere), and the front sees every new order: the identifiers of each are recorded.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};
use base64::Engine;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rustls::RootCertStore;
use rustls::pki_types::ServerName;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use super::ca::LocalCa;
use super::pebble::TLS_NAME;

/// Let's Encrypt's directory path, which Pebble serves as `/dir`.
const LE_DIRECTORY_PATH: &str = "/directory";
const PEBBLE_DIRECTORY_PATH: &str = "/dir";
/// Pebble's newOrder path.
const NEW_ORDER_PATH: &str = "/order-plz";
const MAX_CONNECT_HEAD: usize = 8 * 1024;

/// What the front saw.
#[derive(Debug, Clone, Default)]
pub struct FrontLog {
    /// The identifiers of every newOrder request, in order.
    pub orders: Vec<Vec<String>>,
    /// `CONNECT` targets refused (not a Let's Encrypt host).
    pub refused: Vec<String>,
    /// Requests forwarded to Pebble.
    pub forwarded: usize,
}

/// The running front; stops accepting when dropped.
pub struct AcmeFront {
    addr: SocketAddr,
    log: Arc<Mutex<FrontLog>>,
    _stop: oneshot::Sender<()>,
}

struct Upstream {
    addr: SocketAddr,
    connector: TlsConnector,
    hosts: Vec<String>,
    log: Arc<Mutex<FrontLog>>,
}

/// The hosts of the ACME directory URLs the controller renders.
pub fn letsencrypt_hosts() -> Vec<String> {
    [tgw_core::keys::ACME_PROD_URL, tgw_core::keys::ACME_STAGING_URL]
        .iter()
        .filter_map(|u| u.strip_prefix("https://")?.split('/').next())
        .map(str::to_owned)
        .collect()
}

impl AcmeFront {
    /// Listens on `address` (a free port), forwarding to Pebble at `pebble` (whose listener
    /// certificate `pebble_roots` verifies).
    pub async fn start(
        address: Ipv4Addr,
        ca: &LocalCa,
        pebble: SocketAddr,
        pebble_roots: RootCertStore,
    ) -> Result<AcmeFront> {
        let hosts = letsencrypt_hosts();
        let acceptor = TlsAcceptor::from(Arc::new(ca.issue(&hosts)?.server_config()?));
        let client = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .with_root_certificates(pebble_roots)
            .with_no_client_auth();
        let log = Arc::new(Mutex::new(FrontLog::default()));
        let upstream = Arc::new(Upstream {
            addr: pebble,
            connector: TlsConnector::from(Arc::new(client)),
            hosts,
            log: Arc::clone(&log),
        });
        let listener = TcpListener::bind((address, 0))
            .await
            .with_context(|| format!("binding the ACME front on {address}"))?;
        let addr = listener.local_addr()?;
        let (stop, mut stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = &mut stopped => return,
                    accepted = listener.accept() => accepted,
                };
                let Ok((tcp, _)) = accepted else { continue };
                let (acceptor, upstream) = (acceptor.clone(), Arc::clone(&upstream));
                tokio::spawn(async move {
                    if let Err(e) = connection(tcp, acceptor, upstream).await {
                        eprintln!("tgw-e2e: ACME front: {e:#}");
                    }
                });
            }
        });
        Ok(AcmeFront { addr, log, _stop: stop })
    }

    /// The value for cert-manager's `HTTPS_PROXY`.
    pub fn proxy_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn log(&self) -> FrontLog {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

/// One proxy connection: `CONNECT`, then TLS as the Let's Encrypt host, then HTTP/1.1 requests.
async fn connection(mut tcp: TcpStream, acceptor: TlsAcceptor, up: Arc<Upstream>) -> Result<()> {
    let target = read_connect(&mut tcp).await?;
    let allowed = target
        .strip_suffix(":443")
        .is_some_and(|h| up.hosts.iter().any(|a| a == h));
    if !allowed {
        if let Ok(mut l) = up.log.lock() {
            l.refused.push(target.clone());
        }
        tcp.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            .await?;
        bail!("refused CONNECT {target}");
    }
    tcp.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").await?;
    let tls = acceptor.accept(tcp).await.context("TLS from cert-manager")?;
    let service = hyper::service::service_fn(move |req| {
        let up = Arc::clone(&up);
        async move { Ok::<_, Infallible>(forward(req, &up).await) }
    });
    hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(tls), service)
        .await
        .context("serving a proxied connection")
}

/// Reads the `CONNECT host:port HTTP/1.1` head (the client waits for our answer before sending
/// anything else); returns `host:port`.
async fn read_connect(tcp: &mut TcpStream) -> Result<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > MAX_CONNECT_HEAD || tcp.read(&mut byte).await? == 0 {
            bail!("no complete CONNECT request");
        }
        head.push(byte[0]);
    }
    let line = String::from_utf8_lossy(&head);
    let mut words = line.split_whitespace();
    match (words.next(), words.next()) {
        (Some("CONNECT"), Some(target)) => Ok(target.to_owned()),
        _ => bail!("not a CONNECT request: {:?}", line.lines().next().unwrap_or("")),
    }
}

async fn forward(req: Request<Incoming>, up: &Upstream) -> Response<Full<Bytes>> {
    match forward_inner(req, up).await {
        Ok(r) => r,
        Err(e) => {
            let mut r = Response::new(Full::new(Bytes::from(format!("ACME front: {e:#}"))));
            *r.status_mut() = StatusCode::BAD_GATEWAY;
            r
        }
    }
}

async fn forward_inner(req: Request<Incoming>, up: &Upstream) -> Result<Response<Full<Bytes>>> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.context("reading the request body")?.to_bytes();
    let path = match parts.uri.path() {
        LE_DIRECTORY_PATH => PEBBLE_DIRECTORY_PATH,
        _ => parts.uri.path_and_query().map_or("/", |p| p.as_str()),
    };
    if parts.method == Method::POST && parts.uri.path() == NEW_ORDER_PATH {
        let names = order_identifiers(&body);
        if let Ok(mut l) = up.log.lock() {
            l.orders.push(names);
        }
    }
    let mut upstream_req = Request::builder().method(parts.method.clone()).uri(path);
    for (k, v) in &parts.headers {
        upstream_req = upstream_req.header(k, v);
    }
    let upstream_req = upstream_req
        .body(Full::new(body))
        .context("building the upstream request")?;
    let tcp = TcpStream::connect(up.addr)
        .await
        .with_context(|| format!("connecting to Pebble at {}", up.addr))?;
    let name = ServerName::try_from(TLS_NAME).context("Pebble's TLS name")?;
    let tls = up.connector.connect(name, tcp).await.context("TLS to Pebble")?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .context("HTTP/1.1 to Pebble")?;
    tokio::spawn(conn);
    let response = sender.send_request(upstream_req).await.context("request to Pebble")?;
    let (mut parts, body) = response.into_parts();
    let body = body.collect().await.context("reading Pebble's response")?.to_bytes();
    for hop in ["connection", "keep-alive", "transfer-encoding", "content-length"] {
        parts.headers.remove(hop);
    }
    if let Ok(mut l) = up.log.lock() {
        l.forwarded += 1;
    }
    Ok(Response::from_parts(parts, Full::new(body)))
}

/// The DNS identifiers of a newOrder JWS (its base64url payload's `identifiers[].value`).
fn order_identifiers(body: &[u8]) -> Vec<String> {
    let payload = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|jws| jws["payload"].as_str().map(str::to_owned))
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p.trim_end_matches('='))
                .ok()
        })
        .and_then(|p| serde_json::from_slice::<Value>(&p).ok());
    payload
        .as_ref()
        .and_then(|p| p["identifiers"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|i| i["value"].as_str().map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_front_stands_in_for_both_letsencrypt_hosts() {
        assert_eq!(
            letsencrypt_hosts(),
            ["acme-v02.api.letsencrypt.org", "acme-staging-v02.api.letsencrypt.org"]
        );
    }

    #[test]
    fn a_new_order_names_its_identifiers() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
            br#"{"identifiers":[{"type":"dns","value":"www.example.org"},{"type":"dns","value":"example.org"}]}"#,
        );
        let jws = format!(r#"{{"protected":"e30","payload":"{payload}","signature":"AA"}}"#);
        assert_eq!(order_identifiers(jws.as_bytes()), ["www.example.org", "example.org"]);
        assert!(order_identifiers(b"not json").is_empty());
    }
}
