//! The whole certificate stack a platform runs, started together for the issuance suite and the
//! demo: the zone's authoritative DNS (BIND, what Pebble resolves with and cert-manager's rfc2136
//! solver updates), the cluster's DNS (challtestsrv, what cert-manager's HTTP-01 self-check
//! resolves with), Pebble (the ACME server, its TLS from a CA of its own), cert-manager's
//! controller and the kubelet for its solver Pods. All of it on `address` inside the data
//! plane's network namespace. [`AcmeStack::directories`] is what the controller is then told
//! (`--acme-directories`, `--acme-ca-bundle-file`, `--acme-profiles`).

use std::net::Ipv4Addr;
use std::path::PathBuf;

use anyhow::Result;
use kube::Client;

use super::pebble::{LONG_PROFILE, SHORT_PROFILE};
use super::{Bind, CertManager, Dns, Pebble, PebbleConfig, SolverKubelet, TsigKey, Zone};
use crate::TestCluster;
use crate::dataplane::TestCa;

/// Where the binaries come from: built (or found cached) outside the network namespace.
#[derive(Debug, Clone)]
pub struct AcmePaths {
    pub pebble: PathBuf,
    pub cert_manager: PathBuf,
}

impl AcmePaths {
    /// Builds or finds Pebble and cert-manager (call it outside the network namespace).
    pub fn locate() -> Result<AcmePaths> {
        Ok(AcmePaths {
            pebble: crate::versions::pebble()?,
            cert_manager: crate::versions::cert_manager()?,
        })
    }
}

/// A running certificate stack; dropping it stops everything.
pub struct AcmeStack {
    /// The zone's authoritative server.
    pub public_dns: Bind,
    /// What cert-manager (inside the cluster) resolves HTTP-01 names with.
    pub cluster_dns: Dns,
    /// The CA of Pebble's TLS listener: the CA bundle the controller's directory setting carries.
    pub pebble_ca: TestCa,
    pub pebble: Pebble,
    pub cert_manager: CertManager,
    pub kubelet: SolverKubelet,
}

impl AcmeStack {
    /// Starts BIND for `zone` (updatable with `tsig`), the cluster DNS answering every name with
    /// `address`, Pebble with `pebble_config`, cert-manager against `cluster`, and the solver
    /// kubelet (acting with `admin`); logs go to the cluster's state directory.
    pub async fn start(
        paths: &AcmePaths,
        cluster: &TestCluster,
        admin: &Client,
        address: Ipv4Addr,
        zone: &Zone,
        tsig: TsigKey,
        pebble_config: &PebbleConfig,
    ) -> Result<AcmeStack> {
        let (kubeconfig, state_dir) = (cluster.kubeconfig_path(), cluster.state_dir());
        let public_dns = Bind::start(state_dir, address, zone, tsig).await?;
        let cluster_dns = Dns::start(&paths.pebble, state_dir, "dns-cluster", address, address).await?;
        let pebble_ca = TestCa::new()?;
        let pebble = Pebble::start(
            &paths.pebble,
            state_dir,
            address,
            public_dns.addr,
            &pebble_ca,
            pebble_config,
        )
        .await?;
        let cert_manager = CertManager::start(
            &paths.cert_manager,
            kubeconfig,
            state_dir,
            cluster_dns.addr,
            public_dns.addr,
        )
        .await?;
        let kubelet = SolverKubelet::start(
            admin.clone(),
            &paths.cert_manager.join("acmesolver"),
            address,
            state_dir,
        );
        Ok(AcmeStack {
            public_dns,
            cluster_dns,
            pebble_ca,
            pebble,
            cert_manager,
            kubelet,
        })
    }

    /// Both issuer names pointed at Pebble with its listener's CA bundle: `letsencrypt-stage`
    /// ordering the long-lived profile, `letsencrypt-prod` the short-lived one when
    /// `short_lived_prod` (else the long-lived one too). Pebble picks a profile at random for an
    /// order that names none, so both always name one.
    pub fn directories(&self, short_lived_prod: bool) -> Result<tgw_core::acme::Directories> {
        let url = self.pebble.directory_url();
        let prod = if short_lived_prod { SHORT_PROFILE } else { LONG_PROFILE };
        Ok(tgw_core::acme::parse(
            &[format!("letsencrypt-stage={url}"), format!("letsencrypt-prod={url}")],
            Some(&self.pebble_ca.pem()),
        )?
        .with_profiles(&[
            format!("letsencrypt-stage={LONG_PROFILE}"),
            format!("letsencrypt-prod={prod}"),
        ])?)
    }

    /// Fails naming the first process that has exited.
    pub fn ensure_running(&mut self) -> Result<()> {
        self.public_dns.ensure_running()?;
        self.cluster_dns.ensure_running()?;
        self.pebble.ensure_running()?;
        self.cert_manager.ensure_running()
    }

    /// What the kubelet did, Pebble's orders, and the tails of cert-manager's, Pebble's and
    /// BIND's logs.
    pub fn log_tails(&self) -> String {
        [
            format!("solver kubelet: {:?}", self.kubelet.log()),
            format!("Pebble's orders: {:?}", self.pebble.order_ids()),
            format!("--- cert-manager log tail\n{}", self.cert_manager.log_tail(40)),
            format!("--- pebble log tail\n{}", self.pebble.log_tail(20)),
            format!("--- named log tail\n{}", self.public_dns.log_tail(20)),
        ]
        .join("\n")
    }
}
