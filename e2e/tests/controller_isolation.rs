//! Isolation that holds when admission is absent (issue 9): the controller alone, on a real
//! kube-apiserver + etcd, with no admission policy installed. Each failure the issue lists is its
//! own test, named for what it proves; every test starts its own control plane.

mod controller_support;

use std::collections::{BTreeMap, BTreeSet};

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

/// Issue 17, item 5: a TenantGateway publishes only within its own namespace's apex. With no
/// policy installed, a tenant's dns01 TenantGateway naming its parent's apex, and one in a tenant
/// namespace without a host label, get no Gateway, Issuer, Certificate or redirect, and say why;
/// a TenantGateway that was publishing withdraws everything once its namespace loses the label.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_tenantgateway_outside_its_namespace_apex_publishes_nothing() -> anyhow::Result<()> {
    let (_cluster, admin) = cluster().await?;
    named_namespace(&admin, "tenant-w3a", &[(LABEL_HOST, "w3a.example.org")]).await?;
    named_namespace(&admin, "tenant-x", &[(LABEL_HOST, "x.w3a.example.org")]).await?;
    named_namespace(&admin, "tenant-e", &[]).await?;
    named_namespace(&admin, "tenant-f", &[(LABEL_HOST, "f.example.org")]).await?;
    let dns01 = |apex: &str| {
        json!({"apex": apex, "certMode": "dns01", "dns01": {"provider": "cloudflare",
            "cloudflare": {"apiTokenSecretRef": {"name": "cf", "key": "token"}}}})
    };
    apply_tgw_exactly(&admin, "tenant-x", dns01("w3a.example.org")).await?;
    apply_tgw_exactly(&admin, "tenant-e", dns01("e.example.org")).await?;
    apply_tgw_exactly(&admin, "tenant-f", dns01("f.example.org")).await?;
    let controller = start_controller(admin.clone()).await;

    // tenant-f publishes (the control case), until its label goes below.
    eventually("tenant-f's Gateway and Certificate", || async {
        Ok(get_gateway(&admin, "tenant-f", "cozystack").await?.is_some()
            && get(
                &admin,
                CM,
                "Certificate",
                "tenant-f",
                &naming::wildcard_certificate("cozystack"),
            )
            .await?
            .is_some())
    })
    .await?;
    for (ns, why) in [
        (
            "tenant-x",
            "publishes nothing: spec.apex w3a.example.org is outside the apex x.w3a.example.org of its namespace \
             tenant-x (label namespace.cozystack.io/host); a TenantGateway in a tenant namespace publishes only \
             within that apex",
        ),
        (
            "tenant-e",
            "publishes nothing: its namespace tenant-e is a tenant namespace without a namespace.cozystack.io/host label",
        ),
    ] {
        let t = await_tgw(&admin, ns, types::READY, "False", reasons::GATEWAY_NOT_WRITTEN).await?;
        let inputs = condition(&t, types::INPUTS_VALID).context("InputsValid")?;
        assert_eq!(
            (inputs.status.as_str(), inputs.message.as_str()),
            ("False", format!("TenantGateway {ns}/cozystack {why}").as_str()),
            "{ns}"
        );
        assert_nothing_published(&admin, ns).await?;
    }

    // A publishing tenant loses its host label: everything it served is withdrawn.
    set_ns_label(&admin, "tenant-f", LABEL_HOST, "").await?;
    await_tgw(&admin, "tenant-f", types::READY, "False", reasons::GATEWAY_NOT_WRITTEN).await?;
    eventually("tenant-f withdrawn", || async {
        assert_nothing_published(&admin, "tenant-f").await.map(|()| true)
    })
    .await?;
    controller.stop().await?;
    Ok(())
}

/// No Gateway, Issuer, Certificate or redirect route in `ns`.
async fn assert_nothing_published(admin: &Client, ns: &str) -> anyhow::Result<()> {
    let found = [
        get(admin, GW, "Gateway", ns, &naming::gateway("cozystack")).await?,
        get(admin, CM, "Issuer", ns, &naming::issuer("cozystack")).await?,
        get(admin, CM, "Certificate", ns, &naming::wildcard_certificate("cozystack")).await?,
        get(admin, GW, "HTTPRoute", ns, &naming::redirect_route("cozystack")).await?,
    ];
    let found: Vec<String> = found
        .iter()
        .flatten()
        .filter(|o| o.metadata.deletion_timestamp.is_none())
        .map(|o| o.name_any())
        .collect();
    anyhow::ensure!(found.is_empty(), "{ns} still has {found:?}");
    Ok(())
}

/// Issue 17, item 7: a dns01 Gateway rendered by Cozystack's Go controller (child listeners that
/// admit every attached namespace) is narrowed on takeover in one write, so at no moment does a
/// legitimate route lose a listener: every version of the Gateway observed during the takeover
/// admits the owner's and the child's namespaces on a listener matching their names, and the
/// owner route's `Accepted=True` entry never flips.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns01_takeover_narrows_child_listeners_without_a_gap() -> anyhow::Result<()> {
    let (_cluster, admin) = cluster().await?;
    let (root, alice, bob) = ("tenant-root", "tenant-alice", "tenant-bob");
    named_namespace(&admin, root, &[(LABEL_HOST, "example.org"), (LABEL_GATEWAY, root)]).await?;
    named_namespace(
        &admin,
        alice,
        &[(LABEL_HOST, "alice.example.org"), (LABEL_GATEWAY, root)],
    )
    .await?;
    named_namespace(&admin, bob, &[(LABEL_HOST, "bob.example.org"), (LABEL_GATEWAY, root)]).await?;
    apply_tgw(
        &admin,
        root,
        json!({"apex": "example.org", "certMode": "dns01", "dns01": {"provider": "cloudflare",
            "cloudflare": {"apiTokenSecretRef": {"name": "cf", "key": "token"}}}}),
    )
    .await?;
    let uid = tgw_uid(&admin, root).await?;
    // The Go controller's Gateway: every port-443 listener admits the whole attach set.
    let wide = |name: String, host: &str| {
        json!({"name": name, "port": 443, "protocol": "HTTPS", "hostname": host,
            "tls": {"mode": "Terminate", "certificateRefs": [{"name": "cozystack-gateway-tls"}]},
            "allowedRoutes": {"namespaces": {"from": "Selector", "selector": {"matchLabels": {LABEL_GATEWAY: root}}},
                "kinds": [{"group": GW, "kind": "HTTPRoute"}, {"group": GW, "kind": "TLSRoute"}]}})
    };
    create_as_go_controller(
        &admin,
        GW,
        json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
        "metadata": {"name": "cozystack", "namespace": root, "labels": {}},
        "spec": {"gatewayClassName": "cilium", "listeners": [
            {"name": "http", "port": 80, "protocol": "HTTP"},
            wide("https".into(), "*.example.org"),
            wide("https-apex".into(), "example.org"),
            wide(naming::child_listener("alice.example.org"), "*.alice.example.org"),
            wide(naming::child_listener("bob.example.org"), "*.bob.example.org"),
        ]}}),
        &uid,
    )
    .await?;
    let mut www = http_route(root, "www", &["www.example.org"], root);
    www["spec"]["parentRefs"][0]["port"] = json!(443);
    apply(&admin, GW, www).await?;
    apply(&admin, GW, http_route(alice, "shop", &["shop.alice.example.org"], root)).await?;
    // The Go controller had reported the owner's route as accepted (same controllerName).
    let entry = json!({"status": {"parents": [{
        "parentRef": {"name": "cozystack", "namespace": root, "port": 443},
        "controllerName": tgw_core::keys::CONTROLLER_NAME,
        "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted", "message": "Route attached",
            "lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": 1}]}]}});
    dynapi(&admin, GW, "HTTPRoute", root)
        .await?
        .patch_status(
            "www",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(entry),
        )
        .await?;

    // Watch every Gateway version and the owner route's entry while the controller takes over.
    let watcher = {
        let admin = admin.clone();
        tokio::spawn(async move {
            let mut gateways: Vec<Gateway> = Vec::new();
            let mut entries: BTreeSet<(String, String)> = BTreeSet::new();
            let deadline = std::time::Instant::now() + TIMEOUT;
            while std::time::Instant::now() < deadline {
                if let Some(g) = get_gateway(&admin, root, "cozystack").await?
                    && gateways.last().map(|l| l.metadata.resource_version.clone())
                        != Some(g.metadata.resource_version.clone())
                {
                    let done = g
                        .spec
                        .listeners
                        .iter()
                        .any(|l| l.name == naming::child_apex_listener("bob.example.org"));
                    gateways.push(g);
                    if done {
                        break;
                    }
                }
                if let Some(r) = get_route(&admin, root, "www").await? {
                    for (_, status, reason) in our_parents(&r) {
                        entries.insert((status, reason));
                    }
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            anyhow::Ok((gateways, entries))
        })
    };
    let controller = start_controller(admin.clone()).await;
    let (gateways, entries) = watcher.await??;
    let last = gateways.last().context("no Gateway observed")?;
    anyhow::ensure!(
        last.spec
            .listeners
            .iter()
            .any(|l| l.name == naming::child_apex_listener("bob.example.org")),
        "the takeover did not finish within {TIMEOUT:?}: listeners {:?}",
        listener_names(last)
    );
    let labels = |ns: &str| {
        BTreeMap::from([
            (LABEL_GATEWAY.to_owned(), root.to_owned()),
            ("kubernetes.io/metadata.name".to_owned(), ns.to_owned()),
        ])
    };
    for g in &gateways {
        for (ns, host) in [(root, "www.example.org"), (alice, "shop.alice.example.org")] {
            anyhow::ensure!(
                g.spec
                    .listeners
                    .iter()
                    .any(|l| serves(l, host) && selects(l, &labels(ns))),
                "Gateway version {:?} has no listener for {host} admitting {ns}",
                g.metadata.resource_version
            );
        }
    }
    // Narrowed at the end: bob is admitted by no listener matching alice's name.
    anyhow::ensure!(
        !last
            .spec
            .listeners
            .iter()
            .any(|l| serves(l, "shop.alice.example.org") && selects(l, &labels(bob))),
        "bob is still admitted for alice's name"
    );
    eventually("the owner route's entry written by us", || async {
        let r = get_route(&admin, root, "www").await?.context("no route")?;
        Ok(our_parents(&r) == vec![(format!("{root}/cozystack"), "True".to_owned(), "Accepted".to_owned())])
    })
    .await?;
    assert_eq!(
        entries,
        BTreeSet::from([("True".to_owned(), "Accepted".to_owned())]),
        "the owner route's Accepted entry flipped during the takeover ({} Gateway versions observed)",
        gateways.len()
    );
    eprintln!("takeover observed through {} Gateway version(s)", gateways.len());
    controller.stop().await?;
    Ok(())
}

/// Whether listener `l`'s hostname matches the concrete name `host`.
fn serves(l: &gateway_api::gateways::GatewayListeners, host: &str) -> bool {
    let parse = tgw_core::dns::HostPattern::parse;
    match (l.hostname.as_deref().and_then(parse), parse(host)) {
        (Some(lh), Some(h)) => l.port == 443 && lh.intersects(&h),
        _ => false,
    }
}

/// Whether listener `l`'s namespace selector selects a namespace with `labels` (matchLabels and
/// `In` expressions, the only forms either controller writes).
fn selects(l: &gateway_api::gateways::GatewayListeners, labels: &BTreeMap<String, String>) -> bool {
    let Some(sel) = l
        .allowed_routes
        .as_ref()
        .and_then(|a| a.namespaces.as_ref())
        .and_then(|n| n.selector.as_ref())
    else {
        return false;
    };
    let by_label = sel.match_labels.iter().flatten().all(|(k, v)| labels.get(k) == Some(v));
    let by_expr = sel.match_expressions.iter().flatten().all(|e| {
        e.operator == "In"
            && labels
                .get(&e.key)
                .is_some_and(|v| e.values.iter().flatten().any(|x| x == v))
    });
    by_label && by_expr
}
