//! Smoke test of the local control plane: versions, identities, CRDs installed, server-side apply,
//! watches, CRD schema validation (422) and RBAC (403). One control plane, sub-cases in sequence.

use std::time::Duration;

use anyhow::Context;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use kube::api::{
    ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::{Api, Client};
use serde_json::json;
use tgw_e2e::versions::Versions;
use tgw_e2e::{Identity, TestCluster, await_condition, with_temp_ns};

const MANAGER: &str = "tgw-e2e-smoke";

fn gateway_api(kind: &str) -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk("gateway.networking.k8s.io", "v1", kind))
}

#[tokio::test]
async fn control_plane_smoke() -> anyhow::Result<()> {
    let cluster = TestCluster::start().await?;
    let admin = cluster.admin().await?;

    reports_pinned_version(&admin).await.context("version")?;
    identities_authenticate(&cluster).await.context("identities")?;
    crds_are_installed(&cluster).context("crds")?;
    with_temp_ns(
        &admin,
        "smoke",
        &[("tenant-gateway.cozystack.io/test", "smoke")],
        |client, ns| async move {
            apply_and_watch(client.clone(), &ns)
                .await
                .context("server-side apply and watch")?;
            schema_rejects_invalid_gateway(client, &ns)
                .await
                .context("schema validation")
        },
    )
    .await?;
    tenant_is_forbidden(&cluster).await.context("rbac")?;
    Ok(())
}

async fn reports_pinned_version(admin: &Client) -> anyhow::Result<()> {
    let info = admin.apiserver_version().await?;
    assert_eq!(info.git_version, Versions::pinned()?.kubernetes, "{info:?}");
    Ok(())
}

async fn identities_authenticate(cluster: &TestCluster) -> anyhow::Result<()> {
    for id in Identity::ALL {
        let client = cluster.client(id).await?;
        let review = Api::<SelfSubjectReview>::all(client)
            .create(&PostParams::default(), &SelfSubjectReview::default())
            .await
            .with_context(|| format!("SelfSubjectReview as {id:?}"))?;
        let user = review.status.and_then(|s| s.user_info).context("no user info")?;
        assert_eq!(user.username.as_deref(), Some(id.username()), "{id:?}");
        let groups = user.groups.unwrap_or_default();
        for group in id.groups() {
            assert!(
                groups.iter().any(|g| g == group),
                "{id:?} lacks group {group}: {groups:?}"
            );
        }
    }
    Ok(())
}

fn crds_are_installed(cluster: &TestCluster) -> anyhow::Result<()> {
    let names = cluster.crd_names();
    for want in [
        "gateways.gateway.networking.k8s.io",
        "gatewayclasses.gateway.networking.k8s.io",
        "httproutes.gateway.networking.k8s.io",
        "grpcroutes.gateway.networking.k8s.io",
        "tlsroutes.gateway.networking.k8s.io",
        "tcproutes.gateway.networking.k8s.io",
        "udproutes.gateway.networking.k8s.io",
        "referencegrants.gateway.networking.k8s.io",
        "listenersets.gateway.networking.k8s.io",
        "certificates.cert-manager.io",
        "issuers.cert-manager.io",
        "clusterissuers.cert-manager.io",
    ] {
        anyhow::ensure!(
            names.iter().any(|n| n == want),
            "CRD {want} not installed; have {names:?}"
        );
    }
    Ok(())
}

async fn apply_and_watch(client: Client, ns: &str) -> anyhow::Result<()> {
    let gateways: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &gateway_api("Gateway"));
    let routes: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &gateway_api("HTTPRoute"));
    let ssa = PatchParams::apply(MANAGER);

    let gateway = json!({
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "gw"},
        "spec": {
            "gatewayClassName": "tenant-gateway",
            "listeners": [{"name": "http", "protocol": "HTTP", "port": 80, "hostname": "*.example.com"}],
        },
    });
    gateways
        .patch("gw", &ssa, &Patch::Apply(&gateway))
        .await
        .context("applying the Gateway")?;
    await_condition(gateways.clone(), "gw", |gw| gw.is_some(), Duration::from_secs(10)).await?;
    let applied = gateways.get("gw").await?;
    let owned = applied
        .metadata
        .managed_fields
        .unwrap_or_default()
        .iter()
        .any(|f| f.manager.as_deref() == Some(MANAGER) && f.operation.as_deref() == Some("Apply"));
    assert!(owned, "the Gateway's fields are not owned by {MANAGER} through Apply");

    let route = |host: &str| {
        json!({
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": "route"},
            "spec": {
                "parentRefs": [{"name": "gw"}],
                "hostnames": [host],
                "rules": [{"backendRefs": [{"name": "app", "port": 8080}]}],
            },
        })
    };
    let first = routes
        .patch("route", &ssa, &Patch::Apply(&route("a.example.com")))
        .await?;
    let rv = first.metadata.resource_version.context("no resourceVersion")?;

    // Watch from the first version, then change the route: the watch must deliver the change.
    let params = WatchParams::default().fields("metadata.name=route").timeout(20);
    let mut events = routes.watch(&params, &rv).await.context("starting the watch")?.boxed();
    routes
        .patch("route", &ssa, &Patch::Apply(&route("b.example.com")))
        .await
        .context("changing the route")?;
    let seen = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(event) = events.try_next().await? {
            if let WatchEvent::Modified(obj) = event
                && obj.data.pointer("/spec/hostnames/0").and_then(|h| h.as_str()) == Some("b.example.com")
            {
                return anyhow::Ok(true);
            }
        }
        anyhow::Ok(false)
    })
    .await
    .context("no watch event within 20s")??;
    assert!(seen, "the watch ended without the route change");
    Ok(())
}

async fn schema_rejects_invalid_gateway(client: Client, ns: &str) -> anyhow::Result<()> {
    let gateways: Api<DynamicObject> = Api::namespaced_with(client, ns, &gateway_api("Gateway"));
    let invalid = json!({
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "bad"},
        "spec": {
            "gatewayClassName": "tenant-gateway",
            "listeners": [{"name": "tcp", "protocol": "TCP", "port": 5432, "hostname": "db.example.com"}],
        },
    });
    let err = gateways
        .patch("bad", &PatchParams::apply(MANAGER), &Patch::Apply(&invalid))
        .await
        .err()
        .context("a hostname on a TCP listener was accepted")?;
    let kube::Error::Api(status) = err else {
        anyhow::bail!("expected an API error, got {err:?}")
    };
    assert_eq!(status.code, 422, "{status:?}");
    assert!(
        status
            .message
            .contains("hostname must not be specified for protocols ['TCP', 'UDP']"),
        "unexpected message: {}",
        status.message
    );
    Ok(())
}

async fn tenant_is_forbidden(cluster: &TestCluster) -> anyhow::Result<()> {
    let tenant = cluster.client(Identity::Tenant).await?;
    let gateways: Api<DynamicObject> = Api::namespaced_with(tenant, "tenant-test", &gateway_api("Gateway"));
    let err = gateways
        .list(&Default::default())
        .await
        .err()
        .context("the tenant could list Gateways without any RBAC grant")?;
    let kube::Error::Api(status) = err else {
        anyhow::bail!("expected an API error, got {err:?}")
    };
    assert_eq!(status.code, 403, "{status:?}");
    assert!(
        status.message.contains("system:serviceaccount:tenant-test:default") && status.message.contains("forbidden"),
        "unexpected message: {}",
        status.message
    );
    Ok(())
}
