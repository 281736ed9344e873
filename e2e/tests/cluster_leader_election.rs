//! Leader election and the metrics/health endpoints of the production controller
//! (`tgw_controller::app::App`), two instances in one process against a real kube-apiserver,
//! both authenticated as the controller's ServiceAccount with the chart's RBAC (ClusterRole
//! rules and the leader-election Role, restated here):
//!
//! 1. exactly one instance holds the Lease; only it reconciles and writes;
//! 2. `/healthz`, `/readyz` (leader: caches synced; standby: Lease readable) and `/metrics` answer;
//! 3. a graceful stop of the leader releases the Lease and the standby takes over well within the
//!    lease duration, then reconciles a change;
//! 4. after a crash (no release) a new standby takes over once the lease duration has passed;
//! 5. the last instance's graceful stop releases the Lease too.

mod controller_support;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;
use controller_support::*;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use std::sync::Arc;
use tgw_controller::app::App;
use tgw_controller::config::Config;
use tgw_controller::context::Metrics;
use tgw_controller::leader::LeaderState;
use tgw_e2e::Identity;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const RELEASE_NS: &str = "cozy-system";
const SA: &str = "tenant-gateway-controller";
const LEASE: &str = "tgw-e2e-leader";
const LEASE_DURATION: Duration = Duration::from_secs(6);

/// The chart's ClusterRole rules (deploy/helm/tenant-gateway/templates/clusterrole.yaml).
fn cluster_rules() -> Value {
    json!([
        {"apiGroups": ["gateway.cozystack.io"], "resources": ["tenantgateways"], "verbs": ["list", "watch", "patch"]},
        {"apiGroups": ["gateway.cozystack.io"], "resources": ["tenantgateways/status"], "verbs": ["patch"]},
        {"apiGroups": ["gateway.cozystack.io"], "resources": ["tenantgateways/finalizers"], "verbs": ["update"]},
        {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list", "watch", "patch"]},
        {"apiGroups": ["gateway.networking.k8s.io"], "resources": ["gateways", "httproutes"], "verbs": ["get", "list", "watch", "create", "patch"]},
        {"apiGroups": ["gateway.networking.k8s.io"], "resources": ["tlsroutes", "grpcroutes"], "verbs": ["list", "watch"]},
        {"apiGroups": ["gateway.networking.k8s.io"], "resources": ["httproutes/status", "tlsroutes/status", "grpcroutes/status"], "verbs": ["patch"]},
        {"apiGroups": ["cert-manager.io"], "resources": ["issuers", "certificates"], "verbs": ["get", "list", "watch", "create", "patch", "delete"]},
    ])
}

/// The chart's leader-election Role (templates/leader-election-rbac.yaml).
fn lease_rules() -> Value {
    json!([
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "resourceNames": [LEASE], "verbs": ["get", "update"]},
    ])
}

async fn apply_obj(
    admin: &Client,
    group: &str,
    version: &str,
    kind: &str,
    plural: &str,
    obj: Value,
) -> anyhow::Result<()> {
    let ar = ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural);
    let name = obj["metadata"]["name"].as_str().context("name")?.to_owned();
    let api: Api<DynamicObject> = match obj["metadata"]["namespace"].as_str() {
        Some(ns) => Api::namespaced_with(admin.clone(), ns, &ar),
        None => Api::all_with(admin.clone(), &ar),
    };
    api.patch(&name, &PatchParams::apply(MANAGER).force(), &Patch::Apply(&obj))
        .await
        .with_context(|| format!("applying {kind} {name}"))?;
    Ok(())
}

async fn grant_chart_rbac(admin: &Client) -> anyhow::Result<()> {
    Api::<Namespace>::all(admin.clone())
        .patch(
            RELEASE_NS,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": RELEASE_NS}})),
        )
        .await?;
    let rbac = "rbac.authorization.k8s.io";
    let subject = json!([{"kind": "ServiceAccount", "name": SA, "namespace": RELEASE_NS}]);
    apply_obj(
        admin,
        rbac,
        "v1",
        "ClusterRole",
        "clusterroles",
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "tgw-e2e-leader"}, "rules": cluster_rules(),
        }),
    )
    .await?;
    apply_obj(
        admin,
        rbac,
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "tgw-e2e-leader"},
            "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": "tgw-e2e-leader"},
            "subjects": subject,
        }),
    )
    .await?;
    apply_obj(
        admin,
        rbac,
        "v1",
        "Role",
        "roles",
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "tgw-e2e-leader", "namespace": RELEASE_NS}, "rules": lease_rules(),
        }),
    )
    .await?;
    apply_obj(
        admin,
        rbac,
        "v1",
        "RoleBinding",
        "rolebindings",
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "tgw-e2e-leader", "namespace": RELEASE_NS},
            "roleRef": {"apiGroup": rbac, "kind": "Role", "name": "tgw-e2e-leader"},
            "subjects": subject,
        }),
    )
    .await?;
    Ok(())
}

struct Instance {
    name: &'static str,
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    leader: Arc<LeaderState>,
    stop: Option<oneshot::Sender<()>>,
    handle: JoinHandle<anyhow::Result<()>>,
}

impl Instance {
    async fn start(client: Client, name: &'static str) -> anyhow::Result<Instance> {
        let cfg = Config::try_from_args([
            "tgw",
            "--leader-election=true",
            "--leader-election-namespace",
            RELEASE_NS,
            "--leader-election-lease-name",
            LEASE,
            "--leader-election-lease-duration",
            "6s",
            "--leader-election-renew-deadline",
            "4s",
            "--leader-election-retry-period",
            "500ms",
            "--pod-name",
            name,
            "--metrics-addr",
            "127.0.0.1:0",
            // Explicit values, so TGW_* variables of the environment do not change the test.
            "--controller-name",
            tgw_core::keys::CONTROLLER_NAME,
            "--field-manager",
            tgw_core::keys::FIELD_MANAGER,
            "--watch-namespace",
            "",
            "--platform-prefixes",
            "cozy-",
            "--acme-challenge-namespace",
            "cozy-cert-manager",
        ])?;
        let app = App::bind(&cfg).await?;
        let (tx, rx) = oneshot::channel::<()>();
        let instance = Instance {
            name,
            addr: app.local_addr()?,
            metrics: app.metrics(),
            leader: app.leader_state(),
            stop: Some(tx),
            handle: tokio::spawn(app.run(client, async move {
                let _ = rx.await;
            })),
        };
        Ok(instance)
    }

    /// Graceful stop (as SIGTERM); returns how long it took.
    async fn stop(mut self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        tokio::time::timeout(Duration::from_secs(20), self.handle)
            .await
            .with_context(|| format!("{} did not stop", self.name))???;
        Ok(started.elapsed())
    }

    async fn get(&self, path: &str) -> anyhow::Result<(u16, String)> {
        http_get(self.addr, path).await
    }
}

/// A minimal HTTP/1.0 GET (the server closes the connection after the response).
async fn http_get(addr: SocketAddr, path: &str) -> anyhow::Result<(u16, String)> {
    let (status, _, body) = http_get_full(addr, path).await?;
    Ok((status, body))
}

/// [`http_get`] with the response head (status line and headers).
async fn http_get_full(addr: SocketAddr, path: &str) -> anyhow::Result<(u16, String, String)> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || -> anyhow::Result<(u16, String, String)> {
        let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
        let mut buf = String::new();
        s.read_to_string(&mut buf)?;
        let status = buf
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .with_context(|| format!("no status line in {buf:?}"))?;
        let (head, body) = buf.split_once("\r\n\r\n").unwrap_or((buf.as_str(), ""));
        Ok((status, head.replace("\r\n", "\n"), body.to_owned()))
    })
    .await?
}

fn sample(metrics: &str, name: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
}

async fn holder(admin: &Client) -> anyhow::Result<Option<String>> {
    let lease = Api::<Lease>::namespaced(admin.clone(), RELEASE_NS)
        .get_opt(LEASE)
        .await?;
    Ok(lease
        .and_then(|l| l.spec)
        .and_then(|s| s.holder_identity)
        .filter(|h| !h.is_empty()))
}

/// Waits until `ns/cozystack` is reconciled at its current generation.
async fn await_reconciled(admin: &Client, ns: &str) -> anyhow::Result<()> {
    eventually(&format!("TenantGateway {ns}/cozystack reconciled"), || async {
        let t = get_tgw(admin, ns).await?;
        Ok(t.metadata.generation.is_some()
            && t.status.as_ref().and_then(|s| s.observed_generation) == t.metadata.generation)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_leader_writes_and_hands_over_on_graceful_stop() -> anyhow::Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn,kube_client=off".into()),
        )
        .with_test_writer()
        .try_init();
    let started = Instant::now();
    let (cluster, admin) = cluster().await?;
    grant_chart_rbac(&admin).await?;
    let client = cluster.client(Identity::Controller).await?;
    let a = Instance::start(client.clone(), "tgw-a").await?;
    eventually("tgw-a holds the lease", || async {
        Ok(holder(&admin).await?.as_deref() == Some("tgw-a"))
    })
    .await?;
    // Started second, b stays standby for as long as a renews.
    let b = Instance::start(client.clone(), "tgw-b").await?;

    // Health and readiness of both: the leader once its caches are synced, the standby once it read the Lease.
    for i in [&a, &b] {
        eventually(&format!("{} /readyz", i.name), || async {
            let (code, body) = i.get("/readyz").await?;
            anyhow::ensure!(code == 200, "{code} {body}");
            Ok(true)
        })
        .await?;
        assert_eq!(i.get("/healthz").await?.0, 200, "{} /healthz", i.name);
    }
    assert!(a.leader.is_leader() && !b.leader.is_leader());

    let owner = namespace(&admin, "tenant-le", &[]).await?;
    let apex = format!("{owner}.example.org");
    apply_tgw(&admin, &owner, json!({"apex": apex})).await?;
    await_reconciled(&admin, &owner).await?;
    let gw = get_gateway(&admin, &owner, "cozystack").await?;
    assert!(gw.is_some(), "the leader applied the Gateway");
    assert!(a.metrics.writes() > 0, "leader wrote");
    assert_eq!(b.metrics.writes(), 0, "standby never writes");
    assert_eq!(b.metrics.reconciles(), 0, "standby never reconciles");

    let (code, head, text) = http_get_full(a.addr, "/metrics").await?;
    assert_eq!(code, 200);
    assert!(
        head.lines().any(|l| l.eq_ignore_ascii_case(
            "content-type: application/openmetrics-text; version=1.0.0; charset=utf-8"
        )),
        "OpenMetrics content type in\n{head}"
    );
    assert!(text.ends_with("\n# EOF\n"), "OpenMetrics ends in # EOF:\n{text}");
    for (name, min) in [
        ("tgw_reconciles_total", 1.0),
        ("tgw_writes_total", 1.0),
        ("tgw_leader", 1.0),
        ("tgw_caches_synced", 1.0),
        ("tgw_tenantgateways", 1.0),
    ] {
        let v = sample(&text, name).with_context(|| format!("{name} missing in\n{text}"))?;
        assert!(v >= min, "{name}={v} in\n{text}");
    }
    assert!(sample(&text, "tgw_reconcile_duration_seconds_count").is_some_and(|v| v >= 1.0));
    // OpenMetrics: a counter family is declared without `_total`, its samples carry it.
    assert!(text.contains("# TYPE tgw_reconcile_errors counter\n"), "{text}");
    assert!(
        text.contains("\ntgw_reconcile_errors_total{reason=\"kube_api\"} "),
        "{text}"
    );
    assert!(text.contains("tgw_hostname_conflicts "));
    // The reconcile-queue and watcher signals: the TenantGateway's reconcile was requested by its
    // watch event and waited in the queue; the Controller reported its result.
    assert!(
        sample(&text, "tgw_reconcile_queue_wait_seconds_count").is_some_and(|v| v >= 1.0),
        "{text}"
    );
    assert!(sample(&text, "tgw_reconcile_queue_depth").is_some(), "{text}");
    assert!(
        sample(&text, "tgw_watcher_errors_total{source=\"tenantgateway\"}").is_some(),
        "{text}"
    );
    eventually("the leader reports a reconcile result", || async {
        let (_, text) = a.get("/metrics").await?;
        let results: f64 = text
            .lines()
            .filter(|l| l.starts_with("tgw_reconcile_results_total{"))
            .filter_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse::<f64>().ok()))
            .sum();
        Ok(results >= 1.0)
    })
    .await?;
    let (_, text_b) = b.get("/metrics").await?;
    assert_eq!(sample(&text_b, "tgw_leader"), Some(0.0), "standby reports tgw_leader 0");
    assert_eq!(sample(&text_b, "tgw_writes_total"), Some(0.0));
    assert_eq!(sample(&text_b, "tgw_reconcile_queue_depth"), Some(0.0));

    // Graceful stop of the leader: it releases the Lease and b takes over well before expiry.
    let took = a.stop().await?;
    let released_at = Instant::now();
    eprintln!("leader stopped in {took:?}");
    eventually("tgw-b holds the lease", || async {
        Ok(holder(&admin).await?.as_deref() == Some("tgw-b"))
    })
    .await?;
    let handover = released_at.elapsed();
    eprintln!("handover to the standby in {handover:?}");
    assert!(
        handover < LEASE_DURATION,
        "handover took {handover:?}, lease duration {LEASE_DURATION:?}"
    );
    eventually("tgw-b leads", || async { Ok(b.leader.is_leader()) }).await?;

    // The new leader reconciles a change.
    apply_tgw(&admin, &owner, json!({"apex": apex, "tlsPassthroughServices": ["api"]})).await?;
    await_reconciled(&admin, &owner).await?;
    assert!(b.metrics.writes() > 0, "the new leader wrote");
    eventually("tgw-b /readyz as leader", || async {
        Ok(b.get("/readyz").await?.0 == 200)
    })
    .await?;

    // A crash (no release): a new standby takes over only once the lease has expired.
    let c = Instance::start(client.clone(), "tgw-c").await?;
    eventually("tgw-c /readyz as standby", || async {
        Ok(c.get("/readyz").await?.0 == 200)
    })
    .await?;
    b.handle.abort();
    let crashed_at = Instant::now();
    eventually("tgw-c holds the lease", || async {
        Ok(holder(&admin).await?.as_deref() == Some("tgw-c"))
    })
    .await?;
    let takeover = crashed_at.elapsed();
    eprintln!("takeover after a crash in {takeover:?}");
    assert!(
        takeover >= LEASE_DURATION - Duration::from_secs(1),
        "took over a live lease after {takeover:?}"
    );
    assert!(
        takeover < LEASE_DURATION + Duration::from_secs(3),
        "takeover took {takeover:?}"
    );
    apply_tgw(&admin, &owner, json!({"apex": apex})).await?;
    await_reconciled(&admin, &owner).await?;
    assert!(c.metrics.writes() > 0, "the third leader wrote");

    c.stop().await?;
    assert_eq!(holder(&admin).await?, None, "the last leader released the lease");
    let lease = Api::<Lease>::namespaced(admin.clone(), RELEASE_NS).get(LEASE).await?;
    eprintln!(
        "lease after both stopped: {:?} (rv {:?})",
        lease.spec,
        lease.resource_version()
    );
    eprintln!("test took {:?}", started.elapsed());
    drop(cluster);
    Ok(())
}
