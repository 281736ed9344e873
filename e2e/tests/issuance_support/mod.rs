//! The world of the issuance suite: one control plane, Traefik, the controller in-process with
//! Pebble as the ACME directory of `letsencrypt-stage` (Pebble's own URL and CA bundle), Pebble
//! with the public DNS, cert-manager's controller with the cluster DNS, and the solver-Pod
//! kubelet, all in the suite's network namespace; plus what to print when issuance does not
//! finish.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
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
use tgw_e2e::acme::{AccountKey, AcmePaths, AcmeStack, PebbleConfig, TsigKey, Zone, https};
use tgw_e2e::dataplane::traefik::GATEWAY_CLASS;
use tgw_e2e::dataplane::{Backend, Traefik, netns};

use crate::controller_support::{self as cs, CM, GW, Running};

pub const ROOT: &str = "tenant-root";
pub const APEX: &str = "example.org";
/// Inheriting child of root (own host label `alice.example.org`, root's Gateway).
pub const ALICE: &str = "tenant-alice";
/// Another inheriting child of root: the sibling that routes Alice's names past admission.
pub const BOB: &str = "tenant-bob";
/// Two inheriting children of root sharing the host label `team.example.org`: both may publish
/// `app.team.example.org`, the older route wins (Dave's, written first; on equal timestamps the
/// namespace name decides, Dave's too).
pub const DAVE: &str = "tenant-dave";
pub const ERIN: &str = "tenant-erin";
/// A child tenant (host label `carol.example.org`) with its own TenantGateway for that apex.
pub const CAROL: &str = "tenant-carol";
/// A child tenant (host label `frank.example.org`) with a dns01 TenantGateway of its own
/// (rfc2136 against the public DNS server, BIND, with a TSIG key). cert-manager waits a fixed
/// 60 s after each DNS-01 self-check and runs the apex's and the wildcard's challenges one after
/// the other, so its certificate takes two minutes.
pub const FRANK: &str = "tenant-frank";
/// Frank's inheriting child (host label `kid.frank.example.org`): its apex and wildcard are SANs
/// of Frank's certificate.
pub const FRANK_KID: &str = "tenant-frank-kid";
/// The http01 TenantGateways, with a Certificate per claimed name: root's and Carol's.
pub const OWNERS: [&str; 2] = [ROOT, CAROL];
/// A child tenant (host label `gina.example.org`) with an http01 TenantGateway of its own on
/// `letsencrypt-prod`, which the controller maps to Pebble's short-lived profile: her
/// certificate is renewed every [`SHORT_VALIDITY_SECS`] * 2/3.
pub const GINA: &str = "tenant-gina";
/// Every TenantGateway with an Issuer (and so an ACME account) of its own.
pub const ACCOUNT_HOLDERS: [&str; 4] = [ROOT, CAROL, FRANK, GINA];
/// The validity of Pebble's short-lived profile: cert-manager renews at two thirds of it.
pub const SHORT_VALIDITY_SECS: u64 = 60;
/// The name of the TSIG key cert-manager signs its DNS updates with.
pub const TSIG_KEY_NAME: &str = "tgw-e2e-acme";
/// The Secret (and key in it) holding the TSIG key's secret in Frank's namespace.
pub const TSIG_SECRET: (&str, &str) = ("rfc2136-tsig", "secret");
/// The TenantGateway's name in every owner namespace.
pub const TGW: &str = "cozystack";
pub const ACME_GROUP: &str = "acme.cert-manager.io";
/// Where the public DNS sends the names whose validation must fail: nothing listens on port 80
/// there, so Pebble's HTTP-01 request is refused.
pub const ELSEWHERE: Ipv4Addr = Ipv4Addr::LOCALHOST;
/// Bound on issuance (order, challenge, validation, finalisation) from the Certificate's
/// creation; Pebble validates at once and cert-manager's HTTP-01 self-check passes within
/// seconds here; its DNS-01 one waits 60 s per round, two rounds for a wildcard with its apex.
pub const ISSUE_TIMEOUT: Duration = Duration::from_secs(240);

pub fn host(sub: &str) -> String {
    format!("{sub}.{APEX}")
}

pub struct World {
    pub cluster: TestCluster,
    pub admin: Client,
    pub traefik: Traefik,
    pub controller: Option<Running>,
    /// BIND, the cluster DNS, Pebble, cert-manager and the solver kubelet.
    pub acme: AcmeStack,
    pub backends: Vec<Backend>,
    /// cert-manager's solver HTTPRoutes as last seen while waiting for issuance (they are
    /// deleted once their challenge is done): `ns/name hostnames -> parent statuses`.
    pub solver_routes: BTreeMap<String, String>,
}

/// An HTTPRoute `ns/name` for `hostnames` to Service `backend`, on root's Gateway.
pub fn route(ns: &str, name: &str, hostnames: &[String], backend: &str) -> Value {
    route_on(ROOT, ns, name, hostnames, backend)
}

/// An HTTPRoute `ns/name` for `hostnames` to Service `backend`, on `gateway_ns`'s Gateway.
pub fn route_on(gateway_ns: &str, ns: &str, name: &str, hostnames: &[String], backend: &str) -> Value {
    json!({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "parentRefs": [{"name": TGW, "namespace": gateway_ns}],
            "hostnames": hostnames,
            "rules": [{"backendRefs": [{"name": backend, "port": 80}]}],
        },
    })
}

/// A route of an owner namespace on its own Gateway, pinned to port 443 (docs/architecture.md:
/// an unpinned one also attaches to the plaintext `http` listener).
pub fn owner_route(ns: &str, name: &str, hostnames: &[String], backend: &str) -> Value {
    let mut r = route(ns, name, hostnames, backend);
    r["spec"]["parentRefs"][0] = json!({"name": TGW, "namespace": ns, "port": 443});
    r
}

/// Per owner namespace, the names its routes claim that must be issued: root's own `www`,
/// Alice's `shop.alice` and Dave's (then Erin's) `app.team` on root's Gateway; Carol's
/// `app.carol` on hers.
pub fn served_names(owner: &str) -> Vec<String> {
    match owner {
        ROOT => vec![host("www"), host("shop.alice"), host("app.team")],
        CAROL => vec![host("app.carol")],
        _ => vec![],
    }
}

/// Per owner namespace, the claimed names whose public DNS points [`ELSEWHERE`]: cert-manager's
/// self-check (cluster DNS) reaches the solver through Traefik, Pebble's validation (public DNS)
/// is refused. Alice's, an attached tenant's name, on root's Gateway; Carol's own on hers.
pub fn failing_names(owner: &str) -> Vec<String> {
    match owner {
        ROOT => vec![host("elsewhere.alice")],
        CAROL => vec![host("elsewhere.carol")],
        _ => vec![],
    }
}

/// Frank's wildcard Certificate's names: his apex and its wildcard, then his child's.
pub fn wildcard_names() -> Vec<String> {
    let (frank, kid) = (host("frank"), host("kid.frank"));
    vec![frank.clone(), format!("*.{frank}"), kid.clone(), format!("*.{kid}")]
}

/// Names routed past admission that the controller refuses: tenant-bob's route for Alice's
/// claimed `shop` (a second claim, which loses) and for the unclaimed `pay` under Alice's apex
/// (outside Bob's namespace apex).
pub fn refused_names() -> Vec<String> {
    vec![host("pay.alice")]
}

/// The Certificate (and Secret) the controller names for `hostname` (docs/certificates.md).
pub fn certificate_name(hostname: &str) -> String {
    tgw_core::naming::host_certificate(TGW, hostname)
}

impl World {
    /// Starts everything. tenant-root gets an http01 TenantGateway for [`APEX`] and a route for
    /// `www`; its inheriting children tenant-alice (routes `shop.alice`, `elsewhere.alice`),
    /// tenant-bob (a route for Alice's `shop` and `pay`, see [`refused_names`]), tenant-dave and
    /// tenant-erin (a route each for `app.team`, Dave's first); the child tenant
    /// tenant-carol an http01 TenantGateway for `carol.example.org` of its own, with routes
    /// `app.carol` and `elsewhere.carol`. Both TenantGateways name `letsencrypt-stage`, which the
    /// controller maps to Pebble's directory with Pebble's CA bundle. Each route has its backend.
    pub async fn start(paths: &Paths) -> Result<World> {
        let address = netns::ADDRESS;
        let (cluster, admin) = cs::cluster().await?;
        for (ns, labels) in [
            (ROOT, json!({LABEL_HOST: APEX})),
            (ALICE, json!({LABEL_HOST: host("alice"), LABEL_GATEWAY: ROOT})),
            (BOB, json!({LABEL_HOST: host("bob"), LABEL_GATEWAY: ROOT})),
            (DAVE, json!({LABEL_HOST: host("team"), LABEL_GATEWAY: ROOT})),
            (ERIN, json!({LABEL_HOST: host("team"), LABEL_GATEWAY: ROOT})),
            (CAROL, json!({LABEL_HOST: host("carol")})),
            (FRANK, json!({LABEL_HOST: host("frank")})),
            (FRANK_KID, json!({LABEL_HOST: host("kid.frank"), LABEL_GATEWAY: FRANK})),
            (GINA, json!({LABEL_HOST: host("gina")})),
        ] {
            let obj: Namespace = serde_json::from_value(json!({"metadata": {"name": ns, "labels": labels}}))?;
            Api::<Namespace>::all(admin.clone())
                .patch(ns, &PatchParams::apply(cs::MANAGER).force(), &Patch::Apply(&obj))
                .await
                .with_context(|| format!("namespace {ns}"))?;
        }
        let mut backends = Vec::new();
        for (ns, svc) in [
            (ROOT, "www"),
            (ALICE, "shop"),
            (BOB, "thief"),
            (DAVE, "app"),
            (ERIN, "app"),
            (CAROL, "app"),
            (FRANK, "app"),
            (FRANK_KID, "toy"),
            (GINA, "app"),
        ] {
            let b = Backend::http(address, &format!("{ns}/{svc}")).await?;
            b.publish(&admin, ns, svc, 80, address).await?;
            backends.push(b);
        }
        // Written before the controller and cert-manager start, all at once: a refused name gets
        // its chance to be ordered in the same window as the served ones. No admission webhook
        // runs, so Bob's route is written past admission.
        for r in [
            owner_route(ROOT, "www", &[host("www")], "www"),
            route(ALICE, "shop", &[host("shop.alice")], "shop"),
            route(ALICE, "elsewhere", &[host("elsewhere.alice")], "shop"),
            route(BOB, "steal-alice", &[host("shop.alice"), host("pay.alice")], "thief"),
            route(DAVE, "app", &[host("app.team")], "app"),
            route(ERIN, "app", &[host("app.team")], "app"),
            owner_route(CAROL, "app", &[host("app.carol")], "app"),
            owner_route(CAROL, "elsewhere", &[host("elsewhere.carol")], "app"),
            owner_route(FRANK, "app", &[host("app.frank")], "app"),
            route_on(FRANK, FRANK_KID, "toy", &[host("toy.kid.frank")], "toy"),
            owner_route(GINA, "app", &[host("app.gina")], "app"),
        ] {
            cs::apply(&admin, GW, r).await?;
        }
        let tsig = TsigKey::generate(TSIG_KEY_NAME)?;
        let secret: Secret = serde_json::from_value(json!({
            "metadata": {"name": TSIG_SECRET.0, "namespace": FRANK},
            "stringData": {TSIG_SECRET.1: tsig.secret},
        }))?;
        Api::<Secret>::namespaced(admin.clone(), FRANK)
            .patch(
                TSIG_SECRET.0,
                &PatchParams::apply(cs::MANAGER).force(),
                &Patch::Apply(&secret),
            )
            .await
            .context("the TSIG Secret")?;
        for (ns, apex, issuer) in [
            (ROOT, APEX.to_owned(), "letsencrypt-stage"),
            (CAROL, host("carol"), "letsencrypt-stage"),
            (GINA, host("gina"), "letsencrypt-prod"),
        ] {
            cs::apply_tgw(
                &admin,
                ns,
                json!({"apex": apex, "gatewayClassName": GATEWAY_CLASS, "issuerName": issuer}),
            )
            .await?;
        }
        cs::apply_tgw(
            &admin,
            FRANK,
            json!({"apex": host("frank"), "gatewayClassName": GATEWAY_CLASS, "issuerName": "letsencrypt-stage",
                "certMode": "dns01", "dns01": {"provider": "rfc2136", "rfc2136": {
                    "nameserver": format!("{address}:53"), "tsigKeyName": TSIG_KEY_NAME,
                    "tsigAlgorithm": tgw_e2e::acme::bind::TSIG_ALGORITHM,
                    "tsigSecretSecretRef": {"name": TSIG_SECRET.0, "key": TSIG_SECRET.1}}}}),
        )
        .await?;

        let zone = Zone {
            origin: APEX.to_owned(),
            address,
            wildcards_under: ["alice", "carol", "frank", "kid.frank"].map(host).to_vec(),
            elsewhere: OWNERS
                .iter()
                .flat_map(|o| failing_names(o))
                .map(|n| (n, ELSEWHERE))
                .collect(),
        };
        let pebble_config = PebbleConfig {
            short_validity_secs: SHORT_VALIDITY_SECS,
            ..PebbleConfig::default()
        };
        let acme = AcmeStack::start(&paths.acme, &cluster, &admin, address, &zone, tsig, &pebble_config).await?;
        eprintln!(
            "tgw-e2e: pebble at {} (log {}), public DNS {}, cluster DNS {}, cert-manager log {}",
            acme.pebble.directory_url(),
            acme.pebble.log_path().display(),
            acme.public_dns.addr,
            acme.cluster_dns.addr,
            acme.cert_manager.log_path().display()
        );
        let traefik = Traefik::start(
            &paths.traefik,
            cluster.kubeconfig_path(),
            &admin,
            cluster.state_dir(),
            address,
        )
        .await?;
        eprintln!("tgw-e2e: traefik log {}", traefik.log_path().display());
        // As `--acme-directories letsencrypt-stage=<Pebble's URL>,letsencrypt-prod=<Pebble's URL>
        // --acme-ca-bundle-file <CA> --acme-profiles letsencrypt-stage=classic,letsencrypt-prod=shortlived`.
        let settings = tgw_core::decide::Settings {
            acme: acme.directories(true)?,
            ..Default::default()
        };
        let controller = cs::start_controller_with(admin.clone(), settings).await;
        Ok(World {
            cluster,
            admin,
            traefik,
            controller: Some(controller),
            acme,
            backends,
            solver_routes: BTreeMap::new(),
        })
    }

    pub fn ensure_running(&mut self) -> Result<()> {
        self.traefik.ensure_running()?;
        self.acme.ensure_running()
    }

    /// The Certificates in `ns`.
    pub async fn certificates(&self, ns: &str) -> Result<Vec<kube::api::DynamicObject>> {
        Ok(cs::dynapi(&self.admin, CM, "Certificate", ns)
            .await?
            .list(&Default::default())
            .await?
            .items)
    }

    /// Waits until every owner namespace has exactly one Certificate per served and failing name
    /// (`spec.dnsNames` equal to `[name]`) and no other; the served ones Ready, the failing ones
    /// given up by cert-manager (`Issuing=False`, reason `Failed`: the ACME order failed and the
    /// next attempt is an hour away). Bounded by [`ISSUE_TIMEOUT`]; fails with the ACME state.
    pub async fn await_settled(&mut self) -> Result<()> {
        let deadline = Instant::now() + ISSUE_TIMEOUT;
        loop {
            self.ensure_running()?;
            let mut pending = Vec::new();
            for ns in OWNERS {
                let certs = self.certificates(ns).await?;
                self.note_solver_routes(ns).await?;
                let mut want: Vec<Vec<String>> = served_names(ns)
                    .into_iter()
                    .chain(failing_names(ns))
                    .map(|n| vec![n])
                    .collect();
                want.sort();
                let mut have: Vec<Vec<String>> = certs.iter().map(dns_names).collect();
                have.sort();
                if have != want {
                    pending.push(format!("{ns}: Certificates for {have:?}, expected {want:?}"));
                }
                for c in &certs {
                    let names = dns_names(c);
                    let settled = if names.iter().any(|n| failing_names(ns).contains(n)) {
                        let (status, reason, _) = condition(&c.data, "Issuing");
                        status == "False" && reason == "Failed"
                    } else {
                        condition(&c.data, "Ready").0 == "True"
                    };
                    if !settled {
                        pending.push(format!("{ns}/{} {names:?}", c.name_any()));
                    }
                }
            }
            if pending.is_empty() {
                return Ok(());
            }
            if Instant::now() > deadline {
                let mut state = Vec::new();
                for ns in ACCOUNT_HOLDERS {
                    state.push(self.acme_state(ns).await);
                }
                bail!(
                    "Certificates not settled within {ISSUE_TIMEOUT:?}: {pending:?}\n{}\n{}",
                    state.join("\n"),
                    self.acme.log_tails()
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Waits until Certificate `ns/name` is Ready, bounded by [`ISSUE_TIMEOUT`]; fails with the
    /// ACME state of `ns`.
    pub async fn await_ready(&self, ns: &str, name: &str) -> Result<()> {
        let deadline = Instant::now() + ISSUE_TIMEOUT;
        loop {
            if let Some(c) = cs::get(&self.admin, CM, "Certificate", ns, name).await?
                && condition(&c.data, "Ready").0 == "True"
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "Certificate {ns}/{name} not Ready within {ISSUE_TIMEOUT:?}\n{}\n{}",
                    self.acme_state(ns).await,
                    self.acme.log_tails()
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Pebble's orders of [`OWNERS`]' TenantGateways, read back with every account's key: Frank's
    /// and Gina's (renewed every 40 s) are left out.
    pub async fn http01_orders(&self) -> Result<Vec<tgw_e2e::acme::LedgerOrder>> {
        let mut keys = Vec::new();
        for ns in ACCOUNT_HOLDERS {
            keys.push(self.account_key(ns).await?);
        }
        let orders = self.acme.pebble.orders(&keys).await?;
        Ok(orders
            .into_iter()
            .filter(|o| OWNERS.contains(&o.account.as_str()))
            .collect())
    }

    /// The ACME account of `ns`'s TenantGateway as its holder knows it: the URL from the
    /// Issuer's status, the key from the Secret the Issuer names, both in `ns`.
    pub async fn account_key(&self, ns: &str) -> Result<AccountKey> {
        let issuer_name = tgw_core::naming::issuer(TGW);
        let issuer = cs::get(&self.admin, CM, "Issuer", ns, &issuer_name)
            .await?
            .with_context(|| format!("no Issuer {ns}/{issuer_name}"))?;
        let url = issuer.data["status"]["acme"]["uri"]
            .as_str()
            .filter(|u| !u.is_empty())
            .with_context(|| format!("Issuer {ns}/{issuer_name} has no ACME account URI"))?;
        let secret_name = issuer.data["spec"]["acme"]["privateKeySecretRef"]["name"]
            .as_str()
            .context("no privateKeySecretRef")?;
        let secret = Api::<Secret>::namespaced(self.admin.clone(), ns)
            .get(secret_name)
            .await
            .with_context(|| format!("account key Secret {ns}/{secret_name}"))?;
        let key = secret
            .data
            .as_ref()
            .and_then(|d| d.get("tls.key"))
            .with_context(|| format!("Secret {ns}/{secret_name} has no tls.key"))?;
        AccountKey::from_pem(ns, url, &key.0)
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

    /// Certificates, CertificateRequests, Orders and Challenges of `ns` with their state: the
    /// failure report of a stuck issuance (with [`AcmeStack::log_tails`]).
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
    pub acme: AcmePaths,
}

impl Paths {
    pub fn locate() -> Result<Paths> {
        Ok(Paths {
            traefik: tgw_e2e::versions::traefik()?,
            acme: AcmePaths::locate()?,
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
