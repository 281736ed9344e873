//! One HTTPS request with ordinary verification against a given root store, keeping the chain the
//! server presented: GET for Pebble's management endpoint and for requests through the gateway
//! whose certificate must chain to Pebble's root; POST of a JWS for reading Pebble's ACME objects
//! back ([`super::ledger`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Bound on one request (connect, handshake, response).
pub const TIMEOUT: Duration = Duration::from_secs(5);
const MAX_RESPONSE: u64 = 256 * 1024;

/// A response and the chain the server presented (leaf first).
#[derive(Debug)]
pub struct Fetched {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub chain: Vec<CertificateDer<'static>>,
}

impl Fetched {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// `GET https://<name><path>` sent to `addr`, SNI and Host `name`; the handshake fails unless the
/// server's chain verifies for `name` against `roots`.
pub async fn get(addr: SocketAddr, name: &str, path: &str, roots: &RootCertStore) -> Result<Fetched> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {name}\r\nUser-Agent: tgw-e2e\r\nConnection: close\r\n\r\n");
    tokio::time::timeout(TIMEOUT, exchange(addr, name, request.into_bytes(), roots))
        .await
        .with_context(|| format!("https://{name}{path} via {addr}: no answer within {TIMEOUT:?}"))?
        .with_context(|| format!("https://{name}{path} via {addr}"))
}

/// `POST https://<host><path>` with an `application/jose+json` body, sent to `addr` with SNI
/// `tls_name` (verified against `roots`) and Host `host`.
pub async fn post_jose(
    addr: SocketAddr,
    tls_name: &str,
    host: &str,
    path: &str,
    body: &str,
    roots: &RootCertStore,
) -> Result<Fetched> {
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: tgw-e2e\r\nContent-Type: application/jose+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tokio::time::timeout(TIMEOUT, exchange(addr, tls_name, request.into_bytes(), roots))
        .await
        .with_context(|| format!("POST https://{host}{path}: no answer within {TIMEOUT:?}"))?
        .with_context(|| format!("POST https://{host}{path}"))
}

/// One request on a fresh TLS connection (SNI `name`), read until the server closes.
async fn exchange(addr: SocketAddr, name: &str, request: Vec<u8>, roots: &RootCertStore) -> Result<Fetched> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_root_certificates(roots.clone())
        .with_no_client_auth();
    let tcp = TcpStream::connect(addr).await.context("connecting")?;
    let server_name = ServerName::try_from(name.to_owned()).with_context(|| format!("invalid SNI {name}"))?;
    let mut tls = TlsConnector::from(Arc::new(config))
        .connect(server_name, tcp)
        .await
        .context("TLS handshake")?;
    let chain: Vec<CertificateDer<'static>> = tls
        .get_ref()
        .1
        .peer_certificates()
        .unwrap_or_default()
        .iter()
        .map(|c| c.clone().into_owned())
        .collect();
    tls.write_all(&request).await.context("sending the request")?;
    let mut raw = Vec::new();
    // A peer closing TLS without close_notify still delivered what it sent.
    let read = (&mut tls).take(MAX_RESPONSE).read_to_end(&mut raw).await;
    if raw.is_empty() {
        read.context("reading the response")?;
        bail!("closed without a response");
    }
    let (status, headers, body) = parse(&raw).context("malformed response")?;
    Ok(Fetched {
        status,
        headers,
        body,
        chain,
    })
}

type Parsed = (u16, Vec<(String, String)>, Vec<u8>);

fn parse(raw: &[u8]) -> Option<Parsed> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()?
        .strip_prefix("HTTP/1.")?
        .get(2..)?
        .split(' ')
        .next()?
        .parse()
        .ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        body = dechunk(&body)?;
    }
    Some((status, headers, body))
}

fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_field = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size_field.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

/// The certificates of a PEM bundle, in order.
pub fn pem_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>> {
    CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .context("parsing PEM certificates")
}

/// A root store holding exactly the certificates of a PEM bundle.
pub fn roots_from_pem(pem: &[u8]) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for c in pem_certificates(pem)? {
        roots.add(c).context("adding a root")?;
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunked_response_is_reassembled() {
        let raw =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: b\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
        let (status, headers, body) = parse(raw).expect("parses");
        assert_eq!((status, body.as_slice()), (200, b"abcde".as_slice()));
        assert!(headers.contains(&("X-A".to_owned(), "b".to_owned())));
    }

    #[test]
    fn a_plain_response_keeps_its_body() {
        let (status, _, body) = parse(b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno").expect("parses");
        assert_eq!((status, body.as_slice()), (404, b"no".as_slice()));
    }
}
