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
