//! What every fault test shares: the tree of TenantGateways it converges, the state a run
//! converges to (compared between a faulty and a fault-free run), the wait for convergence, and
//! the broken cert-manager webhook.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use kube::Client;
use kube::api::{Api, DynamicObject, PostParams};
use serde_json::json;
use tgw_core::keys::LABEL_HOST;

use crate::controller_support::*;

/// cert-manager's admission webhook down: every Issuer and Certificate write fails (a webhook the
/// test registers with `failurePolicy: Fail` at an address where nothing listens).
pub async fn break_cert_manager_webhook(admin: &Client) -> anyhow::Result<()> {
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

/// The tree every kill test converges: tenant-root (http01) with an attached child, a platform
/// namespace and routes, and tenant-d (dns01) with a child of its own.
pub async fn fault_tree(admin: &Client) -> anyhow::Result<()> {
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

pub const FAULT_NAMESPACES: [&str; 5] = ["tenant-root", "tenant-a", "cozy-dash", "tenant-d", "tenant-d-kid"];

/// Everything the controller writes for the fault tree, without what differs between clusters
/// (uids, resourceVersions, times): owned objects' specs by kind/ns/name, namespace labels and
/// annotations, our route-status entries, the TenantGateways' conditions.
pub async fn converged_state(admin: &Client) -> anyhow::Result<std::collections::BTreeMap<String, serde_json::Value>> {
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
pub async fn await_converged(admin: &Client, m: &tgw_controller::context::Metrics) -> anyhow::Result<()> {
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
