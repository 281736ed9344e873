//! Isolation that holds when admission is absent (issue 9): the controller alone, on a real
//! kube-apiserver + etcd, with no admission policy installed. Each failure the issue lists is its
//! own test, named for what it proves; every test starts its own control plane.

mod controller_support;

use std::collections::BTreeSet;

use anyhow::Context;
use controller_support::*;
use gateway_api::gateways::Gateway;
use kube::api::PostParams;
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use tgw_core::conditions::{reasons, types};
use tgw_core::keys::{ANNOTATION_ATTACHED_BY, LABEL_GATEWAY, LABEL_HOST, MANAGED_BY_VALUE};
use tgw_core::naming;
use tgw_core::tenantgateway::TenantGateway;

/// The field manager Cozystack's Go controller writes with (an `Update`, not an apply).
const GO_MANAGER: &str = "cozystack-controller";

/// Issue 9, failure 2: a tenant's TenantGateway listing a platform namespace in
/// `attachedNamespaces` must not make the controller label that namespace for the tenant. Only
/// the publishing namespace (`tenant-root`) may attach, and never a tenant namespace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_tenantgateway_cannot_attach_a_platform_namespace() -> anyhow::Result<()> {
    let (_cluster, admin) = cluster().await?;
    named_namespace(&admin, "tenant-root", &[(LABEL_HOST, "example.org")]).await?;
    named_namespace(&admin, "tenant-x", &[(LABEL_HOST, "x.example.org")]).await?;
    named_namespace(&admin, "tenant-y", &[]).await?;
    named_namespace(&admin, "cozy-newapp", &[]).await?;
    named_namespace(&admin, "cozy-dashboard", &[]).await?;
    let controller = start_controller(admin.clone()).await;

    apply_tgw(
        &admin,
        "tenant-x",
        json!({"apex": "x.example.org", "attachedNamespaces": ["cozy-newapp"]}),
    )
    .await?;
    apply_tgw(
        &admin,
        "tenant-root",
        json!({"apex": "example.org", "attachedNamespaces": ["cozy-dashboard", "tenant-y"]}),
    )
    .await?;

    let x = await_tgw(
        &admin,
        "tenant-x",
        types::NAMESPACES_ATTACHED,
        "False",
        reasons::ATTACH_CONFLICT,
    )
    .await?;
    let msg = &condition(&x, types::NAMESPACES_ATTACHED).context("condition")?.message;
    assert_eq!(
        msg,
        "Namespaces not attached: refused: cozy-newapp (only TenantGateways in tenant-root may list \
         attachedNamespaces (this one is in tenant-x))"
    );
    let root = await_tgw(
        &admin,
        "tenant-root",
        types::NAMESPACES_ATTACHED,
        "False",
        reasons::ATTACH_CONFLICT,
    )
    .await?;
    assert_eq!(
        condition(&root, types::NAMESPACES_ATTACHED)
            .context("condition")?
            .message,
        "Namespaces not attached: refused: tenant-y (tenant-y is a tenant namespace (prefix tenant-); \
         tenants attach with tenant.spec.gateway)"
    );

    // The publishing namespace's platform entry is labelled; the refused ones are untouched.
    eventually("cozy-dashboard attached to tenant-root", || async {
        Ok(ns_labels(&admin, "cozy-dashboard")
            .await?
            .0
            .get(LABEL_GATEWAY)
            .map(String::as_str)
            == Some("tenant-root"))
    })
    .await?;
    for ns in ["cozy-newapp", "tenant-y"] {
        let (labels, annotations) = ns_labels(&admin, ns).await?;
        assert_eq!(labels.get(LABEL_GATEWAY), None, "{ns} must not be labelled");
        assert_eq!(
            annotations.get(ANNOTATION_ATTACHED_BY),
            None,
            "{ns} must not be annotated"
        );
    }
    controller.stop().await?;
    Ok(())
}

/// A TenantGateway's uid, once it exists.
async fn tgw_uid(client: &Client, ns: &str) -> anyhow::Result<String> {
    let t: TenantGateway = get_tgw(client, ns).await?;
    t.uid().context("TenantGateway without uid")
}

/// Creates `obj` as Cozystack's Go controller does: a plain create (operation `Update` in
/// managedFields) by field manager `cozystack-controller`, owned by the TenantGateway.
async fn create_as_go_controller(client: &Client, group: &str, mut obj: Value, uid: &str) -> anyhow::Result<()> {
    let kind = obj["kind"].as_str().context("kind")?.to_owned();
    let ns = obj["metadata"]["namespace"].as_str().context("namespace")?.to_owned();
    obj["metadata"]["ownerReferences"] = json!([{
        "apiVersion": "gateway.cozystack.io/v1alpha1", "kind": "TenantGateway", "name": "cozystack",
        "uid": uid, "controller": true, "blockOwnerDeletion": true,
    }]);
    obj["metadata"]["labels"]["cozystack.io/managed-by"] = json!(MANAGED_BY_VALUE);
    let api = dynapi(client, group, &kind, &ns).await?;
    let obj: kube::api::DynamicObject = serde_json::from_value(obj)?;
    let pp = PostParams {
        field_manager: Some(GO_MANAGER.to_owned()),
        ..Default::default()
    };
    api.create(&pp, &obj)
        .await
        .with_context(|| format!("create {kind} as {GO_MANAGER}"))?;
    Ok(())
}

fn managers(obj: &impl kube::Resource) -> BTreeSet<String> {
    obj.meta()
        .managed_fields
        .iter()
        .flatten()
        .filter(|m| m.subresource.as_deref() != Some("status"))
        .filter_map(|m| m.manager.clone())
        .collect()
}

/// Issue 9, failure 5: objects last written by Cozystack's Go controller keep fields our plan
/// does not have unless the controller takes the fields over. After the first reconcile the
/// Gateway, Issuer, Certificate and redirect route carry exactly our plan, and only our field
/// manager holds their fields.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn takeover_from_the_go_controller_drops_its_extra_fields() -> anyhow::Result<()> {
    let (_cluster, admin) = cluster().await?;
    let ns = "tenant-m";
    let apex = "m.example.org";
    named_namespace(&admin, ns, &[(LABEL_HOST, apex)]).await?;
    apply_tgw(
        &admin,
        ns,
        json!({"apex": apex, "certMode": "dns01", "dns01": {"provider": "cloudflare",
            "cloudflare": {"apiTokenSecretRef": {"name": "cf", "key": "token"}}}}),
    )
    .await?;
    let uid = tgw_uid(&admin, ns).await?;
    let (gw, issuer, cert, redirect) = (
        naming::gateway("cozystack"),
        naming::issuer("cozystack"),
        naming::wildcard_certificate("cozystack"),
        naming::redirect_route("cozystack"),
    );
    let legacy = format!("legacy.{apex}");
    let legacy_listener = naming::host_listener(&format!("api.{apex}"));
    create_as_go_controller(
        &admin,
        GW,
        json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
        "metadata": {"name": gw, "namespace": ns, "labels": {}},
        "spec": {"gatewayClassName": "cilium", "listeners": [
            {"name": "http", "port": 80, "protocol": "HTTP"},
            {"name": legacy_listener, "port": 443, "protocol": "HTTPS", "hostname": format!("api.{apex}"),
             "tls": {"mode": "Terminate", "certificateRefs": [{"name": "old-api-tls"}]}},
        ]}}),
        &uid,
    )
    .await?;
    create_as_go_controller(
        &admin,
        CM,
        json!({"apiVersion": "cert-manager.io/v1", "kind": "Issuer",
            "metadata": {"name": issuer, "namespace": ns, "labels": {}},
            "spec": {"acme": {"email": "old@example.org", "server": "https://acme-v02.api.letsencrypt.org/directory",
                "privateKeySecretRef": {"name": "old-account"},
                "solvers": [{"dns01": {"cloudflare": {"apiTokenSecretRef": {"name": "cf", "key": "token"}}}}]}}}),
        &uid,
    )
    .await?;
    create_as_go_controller(
        &admin,
        CM,
        json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
            "metadata": {"name": cert, "namespace": ns, "labels": {}},
            "spec": {"secretName": cert, "dnsNames": [apex, format!("*.{apex}"), legacy],
                "issuerRef": {"kind": "Issuer", "name": issuer}, "duration": "2160h0m0s"}}),
        &uid,
    )
    .await?;
    create_as_go_controller(
        &admin,
        GW,
        json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": redirect, "namespace": ns, "labels": {}},
            "spec": {"parentRefs": [{"name": gw, "sectionName": "http"}], "hostnames": [legacy],
                "rules": [{"filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]}]}}),
        &uid,
    )
    .await?;

    let controller = start_controller(admin.clone()).await;
    eventually("Gateway without the Go controller's listener", || async {
        let g = get_gateway(&admin, ns, &gw).await?.context("no Gateway")?;
        let names = listener_names(&g);
        if names.contains(&legacy_listener) || managers(&g).contains(GO_MANAGER) {
            anyhow::bail!("listeners {names:?}, managers {:?}", managers(&g));
        }
        Ok(names.iter().any(|n| n == "https"))
    })
    .await?;
    eventually("Issuer without the Go controller's email", || async {
        let i = get(&admin, CM, "Issuer", ns, &issuer).await?.context("no Issuer")?;
        Ok(i.data["spec"]["acme"].get("email").is_none() && !managers(&i).contains(GO_MANAGER))
    })
    .await?;
    eventually("Certificate with our dnsNames only", || async {
        let c = get(&admin, CM, "Certificate", ns, &cert)
            .await?
            .context("no Certificate")?;
        let names = c.data["spec"]["dnsNames"].clone();
        if names.to_string().contains("legacy") || c.data["spec"].get("duration").is_some() {
            anyhow::bail!("dnsNames {names}, duration {}", c.data["spec"]["duration"]);
        }
        Ok(!managers(&c).contains(GO_MANAGER))
    })
    .await?;
    eventually("redirect route with our hostnames only", || async {
        let r = get_route(&admin, ns, &redirect).await?.context("no redirect")?;
        let hosts = r.spec.hostnames.clone().unwrap_or_default();
        if hosts.iter().any(|h| h.contains("legacy")) {
            anyhow::bail!("hostnames {hosts:?}");
        }
        Ok(!managers(&r).contains(GO_MANAGER))
    })
    .await?;
    // The takeover happens once: afterwards the controller writes nothing more.
    let mut last = controller.metrics.writes();
    let mut quiet = false;
    for _ in 0..10 {
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        let now = controller.metrics.writes();
        if now == last {
            quiet = true;
            break;
        }
        last = now;
    }
    assert!(quiet, "the controller keeps writing after the takeover ({last} writes)");
    controller.stop().await?;
    Ok(())
}

/// The namespaces the Gateway's per-host listener for `host` admits by name.
fn listener_admits(gw: &Gateway, host: &str) -> Option<Vec<String>> {
    let name = naming::host_listener(host);
    let l = gw.spec.listeners.iter().find(|l| l.name == name)?;
    let expressions = l
        .allowed_routes
        .as_ref()?
        .namespaces
        .as_ref()?
        .selector
        .as_ref()?
        .match_expressions
        .as_ref()?;
    Some(
        expressions
            .iter()
            .filter(|e| e.key == "kubernetes.io/metadata.name")
            .flat_map(|e| e.values.iter().flatten().cloned())
            .collect(),
    )
}

/// Issue 9, failure 1: a sibling's older route for a hostname inside another tenant's apex does
/// not take it. Alice (`alice.r2.example.org`) routes `shop.bob.r2.example.org` first, Bob
/// (`bob.r2.example.org`) second: the listener admits only Bob, the certificate is Bob's claim, and
/// Alice's parentRef is refused with a reason naming her namespace's apex.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sibling_cannot_take_another_tenants_hostname() -> anyhow::Result<()> {
    let (_cluster, admin) = cluster().await?;
    let (root, alice, bob) = ("tenant-r2", "tenant-r2-alice", "tenant-r2-bob");
    named_namespace(&admin, root, &[(LABEL_HOST, "r2.example.org"), (LABEL_GATEWAY, root)]).await?;
    named_namespace(
        &admin,
        alice,
        &[(LABEL_HOST, "alice.r2.example.org"), (LABEL_GATEWAY, root)],
    )
    .await?;
    named_namespace(
        &admin,
        bob,
        &[(LABEL_HOST, "bob.r2.example.org"), (LABEL_GATEWAY, root)],
    )
    .await?;
    let shop = "shop.bob.r2.example.org";
    apply(&admin, GW, http_route(alice, "steal", &[shop], root)).await?;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await; // strictly newer
    apply(&admin, GW, http_route(bob, "shop", &[shop], root)).await?;
    apply_tgw(&admin, root, json!({"apex": "r2.example.org"})).await?;
    let controller = start_controller(admin.clone()).await;

    eventually("the shop listener admits only Bob", || async {
        let gw = get_gateway(&admin, root, "cozystack").await?.context("no Gateway")?;
        let admits = listener_admits(&gw, shop);
        if admits.as_deref() != Some(&[bob.to_owned()][..]) {
            anyhow::bail!("listener for {shop} admits {admits:?}");
        }
        Ok(true)
    })
    .await?;
    eventually("the shop certificate", || async {
        let cert = get(
            &admin,
            CM,
            "Certificate",
            root,
            &naming::host_certificate("cozystack", shop),
        )
        .await?
        .context("no certificate for the shop hostname")?;
        Ok(cert.data["spec"]["dnsNames"] == json!([shop]))
    })
    .await?;
    eventually("route verdicts", || async {
        let a = get_route(&admin, alice, "steal").await?.context("alice's route")?;
        let b = get_route(&admin, bob, "shop").await?.context("bob's route")?;
        let want_a = vec![(
            format!("{root}/cozystack"),
            "False".to_owned(),
            reasons::HOSTNAME_OUTSIDE_NAMESPACE_APEX.to_owned(),
        )];
        let want_b = vec![(format!("{root}/cozystack"), "True".to_owned(), "Accepted".to_owned())];
        if our_parents(&a) != want_a || our_parents(&b) != want_b {
            anyhow::bail!("alice {:?}, bob {:?}", our_parents(&a), our_parents(&b));
        }
        let msg = first_message(&a);
        anyhow::ensure!(
            msg.contains(shop) && msg.contains("alice.r2.example.org") && msg.contains(alice),
            "alice's message names neither the hostname, her apex nor her namespace: {msg}"
        );
        Ok(true)
    })
    .await?;
    controller.stop().await?;
    Ok(())
}

/// Issue 9, failure 4: 90 routes × 16 unservable hostnames in a child namespace used to make a
/// condition message longer than 32768 bytes, so every status write of the parent failed with
/// 422. Every message is bounded now and the parent's status keeps following its spec.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_unservable_claims_do_not_freeze_the_parent_status() -> anyhow::Result<()> {
    let (_cluster, admin) = cluster().await?;
    let (root, kid) = ("tenant-big", "tenant-big-kid");
    named_namespace(&admin, root, &[(LABEL_HOST, "big.example.org")]).await?;
    named_namespace(
        &admin,
        kid,
        &[(LABEL_HOST, "kid.big.example.org"), (LABEL_GATEWAY, root)],
    )
    .await?;
    for r in 0..90 {
        let hosts: Vec<String> = (0..16)
            .map(|h| format!("host-{h:02}-route-{r:02}.elsewhere-{r:02}.org"))
            .collect();
        let hosts: Vec<&str> = hosts.iter().map(String::as_str).collect();
        apply(&admin, GW, http_route(kid, &format!("r{r:02}"), &hosts, root)).await?;
    }
    apply(&admin, GW, http_route(root, "own", &["www.big.example.org"], root)).await?;
    apply_tgw(&admin, root, json!({"apex": "big.example.org"})).await?;
    let controller = start_controller(admin.clone()).await;

    let t = await_tgw(&admin, root, types::GATEWAY_APPLIED, "True", reasons::APPLIED).await?;
    for c in t.status.as_ref().and_then(|s| s.conditions.clone()).unwrap_or_default() {
        assert!(
            c.message.len() <= tgw_core::bounded::CONDITION_MESSAGE_BYTES,
            "{} message is {} bytes",
            c.type_,
            c.message.len()
        );
    }
    // The status keeps following the spec: the next generation is observed too.
    apply_tgw(
        &admin,
        root,
        json!({"apex": "big.example.org", "issuerName": "letsencrypt-stage"}),
    )
    .await?;
    await_tgw(&admin, root, types::GATEWAY_APPLIED, "True", reasons::APPLIED).await?;
    let r = get_route(&admin, kid, "r42").await?.context("route r42")?;
    let msg = first_message(&r);
    assert!(
        !msg.is_empty() && msg.len() <= tgw_core::bounded::ROUTE_MESSAGE_BYTES && msg.contains("more"),
        "route r42 message: {msg}"
    );
    controller.stop().await?;
    Ok(())
}
