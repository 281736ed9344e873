//! The world of the issuance suite: one control plane, Traefik, the controller in-process, Pebble
//! with challtestsrv, the ACME front (stop-gap, see `tgw_e2e::acme::front`), cert-manager's
//! controller and the solver-Pod kubelet, all in the suite's network namespace; plus what to print
//! when issuance does not finish.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, ResourceExt};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use serde_json::{Value, json};
use tgw_core::keys::{LABEL_GATEWAY, LABEL_HOST};
use tgw_e2e::TestCluster;
use tgw_e2e::acme::{AcmeFront, AcmeTransport, CertManager, LocalCa, Pebble, PebbleConfig, SolverKubelet, https};
use tgw_e2e::dataplane::traefik::GATEWAY_CLASS;
use tgw_e2e::dataplane::{Backend, Traefik, netns};

use crate::controller_support::{self as cs, CM, GW, Running};

pub const ROOT: &str = "tenant-root";
pub const APEX: &str = "example.org";
/// Inheriting child of root (own host label `alice.example.org`, root's Gateway).
pub const ALICE: &str = "tenant-alice";
/// Another inheriting child of root: the sibling that routes Alice's names past admission.
pub const BOB: &str = "tenant-bob";
pub const ACME_GROUP: &str = "acme.cert-manager.io";
/// Bound on one issuance (order, challenge, validation, finalisation) from the Certificate's
/// creation; Pebble validates at once and cert-manager's self-check passes within seconds here.
pub const ISSUE_TIMEOUT: Duration = Duration::from_secs(180);

pub fn host(sub: &str) -> String {
    format!("{sub}.{APEX}")
}

pub struct World {
    pub cluster: TestCluster,
    pub admin: Client,
    pub traefik: Traefik,
    pub controller: Option<Running>,
    pub pebble: Pebble,
    pub front: AcmeFront,
    pub cert_manager: CertManager,
    pub kubelet: SolverKubelet,
    pub backends: Vec<Backend>,
    /// cert-manager's solver HTTPRoutes as last seen while waiting for issuance (they are
    /// deleted once their challenge is done): `ns/name hostnames -> parent statuses`.
    pub solver_routes: BTreeMap<String, String>,
}

/// An HTTPRoute `ns/name` for `hostnames` to Service `backend`, on root's Gateway.
pub fn route(ns: &str, name: &str, hostnames: &[String], backend: &str) -> Value {
    json!({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "parentRefs": [{"name": "cozystack", "namespace": ROOT}],
            "hostnames": hostnames,
            "rules": [{"backendRefs": [{"name": backend, "port": 80}]}],
        },
    })
}

/// A route of root's own namespace, pinned to port 443 (docs/architecture.md: an unpinned one
/// also attaches to the plaintext `http` listener).
pub fn owner_route(name: &str, hostnames: &[String], backend: &str) -> Value {
    let mut r = route(ROOT, name, hostnames, backend);
    r["spec"]["parentRefs"][0]["port"] = json!(443);
    r
}

/// The names the suite's routes ask for and the controller must get certificates for.
pub fn served_names() -> Vec<String> {
    vec![host("www"), host("shop.alice")]
}

/// Names routed past admission that the controller refuses: tenant-bob's route for Alice's
/// claimed `shop` (a second claim, which loses) and for the unclaimed `pay` under Alice's apex
/// (outside Bob's namespace apex).
pub fn refused_names() -> Vec<String> {
    vec![host("pay.alice")]
}

impl World {
    /// Starts everything. tenant-root gets an http01 TenantGateway for [`APEX`] naming
    /// `letsencrypt-stage` and a route for `www`; its inheriting children tenant-alice (route
    /// `shop.alice`) and tenant-bob (a route for Alice's `shop` and `pay`, see
    /// [`refused_names`]); each route with its backend.
    pub async fn start(paths: &Paths) -> Result<World> {
        let address = netns::ADDRESS;
        let (cluster, admin) = cs::cluster().await?;
        for (ns, labels) in [
            (ROOT, json!({LABEL_HOST: APEX})),
            (ALICE, json!({LABEL_HOST: host("alice"), LABEL_GATEWAY: ROOT})),
            (BOB, json!({LABEL_HOST: host("bob"), LABEL_GATEWAY: ROOT})),
        ] {
            let obj: Namespace = serde_json::from_value(json!({"metadata": {"name": ns, "labels": labels}}))?;
            Api::<Namespace>::all(admin.clone())
                .patch(ns, &PatchParams::apply(cs::MANAGER).force(), &Patch::Apply(&obj))
                .await
                .with_context(|| format!("namespace {ns}"))?;
        }
        let mut backends = Vec::new();
        for (ns, svc) in [(ROOT, "www"), (ALICE, "shop"), (BOB, "thief")] {
            let b = Backend::http(address, &format!("{ns}/{svc}")).await?;
            b.publish(&admin, ns, svc, 80, address).await?;
            backends.push(b);
        }
        // Written before the controller and cert-manager start, all at once: a refused name gets
        // its chance to be ordered in the same window as the served ones. No admission webhook
        // runs, so Bob's route is written past admission.
        for r in [
            owner_route("www", &[host("www")], "www"),
            route(ALICE, "shop", &[host("shop.alice")], "shop"),
            route(BOB, "steal-alice", &[host("shop.alice"), host("pay.alice")], "thief"),
        ] {
            cs::apply(&admin, GW, r).await?;
        }
        cs::apply_tgw(
            &admin,
            ROOT,
            json!({"apex": APEX, "gatewayClassName": GATEWAY_CLASS, "issuerName": "letsencrypt-stage"}),
        )
        .await?;

        let state = cluster.state_dir().to_owned();
        let ca = LocalCa::new()?;
        let pebble = Pebble::start(&paths.pebble, &state, address, address, &ca, &PebbleConfig::default()).await?;
        eprintln!(
            "tgw-e2e: pebble at {} (log {}), DNS {}",
            pebble.directory_url(),
            pebble.log_path().display(),
            pebble.dns
        );
        let front = AcmeFront::start(address, &ca, pebble.acme, ca.roots()?).await?;
        let traefik = Traefik::start(&paths.traefik, cluster.kubeconfig_path(), &admin, &state, address).await?;
        eprintln!("tgw-e2e: traefik log {}", traefik.log_path().display());
        let controller = cs::start_controller(admin.clone()).await;
        let proxy = front.proxy_url();
        let cert_manager = CertManager::start(
            &paths.cert_manager,
            cluster.kubeconfig_path(),
            &state,
            pebble.dns,
            &AcmeTransport {
                trust_pem: &ca.pem(),
                https_proxy: Some(&proxy),
                no_proxy: &[APEX.to_owned()],
            },
        )
        .await?;
        eprintln!("tgw-e2e: cert-manager log {}", cert_manager.log_path().display());
        let kubelet = SolverKubelet::start(admin.clone(), &paths.cert_manager.join("acmesolver"), address, &state);
        Ok(World {
            cluster,
            admin,
            traefik,
            controller: Some(controller),
            pebble,
            front,
            cert_manager,
            kubelet,
            backends,
            solver_routes: BTreeMap::new(),
        })
    }

    pub fn ensure_running(&mut self) -> Result<()> {
        self.traefik.ensure_running()?;
        self.pebble.ensure_running()?;
        self.cert_manager.ensure_running()
    }

    /// The Certificates in `ns`.
    pub async fn certificates(&self, ns: &str) -> Result<Vec<kube::api::DynamicObject>> {
        Ok(cs::dynapi(&self.admin, CM, "Certificate", ns)
            .await?
            .list(&Default::default())
            .await?
            .items)
    }

    /// Waits until `ns` has exactly one Certificate per name (`spec.dnsNames` equal to `[name]`)
    /// and no other, all Ready; bounded by [`ISSUE_TIMEOUT`]. Fails with the ACME state.
    pub async fn await_issued(&mut self, ns: &str, names: &[String]) -> Result<Vec<kube::api::DynamicObject>> {
        let deadline = Instant::now() + ISSUE_TIMEOUT;
        loop {
            self.ensure_running()?;
            let certs = self.certificates(ns).await?;
            let mut want: Vec<Vec<String>> = names.iter().map(|n| vec![n.clone()]).collect();
            want.sort();
            let mut have: Vec<Vec<String>> = certs.iter().map(dns_names).collect();
            have.sort();
            let ready = certs.iter().all(|c| condition(&c.data, "Ready").0 == "True");
            self.note_solver_routes(ns).await?;
            if have == want && ready {
                return Ok(certs);
            }
            if Instant::now() > deadline {
                bail!(
                    "Certificates in {ns} for {names:?} not all Ready within {ISSUE_TIMEOUT:?}\n{}",
                    self.acme_state(ns).await
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Records the solver HTTPRoutes of `ns` with every controller's parent status on them.
    async fn note_solver_routes(&mut self, ns: &str) -> Result<()> {
        let routes = cs::dynapi(&self.admin, GW, "HTTPRoute", ns)
            .await?
            .list(&kube::api::ListParams::default().labels(tgw_e2e::acme::kubelet::SOLVER_LABEL))
            .await?
            .items;
        for r in routes {
            let parents: Vec<String> = r.data["status"]["parents"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    let conds: Vec<String> = p["conditions"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|c| {
                            format!(
                                "{}={}/{}",
                                c["type"].as_str().unwrap_or(""),
                                c["status"].as_str().unwrap_or(""),
                                c["reason"].as_str().unwrap_or("")
                            )
                        })
                        .collect();
                    format!(
                        "{} on {}/{} section {}: {}",
                        p["controllerName"].as_str().unwrap_or(""),
                        p["parentRef"]["namespace"].as_str().unwrap_or(ns),
                        p["parentRef"]["name"].as_str().unwrap_or(""),
                        p["parentRef"]["sectionName"].as_str().unwrap_or("-"),
                        conds.join(" ")
                    )
                })
                .collect();
            self.solver_routes.insert(
                format!("{ns}/{} {}", r.name_any(), r.data["spec"]["hostnames"]),
                if parents.is_empty() {
                    "no status yet".to_owned()
                } else {
                    parents.join("; ")
                },
            );
        }
        Ok(())
    }

    /// Certificates, CertificateRequests, Orders and Challenges of `ns` with their state, what
    /// the kubelet and the front did, and the log tails: the failure report of a stuck issuance.
    pub async fn acme_state(&self, ns: &str) -> String {
        let mut out = Vec::new();
        for (group, kind) in [
            (CM, "Certificate"),
            (CM, "CertificateRequest"),
            (ACME_GROUP, "Order"),
            (ACME_GROUP, "Challenge"),
            (GW, "HTTPRoute"),
        ] {
            let items = match cs::dynapi(&self.admin, group, kind, ns).await {
                Ok(api) => api.list(&Default::default()).await.map(|l| l.items),
                Err(e) => {
                    out.push(format!("{kind}: {e:#}"));
                    continue;
                }
            };
            for o in items.unwrap_or_default() {
                out.push(format!("{kind} {ns}/{}: {}", o.name_any(), describe(kind, &o.data)));
            }
        }
        out.push(format!("solver kubelet: {:?}", self.kubelet.log()));
        out.push(format!("ACME front: {:?}", self.front.log()));
        out.push(format!("Pebble orders: {}", self.pebble.orders_placed()));
        out.push(format!("--- cert-manager log tail\n{}", self.cert_manager.log_tail(40)));
        out.push(format!("--- pebble log tail\n{}", self.pebble.log_tail(20)));
        out.join("\n")
    }

    /// Copies every log of the run (the state directory goes away with the cluster) to `dir`.
    pub fn keep_logs(&self, dir: &std::path::Path) {
        let _ = std::fs::create_dir_all(dir);
        let logs = std::fs::read_dir(self.cluster.state_dir())
            .into_iter()
            .flatten()
            .flatten();
        for entry in logs.filter(|e| e.path().extension().is_some_and(|x| x == "log")) {
            let _ = std::fs::copy(entry.path(), dir.join(entry.file_name()));
        }
        eprintln!("tgw-e2e: logs kept in {}", dir.display());
    }

    /// The `kubernetes.io/tls` Secret `ns/name`: (chain, leaf first).
    pub async fn tls_chain(&self, ns: &str, name: &str) -> Result<Vec<CertificateDer<'static>>> {
        let s = Api::<Secret>::namespaced(self.admin.clone(), ns)
            .get(name)
            .await
            .with_context(|| format!("Secret {ns}/{name}"))?;
        let crt = s
            .data
            .as_ref()
            .and_then(|d| d.get("tls.crt"))
            .with_context(|| format!("Secret {ns}/{name} has no tls.crt"))?;
        https::pem_certificates(&crt.0)
    }
}

/// Where the binaries come from (built outside the namespace).
pub struct Paths {
    pub traefik: std::path::PathBuf,
    pub pebble: std::path::PathBuf,
    pub cert_manager: std::path::PathBuf,
}

impl Paths {
    pub fn locate() -> Result<Paths> {
        Ok(Paths {
            traefik: tgw_e2e::versions::traefik()?,
            pebble: tgw_e2e::versions::pebble()?,
            cert_manager: tgw_e2e::versions::cert_manager()?,
        })
    }
}

pub fn dns_names(c: &kube::api::DynamicObject) -> Vec<String> {
    c.data["spec"]["dnsNames"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// (status, reason, message) of condition `ty` ("" when absent).
pub fn condition(data: &Value, ty: &str) -> (String, String, String) {
    data["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == ty)
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or("").to_owned();
            (s("status"), s("reason"), s("message"))
        })
        .unwrap_or_default()
}

fn describe(kind: &str, data: &Value) -> String {
    let s = |v: &Value| v.as_str().unwrap_or("").to_owned();
    match kind {
        "Order" => format!(
            "state={} reason={} dnsNames={}",
            s(&data["status"]["state"]),
            s(&data["status"]["reason"]),
            data["spec"]["dnsNames"]
        ),
        "Challenge" => format!(
            "state={} presented={} processing={} reason={}",
            s(&data["status"]["state"]),
            data["status"]["presented"],
            data["status"]["processing"],
            s(&data["status"]["reason"])
        ),
        "HTTPRoute" => format!("hostnames={} status={}", data["spec"]["hostnames"], data["status"]),
        _ => format!(
            "Ready={:?} dnsNames={}",
            condition(data, "Ready"),
            data["spec"]["dnsNames"]
        ),
    }
}

/// Verifies `chain` (leaf first) for `name` against `roots` as a TLS client would.
pub fn verify_chain(chain: &[CertificateDer<'static>], name: &str, roots: rustls::RootCertStore) -> Result<()> {
    let (leaf, intermediates) = chain.split_first().context("empty chain")?;
    let verifier = WebPkiServerVerifier::builder_with_provider(
        std::sync::Arc::new(roots),
        std::sync::Arc::new(rustls::crypto::ring::default_provider()),
    )
    .build()
    .context("building a verifier")?;
    let server_name = ServerName::try_from(name.to_owned()).with_context(|| format!("invalid name {name}"))?;
    verifier
        .verify_server_cert(leaf, intermediates, &server_name, &[], UnixTime::now())
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("chain does not verify for {name}: {e}"))
}
