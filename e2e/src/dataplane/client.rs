//! The probing client: one HTTP/1.1 request per connection to the gateway's address, with the Host
//! header (and, over HTTPS, the SNI) set to the probed name. Over HTTPS it records the certificate
//! the gateway served, whether it verifies for that name against the test CA, and answers even when
//! it does not, so a probe can still tell which backend (if any) answered.

use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use rustls::RootCertStore;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::backend::BACKEND_HEADER;
use super::pki::CertBook;

/// Bound on one request (connect, handshake, response).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_RESPONSE: u64 = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Port 80.
    Http,
    /// Port 443, SNI = host.
    Https,
}

impl Scheme {
    pub fn port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// One request: `<scheme>://<host><path>` sent to the gateway's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub scheme: Scheme,
    pub host: String,
    pub path: String,
}

impl Probe {
    pub fn https(host: &str, path: &str) -> Probe {
        Probe {
            scheme: Scheme::Https,
            host: host.to_owned(),
            path: path.to_owned(),
        }
    }

    pub fn http(host: &str, path: &str) -> Probe {
        Probe {
            scheme: Scheme::Http,
            host: host.to_owned(),
            path: path.to_owned(),
        }
    }

    pub fn url(&self) -> String {
        format!("{}://{}{}", self.scheme.as_str(), self.host, self.path)
    }
}

/// The certificate the gateway presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedCert {
    /// What the test issued it as ([`CertBook::describe`]).
    pub description: String,
    /// Verification for the probed name against the test CA: `Err(reason)` when it fails.
    pub verified: Result<(), String>,
}

/// What happened to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// An HTTP response: from a backend when `backend` is set (its identity header), else from the
    /// gateway itself (404, redirect, ...).
    Answered {
        status: u16,
        backend: Option<String>,
        location: Option<String>,
        cert: Option<ServedCert>,
    },
    /// The TCP connection was refused or reset before a response.
    NoConnection(String),
    /// The TLS handshake failed.
    TlsFailed(String),
    /// Anything else (timeout, malformed response).
    Failed(String),
}

impl Outcome {
    /// The identity of the backend that answered, if one did.
    pub fn backend(&self) -> Option<&str> {
        match self {
            Outcome::Answered { backend, .. } => backend.as_deref(),
            _ => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            Outcome::Answered { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn cert(&self) -> Option<&ServedCert> {
        match self {
            Outcome::Answered { cert, .. } => cert.as_ref(),
            _ => None,
        }
    }

    /// One line for logs, failure messages and the demo.
    pub fn summary(&self) -> String {
        match self {
            Outcome::Answered {
                status,
                backend,
                location,
                cert,
            } => {
                let mut s = match backend {
                    Some(b) => format!("{status} from backend {b}"),
                    None => format!("{status} from the gateway, no backend"),
                };
                if let Some(l) = location {
                    s.push_str(&format!(" -> {l}"));
                }
                if let Some(c) = cert {
                    let v = match &c.verified {
                        Ok(()) => "valid for the name".to_owned(),
                        Err(e) => format!("NOT valid for the name: {e}"),
                    };
                    s.push_str(&format!("; certificate: {} ({v})", c.description));
                }
                s
            }
            Outcome::NoConnection(e) => format!("no connection: {e}"),
            Outcome::TlsFailed(e) => format!("TLS handshake failed: {e}"),
            Outcome::Failed(e) => format!("failed: {e}"),
        }
    }
}

/// Sends probes to one gateway address, trusting only the test CA.
#[derive(Clone)]
pub struct Client {
    address: Ipv4Addr,
    roots: Arc<RootCertStore>,
    book: CertBook,
}

impl Client {
    pub fn new(address: Ipv4Addr, roots: RootCertStore, book: CertBook) -> Client {
        Client {
            address,
            roots: Arc::new(roots),
            book,
        }
    }

    pub async fn send(&self, probe: &Probe) -> Outcome {
        self.send_with_host(probe, &probe.host).await
    }

    /// Like [`Client::send`] with another Host header than the probe's name (which stays the SNI).
    pub async fn send_with_host(&self, probe: &Probe, host_header: &str) -> Outcome {
        match tokio::time::timeout(REQUEST_TIMEOUT, self.send_inner(probe, host_header)).await {
            Ok(outcome) => outcome,
            Err(_) => Outcome::Failed(format!("no answer within {REQUEST_TIMEOUT:?}")),
        }
    }

    async fn send_inner(&self, probe: &Probe, host_header: &str) -> Outcome {
        let tcp = match TcpStream::connect((self.address, probe.scheme.port())).await {
            Ok(s) => s,
            Err(e) => return Outcome::NoConnection(e.to_string()),
        };
        match probe.scheme {
            Scheme::Http => exchange(tcp, probe, host_header, None).await,
            Scheme::Https => {
                let seen = Arc::new(Mutex::new(None));
                let connector = match self.connector(Arc::clone(&seen)) {
                    Ok(c) => c,
                    Err(e) => return Outcome::Failed(format!("{e:#}")),
                };
                let name = match ServerName::try_from(probe.host.clone()) {
                    Ok(n) => n,
                    Err(e) => return Outcome::Failed(format!("invalid SNI {}: {e}", probe.host)),
                };
                let stream = match connector.connect(name, tcp).await {
                    Ok(s) => s,
                    Err(e) => return Outcome::TlsFailed(e.to_string()),
                };
                let cert = seen
                    .lock()
                    .ok()
                    .and_then(|mut s| s.take())
                    .map(|(der, verified): Seen| ServedCert {
                        description: self.book.describe(&der),
                        verified,
                    });
                exchange(stream, probe, host_header, cert).await
            }
        }
    }

    fn connector(&self, seen: Arc<Mutex<Option<Seen>>>) -> Result<TlsConnector> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let inner = WebPkiServerVerifier::builder_with_provider(Arc::clone(&self.roots), Arc::clone(&provider))
            .build()
            .context("building the certificate verifier")?;
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Recording { inner, seen }))
            .with_no_client_auth();
        Ok(TlsConnector::from(Arc::new(config)))
    }
}

type Seen = (Vec<u8>, Result<(), String>);

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    probe: &Probe,
    host_header: &str,
    cert: Option<ServedCert>,
) -> Outcome {
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: tgw-e2e\r\nConnection: close\r\n\r\n",
        probe.path
    );
    if let Err(e) = stream.write_all(request.as_bytes()).await {
        return Outcome::NoConnection(format!("sending the request: {e}"));
    }
    let mut buf = Vec::new();
    let read = (&mut stream).take(MAX_RESPONSE).read_to_end(&mut buf).await;
    if buf.is_empty() {
        return match read {
            Err(e) => Outcome::NoConnection(format!("reading the response: {e}")),
            Ok(_) => Outcome::NoConnection("closed without a response".to_owned()),
        };
    }
    match parse_head(&buf) {
        Some((status, backend, location)) => Outcome::Answered {
            status,
            backend,
            location,
            cert,
        },
        None => Outcome::Failed(format!(
            "malformed response: {:?}",
            String::from_utf8_lossy(&buf[..buf.len().min(120)])
        )),
    }
}

/// Status, backend identity header and Location of an HTTP/1.x response head.
fn parse_head(buf: &[u8]) -> Option<(u16, Option<String>, Option<String>)> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()?
        .strip_prefix("HTTP/1.")?
        .get(2..)?
        .split(' ')
        .next()?
        .parse()
        .ok()?;
    let (mut backend, mut location) = (None, None);
    for line in lines {
        let Some((k, v)) = line.split_once(':') else { continue };
        if k.eq_ignore_ascii_case(BACKEND_HEADER) {
            backend = Some(v.trim().to_owned());
        } else if k.eq_ignore_ascii_case("location") {
            location = Some(v.trim().to_owned());
        }
    }
    Some((status, backend, location))
}

/// Verifies like a browser would (test CA, name), records the result and the leaf, and lets the
/// handshake continue either way.
#[derive(Debug)]
struct Recording {
    inner: Arc<WebPkiServerVerifier>,
    seen: Arc<Mutex<Option<Seen>>>,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map(|_| ())
            .map_err(|e| e.to_string());
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some((end_entity.to_vec(), verified));
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_head_gives_status_backend_and_location() {
        let r =
            b"HTTP/1.1 301 Moved Permanently\r\nLocation: https://www.example.org/\r\nX-Tgw-Backend: a/b\r\n\r\nbody";
        assert_eq!(
            parse_head(r),
            Some((301, Some("a/b".into()), Some("https://www.example.org/".into())))
        );
        assert_eq!(parse_head(b"HTTP/1.1 404 Not Found\r\n\r\n"), Some((404, None, None)));
        assert_eq!(parse_head(b"garbage"), None);
    }
}
