//! No noisy neighbours (issue 19): one tenant attached to its parent's Gateway cannot exhaust or
//! unready that Gateway. Each measurement of the issue is its own test on a real kube-apiserver
//! + etcd with the controller running and no policy installed.

mod controller_support;

use std::time::{Duration, Instant};

use anyhow::Context;
use controller_support::*;
use gateway_api::gateways::Gateway;
use kube::Client;
use serde_json::{Value, json};
use tgw_core::conditions::{reasons, types};
use tgw_core::keys::{LABEL_GATEWAY, LABEL_HOST};
use tgw_core::naming;

const ROOT: &str = "tenant-root";
const APEX: &str = "example.org";

/// tenant-root owns an http01 TenantGateway; `children` are attached with apexes under it.
async fn tree(admin: &Client, children: &[&str]) -> anyhow::Result<()> {
    named_namespace(admin, ROOT, &[(LABEL_HOST, APEX), (LABEL_GATEWAY, ROOT)]).await?;
    for c in children {
        let apex = format!("{}.{APEX}", c.trim_start_matches("tenant-"));
        named_namespace(admin, c, &[(LABEL_HOST, &apex), (LABEL_GATEWAY, ROOT)]).await?;
    }
    apply_tgw(admin, ROOT, json!({"apex": APEX})).await
}

/// The namespaces the per-host listener for `host` admits, if it exists.
fn listener_for(gw: &Gateway, host: &str) -> Option<Vec<String>> {
    let l = gw
        .spec
        .listeners
        .iter()
        .find(|l| l.name == naming::host_listener(host))?;
    let sel = l.allowed_routes.as_ref()?.namespaces.as_ref()?.selector.as_ref()?;
    Some(
        sel.match_expressions
            .iter()
            .flatten()
            .flat_map(|e| e.values.clone().unwrap_or_default())
            .collect(),
    )
}

fn per_host_listeners(gw: &Gateway, ns: &str) -> usize {
    gw.spec
        .listeners
        .iter()
        .filter_map(|l| l.hostname.as_deref().and_then(|h| listener_for(gw, h)))
        .filter(|names| names == &vec![ns.to_owned()])
        .count()
}

/// Measurement 1: a child creates 4 routes × 16 names inside its own apex. It keeps 16
/// listeners (its cap); the owner's newer route and a later tenant's route still get theirs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_cannot_exhaust_the_listener_budget() -> anyhow::Result<()> {
    let (_cluster, admin) = cluster().await?;
    tree(&admin, &["tenant-greedy", "tenant-late"]).await?;
    let controller = start_controller(admin.clone()).await;
    for r in 0..4 {
        let hosts: Vec<String> = (0..16).map(|h| format!("n{r}-{h:02}.greedy.{APEX}")).collect();
        let refs: Vec<&str> = hosts.iter().map(String::as_str).collect();
        apply(&admin, GW, http_route("tenant-greedy", &format!("r{r}"), &refs, ROOT)).await?;
    }
    eventually("the greedy child's listeners", || async {
        let gw = get_gateway(&admin, ROOT, "cozystack").await?.context("no Gateway")?;
        Ok(per_host_listeners(&gw, "tenant-greedy") == 16)
    })
    .await?;
    let (shop, late) = (format!("shop.{APEX}"), format!("app.late.{APEX}"));
    apply(&admin, GW, http_route(ROOT, "shop", &[&shop], ROOT)).await?;
    apply(&admin, GW, http_route("tenant-late", "app", &[&late], ROOT)).await?;
    eventually("the owner's and the later tenant's listeners", || async {
        let gw = get_gateway(&admin, ROOT, "cozystack").await?.context("no Gateway")?;
        Ok(listener_for(&gw, &shop) == Some(vec![ROOT.to_owned()])
            && listener_for(&gw, &late) == Some(vec!["tenant-late".to_owned()])
            && per_host_listeners(&gw, "tenant-greedy") == 16)
    })
    .await?;
    for (ns, name) in [(ROOT, "shop"), ("tenant-late", "app")] {
        eventually(&format!("{ns}/{name} accepted"), || async {
            let r = get_route(&admin, ns, name).await?.context("no route")?;
            Ok(our_parents(&r).iter().any(|(_, status, _)| status == "True"))
        })
        .await?;
    }
    let t = await_tgw(
        &admin,
        ROOT,
        types::LISTENER_BUDGET,
        "False",
        reasons::LISTENER_LIMIT_EXCEEDED,
    )
    .await?;
    let budget = condition(&t, types::LISTENER_BUDGET).context("ListenerBudget")?;
    assert!(
        budget
            .message
            .contains("tenant-greedy (16 of 64 hostnames, capped at 16)"),
        "{}",
        budget.message
    );
    controller.stop().await?;
    Ok(())
}

/// Measurement 2: a child routes a name whose certificate never becomes ready. The parent's
/// Ready stays True (its own listeners are ready); AttachedNamespacesReady names the child.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_childs_pending_certificate_does_not_unready_the_parent() -> anyhow::Result<()> {
    let (_cluster, admin) = cluster().await?;
    tree(&admin, &["tenant-kid"]).await?;
    let www = format!("www.{APEX}");
    let mut own = http_route(ROOT, "www", &[&www], ROOT);
    own["spec"]["parentRefs"][0]["port"] = json!(443);
    apply(&admin, GW, own).await?;
    let controller = start_controller(admin.clone()).await;
    // The data plane and cert-manager stand-ins: the Gateway programmed, the owner's Issuer and
    // certificate ready.
    let ready_parent = || async {
        program_gateway(&admin, ROOT).await?;
        mark_ready(&admin, "Issuer", ROOT, &naming::issuer("cozystack")).await?;
        mark_ready(
            &admin,
            "Certificate",
            ROOT,
            &naming::host_certificate("cozystack", &www),
        )
        .await?;
        anyhow::Ok(())
    };
    eventually("the parent's objects", || async {
        Ok(get(
            &admin,
            CM,
            "Certificate",
            ROOT,
            &naming::host_certificate("cozystack", &www),
        )
        .await?
        .is_some())
    })
    .await?;
    ready_parent().await?;
    await_tgw(&admin, ROOT, types::READY, "True", reasons::RECONCILED).await?;

    // The child's name: its Certificate is never issued.
    let kid = format!("shop.kid.{APEX}");
    apply(&admin, GW, http_route("tenant-kid", "shop", &[&kid], ROOT)).await?;
    eventually("the child's listener", || async {
        let gw = get_gateway(&admin, ROOT, "cozystack").await?.context("no Gateway")?;
        Ok(listener_for(&gw, &kid).is_some())
    })
    .await?;
    // The data plane programs the new listener; the child's certificate stays pending.
    let want = format!(
        "tenant-kid: listener {} CertificateNotReady",
        naming::host_listener(&kid)
    );
    eventually(
        "AttachedNamespacesReady names the child's pending certificate",
        || async {
            program_gateway(&admin, ROOT).await?;
            let t = get_tgw(&admin, ROOT).await?;
            let ready = condition(&t, types::READY).map(|c| (c.status.as_str().to_owned(), c.reason.clone()));
            let attached = condition(&t, types::ATTACHED_READY).map(|c| c.message.clone());
            if !attached.as_deref().is_some_and(|m| m.contains(&want)) {
                anyhow::bail!("Ready {ready:?}, AttachedNamespacesReady {attached:?}");
            }
            Ok(true)
        },
    )
    .await?;
    let t = get_tgw(&admin, ROOT).await?;
    let ready = condition(&t, types::READY).context("Ready")?;
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("True", reasons::RECONCILED),
        "the parent's Ready while the child's certificate is pending"
    );
    controller.stop().await?;
    Ok(())
}

/// Measurement 3: a child's HTTPRoute as large as etcd accepts: no status entry fits. The write is
/// refused for good; the parent's Ready is untouched, the child is named in
/// AttachedNamespacesReady, a Warning Event lands on the route, and the write is not retried in a
/// loop (the controller's writes stay flat).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_childs_unwritable_route_neither_unreadies_the_parent_nor_loops() -> anyhow::Result<()> {
    let (_cluster, admin) = cluster().await?;
    tree(&admin, &["tenant-big"]).await?;
    let host = format!("huge.big.{APEX}");
    let size = largest_route(&admin, "tenant-big", &host).await?;
    eprintln!("largest HTTPRoute etcd accepts here: {size} bytes of header values");
    apply(&admin, GW, big_route("tenant-big", "huge", &host, size)).await?;
    let controller = start_controller(admin.clone()).await;
    let want = "HTTPRoute tenant-big/huge: status not written (not retried until the route changes): \
                etcdserver: request is too large";
    eventually("AttachedNamespacesReady names the unwritable route", || async {
        let t = get_tgw(&admin, ROOT).await?;
        let ready = condition(&t, types::READY).map(|c| (c.status.as_str().to_owned(), c.reason.clone()));
        let attached = condition(&t, types::ATTACHED_READY).map(|c| c.message.clone());
        if !attached.as_deref().is_some_and(|m| m.contains(want)) {
            anyhow::bail!("Ready {ready:?}, AttachedNamespacesReady {attached:?}");
        }
        Ok(true)
    })
    .await?;
    let t = get_tgw(&admin, ROOT).await?;
    let ready = condition(&t, types::READY).context("Ready")?;
    assert_ne!(ready.reason, reasons::RECONCILE_ERROR, "{}", ready.message);
    let routes_updated = condition(&t, types::ROUTES_UPDATED).context("RouteStatusUpdated")?;
    assert_eq!(routes_updated.status.as_str(), "True", "{}", routes_updated.message);
    // Not retried in a loop: no controller write in 20 s (the old code retried every 15 s).
    let before = controller.metrics.writes();
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(20)).await;
    let after = controller.metrics.writes();
    assert_eq!(
        after,
        before,
        "controller writes in {:?} after settling",
        started.elapsed()
    );
    // Reported once on the route itself, as an Event.
    let events = kube::Api::<k8s_openapi::api::events::v1::Event>::namespaced(admin.clone(), "tenant-big")
        .list(&Default::default())
        .await?;
    let ours: Vec<&str> = events
        .items
        .iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("huge"))
        .filter_map(|e| e.reason.as_deref())
        .collect();
    assert_eq!(ours, vec!["RouteStatusNotWritten"]);
    controller.stop().await?;
    Ok(())
}

/// An HTTPRoute in `ns` for `host` carrying about `bytes` bytes of header-match values.
fn big_route(ns: &str, name: &str, host: &str, bytes: usize) -> Value {
    const VALUE: usize = 4000;
    let mut left = bytes;
    let mut rules = Vec::new();
    while left > 0 && rules.len() < 16 {
        let mut matches = Vec::new();
        while left > 0 && matches.len() < 7 {
            let mut headers = Vec::new();
            while left > 0 && headers.len() < 16 {
                let n = left.min(VALUE);
                headers.push(json!({"name": format!("x-h{}", headers.len()), "value": "v".repeat(n)}));
                left -= n;
            }
            matches.push(json!({"headers": headers}));
        }
        rules.push(json!({"matches": matches, "backendRefs": [{"name": "svc", "port": 80}]}));
    }
    let mut r = http_route(ns, name, &[host], ROOT);
    r["spec"]["rules"] = json!(rules);
    r
}

/// The largest header payload (to 64 bytes) of [`big_route`] the API server stores, found by
/// creating and deleting probes.
async fn largest_route(admin: &Client, ns: &str, host: &str) -> anyhow::Result<usize> {
    let api = dynapi(admin, GW, "HTTPRoute", ns).await?;
    let (mut lo, mut hi) = (64 * 1024, 4 * 1024 * 1024);
    while hi - lo > 64 {
        let mid = (lo + hi) / 2;
        let probe = big_route(ns, "probe", host, mid);
        match apply(admin, GW, probe).await {
            Ok(_) => {
                lo = mid;
                api.delete("probe", &Default::default()).await?;
                eventually("probe deleted", || async { Ok(api.get_opt("probe").await?.is_none()) }).await?;
            }
            Err(_) => hi = mid,
        }
    }
    Ok(lo)
}
