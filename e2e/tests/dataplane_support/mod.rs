//! The world of the data-plane suite: one control plane, Traefik, the controller in-process, the
//! tenants' backends and routes, a test CA issuing what the Certificates ask for, and a probe table.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use gateway_api::gateways::Gateway;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::Client;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::{Value, json};
use tgw_core::keys::{ACME_CHALLENGE_NAMESPACE, LABEL_GATEWAY, LABEL_HOST};
use tgw_e2e::TestCluster;
use tgw_e2e::dataplane::client::Client as Http;
use tgw_e2e::dataplane::traefik::{CONTROLLER_NAME as TRAEFIK_CONTROLLER, GATEWAY_CLASS};
use tgw_e2e::dataplane::{Backend, Outcome, Probe, TestCa, Traefik, issuance, netns};

use crate::controller_support::{self as cs, GW, Running};

pub const ROOT: &str = "tenant-root";
pub const APEX: &str = "example.org";
/// Inheriting child of root (own host label, root's Gateway).
pub const ALICE: &str = "tenant-alice";
/// Another inheriting child of root: the sibling that attacks Alice.
pub const BOB: &str = "tenant-bob";
/// A child of root with its own DNS-01 TenantGateway.
pub const CAROL: &str = "tenant-carol";
/// A tenant not attached to root's Gateway.
pub const MALLORY: &str = "tenant-mallory";
/// A platform namespace attached to root's Gateway.
pub const DASHBOARD: &str = "cozy-dashboard";
pub const ACME: &str = ACME_CHALLENGE_NAMESPACE;
/// The Secret the existingSecret tree's operator provides (`spec.wildcardSecretRef.name`).
pub const OPERATOR_SECRET: &str = "wildcard-tls";

/// A wildcard-mode tree: an owner TenantGateway (its own apex `<label>.example.org`, not attached
/// to root) and two attached children, each labelled with its own apex under the owner's. The
/// first child is the victim, the second the attacker (it also routes its own apex, so the
/// `https-child-apex-*` listener is proven to serve).
#[derive(Clone, Copy, Debug)]
pub struct Tree {
    /// `spec.certMode`: `dns01` or `existingSecret`.
    pub mode: &'static str,
    pub owner: &'static str,
    /// The owner's apex is `host(label)`.
    pub label: &'static str,
    /// (namespace, first label of its apex under the owner's apex): victim, attacker.
    pub children: [(&'static str, &'static str); 2],
}

/// dns01: tenant-dee (dee.example.org) with tenant-ann (ann.dee...) and tenant-ben (ben.dee...).
pub const DNS01_TREE: Tree = Tree {
    mode: "dns01",
    owner: "tenant-dee",
    label: "dee",
    children: [("tenant-ann", "ann"), ("tenant-ben", "ben")],
};
/// existingSecret: tenant-erin (erin.example.org) with tenant-kim (kim.erin...) and tenant-lou
/// (lou.erin...), served by the operator's Secret [`OPERATOR_SECRET`].
pub const SECRET_TREE: Tree = Tree {
    mode: "existingSecret",
    owner: "tenant-erin",
    label: "erin",
    children: [("tenant-kim", "kim"), ("tenant-lou", "lou")],
};
pub const TREES: [Tree; 2] = [DNS01_TREE, SECRET_TREE];

/// Every namespace holding a TenantGateway of the suite.
pub const OWNERS: [&str; 4] = [ROOT, CAROL, DNS01_TREE.owner, SECRET_TREE.owner];

impl Tree {
    pub fn apex(&self) -> String {
        host(self.label)
    }

    /// `<sub>.<apex>`.
    pub fn name(&self, sub: &str) -> String {
        format!("{sub}.{}", self.apex())
    }

    /// The apex of child `i`.
    pub fn child_apex(&self, i: usize) -> String {
        self.name(self.children[i].1)
    }

    /// `<sub>.<apex of child i>`.
    pub fn child_name(&self, i: usize, sub: &str) -> String {
        format!("{sub}.{}", self.child_apex(i))
    }

    pub fn victim(&self) -> &'static str {
        self.children[0].0
    }

    pub fn attacker(&self) -> &'static str {
        self.children[1].0
    }

    /// The names the tree's wildcard certificate must cover: the apex and every child apex, each
    /// with its wildcard.
    pub fn dns_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        for a in [self.apex(), self.child_apex(0), self.child_apex(1)] {
            out.push(a.clone());
            out.push(format!("*.{a}"));
        }
        out
    }

    /// The Secret that serves every name of the tree.
    pub fn secret(&self) -> String {
        match self.mode {
            "dns01" => tgw_core::naming::wildcard_certificate("cozystack"),
            _ => OPERATOR_SECRET.to_owned(),
        }
    }

    /// What the client records a certificate from that Secret as (a prefix of
    /// [`tgw_e2e::dataplane::CertBook::describe`]).
    pub fn cert_description(&self) -> String {
        format!("Secret {}/{} ", self.owner, self.secret())
    }

    /// The owner's TenantGateway spec.
    pub fn spec(&self) -> Value {
        let mut spec = json!({"apex": self.apex(), "gatewayClassName": GATEWAY_CLASS, "certMode": self.mode});
        match self.mode {
            "dns01" => {
                spec["issuerName"] = json!("letsencrypt-stage");
                spec["dns01"] = json!({"provider": "cloudflare", "cloudflare": {"apiTokenSecretRef": {"name": "cf", "key": "token"}}});
            }
            _ => spec["wildcardSecretRef"] = json!({"name": OPERATOR_SECRET}),
        }
        spec
    }

    /// The tree's own routes: the owner's `www` and apex (port 443), the victim's `shop`, the
    /// attacker's `shop` and its own apex.
    pub fn routes(&self) -> Vec<Value> {
        let (victim, attacker) = (self.victim(), self.attacker());
        vec![
            owner_route(self.owner, "www", &[self.name("www"), self.apex()], "www"),
            route(victim, "shop", self.owner, Some(&[self.child_name(0, "shop")]), "shop"),
            route(
                attacker,
                "shop",
                self.owner,
                Some(&[self.child_name(1, "shop"), self.child_apex(1)]),
                "shop",
            ),
        ]
    }

    /// Backends `(namespace, service)` of the tree (the attacker also has a `thief`).
    pub fn backends(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            (self.owner, "www"),
            (self.victim(), "shop"),
            (self.attacker(), "shop"),
            (self.attacker(), "thief"),
        ]
    }

    /// The tree's own traffic over HTTPS, each name to its tenant's backend.
    pub fn baseline(&self) -> Vec<(Probe, Expect)> {
        let own = |ns: &str, svc: &str| served(&format!("{ns}/{svc}"));
        vec![
            (Probe::https(&self.name("www"), "/"), own(self.owner, "www")),
            (Probe::https(&self.apex(), "/"), own(self.owner, "www")),
            (
                Probe::https(&self.child_name(0, "shop"), "/cart"),
                own(self.victim(), "shop"),
            ),
            (
                Probe::https(&self.child_name(1, "shop"), "/"),
                own(self.attacker(), "shop"),
            ),
            (Probe::https(&self.child_apex(1), "/"), own(self.attacker(), "shop")),
        ]
    }
}

/// Requests per probe: every one must meet the expectation ("keeps everything").
pub const REPEAT: usize = 3;
const SETTLE_TIMEOUT: Duration = Duration::from_secs(60);

pub fn host(name: &str) -> String {
    format!("{name}.{APEX}")
}

/// What a probe must see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// Backend `identity` answers 200; over HTTPS with a certificate from the suite's issuance that
    /// verifies for the name.
    Served(String),
    /// Some backend of namespace `ns` answers 200, as for [`Expect::Served`]: a tenant's own routes
    /// competing for its own name (Traefik does not break ties between identical matches by age).
    ServedByTenant(String),
    /// As [`Expect::Served`], and the certificate is the one the test issued as `cert` (a prefix
    /// of its description, e.g. `Secret tenant-dee/cozystack-gateway-tls `).
    ServedWithCert { backend: String, cert: String },
    /// Backend `identity` answers through TLS passthrough, with the certificate the backend holds.
    Passthrough(String),
    /// The gateway redirects to this location; no backend is involved.
    Redirect(String),
    /// No backend answers at all (404 from the gateway, refused connection or failed handshake).
    NoBackend,
}

pub fn served(identity: &str) -> Expect {
    Expect::Served(identity.to_owned())
}

impl Expect {
    /// `Err(why)` when the outcome does not meet the expectation.
    pub fn check(&self, probe: &Probe, outcome: &Outcome) -> Result<(), String> {
        let got = outcome.summary();
        let fail = |what: &str| Err(format!("{}: expected {what}, got {got}", probe.url()));
        match self {
            Expect::Served(id) => {
                if outcome.status() != Some(200) || outcome.backend() != Some(id) {
                    return fail(&format!("200 from backend {id}"));
                }
                match (probe.scheme, outcome.cert()) {
                    (tgw_e2e::dataplane::Scheme::Http, _) => Ok(()),
                    (_, Some(c)) if c.verified.is_ok() && c.description.starts_with("Secret ") => Ok(()),
                    _ => fail(&format!(
                        "200 from backend {id} with a certificate for the name issued to a Secret"
                    )),
                }
            }
            Expect::ServedWithCert { backend, cert } => {
                let cert_ok = outcome
                    .cert()
                    .is_some_and(|c| c.verified.is_ok() && c.description.starts_with(cert.as_str()));
                if outcome.status() == Some(200) && outcome.backend() == Some(backend) && cert_ok {
                    Ok(())
                } else {
                    fail(&format!(
                        "200 from backend {backend} with the certificate {cert}valid for the name"
                    ))
                }
            }
            Expect::ServedByTenant(ns) => {
                let own = outcome.backend().is_some_and(|b| b.starts_with(&format!("{ns}/")));
                let cert_ok = probe.scheme == tgw_e2e::dataplane::Scheme::Http
                    || outcome
                        .cert()
                        .is_some_and(|c| c.verified.is_ok() && c.description.starts_with("Secret "));
                if outcome.status() == Some(200) && own && cert_ok {
                    Ok(())
                } else {
                    fail(&format!("200 from a backend of {ns} with a certificate for the name"))
                }
            }
            Expect::Passthrough(id) => {
                let cert_ok = outcome
                    .cert()
                    .is_some_and(|c| c.verified.is_ok() && c.description.starts_with("backend "));
                if outcome.status() == Some(200) && outcome.backend() == Some(id) && cert_ok {
                    Ok(())
                } else {
                    fail(&format!("200 from backend {id} with the backend's own certificate"))
                }
            }
            Expect::Redirect(location) => match outcome {
                Outcome::Answered {
                    status: 301 | 302 | 307 | 308,
                    backend: None,
                    location: Some(l),
                    ..
                } if l == location => Ok(()),
                _ => fail(&format!("a redirect to {location}")),
            },
            Expect::NoBackend => match outcome.backend() {
                None => Ok(()),
                Some(_) => fail("no backend to answer"),
            },
        }
    }
}

/// One line per request, for logs and the report.
pub type Observations = Vec<String>;

/// Sends every probe [`REPEAT`] times; returns the observations and the failures.
pub async fn run_table(http: &Http, table: &[(Probe, Expect)]) -> (Observations, Vec<String>) {
    let mut seen = Vec::new();
    let mut failures = Vec::new();
    for (probe, expect) in table {
        for _ in 0..REPEAT {
            let outcome = http.send(probe).await;
            seen.push(format!("{:<55} {}", probe.url(), outcome.summary()));
            if let Err(e) = expect.check(probe, &outcome) {
                failures.push(e);
                break;
            }
        }
    }
    (seen, failures)
}

/// Fails listing every probe that did not meet its expectation.
pub async fn assert_table(http: &Http, what: &str, table: &[(Probe, Expect)]) -> Result<()> {
    let (seen, failures) = run_table(http, table).await;
    for line in &seen {
        eprintln!("  [{what}] {line}");
    }
    if !failures.is_empty() {
        bail!("{what}:\n  {}", failures.join("\n  "));
    }
    Ok(())
}

/// Retries the table until it passes (configuration still propagating) or the timeout.
pub async fn await_table(http: &Http, what: &str, table: &[(Probe, Expect)]) -> Result<()> {
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    loop {
        let (_, failures) = run_table(http, table).await;
        if failures.is_empty() {
            return assert_table(http, what, table).await;
        }
        if Instant::now() > deadline {
            return assert_table(http, what, table).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// [`baseline`] while `attacker` attacks: the attacker's own names may be answered by any of its
/// own backends (its attack route competes with its own route there), everyone else's exactly.
pub fn baseline_during_attack_by(attacker: &str) -> Vec<(Probe, Expect)> {
    baseline()
        .into_iter()
        .map(|(probe, expect)| match expect {
            Expect::Served(id) if id.starts_with(&format!("{attacker}/")) => {
                (probe, Expect::ServedByTenant(attacker.to_owned()))
            }
            other => (probe, other),
        })
        .collect()
}

/// The probes every tenant's own traffic must pass, at any time.
pub fn baseline() -> Vec<(Probe, Expect)> {
    vec![
        (Probe::https(&host("www"), "/"), served("tenant-root/www")),
        (
            Probe::https(&host("dashboard"), "/"),
            served("cozy-dashboard/dashboard"),
        ),
        (Probe::https(&host("shop.alice"), "/cart"), served("tenant-alice/shop")),
        (Probe::https(&host("blog.bob"), "/"), served("tenant-bob/blog")),
        (Probe::https(&host("app.carol"), "/"), served("tenant-carol/app")),
    ]
    .into_iter()
    .chain(TREES.iter().flat_map(Tree::baseline))
    .collect()
}

pub struct World {
    pub cluster: TestCluster,
    pub admin: Client,
    pub traefik: Traefik,
    pub controller: Option<Running>,
    pub ca: TestCa,
    pub http: Http,
    pub backends: Vec<Backend>,
    canary: u32,
}

fn route(ns: &str, name: &str, parent_ns: &str, hostnames: Option<&[String]>, backend: &str) -> Value {
    let mut spec = json!({
        "parentRefs": [{"name": "cozystack", "namespace": parent_ns}],
        "rules": [{"backendRefs": [{"name": backend, "port": 80}]}],
    });
    if let Some(h) = hostnames {
        spec["hostnames"] = json!(h);
    }
    json!({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    })
}

/// A route of the Gateway's own (owner) namespace, pinned to port 443 as docs/architecture.md
/// asks: an unpinned one also attaches to the plaintext `http` listener (Cozystack gap 13, which
/// the controller reports but cannot close; see case 2b).
pub fn owner_route(ns: &str, name: &str, hostnames: &[String], backend: &str) -> Value {
    let mut r = route(ns, name, ns, Some(hostnames), backend);
    r["spec"]["parentRefs"][0]["port"] = json!(443);
    r
}

/// An HTTPRoute `ns/name` to `parent_ns/cozystack` for `hostnames` (None: no hostnames field),
/// backed by Service `backend`.
pub fn http_route(ns: &str, name: &str, parent_ns: &str, hostnames: Option<&[String]>, backend: &str) -> Value {
    route(ns, name, parent_ns, hostnames, backend)
}

/// A TLSRoute in `ns` for the passthrough name `api.<apex>` on root's `tls-api` listener, to
/// `backend` (service, port).
pub fn tls_api_route(ns: &str, name: &str, backend: (&str, u16)) -> Value {
    json!({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "TLSRoute",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "parentRefs": [{"name": "cozystack", "namespace": ROOT, "sectionName": "tls-api"}],
            "hostnames": [host("api")],
            "rules": [{"backendRefs": [{"name": backend.0, "port": backend.1}]}],
        },
    })
}

/// The ACME HTTP-01 solver route as cert-manager's gateway solver writes it: in the challenge
/// namespace, on the `http` listener, for the token path only.
pub fn acme_route(name: &str, hostname: &str, token: &str) -> Value {
    json!({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": {"name": name, "namespace": ACME},
        "spec": {
            "parentRefs": [{"name": "cozystack", "namespace": ROOT, "sectionName": "http"}],
            "hostnames": [hostname],
            "rules": [{
                "matches": [{"path": {"type": "Exact", "value": format!("/.well-known/acme-challenge/{token}")}}],
                "backendRefs": [{"name": "solver", "port": 80}],
            }],
        },
    })
}

impl World {
    pub async fn start(traefik_bin: &std::path::Path) -> Result<World> {
        let (cluster, admin) = cs::cluster().await?;
        for (ns, labels) in [
            (ROOT, json!({LABEL_HOST: APEX})),
            (ALICE, json!({LABEL_HOST: host("alice"), LABEL_GATEWAY: ROOT})),
            (BOB, json!({LABEL_HOST: host("bob"), LABEL_GATEWAY: ROOT})),
            (CAROL, json!({LABEL_HOST: host("carol")})),
            (MALLORY, json!({LABEL_HOST: host("mallory")})),
            (DASHBOARD, json!({LABEL_GATEWAY: ROOT})),
            (ACME, json!({})),
        ]
        .into_iter()
        .chain(TREES.iter().flat_map(|t| {
            let mut v = vec![(t.owner, json!({LABEL_HOST: t.apex()}))];
            for (i, (ns, _)) in t.children.iter().enumerate() {
                v.push((*ns, json!({LABEL_HOST: t.child_apex(i), LABEL_GATEWAY: t.owner})));
            }
            v
        })) {
            let obj: Namespace = serde_json::from_value(json!({"metadata": {"name": ns, "labels": labels}}))?;
            Api::<Namespace>::all(admin.clone())
                .patch(ns, &PatchParams::apply(cs::MANAGER).force(), &Patch::Apply(&obj))
                .await
                .with_context(|| format!("namespace {ns}"))?;
        }

        let ca = TestCa::new()?;
        let address = netns::ADDRESS;
        let mut backends = Vec::new();
        for (ns, svc) in [
            (ROOT, "www"),
            (DASHBOARD, "dashboard"),
            (ALICE, "shop"),
            (BOB, "blog"),
            (CAROL, "app"),
            (ACME, "solver"),
            (BOB, "thief"),
            (MALLORY, "thief"),
        ]
        .into_iter()
        .chain(TREES.iter().flat_map(Tree::backends))
        {
            let b = Backend::http(address, &format!("{ns}/{svc}")).await?;
            b.publish(&admin, ns, svc, 80, address).await?;
            backends.push(b);
        }
        // The passthrough backend holds its own certificate (not from any Certificate object).
        let api_cert = ca.issue("backend tenant-root/api", &[host("api")])?;
        let api = Backend::https(address, "tenant-root/api", &api_cert).await?;
        api.publish(&admin, ROOT, "api", 443, address).await?;
        backends.push(api);

        for r in [
            owner_route(ROOT, "www", &[host("www")], "www"),
            route(DASHBOARD, "dashboard", ROOT, Some(&[host("dashboard")]), "dashboard"),
            route(ALICE, "shop", ROOT, Some(&[host("shop.alice")]), "shop"),
            route(BOB, "blog", ROOT, Some(&[host("blog.bob")]), "blog"),
            owner_route(CAROL, "app", &[host("app.carol")], "app"),
            acme_route("challenge", &host("www"), "token-1"),
            tls_api_route(ROOT, "api", ("api", 443)),
        ]
        .into_iter()
        .chain(TREES.iter().flat_map(Tree::routes))
        {
            cs::apply(&admin, GW, r).await?;
        }
        cs::apply_tgw(
            &admin,
            ROOT,
            json!({"apex": APEX, "gatewayClassName": GATEWAY_CLASS, "tlsPassthroughServices": ["api"]}),
        )
        .await?;
        cs::apply_tgw(
            &admin,
            CAROL,
            json!({"apex": host("carol"), "gatewayClassName": GATEWAY_CLASS, "certMode": "dns01",
                   "issuerName": "letsencrypt-stage",
                   "dns01": {"provider": "cloudflare", "cloudflare": {"apiTokenSecretRef": {"name": "cf", "key": "token"}}}}),
        )
        .await?;
        // The operator's Secret of the existingSecret tree, written before its TenantGateway.
        let t = SECRET_TREE;
        let issued = ca.issue(&format!("Secret {}/{OPERATOR_SECRET}", t.owner), &t.dns_names())?;
        let secret: Secret = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": {"name": OPERATOR_SECRET, "namespace": t.owner},
            "stringData": {"tls.crt": issued.cert_pem, "tls.key": issued.key_pem},
        }))?;
        Api::<Secret>::namespaced(admin.clone(), t.owner)
            .patch(
                OPERATOR_SECRET,
                &PatchParams::apply(cs::MANAGER).force(),
                &Patch::Apply(&secret),
            )
            .await
            .with_context(|| format!("Secret {}/{OPERATOR_SECRET}", t.owner))?;
        for t in TREES {
            cs::apply_tgw(&admin, t.owner, t.spec()).await?;
        }

        let traefik = Traefik::start(
            traefik_bin,
            cluster.kubeconfig_path(),
            &admin,
            cluster.state_dir(),
            address,
        )
        .await?;
        eprintln!("tgw-e2e: traefik log {}", traefik.log_path().display());
        let controller = cs::start_controller(admin.clone()).await;
        let http = Http::new(address, ca.roots()?, ca.book());
        Ok(World {
            cluster,
            admin,
            traefik,
            controller: Some(controller),
            ca,
            http,
            backends,
            canary: 0,
        })
    }

    pub async fn apply(&self, obj: Value) -> Result<()> {
        cs::apply(&self.admin, GW, obj).await.map(|_| ())
    }

    pub async fn delete_route(&self, kind: &str, ns: &str, name: &str) -> Result<()> {
        cs::dynapi(&self.admin, GW, kind, ns)
            .await?
            .delete(name, &DeleteParams::default())
            .await
            .with_context(|| format!("deleting {kind} {ns}/{name}"))?;
        Ok(())
    }

    /// Issues every Certificate's Secret the controllers asked for (see `issuance`) in the
    /// namespaces of the TenantGateways that manage certificates (not the existingSecret owner:
    /// a Certificate there would be a bug, and issuing it could overwrite the operator's Secret).
    pub async fn issue_certificates(&self) -> Result<usize> {
        issuance::issue_certificates(&self.admin, &self.ca, &[ROOT, CAROL, DNS01_TREE.owner]).await
    }

    /// Waits until the controller's output has settled, every Certificate has its Secret, Traefik
    /// has accepted the latest generation of every Gateway ([`OWNERS`]), and a fresh canary route on port 80
    /// answers: Traefik builds its configuration from everything it has seen, so once the canary
    /// (written last) is live, so is every object written before it.
    pub async fn settle(&mut self) -> Result<()> {
        let deadline = Instant::now() + SETTLE_TIMEOUT;
        let mut quiet = 0;
        while quiet < 3 {
            self.traefik.ensure_running()?;
            if Instant::now() > deadline {
                bail!("the data plane did not settle in {SETTLE_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            let issued = self.issue_certificates().await?;
            let mut accepted = true;
            for ns in OWNERS {
                accepted = accepted && self.gateway_accepted(ns).await?;
            }
            quiet = if issued == 0 && accepted { quiet + 1 } else { 0 };
        }
        self.canary += 1;
        let token = format!("canary-{}", self.canary);
        self.apply(acme_route(&token, &host("www"), &token)).await?;
        let probe = Probe::http(&host("www"), &format!("/.well-known/acme-challenge/{token}"));
        let expect = served("cozy-cert-manager/solver");
        loop {
            let outcome = self.http.send(&probe).await;
            if expect.check(&probe, &outcome).is_ok() {
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "canary {} never answered: {}; traefik log:\n{}",
                    probe.url(),
                    outcome.summary(),
                    self.traefik.log_tail(20)
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        self.delete_route("HTTPRoute", ACME, &token).await
    }

    /// Traefik has written Accepted for the Gateway's current generation.
    async fn gateway_accepted(&self, ns: &str) -> Result<bool> {
        let Some(gw) = cs::get_gateway(&self.admin, ns, "cozystack").await? else {
            return Ok(false);
        };
        let generation = gw.metadata.generation.unwrap_or_default();
        Ok(gw
            .status
            .and_then(|s| s.conditions)
            .into_iter()
            .flatten()
            .any(|c| c.type_ == "Accepted" && c.observed_generation == Some(generation)))
    }

    pub async fn gateway(&self, ns: &str) -> Result<Gateway> {
        cs::get_gateway(&self.admin, ns, "cozystack")
            .await?
            .with_context(|| format!("no Gateway {ns}/cozystack"))
    }

    /// Traefik's own status entries on a route: (parent, condition type, status, reason).
    pub async fn traefik_status(&self, kind: &str, ns: &str, name: &str) -> Result<Vec<String>> {
        let r = cs::get(&self.admin, GW, kind, ns, name)
            .await?
            .with_context(|| format!("no {kind} {ns}/{name}"))?;
        Ok(r.data["status"]["parents"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["controllerName"] == TRAEFIK_CONTROLLER)
            .flat_map(|p| {
                let parent = format!(
                    "{}/{}",
                    p["parentRef"]["namespace"].as_str().unwrap_or(ns),
                    p["parentRef"]["name"].as_str().unwrap_or("")
                );
                p["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(move |c| {
                        format!(
                            "{parent} {}={} ({})",
                            c["type"].as_str().unwrap_or(""),
                            c["status"].as_str().unwrap_or(""),
                            c["reason"].as_str().unwrap_or("")
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect())
    }

    pub async fn restart_controller(&mut self) -> Result<()> {
        if let Some(c) = self.controller.take() {
            let took = c.stop().await?;
            eprintln!("tgw-e2e: controller stopped in {took:?}");
        }
        self.controller = Some(cs::start_controller(self.admin.clone()).await);
        Ok(())
    }
}
