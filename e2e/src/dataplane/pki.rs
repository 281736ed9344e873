//! A test CA standing in for cert-manager's issuance: the suite issues each Certificate's Secret
//! itself, with exactly the `secretName` and `dnsNames` the Certificate asks for. The ACME flow is
//! not exercised. [`CertBook`] remembers what was issued to whom, so a probe can say which
//! certificate the gateway served.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::RootCertStore;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A certificate and key issued by the [`TestCa`].
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
    pub der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

impl Issued {
    /// The chain and key for a rustls server (a backend that terminates TLS itself).
    pub fn server_config(&self) -> Result<rustls::ServerConfig> {
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .with_no_client_auth()
            .with_single_cert(
                vec![self.der.clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone())),
            )
            .context("backend TLS certificate")
    }
}

/// Which issued certificate a DER blob is: "<purpose> [dns names]".
#[derive(Clone, Default)]
pub struct CertBook(Arc<Mutex<BTreeMap<Vec<u8>, String>>>);

impl CertBook {
    pub fn describe(&self, der: &[u8]) -> String {
        self.0
            .lock()
            .ok()
            .and_then(|m| m.get(der).cloned())
            .unwrap_or_else(|| "a certificate the test did not issue (the gateway's default)".to_owned())
    }

    /// From now on, [`CertBook::describe`] calls `der` `what`.
    pub fn record(&self, der: &[u8], what: String) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(der.to_vec(), what);
        }
    }
}

/// A throw-away CA for one run.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
    book: CertBook,
}

impl TestCa {
    pub fn new() -> Result<TestCa> {
        let mut params = CertificateParams::new(Vec::<String>::new()).context("CA parameters")?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "tenant-gateway e2e data-plane CA");
        let issuer =
            CertifiedIssuer::self_signed(params, KeyPair::generate().context("CA key")?).context("CA certificate")?;
        Ok(TestCa {
            issuer,
            book: CertBook::default(),
        })
    }

    /// Issues a leaf for `dns_names`; `purpose` names it in [`CertBook::describe`].
    pub fn issue(&self, purpose: &str, dns_names: &[String]) -> Result<Issued> {
        let mut params = CertificateParams::new(dns_names.to_vec())
            .with_context(|| format!("certificate parameters for {dns_names:?}"))?;
        params
            .distinguished_name
            .push(DnType::CommonName, dns_names.first().map_or("unnamed", String::as_str));
        let key = KeyPair::generate().context("leaf key")?;
        let cert = params.signed_by(&key, &self.issuer).context("signing a leaf")?;
        self.book
            .record(cert.der(), format!("{purpose} {}", dns_names.join(",")));
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().clone(),
            key_der: key.serialize_der(),
        })
    }

    pub fn book(&self) -> CertBook {
        self.book.clone()
    }

    /// The CA certificate in PEM (a CA bundle to hand to a client, e.g. an Issuer's caBundle).
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A root store holding only this CA.
    pub fn roots(&self) -> Result<RootCertStore> {
        let mut roots = RootCertStore::empty();
        roots.add(self.issuer.der().clone()).context("adding the test CA")?;
        Ok(roots)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_certificates_are_named_in_the_book() -> Result<()> {
        let ca = TestCa::new()?;
        let a = ca.issue("Secret t/a", &["a.example.org".into(), "*.a.example.org".into()])?;
        assert_eq!(ca.book().describe(&a.der), "Secret t/a a.example.org,*.a.example.org");
        assert!(ca.book().describe(b"other").contains("did not issue"));
        assert!(a.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(a.key_pem.contains("PRIVATE KEY"));
        Ok(())
    }
}
