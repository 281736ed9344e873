//! A throwaway CA and a serving certificate for 127.0.0.1, generated per webhook.

use anyhow::{Context, Result};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, SanType};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

pub(crate) struct ServingCert {
    /// PEM of the CA, for the webhook configuration's `caBundle`.
    pub ca_pem: String,
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

pub(crate) fn generate() -> Result<ServingCert> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).context("CA parameters")?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "tenant-gateway e2e webhook CA");
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().context("CA key")?).context("CA certificate")?;

    let mut params = CertificateParams::new(vec!["localhost".to_string()]).context("serving parameters")?;
    params
        .subject_alt_names
        .push(SanType::IpAddress(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)));
    params
        .distinguished_name
        .push(DnType::CommonName, "tenant-gateway-webhook");
    let key = KeyPair::generate().context("serving key")?;
    let cert = params.signed_by(&key, &ca).context("serving certificate")?;
    Ok(ServingCert {
        ca_pem: ca.pem(),
        chain: vec![cert.der().clone()],
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    })
}
