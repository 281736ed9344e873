//! Steady state on the real API server, from the controller's own metrics (counts, not timings):
//! once converged it writes nothing and reconciles nothing; the echoes of its own writes (route
//! status, namespace labels, owned objects) enqueue nothing; a status-only edit by someone else
//! enqueues nothing; a spec change of a route enqueues exactly its TenantGateway.

mod controller_support;

use std::time::{Duration, Instant};

use controller_support::*;
use gateway_api::httproutes::HttpRoute;
use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use tgw_controller::context::Metrics;
use tgw_controller::metrics::labels::RESULTS;
use tgw_core::keys::LABEL_GATEWAY;

const TENANTS: usize = 3;
const ROUTES: usize = 3;

fn counts(m: &Metrics) -> (u64, u64) {
    (m.writes(), m.reconciles())
}

/// Waits until the write counter has not moved for 3 s.
async fn settled(m: &Metrics) -> anyhow::Result<()> {
    let deadline = Instant::now() + TIMEOUT;
    let (mut last, mut since) = (m.writes(), Instant::now());
    while since.elapsed() < Duration::from_secs(3) {
        anyhow::ensure!(Instant::now() < deadline, "controller kept writing");
        tokio::time::sleep(Duration::from_millis(200)).await;
        if m.writes() != last {
            (last, since) = (m.writes(), Instant::now());
        }
    }
    Ok(())
}

async fn converged(admin: &Client, owners: &[String]) -> anyhow::Result<()> {
    for owner in owners {
        eventually(&format!("{owner} converged"), || async {
            let t = get_tgw(admin, owner).await?;
            let current = t.status.as_ref().and_then(|s| s.observed_generation) == t.metadata.generation;
            let routes = Api::<HttpRoute>::namespaced(admin.clone(), owner)
                .list(&Default::default())
                .await?;
            let accepted = routes
                .items
                .iter()
                .filter(|r| our_parents(r).iter().any(|p| p.1 == "True"))
                .count();
            Ok(current && accepted >= ROUTES)
        })
        .await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steady_state_writes_nothing_and_own_writes_reconcile_nothing() -> anyhow::Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
    let (_cluster, admin) = cluster().await?;
    let mut owners = Vec::new();
    for _ in 0..TENANTS {
        let owner = namespace(&admin, "tenant-s", &[]).await?;
        let apex = format!("{owner}.example.org");
        let child = namespace(&admin, "tenant-s-child", &[(LABEL_GATEWAY, &owner)]).await?;
        for r in 0..ROUTES {
            apply(
                &admin,
                GW,
                http_route(&owner, &format!("r{r}"), &[&format!("a{r}.{apex}")], &owner),
            )
            .await?;
        }
        apply(&admin, GW, http_route(&child, "c", &[&format!("c.{apex}")], &owner)).await?;
        apply_tgw(&admin, &owner, json!({"apex": apex, "attachedNamespaces": [child]})).await?;
        owners.push(owner);
    }
    let controller = start_controller(admin.clone()).await;
    let m = controller.metrics.clone();
    converged(&admin, &owners).await?;
    settled(&m).await?;

    // Every TenantGateway was reconciled once: none of the controller's own writes (route
    // status, namespace labels, Gateway/Issuer/Certificates, TenantGateway status) came back as
    // a reconcile, although their echoes were seen.
    let (writes, reconciles) = counts(&m);
    assert!(writes >= (TENANTS * (ROUTES + 4)) as u64, "writes {writes}");
    assert_eq!(reconciles, TENANTS as u64, "reconciles after convergence");
    // The reconcile-queue signals: each reconcile ended with one Controller result, and no
    // request waits once converged.
    let results = || RESULTS.map(|r| m.obs.results(r)).iter().sum::<u64>();
    assert_eq!(results(), reconciles, "one result per reconcile");
    assert_eq!(m.obs.queue.depth(), 0, "requests waiting after convergence");
    for source in ["route", "namespace", "owned"] {
        assert_eq!(m.obs.enqueues(source), 0, "reconciles enqueued by {source} events");
    }
    assert!(
        m.obs.own_write_echoes() >= (TENANTS * ROUTES) as u64,
        "echoes seen: {}",
        m.obs.own_write_echoes()
    );

    // Steady state: nothing happens.
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(counts(&m), (writes, reconciles), "writes/reconciles at steady state");

    // A status-only change by someone else (another controller's entry) is not a reason.
    let owner = &owners[0];
    let routes = dynapi(&admin, GW, "HTTPRoute", owner).await?;
    let mut r0 = routes.get("r0").await?;
    let mut parents = r0.data["status"]["parents"].as_array().cloned().unwrap_or_default();
    parents.push(json!({
        "parentRef": {"name": "other", "namespace": owner},
        "controllerName": "example.com/other-controller",
        "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted", "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}],
    }));
    r0.data["status"]["parents"] = json!(parents);
    routes
        .patch_status(
            "r0",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": r0.data["status"]})),
        )
        .await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(counts(&m), (writes, reconciles), "after a foreign status edit");
    assert_eq!(m.obs.enqueues("route"), 0);

    // A spec change is: exactly its TenantGateway is reconciled and writes what changed.
    apply(
        &admin,
        GW,
        http_route(owner, "r0", &[&format!("new.{owner}.example.org")], owner),
    )
    .await?;
    eventually("new listener", || async {
        let gw = get_gateway(&admin, owner, "cozystack").await?;
        Ok(gw.is_some_and(|g| {
            listener_names(&g)
                .iter()
                .any(|l| l == &tgw_core::naming::host_listener(&format!("new.{owner}.example.org")))
        }))
    })
    .await?;
    settled(&m).await?;
    assert_eq!(m.obs.enqueues("route"), 1, "one route event, one TenantGateway");
    assert_eq!(
        counts(&m).1,
        reconciles + 1,
        "enqueues by source: {:?}",
        ["tenantgateway", "route", "namespace", "owned"].map(|s| (s, m.obs.enqueues(s)))
    );
    assert_eq!(results(), reconciles + 1);
    assert_eq!(m.obs.queue.depth(), 0, "the route's request was served");
    controller.stop().await?;
    Ok(())
}
