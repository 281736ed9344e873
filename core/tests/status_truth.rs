//! Status that tells the truth (issue 13 items 1-2) and stays bounded (issue 9 item 4): route
//! verdicts come from the listeners actually written, `status.listeners` lists only what exists,
//! every message is capped, `status.parents` stays within 32 entries.

mod common;

use common::*;
use gateway_api::gateways::GatewayStatus;
use serde_json::{Value, json};
use tgw_core::bounded::{CONDITION_MESSAGE_BYTES, ROUTE_MESSAGE_BYTES};
use tgw_core::conditions::{reasons, types};
use tgw_core::decide::{Decision, Settings, decide};
use tgw_core::keys::MAX_ROUTE_PARENTS;
use tgw_core::route_status::Verdict;
use tgw_core::snapshot::{NamespaceView, ParentRef, RouteKind};
use tgw_core::tenantgateway::{CertMode, TenantGatewaySpec, TenantGatewayStatus};

fn namespaces() -> Vec<NamespaceView> {
    vec![
        ns("tenant-root", Some("tenant-root"), Some("example.org")),
        ns("tenant-a", Some("tenant-root"), Some("a.example.org")),
    ]
}

fn existing_secret_without_ref() -> TenantGatewaySpec {
    let mut s = TenantGatewaySpec::with_apex("example.org");
    s.cert_mode = CertMode::ExistingSecret;
    s.tls_passthrough_services = Some(vec!["api".into()]);
    s
}

fn status(
    spec: &TenantGatewaySpec,
    d: &Decision,
    gw_status: Option<&GatewayStatus>,
    errors: &[(&'static str, String)],
) -> TenantGatewayStatus {
    let o = Observed {
        gateway: gw_status,
        issuer_ready: None,
        errors,
        ..observed()
    };
    status_of(&tgw("tenant-root", spec.clone()), d, &o)
}

const RENDER_CAUSE: &str = "render Gateway: certMode=existingSecret requires spec.wildcardSecretRef.name to be set";

#[test]
fn unrenderable_gateway_refuses_every_route_and_writes_no_redirect() {
    let routes = vec![
        http("tenant-a", "app", T0, &["app.a.example.org"], "tenant-root"),
        // The redirect route from an earlier pass is refused too.
        route(
            RouteKind::Http,
            "tenant-root",
            "cozystack-http-redirect",
            T0,
            &["example.org", "*.example.org"],
            vec![ParentRef {
                section_name: Some("http".into()),
                namespace: None,
                ..to_gw("x")
            }],
        ),
    ];
    let d = decide(
        &tgw("tenant-root", existing_secret_without_ref()),
        &namespaces(),
        &routes,
        &Settings::default(),
    );
    assert!(d.desired.gateway.is_err());
    assert_eq!(d.desired.redirect, None);
    assert_eq!(d.gateway_not_written.as_deref(), Some(RENDER_CAUSE));
    let want = Verdict {
        accepted: false,
        reason: reasons::GATEWAY_NOT_WRITTEN,
        message: format!(
            "Gateway tenant-root/cozystack was not written, so no listener serves this route: {RENDER_CAUSE}"
        ),
    };
    let got: Vec<(String, Verdict)> = d
        .routes
        .iter()
        .map(|(id, e)| (id.name.clone(), e[0].1.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("app".to_owned(), want.clone()),
            ("cozystack-http-redirect".to_owned(), want)
        ]
    );
}

#[test]
fn unwritten_gateway_leaves_status_listeners_empty_and_says_why() {
    let spec = existing_secret_without_ref();
    let d = decide(
        &tgw("tenant-root", spec.clone()),
        &namespaces(),
        &[],
        &Settings::default(),
    );
    let not_written =
        format!("Gateway tenant-root/cozystack was not written, so status.listeners is empty: {RENDER_CAUSE}");
    // As the controller reports it (the render error is also a step error) …
    let s = status(&spec, &d, None, &[(types::GATEWAY_APPLIED, RENDER_CAUSE.to_owned())]);
    assert_eq!(s.listeners, Some(vec![]));
    assert_eq!(
        cond(&s, types::GATEWAY_APPLIED),
        ("False".into(), reasons::GATEWAY_NOT_WRITTEN.into(), not_written.clone())
    );
    assert_eq!(
        cond(&s, types::READY),
        ("False".into(), reasons::RECONCILE_ERROR.into(), RENDER_CAUSE.into())
    );
    // … and even without a step error, Ready is never true for an unwritten Gateway.
    let s = status(&spec, &d, None, &[]);
    assert_eq!(
        cond(&s, types::READY),
        ("False".into(), reasons::GATEWAY_NOT_WRITTEN.into(), not_written)
    );
}

#[test]
fn apply_failure_turns_every_verdict_and_drops_the_redirect() {
    let spec = TenantGatewaySpec::with_apex("example.org");
    let t = tgw("tenant-root", spec.clone());
    let routes = vec![http("tenant-a", "app", T0, &["app.a.example.org"], "tenant-root")];
    let mut d = decide(&t, &namespaces(), &routes, &Settings::default());
    assert_eq!(d.routes[0].1[0].1.reason, reasons::ROUTE_ACCEPTED);
    assert!(d.desired.redirect.is_some());
    let cause = "apply gateway tenant-root/cozystack: admission webhook denied the request";
    d.gateway_not_written(&t, cause);
    assert_eq!(
        d.routes[0].1[0].1,
        Verdict {
            accepted: false,
            reason: reasons::GATEWAY_NOT_WRITTEN,
            message: format!(
                "Gateway tenant-root/cozystack was not written, so no listener serves this route: {cause}"
            ),
        }
    );
    assert_eq!(d.desired.redirect, None);
    let gw = gateway_status(false, false, &["http"]);
    let s = status(&spec, &d, Some(&gw), &[(types::GATEWAY_APPLIED, cause.to_owned())]);
    assert_eq!(s.listeners, Some(vec![]));
}

// ---------- bounded messages ----------

/// 90 routes in one child, 16 hostnames each that cannot be served (outside the apex), plus
/// 16 the child may not publish, against a 70-hostname listener overflow.
#[test]
fn many_unservable_hostnames_make_short_messages() {
    let routes: Vec<_> = (0..90)
        .map(|r| {
            let hosts: Vec<String> = (0..16)
                .map(|h| format!("h{h}-r{r}.elsewhere-{h}.example.com"))
                .chain((0..16).map(|h| format!("h{h}-r{r}.root-only.example.org")))
                .chain([format!("ok-{r}.a.example.org")])
                .collect();
            let hosts: Vec<&str> = hosts.iter().map(String::as_str).collect();
            http("tenant-a", &format!("r{r:02}"), T0, &hosts, "tenant-root")
        })
        .collect();
    let spec = TenantGatewaySpec::with_apex("example.org");
    let d = decide(
        &tgw("tenant-root", spec.clone()),
        &namespaces(),
        &routes,
        &Settings::default(),
    );
    for (id, entries) in &d.routes {
        for (_, v) in entries {
            assert!(
                v.message.len() <= ROUTE_MESSAGE_BYTES,
                "{id}: {} bytes",
                v.message.len()
            );
        }
    }
    assert_eq!(
        d.routes[0].1[0].1.message,
        "Hostname(s) refused on TenantGateway tenant-root/cozystack: \
         h0-r0.root-only.example.org is outside the apex a.example.org of namespace tenant-a; \
         h1-r0.root-only.example.org is outside the apex a.example.org of namespace tenant-a; \
         h10-r0.root-only.example.org is outside the apex a.example.org of namespace tenant-a; \
         h11-r0.root-only.example.org is outside the apex a.example.org of namespace tenant-a; \
         h12-r0.root-only.example.org is outside the apex a.example.org of namespace tenant-a and 11 more"
    );
    // A huge step error (e.g. 90 failed route-status writes joined) is capped too.
    let huge: Vec<String> = (0..90)
        .map(|r| format!("update status of HTTPRoute tenant-a/r{r:02}: {}", "x".repeat(400)))
        .collect();
    let s = status(&spec, &d, None, &[(types::ROUTES_UPDATED, huge.join("; "))]);
    for c in s.conditions.iter().flatten() {
        assert!(
            c.message.len() <= CONDITION_MESSAGE_BYTES,
            "{}: {} bytes",
            c.type_,
            c.message.len()
        );
    }
    let (_, _, ready) = cond(&s, types::READY);
    assert!(ready.ends_with(" …"), "cut message ends with an ellipsis");
}

#[test]
fn dropped_listeners_are_listed_briefly() {
    let routes: Vec<_> = (0..70)
        .map(|i| {
            http(
                "tenant-a",
                &format!("r{i:02}"),
                &format!("2026-01-01T00:{i:02}:00Z"),
                &[&format!("h{i:02}.a.example.org")],
                "tenant-root",
            )
        })
        .collect();
    let spec = TenantGatewaySpec::with_apex("example.org");
    let uncapped = Settings {
        listeners_per_namespace: 0,
        ..Settings::default()
    };
    let d = decide(&tgw("tenant-root", spec.clone()), &namespaces(), &routes, &uncapped);
    let s = status(&spec, &d, None, &[]);
    assert_eq!(
        cond(&s, types::LISTENER_BUDGET),
        (
            "False".into(),
            reasons::LISTENER_LIMIT_EXCEEDED.into(),
            "64 of 64 listeners used; namespaces short of listeners: tenant-a (63 of 70 hostnames, fair share); \
             not served: h63.a.example.org, h64.a.example.org, h65.a.example.org, h66.a.example.org, \
             h67.a.example.org and 2 more"
                .into()
        )
    );
}

// ---------- status.parents maxItems ----------

fn foreign(i: usize) -> Value {
    json!({"parentRef": {"name": format!("gw{i}"), "namespace": "elsewhere"}, "controllerName": "io.cilium/gateway-controller", "conditions": []})
}

#[test]
fn merged_parents_never_exceed_32_and_keep_foreign_entries_first() {
    let parents: Vec<ParentRef> = (0..5)
        .map(|i| ParentRef {
            section_name: Some(format!("s{i}")),
            ..to_gw("tenant-root")
        })
        .collect();
    let r = route(
        RouteKind::Http,
        "tenant-a",
        "r",
        T0,
        &["a.a.example.org"],
        parents.clone(),
    );
    let ours: Vec<(ParentRef, Verdict)> = parents
        .iter()
        .map(|p| {
            (
                p.clone(),
                Verdict {
                    accepted: true,
                    reason: "Accepted",
                    message: "m".into(),
                },
            )
        })
        .collect();
    let existing: Vec<Value> = (0..30).map(foreign).collect();
    let merged = merge_at(&existing, &r, &ours, T0).expect("changed");
    assert_eq!(merged.len(), MAX_ROUTE_PARENTS);
    assert_eq!(merged[..30], existing[..]);
    let sections: Vec<&str> = merged[30..]
        .iter()
        .map(|e| e["parentRef"]["sectionName"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(sections, vec!["s0", "s1"]);
    // Recomputing over the truncated list changes nothing.
    assert_eq!(merge_at(&merged, &r, &ours, T1), None);
    // A full list of foreign entries leaves no room for ours: nothing to write.
    let full: Vec<Value> = (0..32).map(foreign).collect();
    assert_eq!(merge_at(&full, &r, &ours, T0), None);
}
