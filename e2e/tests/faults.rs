//! Faults survived (issue 21): the controller against a real kube-apiserver + etcd while
//! something it depends on fails. Each fault is a named test.

mod controller_support;

use std::time::{Duration, Instant};

use controller_support::*;
use kube::Client;
use kube::api::{Api, DynamicObject, PostParams};
use serde_json::json;
use tgw_core::keys::LABEL_HOST;

/// cert-manager's admission webhook down: every Issuer and Certificate write fails (a webhook the
/// test registers with `failurePolicy: Fail` at an address where nothing listens).
async fn break_cert_manager_webhook(admin: &Client) -> anyhow::Result<()> {
    let ar = kube::discovery::oneshot::group(admin, "admissionregistration.k8s.io")
        .await?
        .recommended_kind("ValidatingWebhookConfiguration")
        .ok_or_else(|| anyhow::anyhow!("ValidatingWebhookConfiguration not served"))?
        .0;
    let hook: DynamicObject = serde_json::from_value(json!({
        "apiVersion": ar.api_version, "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "cert-manager-webhook-down"},
        "webhooks": [{
            "name": "webhook.cert-manager.io",
            "clientConfig": {"url": "https://127.0.0.1:9/validate"},
            "rules": [{"apiGroups": ["cert-manager.io"], "apiVersions": ["*"], "operations": ["CREATE", "UPDATE"],
                       "resources": ["issuers", "certificates"]}],
            "failurePolicy": "Fail", "sideEffects": "None", "admissionReviewVersions": ["v1"], "timeoutSeconds": 2,
        }],
    }))?;
    Api::<DynamicObject>::all_with(admin.clone(), &ar)
        .create(&PostParams::default(), &hook)
        .await?;
    Ok(())
}

/// A failing TenantGateway is retried with exponential backoff, not every 15 s: the gaps between
/// its reconciles grow (the fifth is at least four times the first), and the controller's write
/// rate during the outage is reported. With the fixed 15 s requeue the gaps stay equal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_step_is_retried_with_growing_delays() -> anyhow::Result<()> {
    let (_cluster, admin) = cluster().await?;
    break_cert_manager_webhook(&admin).await?;
    named_namespace(&admin, "tenant-w", &[(LABEL_HOST, "w.example.org")]).await?;
    apply_tgw(
        &admin,
        "tenant-w",
        json!({"apex": "w.example.org", "certMode": "dns01", "dns01": {"provider": "cloudflare",
            "cloudflare": {"apiTokenSecretRef": {"name": "cf", "key": "token"}}}}),
    )
    .await?;
    let controller = start_controller(admin.clone()).await;
    let m = controller.metrics.clone();
    // Sample the reconcile counter: one TenantGateway, so each increment is one of its reconciles.
    let started = Instant::now();
    let mut starts: Vec<Duration> = Vec::new();
    let mut seen = m.reconciles();
    let writes_at_start = m.writes();
    while starts.len() < 7 && started.elapsed() < Duration::from_secs(75) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = m.reconciles();
        for _ in seen..now {
            starts.push(started.elapsed());
        }
        seen = now;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let writes = m.writes() - writes_at_start;
    eprintln!(
        "reconcile starts {:?}; {writes} write attempts in {elapsed:.1} s ({:.2}/s) for one failing TenantGateway",
        starts
            .iter()
            .map(|d| format!("{:.1}s", d.as_secs_f64()))
            .collect::<Vec<_>>(),
        writes as f64 / elapsed
    );
    let gaps: Vec<f64> = starts.windows(2).map(|w| (w[1] - w[0]).as_secs_f64()).collect();
    anyhow::ensure!(gaps.len() >= 5, "only {} retries observed: {gaps:?}", gaps.len());
    // The first gaps can include the initial reconcile's own events; compare retries 2 and 6.
    let (first, fifth) = (gaps[1], gaps[5.min(gaps.len() - 1)]);
    anyhow::ensure!(
        fifth >= 4.0 * first,
        "retry gaps do not grow: {gaps:?} (the {}-th is not 4x the 2nd)",
        5.min(gaps.len() - 1) + 1
    );
    let text = tgw_controller::metrics::render(&m)?;
    anyhow::ensure!(
        text.lines().any(|l| l == "tgw_backoff_objects 1"),
        "tgw_backoff_objects does not show the failing TenantGateway"
    );
    controller.stop().await?;
    Ok(())
}

/// The tree every kill test converges: tenant-root (http01) with an attached child, a platform
/// namespace and routes, and tenant-d (dns01) with a child of its own.
async fn fault_tree(admin: &Client) -> anyhow::Result<()> {
    use tgw_core::keys::LABEL_GATEWAY;
    named_namespace(
        admin,
        "tenant-root",
        &[(LABEL_HOST, "example.org"), (LABEL_GATEWAY, "tenant-root")],
    )
    .await?;
    named_namespace(admin, "tenant-a", &[(LABEL_HOST, "a.example.org")]).await?;
    named_namespace(admin, "cozy-dash", &[]).await?;
    named_namespace(admin, "tenant-d", &[(LABEL_HOST, "d.example.org")]).await?;
    named_namespace(
        admin,
        "tenant-d-kid",
        &[(LABEL_HOST, "kid.d.example.org"), (LABEL_GATEWAY, "tenant-d")],
    )
    .await?;
    for (ns, name, host, gw) in [
        ("tenant-root", "www", "www.example.org", "tenant-root"),
        ("tenant-a", "shop", "shop.a.example.org", "tenant-root"),
        ("tenant-a", "blog", "blog.a.example.org", "tenant-root"),
        ("cozy-dash", "dash", "dashboard.example.org", "tenant-root"),
        ("tenant-d", "app", "app.d.example.org", "tenant-d"),
        ("tenant-d-kid", "toy", "toy.kid.d.example.org", "tenant-d"),
    ] {
        apply(admin, GW, http_route(ns, name, &[host], gw)).await?;
    }
    apply_tgw(
        admin,
        "tenant-root",
        json!({"apex": "example.org", "attachedNamespaces": ["tenant-a", "cozy-dash"]}),
    )
    .await?;
    apply_tgw(
        admin,
        "tenant-d",
        json!({"apex": "d.example.org", "certMode": "dns01", "dns01": {"provider": "cloudflare",
            "cloudflare": {"apiTokenSecretRef": {"name": "cf", "key": "token"}}}}),
    )
    .await
}

const FAULT_NAMESPACES: [&str; 5] = ["tenant-root", "tenant-a", "cozy-dash", "tenant-d", "tenant-d-kid"];

/// Everything the controller writes for the fault tree, without what differs between clusters
/// (uids, resourceVersions, times): owned objects' specs by kind/ns/name, namespace labels and
/// annotations, our route-status entries, the TenantGateways' conditions.
async fn converged_state(admin: &Client) -> anyhow::Result<std::collections::BTreeMap<String, serde_json::Value>> {
    let mut out = std::collections::BTreeMap::new();
    for ns in FAULT_NAMESPACES {
        for (group, kind) in [(GW, "Gateway"), (GW, "HTTPRoute"), (CM, "Issuer"), (CM, "Certificate")] {
            for o in dynapi(admin, group, kind, ns)
                .await?
                .list(&Default::default())
                .await?
                .items
            {
                let name = o.metadata.name.clone().unwrap_or_default();
                let mut status = o.data["status"]["parents"].clone();
                if let Some(parents) = status.as_array_mut() {
                    parents.retain(|p| p["controllerName"] == tgw_core::keys::CONTROLLER_NAME);
                    for p in parents.iter_mut() {
                        for c in p["conditions"].as_array_mut().into_iter().flatten() {
                            c.as_object_mut().map(|m| m.remove("lastTransitionTime"));
                        }
                    }
                }
                out.insert(
                    format!("{kind} {ns}/{name}"),
                    json!({"spec": o.data["spec"], "ours": status}),
                );
            }
        }
        let n = Api::<k8s_openapi::api::core::v1::Namespace>::all(admin.clone())
            .get(ns)
            .await?;
        out.insert(
            format!("Namespace {ns}"),
            json!({"labels": n.metadata.labels, "annotations": n.metadata.annotations}),
        );
        if let Ok(t) = get_tgw(admin, ns).await {
            let conds: Vec<serde_json::Value> = t
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .into_iter()
                .map(|c| json!([c.type_, c.status, c.reason, c.message]))
                .collect();
            out.insert(format!("TenantGateway {ns}/cozystack"), json!(conds));
        }
    }
    Ok(out)
}

/// Waits until every TenantGateway is reconciled at its generation and the controller has written
/// nothing for 2 s.
async fn await_converged(admin: &Client, m: &tgw_controller::context::Metrics) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = (u64::MAX, Instant::now());
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let writes = m.writes();
        if writes != last.0 {
            last = (writes, Instant::now());
        }
        let mut current = true;
        for ns in ["tenant-root", "tenant-d"] {
            let t = get_tgw(admin, ns).await?;
            current &= t.status.as_ref().and_then(|s| s.observed_generation) == t.metadata.generation;
        }
        if current && last.1.elapsed() >= Duration::from_secs(2) {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "no convergence in 60 s");
    }
}

/// The controller is killed (aborted mid-way, as by SIGKILL or an OOM kill) at seeded points of its
/// first reconciles, then restarted: the cluster ends in exactly the state a fault-free run
/// reaches (every owned object, label, annotation, route-status entry and condition), with no
/// duplicated or orphaned object, and steady state writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_controller_killed_mid_reconcile_converges_to_the_fault_free_state() -> anyhow::Result<()> {
    let reference = {
        let (_cluster, admin) = cluster().await?;
        fault_tree(&admin).await?;
        let c = start_controller(admin.clone()).await;
        await_converged(&admin, &c.metrics).await?;
        let state = converged_state(&admin).await?;
        c.stop().await?;
        state
    };
    // Seeded kill points: after the controller issued this many writes of its first reconciles
    // (finalizer, labels, Gateway, Issuer, Certificates, redirect, route status, status).
    for (seed, kill_at) in [(1, 2u64), (2, 7), (3, 15)] {
        let (_cluster, admin) = cluster().await?;
        fault_tree(&admin).await?;
        let c = start_controller(admin.clone()).await;
        let deadline = Instant::now() + Duration::from_secs(30);
        while c.metrics.writes() < kill_at && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let writes_before_kill = c.metrics.writes();
        anyhow::ensure!(
            writes_before_kill >= kill_at,
            "seed {seed}: the controller never wrote {kill_at} times"
        );
        c.kill();
        let c = start_controller(admin.clone()).await;
        await_converged(&admin, &c.metrics).await?;
        let state = converged_state(&admin).await?;
        let differing: Vec<&String> = reference
            .keys()
            .chain(state.keys())
            .filter(|k| reference.get(*k) != state.get(*k))
            .collect();
        anyhow::ensure!(
            differing.is_empty(),
            "seed {seed} (killed after {writes_before_kill} writes): differs from the fault-free run in {differing:?}"
        );
        let steady = c.metrics.writes();
        tokio::time::sleep(Duration::from_secs(3)).await;
        anyhow::ensure!(c.metrics.writes() == steady, "seed {seed}: writes after convergence");
        eprintln!("seed {seed}: killed after {writes_before_kill} writes, converged to the fault-free state");
        c.stop().await?;
    }
    Ok(())
}
