//! The run's local CA for Pebble's TLS listener certificate: the CA bundle a platform gives the
//! controller with a private ACME directory (`--acme-ca-bundle-file`; the suite sets
//! `Settings.acme` to the same), which the Issuer carries as `spec.acme.caBundle` and cert-manager
//! trusts for that directory only. It exists for one run and is in no system trust store.
//! Pebble's issuing root is separate and per run too (Pebble generates it at start).

use std::sync::Arc;

use anyhow::{Context, Result};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::RootCertStore;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A server certificate and key from the [`LocalCa`].
pub struct ServerCert {
    pub cert_pem: String,
    pub key_pem: String,
    der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

impl ServerCert {
    /// A rustls server configuration presenting this certificate.
    pub fn server_config(&self) -> Result<rustls::ServerConfig> {
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .with_no_client_auth()
            .with_single_cert(
                vec![self.der.clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone())),
            )
            .context("server certificate")
    }
}

pub struct LocalCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl LocalCa {
    pub fn new() -> Result<LocalCa> {
        let mut params = CertificateParams::new(Vec::<String>::new()).context("CA parameters")?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "tenant-gateway e2e ACME transport CA");
        let issuer =
            CertifiedIssuer::self_signed(params, KeyPair::generate().context("CA key")?).context("CA certificate")?;
        Ok(LocalCa { issuer })
    }

    /// A server certificate for `names` (DNS names, or IP addresses written as such).
    pub fn issue(&self, names: &[String]) -> Result<ServerCert> {
        let mut params =
            CertificateParams::new(names.to_vec()).with_context(|| format!("certificate parameters for {names:?}"))?;
        params
            .distinguished_name
            .push(DnType::CommonName, names.first().map_or("unnamed", String::as_str));
        let key = KeyPair::generate().context("server key")?;
        let cert = params
            .signed_by(&key, &self.issuer)
            .context("signing a server certificate")?;
        Ok(ServerCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().clone(),
            key_der: key.serialize_der(),
        })
    }

    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    pub fn roots(&self) -> Result<RootCertStore> {
        let mut roots = RootCertStore::empty();
        roots.add(self.issuer.der().clone()).context("adding the local CA")?;
        Ok(roots)
    }
}
