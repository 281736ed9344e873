//! Status that tells the truth when the Gateway is missing, and a migration that can be rolled
//! back (issue 13), on a real kube-apiserver + etcd with the controller in-process.

mod controller_support;

use anyhow::Context;
use controller_support::*;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use tgw_core::conditions::{reasons, types};
use tgw_core::keys::{ANNOTATION_ATTACHED_BY, LABEL_GATEWAY, LABEL_HOST};
use tgw_core::naming;

/// Replaces our CRD with Cozystack's (kept in the repository as a compatibility fixture), which
/// has no CEL rule against `existingSecret` without `wildcardSecretRef`: objects stored before our
/// CRD was installed look like this.
async fn install_cozystack_crd(client: &Client) -> anyhow::Result<()> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../controller/tests/reference/cozystack-tenantgateways-crd.yaml");
    let text = std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
    let crd: Value = serde_yaml::from_str(&text)?;
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let name = crd["metadata"]["name"].as_str().context("CRD name")?.to_owned();
    api.patch(&name, &PatchParams::apply(MANAGER).force(), &Patch::Apply(&crd))
        .await
        .context("apply Cozystack's CRD")?;
    eventually("existingSecret without wildcardSecretRef is storable", || async {
        let probe = tgw(
            "default",
            json!({"apex": "probe.example.org", "certMode": "existingSecret"}),
        );
        let api: Api<kube::api::DynamicObject> =
            dynapi(client, "gateway.cozystack.io", "TenantGateway", "default").await?;
        let pp = PatchParams::apply(MANAGER).dry_run();
        Ok(api.patch("cozystack", &pp, &Patch::Apply(&probe)).await.is_ok())
    })
    .await
}

/// Issue 13, items 1 and 2: a TenantGateway whose Gateway cannot be rendered (existingSecret
/// without wildcardSecretRef) gets no Gateway and no redirect route; its routes are
/// `Accepted=False` with reason `GatewayNotWritten` naming the cause, and its `status.listeners`
/// is empty while a condition says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_are_not_accepted_against_a_gateway_that_was_not_written() -> anyhow::Result<()> {
    let (_cluster, admin) = cluster().await?;
    install_cozystack_crd(&admin).await?;
    let ns = "tenant-s";
    named_namespace(&admin, ns, &[(LABEL_HOST, "s.example.org")]).await?;
    apply(&admin, GW, http_route(ns, "app", &["app.s.example.org"], ns)).await?;
    apply_tgw(
        &admin,
        ns,
        json!({"apex": "s.example.org", "certMode": "existingSecret"}),
    )
    .await?;
    let controller = start_controller(admin.clone()).await;

    let t = await_tgw(&admin, ns, types::READY, "False", reasons::RECONCILE_ERROR).await?;
    let ready = condition(&t, types::READY).context("Ready")?;
    assert!(ready.message.contains("wildcardSecretRef"), "Ready: {}", ready.message);
    eventually("the route's verdict names the missing Gateway", || async {
        let r = get_route(&admin, ns, "app").await?.context("route")?;
        let parents = our_parents(&r);
        if parents
            != [(
                format!("{ns}/cozystack"),
                "False".to_owned(),
                reasons::GATEWAY_NOT_WRITTEN.to_owned(),
            )]
        {
            anyhow::bail!("route parents {parents:?}");
        }
        let msg = first_message(&r);
        anyhow::ensure!(msg.contains("wildcardSecretRef"), "route message: {msg}");
        Ok(true)
    })
    .await?;
    let t = get_tgw(&admin, ns).await?;
    let listeners = t.status.as_ref().and_then(|s| s.listeners.clone()).unwrap_or_default();
    assert!(
        listeners.is_empty(),
        "status.listeners lists an unwritten Gateway: {listeners:?}"
    );
    let why = condition(&t, types::GATEWAY_APPLIED).context("GatewayApplied")?;
    assert_eq!(why.status.as_str(), "False", "GatewayApplied: {why:?}");
    assert!(
        why.message.contains("wildcardSecretRef"),
        "GatewayApplied: {}",
        why.message
    );
    assert!(
        get_gateway(&admin, ns, "cozystack").await?.is_none(),
        "a Gateway was written"
    );
    assert!(
        get_route(&admin, ns, &naming::redirect_route("cozystack"))
            .await?
            .is_none(),
        "the redirect route was written against a missing Gateway"
    );

    // Fixing the spec writes the Gateway and the verdict follows the written listeners.
    apply_tgw(
        &admin,
        ns,
        json!({"apex": "s.example.org", "certMode": "existingSecret", "wildcardSecretRef": {"name": "wild"}}),
    )
    .await?;
    eventually("the route is accepted once the Gateway exists", || async {
        let r = get_route(&admin, ns, "app").await?.context("route")?;
        Ok(our_parents(&r) == [(format!("{ns}/cozystack"), "True".to_owned(), "Accepted".to_owned())])
    })
    .await?;
    assert!(get_gateway(&admin, ns, "cozystack").await?.is_some());
    controller.stop().await?;
    Ok(())
}

/// Cozystack's Go controller's cleanup, as it works: it knows only the annotation value `<ns>`
/// and removes the gateway label and annotation from namespaces that carry it.
async fn cozystack_style_cleanup(client: &Client, owner_ns: &str) -> anyhow::Result<Vec<String>> {
    let api: Api<Namespace> = Api::all(client.clone());
    let mut cleaned = Vec::new();
    for ns in api.list(&Default::default()).await?.items {
        if ns.annotations().get(ANNOTATION_ATTACHED_BY).map(String::as_str) == Some(owner_ns) {
            let patch =
                json!({"metadata": {"labels": {LABEL_GATEWAY: null}, "annotations": {ANNOTATION_ATTACHED_BY: null}}});
            api.patch(&ns.name_any(), &PatchParams::default(), &Patch::Merge(patch))
                .await?;
            cleaned.push(ns.name_any());
        }
    }
    cleaned.sort();
    Ok(cleaned)
}

/// Issue 13, item 3: after a rollback to Cozystack's controller, its cleanup recognises the
/// namespaces we labelled (we write its `<ns>` form while one TenantGateway owns the namespace),
/// so no gateway label we wrote is left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_cleanup_that_only_knows_the_namespace_form_removes_our_labels() -> anyhow::Result<()> {
    let (_cluster, admin) = cluster().await?;
    named_namespace(&admin, "tenant-root", &[(LABEL_HOST, "example.org")]).await?;
    named_namespace(&admin, "cozy-a", &[]).await?;
    let controller = start_controller(admin.clone()).await;
    apply_tgw(
        &admin,
        "tenant-root",
        json!({"apex": "example.org", "attachedNamespaces": ["cozy-a"]}),
    )
    .await?;
    eventually("cozy-a and tenant-root attached in Cozystack's form", || async {
        for ns in ["cozy-a", "tenant-root"] {
            let (labels, annotations) = ns_labels(&admin, ns).await?;
            if labels.get(LABEL_GATEWAY).map(String::as_str) != Some("tenant-root")
                || annotations.get(ANNOTATION_ATTACHED_BY).map(String::as_str) != Some("tenant-root")
            {
                anyhow::bail!("{ns}: labels {labels:?}, annotations {annotations:?}");
            }
        }
        Ok(true)
    })
    .await?;

    // Rollback: our controller stops (as on `helm uninstall`, the finalizer is not run), the Go
    // controller's cleanup runs for the owner namespace.
    controller.kill();
    assert_eq!(
        cozystack_style_cleanup(&admin, "tenant-root").await?,
        ["cozy-a", "tenant-root"]
    );
    for ns in ["cozy-a", "tenant-root"] {
        let (labels, annotations) = ns_labels(&admin, ns).await?;
        assert_eq!(labels.get(LABEL_GATEWAY), None, "{ns} keeps our gateway label");
        assert_eq!(
            annotations.get(ANNOTATION_ATTACHED_BY),
            None,
            "{ns} keeps our annotation"
        );
    }
    Ok(())
}
