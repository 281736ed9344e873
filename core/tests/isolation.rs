//! Isolation the controller keeps by itself, without the admission policy (issue 9): a namespace
//! publishes only within its own host-label apex, the most specific apex owns its subtree, in
//! every cert mode; and the two listener-layout gaps (plaintext port 80, passthrough next to a
//! wildcard) are reported on the route and the TenantGateway.

mod common;

use common::*;
use rstest::rstest;
use tgw_core::conditions::{messages, reasons, types};
use tgw_core::decide::{Decision, Settings, decide};
use tgw_core::listeners::Admits;
use tgw_core::naming;
use tgw_core::route_status::Verdict;
use tgw_core::snapshot::{NamespaceView, ParentRef, RouteKind, RouteView};
use tgw_core::tenantgateway::{CertMode, LocalObjectReference, TenantGatewaySpec};

const OWNER: &str = "tenant-r2";

fn spec(mode: CertMode) -> TenantGatewaySpec {
    let mut s = TenantGatewaySpec::with_apex("r2.example.org");
    s.cert_mode = mode;
    if mode == CertMode::ExistingSecret {
        s.wildcard_secret_ref = Some(LocalObjectReference { name: "wild".into() });
    }
    s
}

/// Issue 9's tree: tenant-r2 owns the Gateway; alice and bob are attached children.
fn tree() -> Vec<NamespaceView> {
    vec![
        ns(OWNER, Some(OWNER), Some("r2.example.org")),
        ns("tenant-r2-alice", Some(OWNER), Some("alice.r2.example.org")),
        ns("tenant-r2-bob", Some(OWNER), Some("bob.r2.example.org")),
        ns("tenant-r2-nolabel", Some(OWNER), None),
        ns("tenant-r2-bad", Some(OWNER), Some("Alice.r2.example.org")),
        ns("cozy-dashboard", Some(OWNER), None),
    ]
}

fn on_443(ns: &str, name: &str, created: &str, hosts: &[&str]) -> RouteView {
    route(
        RouteKind::Http,
        ns,
        name,
        created,
        hosts,
        vec![ParentRef {
            port: Some(443),
            ..to_gw(OWNER)
        }],
    )
}

fn run(mode: CertMode, routes: &[RouteView]) -> Decision {
    decide(&tgw(OWNER, spec(mode)), &tree(), routes, &Settings::default())
}

fn verdict(d: &Decision, ns: &str, name: &str) -> Verdict {
    d.routes
        .iter()
        .find(|(id, _)| id.namespace == ns && id.name == name)
        .map(|(_, e)| e[0].1.clone())
        .expect("route has a verdict")
}

fn accepted() -> Verdict {
    Verdict {
        accepted: true,
        reason: reasons::ROUTE_ACCEPTED,
        message: "Route attached to TenantGateway tenant-r2/cozystack".into(),
    }
}

fn refused(detail: &str) -> Verdict {
    Verdict {
        accepted: false,
        reason: reasons::HOSTNAME_OUTSIDE_NAMESPACE_APEX,
        message: format!("Hostname(s) refused on TenantGateway tenant-r2/cozystack: {detail}"),
    }
}

#[test]
fn sibling_cannot_take_another_tenants_hostname_in_http01() {
    // Alice's route comes first (older), Bob's second: Bob still gets the name.
    let routes = vec![
        on_443("tenant-r2-alice", "shop", T0, &["shop.bob.r2.example.org"]),
        on_443("tenant-r2-bob", "shop", T1, &["shop.bob.r2.example.org"]),
    ];
    let d = run(CertMode::Http01, &routes);
    let l = d
        .plan
        .get(&naming::host_listener("shop.bob.r2.example.org"))
        .expect("listener for bob");
    assert_eq!(
        l.admits,
        Admits::GatewayLabel {
            names: vec!["tenant-r2-bob".into()]
        }
    );
    assert_eq!(d.desired.certificates.len(), 1);
    assert_eq!(
        d.desired.certificates[0]["spec"]["dnsNames"],
        serde_json::json!(["shop.bob.r2.example.org"])
    );
    assert_eq!(
        verdict(&d, "tenant-r2-alice", "shop"),
        refused("shop.bob.r2.example.org is outside the apex alice.r2.example.org of namespace tenant-r2-alice")
    );
    assert_eq!(verdict(&d, "tenant-r2-bob", "shop"), accepted());
    assert!(d.ownership.losers.is_empty(), "a refused claim is not a conflict");
}

#[test]
fn refused_hostname_alone_gets_no_listener_and_no_certificate() {
    let d = run(
        CertMode::Http01,
        &[on_443("tenant-r2-alice", "shop", T0, &["shop.bob.r2.example.org"])],
    );
    let names: Vec<&str> = d.plan.listeners.iter().map(|l| l.name.as_str()).collect();
    assert_eq!((names, d.desired.certificates.len()), (vec!["http"], 0));
}

#[rstest]
#[case::dns01(CertMode::Dns01)]
#[case::existing_secret(CertMode::ExistingSecret)]
fn the_same_rule_holds_in_wildcard_modes(#[case] mode: CertMode) {
    let routes = vec![
        on_443("tenant-r2-alice", "shop", T0, &["shop.bob.r2.example.org"]),
        on_443("tenant-r2-bob", "shop", T1, &["shop.bob.r2.example.org"]),
    ];
    let d = run(mode, &routes);
    assert_eq!(
        verdict(&d, "tenant-r2-alice", "shop"),
        refused("shop.bob.r2.example.org is outside the apex alice.r2.example.org of namespace tenant-r2-alice")
    );
    assert_eq!(verdict(&d, "tenant-r2-bob", "shop"), accepted());
}

#[rstest]
#[case::parent_into_child(
    on_443(OWNER, "shop", T0, &["shop.bob.r2.example.org"]),
    refused("shop.bob.r2.example.org is inside the apex bob.r2.example.org of namespace tenant-r2-bob, which owns that subtree"))]
#[case::parent_takes_child_apex(
    on_443(OWNER, "bob", T0, &["bob.r2.example.org"]),
    refused("bob.r2.example.org is inside the apex bob.r2.example.org of namespace tenant-r2-bob, which owns that subtree"))]
#[case::platform_into_tenant(
    on_443("cozy-dashboard", "d", T0, &["dash.alice.r2.example.org"]),
    refused("dash.alice.r2.example.org is inside the apex alice.r2.example.org of namespace tenant-r2-alice, which owns that subtree"))]
#[case::tenant_without_host_label(
    on_443("tenant-r2-nolabel", "x", T0, &["x.r2.example.org"]),
    refused("x.r2.example.org cannot be published from namespace tenant-r2-nolabel: it has no namespace.cozystack.io/host label"))]
#[case::tenant_with_invalid_host_label(
    on_443("tenant-r2-bad", "x", T0, &["x.alice.r2.example.org"]),
    refused("x.alice.r2.example.org cannot be published from namespace tenant-r2-bad: its namespace.cozystack.io/host label \"Alice.r2.example.org\" is not a valid lowercase DNS name"))]
#[case::several_reasons_sorted(
    on_443("tenant-r2-alice", "multi", T0, &["a.bob.r2.example.org", "ok.alice.r2.example.org", "*.r2.example.org"]),
    refused("*.r2.example.org is outside the apex alice.r2.example.org of namespace tenant-r2-alice; \
             a.bob.r2.example.org is outside the apex alice.r2.example.org of namespace tenant-r2-alice"))]
#[case::parent_own_name(on_443(OWNER, "shop", T0, &["shop.r2.example.org"]), accepted())]
#[case::platform_unlabelled_own_name(on_443("cozy-dashboard", "d", T0, &["dashboard.r2.example.org"]), accepted())]
fn namespace_scope_verdicts(#[case] r: RouteView, #[case] want: Verdict) {
    for mode in [CertMode::Http01, CertMode::Dns01] {
        let d = run(mode, std::slice::from_ref(&r));
        assert_eq!(verdict(&d, &r.id.namespace, &r.id.name), want, "{mode:?}");
    }
}

#[test]
fn child_wins_the_subtree_even_against_an_older_parent_route() {
    let routes = vec![
        on_443(OWNER, "old", T0, &["shop.bob.r2.example.org"]),
        on_443("tenant-r2-bob", "new", T2, &["shop.bob.r2.example.org"]),
    ];
    let d = run(CertMode::Http01, &routes);
    assert_eq!(
        d.ownership.winners["shop.bob.r2.example.org"].namespace,
        "tenant-r2-bob"
    );
}

#[test]
fn tenant_prefix_is_a_setting() {
    // With another prefix, an unlabelled `tenant-…` namespace is an "other" namespace and
    // publishes under the TenantGateway apex.
    let settings = Settings {
        tenant_prefix: "t-".into(),
        ..Settings::default()
    };
    let r = on_443("tenant-r2-nolabel", "x", T0, &["x.r2.example.org"]);
    let d = decide(&tgw(OWNER, spec(CertMode::Http01)), &tree(), &[r], &settings);
    assert_eq!(verdict(&d, "tenant-r2-nolabel", "x"), accepted());
}

// ---------- gap 13: plaintext port 80 ----------

fn status(d: &Decision, mode: CertMode) -> tgw_core::tenantgateway::TenantGatewayStatus {
    status_of(&tgw(OWNER, spec(mode)), d, &observed())
}

#[test]
fn owner_namespace_route_without_section_or_port_is_reported_as_plaintext() {
    let routes = vec![
        http(OWNER, "harbor", T0, &["harbor.r2.example.org"], OWNER),
        on_443(OWNER, "pinned", T0, &["pinned.r2.example.org"]),
        // ACME challenge and redirect style: explicit sectionName http.
        route(
            RouteKind::Http,
            OWNER,
            "cm-acme-http-solver-x",
            T0,
            &["harbor.r2.example.org"],
            vec![ParentRef {
                section_name: Some("http".into()),
                ..to_gw(OWNER)
            }],
        ),
        // Not admitted by the port-80 listener: not plaintext.
        http("tenant-r2-alice", "app", T0, &["app.alice.r2.example.org"], OWNER),
    ];
    let d = run(CertMode::Http01, &routes);
    assert_eq!(d.plaintext_routes, vec!["tenant-r2/harbor".to_owned()]);
    assert_eq!(
        verdict(&d, OWNER, "harbor").message,
        format!(
            "Route attached to TenantGateway tenant-r2/cozystack; {}",
            messages::PLAINTEXT_WARNING
        )
    );
    assert_eq!(verdict(&d, OWNER, "pinned"), accepted());
    let s = status(&d, CertMode::Http01);
    assert_eq!(
        cond(&s, types::PLAINTEXT_ISOLATED),
        (
            "False".into(),
            reasons::PLAINTEXT_ROUTES.into(),
            "Routes attached to the plaintext listener http (port 80) because their parentRef pins neither \
             sectionName nor port; their hostnames are served without TLS: tenant-r2/harbor"
                .into()
        )
    );
}

#[test]
fn no_plaintext_routes_is_a_true_condition() {
    let d = run(
        CertMode::Http01,
        &[on_443(OWNER, "pinned", T0, &["pinned.r2.example.org"])],
    );
    assert_eq!(
        cond(&status(&d, CertMode::Http01), types::PLAINTEXT_ISOLATED),
        (
            "True".into(),
            reasons::NO_PLAINTEXT_ROUTES.into(),
            "No route attaches to the plaintext listener http without pinning a sectionName or port".into()
        )
    );
}

// ---------- gap 12: passthrough next to the wildcard listener ----------

#[rstest]
#[case::dns01(CertMode::Dns01, ("False", reasons::PASSTHROUGH_OVERLAP,
    "TLS passthrough and terminate listeners share hostnames on port 443; Cilium >= 1.19.6 marks both \
     Conflicted: tls-api overlaps https, tls-vm overlaps https. Remove the service from \
     tlsPassthroughServices or use certMode http01"))]
#[case::existing_secret(CertMode::ExistingSecret, ("False", reasons::PASSTHROUGH_OVERLAP,
    "TLS passthrough and terminate listeners share hostnames on port 443; Cilium >= 1.19.6 marks both \
     Conflicted: tls-api overlaps https, tls-vm overlaps https. Remove the service from \
     tlsPassthroughServices or use certMode http01"))]
#[case::http01(CertMode::Http01, ("True", reasons::NO_OVERLAP,
    "No TLS passthrough listener shares a hostname with a terminate listener"))]
fn passthrough_next_to_a_wildcard_is_reported(#[case] mode: CertMode, #[case] want: (&str, &str, &str)) {
    let mut s = spec(mode);
    s.tls_passthrough_services = Some(vec!["api".into(), "vm".into()]);
    // An HTTP-01 claim of a passthrough name never becomes a terminate listener.
    let routes = vec![on_443(OWNER, "api", T0, &["api.r2.example.org"])];
    let d = decide(&tgw(OWNER, s.clone()), &tree(), &routes, &Settings::default());
    let st = status_of(&tgw(OWNER, s), &d, &observed());
    let got = cond(&st, types::PASSTHROUGH_ISOLATED);
    assert_eq!((got.0.as_str(), got.1.as_str(), got.2.as_str()), want);
}

/// A parentRef pinned to the `http` listener (the redirect, cert-manager's HTTP-01 challenge
/// routes for the tenants' names, which live in the owner's namespace) is judged by that listener
/// alone, as the data plane judges it: the namespace scope governs the HTTPS names.
#[test]
fn a_challenge_route_on_the_http_listener_is_judged_by_that_listener() {
    let challenge = route(
        RouteKind::Http,
        OWNER,
        "cm-acme-http-solver",
        T0,
        &["shop.bob.r2.example.org"],
        vec![ParentRef {
            section_name: Some(naming::HTTP_LISTENER.into()),
            ..to_gw(OWNER)
        }],
    );
    for mode in [CertMode::Http01, CertMode::Dns01] {
        let d = run(mode, std::slice::from_ref(&challenge));
        assert_eq!(verdict(&d, OWNER, "cm-acme-http-solver"), accepted(), "{mode:?}");
    }
}
