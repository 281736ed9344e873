//! The TenantGateway controller against a real kube-apiserver + etcd. One control plane, one
//! in-process controller (restarted in one sub-case); sub-cases use their own namespaces.
//! No Gateway implementation or cert-manager runs: sub-cases write the Gateway/Certificate
//! status themselves where they need readiness.

mod controller_support;

use std::time::Duration;

use anyhow::Context;
use controller_support::*;
use gateway_api::httproutes::HttpRoute;
use kube::Client;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::json;
use tgw_core::keys::{ANNOTATION_ATTACHED_BY, LABEL_GATEWAY, LABEL_HOST};
use tgw_core::naming;
use tgw_core::tenantgateway::TenantGateway;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_suite() -> anyhow::Result<()> {
    let (_cluster, admin) = cluster().await?;
    crd_rejects_invalid_specs(&admin).await.context("CRD validation")?;
    let controller = start_controller_with(admin.clone(), any_attach_owner()).await;
    http01_tree_conflicts_readiness_and_zero_writes(&admin, &controller)
        .await
        .context("http01")?;
    dns01_children_and_mode_switches(&admin)
        .await
        .context("dns01 / mode switches")?;
    foreign_objects_are_refused(&admin).await.context("foreign objects")?;
    namespace_labels_are_owned(&admin).await.context("namespace labels")?;
    listener_cap(&admin).await.context("listener cap")?;
    passthrough_and_other_kinds(&admin)
        .await
        .context("passthrough / kinds")?;
    deletion_cleans_up(&admin).await.context("deletion")?;
    let took = controller.stop().await?;
    eprintln!("graceful stop took {took:?}");
    restart_mid_way(&admin).await.context("restart")?;
    Ok(())
}

async fn http01_tree_conflicts_readiness_and_zero_writes(admin: &Client, controller: &Running) -> anyhow::Result<()> {
    let owner = namespace(admin, "tenant-o", &[]).await?;
    let apex = format!("{owner}.example.org");
    let child = namespace(
        admin,
        "tenant-o-child",
        &[(LABEL_GATEWAY, &owner), (LABEL_HOST, &format!("c.{apex}"))],
    )
    .await?;
    let platform = namespace(admin, "cozy-plat", &[(LABEL_GATEWAY, &owner)]).await?;
    // A tenant namespace publishes only within its host label (tgw_core::scope).
    let rival = namespace(admin, "tenant-o-rival", &[(LABEL_GATEWAY, &owner), (LABEL_HOST, &apex)]).await?;
    let outsider = namespace(admin, "tenant-x", &[]).await?;
    let (app, shared, bad) = (
        format!("app.c.{apex}"),
        format!("shared.{apex}"),
        "shop.victim.com".to_owned(),
    );
    apply(admin, GW, http_route(&owner, "own", &[&format!("www.{apex}")], &owner)).await?;
    apply(admin, GW, http_route(&child, "app", &[&app], &owner)).await?;
    apply(admin, GW, http_route(&platform, "plat", &[&shared], &owner)).await?;
    tokio::time::sleep(Duration::from_millis(1100)).await; // a strictly newer creationTimestamp
    apply(admin, GW, http_route(&rival, "rival", &[&shared, &bad], &owner)).await?;
    apply(admin, GW, http_route(&outsider, "out", &[&format!("o.{apex}")], &owner)).await?;
    apply_tgw(admin, &owner, json!({"apex": apex, "tlsPassthroughServices": ["api"]})).await?;

    // Gateway: http, one listener per won hostname (sorted), tls-api; loser kept off the listener.
    let want = {
        let mut hosts = [app.clone(), shared.clone(), format!("www.{apex}")];
        hosts.sort();
        let mut v = vec!["http".to_owned()];
        v.extend(hosts.iter().map(|h| naming::host_listener(h)));
        v.push("tls-api".into());
        v
    };
    eventually("http01 Gateway listeners", || async {
        let gw = get_gateway(admin, &owner, "cozystack").await?.context("no Gateway")?;
        Ok(listener_names(&gw) == want)
    })
    .await?;
    let gw = get_gateway(admin, &owner, "cozystack").await?.context("Gateway")?;
    let shared_l = gw
        .spec
        .listeners
        .iter()
        .find(|l| l.name == naming::host_listener(&shared))
        .context("shared listener")?;
    let allowed = shared_l.allowed_routes.clone().context("allowedRoutes")?;
    let names_in = allowed
        .namespaces
        .and_then(|n| n.selector)
        .and_then(|s| s.match_expressions)
        .and_then(|e| e.into_iter().next())
        .and_then(|e| e.values);
    assert_eq!(names_in, Some(vec![platform.clone()]));
    let kinds: Vec<(Option<String>, String)> = allowed
        .kinds
        .unwrap_or_default()
        .into_iter()
        .map(|k| (k.group, k.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            (Some(GW.to_owned()), "HTTPRoute".to_owned()),
            (Some(GW.to_owned()), "TLSRoute".to_owned())
        ]
    );

    // Certificates and Issuer.
    let mut want_certs: Vec<String> = [app.clone(), shared.clone(), format!("www.{apex}")]
        .iter()
        .map(|h| naming::host_certificate("cozystack", h))
        .collect();
    want_certs.sort();
    // Certificates are applied after the Gateway: wait for the whole set.
    eventually("one Certificate per won hostname", || async {
        let certs = dynapi(admin, CM, "Certificate", &owner)
            .await?
            .list(&Default::default())
            .await?;
        let mut names: Vec<String> = certs.items.iter().map(kube::ResourceExt::name_any).collect();
        names.sort();
        if names != want_certs {
            anyhow::bail!("certificates {names:?}");
        }
        Ok(true)
    })
    .await?;
    let issuer = get(admin, CM, "Issuer", &owner, "cozystack-gateway")
        .await?
        .context("Issuer")?;
    assert_eq!(
        issuer.data["spec"]["acme"]["solvers"][0]["http01"]["gatewayHTTPRoute"]["parentRefs"][0]["sectionName"],
        "http"
    );
    eventually("the redirect route", || async {
        Ok(get_route(admin, &owner, "cozystack-http-redirect").await?.is_some())
    })
    .await?;
    let redirect = get_route(admin, &owner, "cozystack-http-redirect")
        .await?
        .context("redirect")?;
    assert_eq!(redirect.spec.hostnames, Some(vec![apex.clone(), format!("*.{apex}")]));

    // Route status per parentRef.
    let gwkey = format!("{owner}/cozystack");
    for (ns, name, status, reason) in [
        (&child, "app", "True", "Accepted"),
        (&platform, "plat", "True", "Accepted"),
        (&rival, "rival", "False", "HostnameConflict"),
        (&outsider, "out", "False", "NotAllowedByListeners"),
    ] {
        eventually(&format!("status of {ns}/{name}"), || async {
            let r = get_route(admin, ns, name).await?.context("route")?;
            Ok(our_parents(&r) == vec![(gwkey.clone(), status.to_owned(), reason.to_owned())])
        })
        .await?;
    }

    // Owner namespace labelled + annotated by the controller.
    let (labels, ann) = ns_labels(admin, &owner).await?;
    assert_eq!(
        (labels.get(LABEL_GATEWAY), ann.get(ANNOTATION_ATTACHED_BY)),
        (Some(&owner), Some(&owner)),
        "Cozystack's annotation form while one TenantGateway owns the namespace"
    );

    // Not ready until the Gateway is programmed and the certificates are issued.
    await_tgw(admin, &owner, "Ready", "False", "GatewayNotAccepted").await?;
    program_gateway(admin, &owner).await?;
    await_tgw(admin, &owner, "Ready", "False", "ListenersNotReady").await?;
    await_tgw(admin, &owner, "CertificatesReady", "False", "Pending").await?;
    for c in &want_certs {
        mark_ready(admin, "Certificate", &owner, c).await?;
    }
    mark_ready(admin, "Issuer", &owner, "cozystack-gateway").await?;
    let t = await_tgw(admin, &owner, "Ready", "True", "Reconciled").await?;
    let listeners = t.status.as_ref().and_then(|s| s.listeners.clone()).unwrap_or_default();
    assert!(listeners.iter().all(|l| l.ready), "{listeners:?}");

    // Converged: a reconcile with nothing changed writes nothing.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let routes = [
        (child.as_str(), "app"),
        (platform.as_str(), "plat"),
        (rival.as_str(), "rival"),
    ];
    let before = versions(admin, &owner, &routes, &[&owner]).await?;
    let writes = controller.metrics.writes();
    // Poke: an annotation change on the TGW triggers a reconcile without changing anything it reads.
    Api::<TenantGateway>::namespaced(admin.clone(), &owner)
        .patch(
            "cozystack",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"poke": "1"}}})),
        )
        .await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = versions(admin, &owner, &routes, &[&owner]).await?;
    let tgw_rv = |v: &Vec<String>| v.iter().filter(|s| !s.starts_with("tgw=")).cloned().collect::<Vec<_>>();
    assert_eq!(tgw_rv(&after), tgw_rv(&before), "objects were rewritten");
    assert_eq!(
        controller.metrics.writes(),
        writes,
        "controller wrote after convergence"
    );
    eprintln!(
        "zero-writes check: {} objects unchanged, controller writes stayed at {writes}",
        before.len()
    );
    Ok(())
}

async fn dns01_children_and_mode_switches(admin: &Client) -> anyhow::Result<()> {
    let owner = namespace(admin, "tenant-d", &[]).await?;
    let apex = format!("{owner}.example.org");
    let alice = format!("alice.{apex}");
    namespace(
        admin,
        "tenant-d-alice",
        &[(LABEL_GATEWAY, &owner), (LABEL_HOST, &alice)],
    )
    .await?;
    namespace(
        admin,
        "tenant-d-evil",
        &[(LABEL_GATEWAY, &owner), (LABEL_HOST, "victim.com")],
    )
    .await?;
    // Start in http01 with one route so a per-host certificate exists.
    apply(admin, GW, http_route(&owner, "www", &[&format!("www.{apex}")], &owner)).await?;
    apply_tgw(admin, &owner, json!({"apex": apex})).await?;
    let host_cert = naming::host_certificate("cozystack", &format!("www.{apex}"));
    eventually("http01 certificate", || async {
        Ok(get(admin, CM, "Certificate", &owner, &host_cert).await?.is_some())
    })
    .await?;

    // Switch to dns01: wildcard cert with child SANs, child listener, per-host cert deleted.
    apply_tgw(
        admin,
        &owner,
        json!({"apex": apex, "certMode": "dns01", "issuerName": "letsencrypt-stage",
        "dns01": {"provider": "cloudflare", "cloudflare": {"apiTokenSecretRef": {"name": "cf", "key": "token"}}}}),
    )
    .await?;
    eventually("dns01 wildcard certificate", || async {
        let Some(c) = get(admin, CM, "Certificate", &owner, "cozystack-gateway-tls").await? else {
            return Ok(false);
        };
        Ok(
            c.data["spec"]["dnsNames"] == json!([apex, format!("*.{apex}"), alice, format!("*.{alice}")])
                && get(admin, CM, "Certificate", &owner, &host_cert).await?.is_none(),
        )
    })
    .await?;
    let gw = get_gateway(admin, &owner, "cozystack").await?.context("Gateway")?;
    assert_eq!(
        listener_names(&gw),
        vec![
            "http".to_owned(),
            "https".into(),
            "https-apex".into(),
            naming::child_listener(&alice),
            naming::child_apex_listener(&alice)
        ]
    );
    let issuer = get(admin, CM, "Issuer", &owner, "cozystack-gateway")
        .await?
        .context("Issuer")?;
    assert_eq!(issuer.data["spec"]["acme"]["server"], tgw_core::keys::ACME_STAGING_URL);
    assert_eq!(
        issuer.data["spec"]["acme"]["solvers"][0]["dns01"]["cloudflare"]["apiTokenSecretRef"],
        json!({"name": "cf", "key": "token"})
    );
    let t = await_tgw(admin, &owner, "InputsValid", "False", "InvalidInputs").await?;
    assert!(tgw_core_msg(&t, "InputsValid").contains("victim.com"));

    // Switch to existingSecret: no Issuer, no Certificate, listeners use the operator Secret.
    apply_tgw(
        admin,
        &owner,
        json!({"apex": apex, "certMode": "existingSecret", "wildcardSecretRef": {"name": "op-wild"}}),
    )
    .await?;
    eventually("existingSecret cleanup", || async {
        let certs = dynapi(admin, CM, "Certificate", &owner)
            .await?
            .list(&Default::default())
            .await?;
        let issuer = get(admin, CM, "Issuer", &owner, "cozystack-gateway").await?;
        let gw = get_gateway(admin, &owner, "cozystack").await?.context("gw")?;
        Ok(certs.items.iter().all(|c| c.metadata.deletion_timestamp.is_some())
            && issuer.is_none_or(|i| i.metadata.deletion_timestamp.is_some())
            && gw
                .spec
                .listeners
                .get(1)
                .and_then(|l| l.tls.as_ref()?.certificate_refs.as_ref()?.first())
                .is_some_and(|r| r.name == "op-wild"))
    })
    .await?;
    await_tgw(admin, &owner, "IssuerReady", "True", "NotRequired").await?;
    Ok(())
}

fn tgw_core_msg(t: &TenantGateway, ty: &str) -> String {
    condition(t, ty).map(|c| c.message.clone()).unwrap_or_default()
}

async fn foreign_objects_are_refused(admin: &Client) -> anyhow::Result<()> {
    let owner = namespace(admin, "tenant-f", &[]).await?;
    let apex = format!("{owner}.example.org");
    apply(
        admin,
        GW,
        json!({
            "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
            "metadata": {"name": "cozystack", "namespace": owner},
            "spec": {"gatewayClassName": "other", "listeners": [{"name": "x", "port": 80, "protocol": "HTTP"}]},
        }),
    )
    .await?;
    apply_tgw(admin, &owner, json!({"apex": apex})).await?;
    let t = await_tgw(admin, &owner, "Ready", "False", "ReconcileError").await?;
    let msg = tgw_core_msg(&t, "Ready");
    assert!(
        msg.starts_with(&format!(
            "gateway {owner}/cozystack exists but is not owned by TenantGateway cozystack; refusing to take over"
        )),
        "{msg}"
    );
    // Independent steps still ran; the redirect is not written while no Gateway is.
    assert!(get(admin, CM, "Issuer", &owner, "cozystack-gateway").await?.is_some());
    assert!(get_route(admin, &owner, "cozystack-http-redirect").await?.is_none());
    let t = await_tgw(admin, &owner, "GatewayApplied", "False", "GatewayNotWritten").await?;
    assert_eq!(t.status.as_ref().and_then(|s| s.listeners.clone()), Some(vec![]));
    let gw = get_gateway(admin, &owner, "cozystack").await?.context("gw")?;
    assert_eq!(gw.spec.gateway_class_name, "other", "foreign Gateway was modified");
    Ok(())
}

async fn namespace_labels_are_owned(admin: &Client) -> anyhow::Result<()> {
    let owner = namespace(admin, "tenant-l", &[]).await?;
    let free = namespace(admin, "cozy-free", &[]).await?;
    let taken = namespace(admin, "cozy-taken", &[(LABEL_GATEWAY, "tenant-someone")]).await?;
    let helm = namespace(admin, "cozy-helm", &[(LABEL_GATEWAY, &owner)]).await?;
    apply_tgw(
        admin,
        &owner,
        json!({"apex": format!("{owner}.example.org"), "attachedNamespaces": [free, taken, helm]}),
    )
    .await?;
    let t = await_tgw(admin, &owner, "NamespacesAttached", "False", "AttachConflict").await?;
    assert!(tgw_core_msg(&t, "NamespacesAttached").contains(&format!("{taken} (attached to tenant-someone)")));
    assert_eq!(
        ns_labels(admin, &free).await?.1.get(ANNOTATION_ATTACHED_BY),
        Some(&owner)
    );
    let (tl, ta) = ns_labels(admin, &taken).await?;
    assert_eq!(
        (
            tl.get(LABEL_GATEWAY).map(String::as_str),
            ta.get(ANNOTATION_ATTACHED_BY)
        ),
        (Some("tenant-someone"), None)
    );
    // Drop every attached namespace: only what the controller wrote is removed.
    apply_tgw(admin, &owner, json!({"apex": format!("{owner}.example.org")})).await?;
    eventually("labels removed from the dropped namespace", || async {
        let (l, a) = ns_labels(admin, &free).await?;
        Ok(!l.contains_key(LABEL_GATEWAY) && !a.contains_key(ANNOTATION_ATTACHED_BY))
    })
    .await?;
    assert_eq!(
        ns_labels(admin, &helm).await?.0.get(LABEL_GATEWAY),
        Some(&owner),
        "helm-written label removed"
    );
    assert_eq!(
        ns_labels(admin, &taken).await?.0.get(LABEL_GATEWAY).map(String::as_str),
        Some("tenant-someone")
    );
    Ok(())
}

async fn listener_cap(admin: &Client) -> anyhow::Result<()> {
    let owner = namespace(admin, "tenant-cap", &[]).await?;
    let apex = format!("{owner}.example.org");
    let hosts: Vec<String> = (0..66).map(|i| format!("h{i:02}.{apex}")).collect();
    // HTTPRoute allows 16 hostnames: 6 routes x 11, created in order (later routes are not older).
    for (i, chunk) in hosts.chunks(11).enumerate() {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        apply(admin, GW, http_route(&owner, &format!("many{i}"), &refs, &owner)).await?;
    }
    apply_tgw(
        admin,
        &owner,
        json!({"apex": apex, "tlsPassthroughServices": ["api", "vm"]}),
    )
    .await?;
    let t = await_tgw(admin, &owner, "ListenerBudget", "False", "ListenerLimitExceeded").await?;
    let gw = get_gateway(admin, &owner, "cozystack").await?.context("gw")?;
    assert_eq!(listener_names(&gw).len(), 64);
    // 64 - http - 2 passthrough = 61 per-host listeners; h61..h65 dropped (same age, by name).
    let dropped: Vec<String> = hosts[61..].to_vec();
    assert_eq!(
        tgw_core_msg(&t, "ListenerBudget"),
        format!(
            "64 of 64 listeners used; namespaces short of listeners: {owner} (61 of 66 hostnames, fair share); \
             not served: {}",
            dropped.join(", ")
        )
    );
    await_tgw(admin, &owner, "GatewayApplied", "True", "Applied").await?;
    Ok(())
}

async fn deletion_cleans_up(admin: &Client) -> anyhow::Result<()> {
    let owner = namespace(admin, "tenant-del", &[]).await?;
    let extra = namespace(admin, "cozy-del", &[]).await?;
    let apex = format!("{owner}.example.org");
    apply(admin, GW, http_route(&extra, "r", &[&format!("a.{apex}")], &owner)).await?;
    apply_tgw(admin, &owner, json!({"apex": apex, "attachedNamespaces": [extra]})).await?;
    eventually("route accepted", || async {
        let r = get_route(admin, &extra, "r").await?.context("route")?;
        Ok(our_parents(&r).first().is_some_and(|p| p.1 == "True"))
    })
    .await?;
    Api::<TenantGateway>::namespaced(admin.clone(), &owner)
        .delete("cozystack", &DeleteParams::default())
        .await?;
    eventually("TenantGateway gone after cleanup", || async {
        Ok(Api::<TenantGateway>::namespaced(admin.clone(), &owner)
            .get_opt("cozystack")
            .await?
            .is_none())
    })
    .await?;
    let (l, a) = ns_labels(admin, &extra).await?;
    assert!(
        !l.contains_key(LABEL_GATEWAY) && !a.contains_key(ANNOTATION_ATTACHED_BY),
        "{l:?} {a:?}"
    );
    assert!(!ns_labels(admin, &owner).await?.0.contains_key(LABEL_GATEWAY));
    let r = get_route(admin, &extra, "r").await?.context("route")?;
    assert_eq!(our_parents(&r), vec![]);
    Ok(())
}

async fn restart_mid_way(admin: &Client) -> anyhow::Result<()> {
    let owner = namespace(admin, "tenant-rs", &[]).await?;
    let apex = format!("{owner}.example.org");
    // Work queued while no controller runs.
    apply(admin, GW, http_route(&owner, "a", &[&format!("a.{apex}")], &owner)).await?;
    apply_tgw(admin, &owner, json!({"apex": apex})).await?;
    let first = start_controller_with(admin.clone(), any_attach_owner()).await;
    eventually("first controller renders", || async {
        Ok(get_gateway(admin, &owner, "cozystack").await?.is_some())
    })
    .await?;
    first.kill();
    apply(admin, GW, http_route(&owner, "b", &[&format!("b.{apex}")], &owner)).await?;
    let second = start_controller_with(admin.clone(), any_attach_owner()).await;
    eventually("second controller adds the new listener", || async {
        let gw = get_gateway(admin, &owner, "cozystack").await?.context("gw")?;
        Ok(listener_names(&gw).len() == 3)
    })
    .await?;
    let names = listener_names(&get_gateway(admin, &owner, "cozystack").await?.context("gw")?);
    assert!(
        names.contains(&naming::host_listener(&format!("a.{apex}"))),
        "{names:?}"
    );
    second.stop().await?;
    Ok(())
}

async fn passthrough_and_other_kinds(admin: &Client) -> anyhow::Result<()> {
    let owner = namespace(admin, "tenant-p", &[]).await?;
    let apex = format!("{owner}.example.org");
    let child = namespace(admin, "tenant-p-child", &[(LABEL_GATEWAY, &owner), (LABEL_HOST, &apex)]).await?;
    let api_host = format!("api.{apex}");
    apply_tgw(admin, &owner, json!({"apex": apex, "tlsPassthroughServices": ["api"]})).await?;
    // TLSRoute on the passthrough listener; an HTTPRoute and a GRPCRoute claiming hostnames that
    // cannot get a terminate listener; an HTTPRoute pinned to a listener that does not exist.
    apply(
        admin,
        GW,
        json!({
            "apiVersion": "gateway.networking.k8s.io/v1alpha2", "kind": "TLSRoute",
            "metadata": {"name": "k8s", "namespace": child},
            "spec": {"parentRefs": [{"name": "cozystack", "namespace": owner, "sectionName": "tls-api"}],
                     "hostnames": [api_host], "rules": [{"backendRefs": [{"name": "k8s", "port": 443}]}]},
        }),
    )
    .await?;
    apply(admin, GW, http_route(&child, "steal-api", &[&api_host], &owner)).await?;
    apply(
        admin,
        GW,
        json!({
            "apiVersion": "gateway.networking.k8s.io/v1", "kind": "GRPCRoute",
            "metadata": {"name": "grpc", "namespace": child},
            "spec": {"parentRefs": [{"name": "cozystack", "namespace": owner}], "hostnames": [format!("g.{apex}")],
                     "rules": [{"backendRefs": [{"name": "g", "port": 9000}]}]},
        }),
    )
    .await?;
    let mut pinned = http_route(&child, "pinned", &[&format!("p.{apex}")], &owner);
    pinned["spec"]["parentRefs"][0]["sectionName"] = json!("nope");
    apply(admin, GW, pinned).await?;
    let gwkey = format!("{owner}/cozystack");
    for (kind, name, status, reason) in [
        ("TLSRoute", "k8s", "True", "Accepted"),
        ("HTTPRoute", "steal-api", "False", "NotAllowedByListeners"),
        ("GRPCRoute", "grpc", "False", "NotAllowedByListeners"),
        ("HTTPRoute", "pinned", "False", "NoMatchingParent"),
    ] {
        eventually(&format!("status of {kind} {name}"), || async {
            let r = get(admin, GW, kind, &child, name).await?.context("route")?;
            // TLSRoute and GRPCRoute parent status has the HTTPRoute schema: read it typed too.
            let r: HttpRoute = serde_json::from_value(serde_json::to_value(r)?)?;
            let got = our_parents(&r);
            if got != vec![(gwkey.clone(), status.to_owned(), reason.to_owned())] {
                anyhow::bail!("{got:?}");
            }
            Ok(true)
        })
        .await?;
    }
    let r = get_route(admin, &child, "steal-api").await?.context("route")?;
    let msg = first_message(&r);
    assert!(
        msg.ends_with(&format!(
            "not served: {api_host} is served by a TLS passthrough listener"
        )),
        "{msg}"
    );
    let gw = get_gateway(admin, &owner, "cozystack").await?.context("gw")?;
    assert_eq!(
        listener_names(&gw),
        vec!["http".to_owned(), "tls-api".into()],
        "no terminate listener for api/grpc"
    );
    Ok(())
}

async fn crd_rejects_invalid_specs(admin: &Client) -> anyhow::Result<()> {
    let ns = namespace(admin, "tenant-v", &[]).await?;
    for (spec, want) in [
        (
            json!({"apex": "Example.org"}),
            "apex must be a lowercase RFC 1123 DNS name",
        ),
        (
            json!({"apex": "-bad.org"}),
            "apex must be a lowercase RFC 1123 DNS name",
        ),
        (
            json!({"apex": "ok.org", "tlsPassthroughServices": ["api", "api"]}),
            "tlsPassthroughServices entries must be unique",
        ),
        (
            json!({"apex": "ok.org", "tlsPassthroughServices": ["Bad_Name"]}),
            "tlsPassthroughServices entries must be lowercase DNS labels",
        ),
        (
            json!({"apex": "ok.org", "attachedNamespaces": ["UPPER"]}),
            "attachedNamespaces entries must be namespace names",
        ),
        (
            json!({"apex": "ok.org", "certMode": "magic"}),
            "Unsupported value: \"magic\"",
        ),
    ] {
        let err = apply_tgw(admin, &ns, spec.clone())
            .await
            .expect_err(&format!("{spec} was admitted"));
        assert!(format!("{err:#}").contains(want), "{spec}: {err:#}");
    }
    // Defaults are applied server-side, as in Cozystack's CRD.
    apply_tgw(
        admin,
        &ns,
        json!({"apex": "ok.org", "attachedNamespaces": ["", "cozy-x"]}),
    )
    .await?;
    let t = get_tgw(admin, &ns).await?;
    assert_eq!(
        (t.spec.cert_mode.as_str(), t.spec.gateway_class_name.as_str()),
        ("http01", "cilium")
    );
    Api::<TenantGateway>::namespaced(admin.clone(), &ns)
        .delete("cozystack", &DeleteParams::default())
        .await?;
    Ok(())
}
