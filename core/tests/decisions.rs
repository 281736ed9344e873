//! Table tests of the TenantGateway decisions: claims, conflicts, the listener cap, route status,
//! TenantGateway status and namespace attachment.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use gateway_api::gateways::GatewayStatus;
use rstest::rstest;
use serde_json::json;
use tgw_core::attach::AttachedByFormat;
use tgw_core::claims::Rejection;
use tgw_core::conditions::reasons;
use tgw_core::decide::{Settings, decide};
use tgw_core::keys::{ANNOTATION_ATTACHED_BY, CONTROLLER_NAME};
use tgw_core::route_status::Verdict;
use tgw_core::snapshot::{NamespaceView, ParentRef, RouteId, RouteKind, RouteView};
use tgw_core::tenantgateway::{CertMode, TenantGatewaySpec};
use tgw_core::tgw_status::AttachReport;
use tgw_core::{attach, naming};

fn spec() -> TenantGatewaySpec {
    let mut s = TenantGatewaySpec::with_apex("example.org");
    s.tls_passthrough_services = Some(vec!["api".into()]);
    s
}

fn cluster_ns() -> Vec<NamespaceView> {
    // tenant-a and tenant-b publish under the root apex (a tenant namespace without a host label
    // publishes nothing; see tests/isolation.rs).
    ["tenant-root", "cozy-dashboard", "tenant-a", "tenant-b", "default"]
        .iter()
        .map(|n| {
            ns(
                n,
                Some("tenant-root"),
                n.starts_with("tenant-").then_some("example.org"),
            )
        })
        .chain([ns("tenant-x", Some("tenant-x"), None)])
        .collect()
}

fn rid(kind: RouteKind, ns: &str, name: &str) -> RouteId {
    RouteId {
        kind,
        namespace: ns.into(),
        name: name.into(),
    }
}

// ---------- conflicts ----------

#[rstest]
#[case::platform_beats_older(
    vec![http("tenant-a", "r", T0, &["h.example.org"], "tenant-root"), http("cozy-dashboard", "r", T2, &["h.example.org"], "tenant-root")],
    "cozy-dashboard", vec!["tenant-a"])]
#[case::older_beats_newer(
    vec![http("tenant-a", "r", T1, &["h.example.org"], "tenant-root"), http("tenant-b", "r", T0, &["h.example.org"], "tenant-root")],
    "tenant-b", vec!["tenant-a"])]
#[case::tie_by_namespace(
    vec![http("tenant-b", "r", T0, &["h.example.org"], "tenant-root"), http("tenant-a", "z", T0, &["h.example.org"], "tenant-root")],
    "tenant-a", vec!["tenant-b"])]
#[case::same_namespace_merges(
    vec![http("tenant-a", "r1", T0, &["h.example.org"], "tenant-root"), http("tenant-a", "r2", T1, &["h.example.org"], "tenant-root")],
    "tenant-a", vec![])]
#[case::missing_timestamp_last(
    vec![RouteView { created: None, ..http("default", "r", T0, &["h.example.org"], "tenant-root") }, http("tenant-b", "r", T2, &["h.example.org"], "tenant-root")],
    "tenant-b", vec!["default"])]
fn conflict_precedence(#[case] routes: Vec<RouteView>, #[case] winner: &str, #[case] losers: Vec<&str>) {
    let d = decide(
        &tgw("tenant-root", spec()),
        &cluster_ns(),
        &routes,
        &Settings::default(),
    );
    assert_eq!(d.ownership.winners["h.example.org"].namespace, winner);
    let got: Vec<&str> = d.ownership.losers.keys().map(|(r, _)| r.namespace.as_str()).collect();
    assert_eq!(got, losers);
    // The per-host listener admits only the winner's namespace.
    let l = d.plan.get(&naming::host_listener("h.example.org")).expect("listener");
    assert_eq!(
        l.admits,
        tgw_core::listeners::Admits::GatewayLabel {
            names: vec![winner.into()]
        }
    );
}

// ---------- claims ----------

#[test]
fn rejected_claims_never_become_listeners() {
    let routes = vec![http(
        "tenant-a",
        "r",
        T0,
        &[
            "ok.example.org",
            "*.w.example.org",
            "shop.victim.com",
            "api.example.org",
            "UP.example.org",
        ],
        "tenant-root",
    )];
    let d = decide(
        &tgw("tenant-root", spec()),
        &cluster_ns(),
        &routes,
        &Settings::default(),
    );
    let want: BTreeMap<String, Rejection> = [
        ("*.w.example.org", Rejection::Wildcard),
        ("UP.example.org", Rejection::Invalid),
        ("api.example.org", Rejection::Passthrough),
        ("shop.victim.com", Rejection::OutsideApex),
    ]
    .into_iter()
    .map(|(h, r)| (h.to_owned(), r))
    .collect();
    assert_eq!(d.claims.rejected[&(rid(RouteKind::Http, "tenant-a", "r"), 0)], want);
    let names: Vec<&str> = d.plan.listeners.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(
        names,
        vec!["http", naming::host_listener("ok.example.org").as_str(), "tls-api"]
    );
    assert!(d.desired.gateway.is_ok());
    let (_, entries) = &d.routes[0];
    assert_eq!(
        entries[0].1,
        Verdict {
            accepted: true,
            reason: reasons::ROUTE_ACCEPTED,
            message: "Route attached to TenantGateway tenant-root/cozystack; not served: \
                      *.w.example.org is a wildcard, which HTTP-01 cannot certify; \
                      UP.example.org is not a valid lowercase DNS name; \
                      api.example.org is served by a TLS passthrough listener; \
                      shop.victim.com is outside the apex example.org"
                .into(),
        }
    );
}

#[rstest]
#[case::section_http(Some("http"), None, RouteKind::Http, 0)]
#[case::section_matching(Some("https-h-36373c22"), None, RouteKind::Http, 1)]
#[case::section_other(Some("https-other-00000000"), None, RouteKind::Http, 0)]
#[case::port_80(None, Some(80), RouteKind::Http, 0)]
#[case::port_443(None, Some(443), RouteKind::Http, 1)]
#[case::tls_route_only(None, None, RouteKind::Tls, 0)]
#[case::grpc_route(None, None, RouteKind::Grpc, 0)]
fn which_parent_refs_claim(
    #[case] section: Option<&str>,
    #[case] port: Option<i32>,
    #[case] kind: RouteKind,
    #[case] listeners: usize,
) {
    let pr = ParentRef {
        section_name: section.map(str::to_owned),
        port,
        ..to_gw("tenant-root")
    };
    let routes = vec![route(kind, "tenant-a", "r", T0, &["h.example.org"], vec![pr])];
    let d = decide(
        &tgw("tenant-root", spec()),
        &cluster_ns(),
        &routes,
        &Settings::default(),
    );
    assert_eq!(naming::host_listener("h.example.org"), "https-h-36373c22");
    assert_eq!(d.ownership.winners.len(), listeners);
}

#[rstest]
#[case::wrong_group(ParentRef { group: Some("example.com".into()), ..to_gw("tenant-root") })]
#[case::wrong_kind(ParentRef { kind: Some("Service".into()), ..to_gw("tenant-root") })]
#[case::wrong_namespace(to_gw("tenant-b"))]
#[case::implicit_namespace_elsewhere(ParentRef { namespace: None, ..to_gw("x") })]
fn foreign_parent_refs_are_ignored(#[case] pr: ParentRef) {
    let routes = vec![route(
        RouteKind::Http,
        "tenant-a",
        "r",
        T0,
        &["h.example.org"],
        vec![pr],
    )];
    let d = decide(
        &tgw("tenant-root", spec()),
        &cluster_ns(),
        &routes,
        &Settings::default(),
    );
    assert_eq!((d.ownership.winners.len(), d.routes.len()), (0, 0));
}

// ---------- listener cap ----------

#[test]
fn listener_cap_keeps_oldest_and_reports_dropped() {
    // 70 hostnames, one per minute, no per-namespace cap; budget = 64 - http - tls-api = 62.
    let routes: Vec<RouteView> = (0..70)
        .map(|i| {
            http(
                "tenant-a",
                &format!("r{i:02}"),
                &format!("2026-01-01T00:{i:02}:00Z"),
                &[&format!("h{i:02}.example.org")],
                "tenant-root",
            )
        })
        .collect();
    let uncapped = Settings {
        listeners_per_namespace: 0,
        ..Settings::default()
    };
    let d = decide(&tgw("tenant-root", spec()), &cluster_ns(), &routes, &uncapped);
    assert_eq!(d.plan.listeners.len(), 64);
    let dropped: Vec<String> = (62..70).map(|i| format!("h{i}.example.org")).collect();
    assert_eq!(d.plan.dropped, dropped);
    // The condition lists five, then counts the rest (tests/status_truth.rs).
    assert_eq!(d.desired.certificates.len(), 62);
    let status = status_for(&d, None, &[]);
    let c = cond(&status, "ListenerBudget");
    assert_eq!(
        (c.status.as_str(), c.reason.as_str(), c.message.as_str()),
        (
            "False",
            "ListenerLimitExceeded",
            format!(
                "64 of 64 listeners used; namespaces short of listeners: tenant-a (62 of 70 hostnames, fair share); \
                 not served: {} and 3 more",
                dropped[..5].join(", ")
            )
            .as_str()
        )
    );
}

/// Issue 19: a child that wins 64 hostnames keeps 16 listeners (the default cap); the owner's
/// route, newer than all of them, still gets its listener, and the child is told why its other
/// names are not served.
#[test]
fn a_greedy_child_cannot_crowd_out_the_owner() {
    use tgw_core::conditions::messages::PLAINTEXT_WARNING;
    let mut routes: Vec<RouteView> = (0..4)
        .map(|r| {
            let hosts: Vec<String> = (0..16).map(|h| format!("n{r}-{h:02}.example.org")).collect();
            let hosts: Vec<&str> = hosts.iter().map(String::as_str).collect();
            http("tenant-a", &format!("r{r}"), T0, &hosts, "tenant-root")
        })
        .collect();
    routes.push(http("tenant-root", "shop", T1, &["shop.example.org"], "tenant-root"));
    let d = decide(
        &tgw("tenant-root", spec()),
        &cluster_ns(),
        &routes,
        &Settings::default(),
    );
    let per_ns = |ns: &str| {
        d.plan
            .listeners
            .iter()
            .filter(|l| matches!(&l.admits, tgw_core::listeners::Admits::GatewayLabel { names } if names == &vec![ns.to_owned()]))
            .filter(|l| matches!(l.role, tgw_core::listeners::Role::Host { .. }))
            .count()
    };
    assert_eq!((per_ns("tenant-a"), per_ns("tenant-root")), (16, 1));
    let v: Vec<(&str, bool, String)> = d
        .routes
        .iter()
        .filter(|(id, _)| id.name == "r3" || id.name == "shop")
        .map(|(id, e)| (id.name.as_str(), e[0].1.accepted, e[0].1.message.clone()))
        .collect();
    assert_eq!(
        v,
        vec![
            (
                "r3",
                false,
                "No listener of Gateway tenant-root/cozystack selected by this parentRef matches the route's \
                 hostnames; not served: n3-00.example.org was dropped: \
                 namespace tenant-a already holds the 16 listeners one namespace may use on this Gateway; \
                 n3-01.example.org was dropped: namespace tenant-a already holds the 16 listeners one namespace may \
                 use on this Gateway; n3-02.example.org was dropped: namespace tenant-a already holds the 16 \
                 listeners one namespace may use on this Gateway; n3-03.example.org was dropped: namespace tenant-a \
                 already holds the 16 listeners one namespace may use on this Gateway; n3-04.example.org was \
                 dropped: namespace tenant-a already holds the 16 listeners one namespace may use on this Gateway \
                 and 11 more"
                    .to_owned()
            ),
            (
                "shop",
                true,
                format!("Route attached to TenantGateway tenant-root/cozystack; {PLAINTEXT_WARNING}")
            ),
        ]
    );
}

// ---------- route status ----------

fn verdict_for(routes: Vec<RouteView>, mode: CertMode) -> Vec<(String, &'static str)> {
    let mut s = spec();
    s.cert_mode = mode;
    if mode == CertMode::ExistingSecret {
        s.wildcard_secret_ref = Some(tgw_core::tenantgateway::LocalObjectReference { name: "w".into() });
    }
    let d = decide(&tgw("tenant-root", s), &cluster_ns(), &routes, &Settings::default());
    d.routes
        .iter()
        .flat_map(|(id, e)| {
            e.iter()
                .map(move |(_, v)| (format!("{}/{}", id.namespace, id.name), v.reason))
        })
        .collect()
}

#[rstest]
#[case::accepted(vec![http("tenant-a", "r", T0, &["a.example.org"], "tenant-root")], CertMode::Http01, vec![("tenant-a/r", "Accepted")])]
#[case::not_attached_ns(vec![http("tenant-x", "r", T0, &["a.example.org"], "tenant-root")], CertMode::Http01, vec![("tenant-x/r", "NotAllowedByListeners")])]
#[case::no_such_section(vec![route(RouteKind::Http, "tenant-a", "r", T0, &["a.example.org"], vec![ParentRef { section_name: Some("nope".into()), ..to_gw("tenant-root") }])], CertMode::Http01, vec![("tenant-a/r", "NoMatchingParent")])]
#[case::outside_apex(vec![http("tenant-a", "r", T0, &["a.victim.com"], "tenant-root")], CertMode::Http01, vec![("tenant-a/r", "NotAllowedByListeners")])]
#[case::outside_apex_wildcard_mode(vec![http("tenant-a", "r", T0, &["a.victim.com"], "tenant-root")], CertMode::Dns01, vec![("tenant-a/r", "NoMatchingListenerHostname")])]
#[case::tls_route_on_passthrough(vec![route(RouteKind::Tls, "default", "k8s", T0, &["api.example.org"], vec![ParentRef { section_name: Some("tls-api".into()), ..to_gw("tenant-root") }])], CertMode::Http01, vec![("default/k8s", "Accepted")])]
#[case::tls_route_without_passthrough(vec![route(RouteKind::Tls, "default", "t", T0, &["t.example.org"], vec![to_gw("tenant-root")])], CertMode::Http01, vec![("default/t", "NotAllowedByListeners")])]
#[case::grpc_not_allowed(vec![route(RouteKind::Grpc, "tenant-a", "g", T0, &["g.example.org"], vec![ParentRef { port: Some(443), ..to_gw("tenant-root") }])], CertMode::Dns01, vec![("tenant-a/g", "NotAllowedByListeners")])]
#[case::conflict(vec![http("tenant-a", "r", T0, &["a.example.org"], "tenant-root"), http("tenant-b", "r", T1, &["a.example.org"], "tenant-root")], CertMode::Http01, vec![("tenant-a/r", "Accepted"), ("tenant-b/r", "HostnameConflict")])]
#[case::dns01_wildcard_serves(vec![http("tenant-a", "r", T0, &["deep.a.example.org"], "tenant-root")], CertMode::Dns01, vec![("tenant-a/r", "Accepted")])]
#[case::existing_secret_serves(vec![http("tenant-a", "r", T0, &["a.example.org"], "tenant-root")], CertMode::ExistingSecret, vec![("tenant-a/r", "Accepted")])]
#[case::redirect_own_ns_port80(vec![route(RouteKind::Http, "tenant-root", "cozystack-http-redirect", T0, &["example.org", "*.example.org"], vec![ParentRef { section_name: Some("http".into()), namespace: None, ..to_gw("x") }])], CertMode::Http01, vec![("tenant-root/cozystack-http-redirect", "Accepted")])]
fn route_reasons(#[case] routes: Vec<RouteView>, #[case] mode: CertMode, #[case] want: Vec<(&str, &str)>) {
    let got = verdict_for(routes, mode);
    let got: Vec<(&str, &str)> = got.iter().map(|(a, b)| (a.as_str(), *b)).collect();
    assert_eq!(got, want);
}

#[test]
fn conflict_message_is_sorted_and_deterministic() {
    let routes = vec![
        http("tenant-a", "r", T0, &["b.example.org", "a.example.org"], "tenant-root"),
        http("tenant-b", "r", T1, &["b.example.org", "a.example.org"], "tenant-root"),
    ];
    let d = decide(
        &tgw("tenant-root", spec()),
        &cluster_ns(),
        &routes,
        &Settings::default(),
    );
    assert_eq!(
        d.routes[1].1[0].1.message,
        "Hostname(s) a.example.org, b.example.org already claimed by another route on TenantGateway tenant-root/cozystack"
    );
}

#[test]
fn merge_keeps_foreign_prunes_stale_and_carries_time() {
    let r = http("tenant-a", "r", T0, &["a.example.org"], "tenant-root");
    let ours = vec![(
        to_gw("tenant-root"),
        Verdict {
            accepted: true,
            reason: "Accepted",
            message: "m".into(),
        },
    )];
    let foreign = json!({"parentRef": {"name": "cozystack", "namespace": "tenant-root"}, "controllerName": "io.cilium/gateway-controller", "conditions": []});
    let other_gw = json!({"parentRef": {"name": "other", "namespace": "tenant-x"}, "controllerName": CONTROLLER_NAME, "conditions": []});
    let stale = json!({"parentRef": {"name": "cozystack", "namespace": "tenant-root", "sectionName": "gone"}, "controllerName": CONTROLLER_NAME, "conditions": []});
    let first = merge_at(&[foreign.clone(), stale, other_gw.clone()], &r, &ours, T0).expect("changed");
    let ours_entry = json!({
        "parentRef": {"name": "cozystack", "namespace": "tenant-root"},
        "controllerName": CONTROLLER_NAME,
        "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted", "message": "m", "lastTransitionTime": T0, "observedGeneration": 1}],
    });
    assert_eq!(first, vec![foreign, other_gw, ours_entry]);
    // Same verdict later: nothing to write.
    assert_eq!(merge_at(&first, &r, &ours, T1), None);
    // Message change with same status keeps lastTransitionTime.
    let ours2 = vec![(
        to_gw("tenant-root"),
        Verdict {
            accepted: true,
            reason: "Accepted",
            message: "m2".into(),
        },
    )];
    let second = merge_at(&first, &r, &ours2, T2).expect("changed");
    assert_eq!(second[2]["conditions"][0]["lastTransitionTime"], T0);
    // Nothing wanted any more (deletion): our entry goes, others stay.
    let third = merge_at(&second, &r, &[], T3).expect("changed");
    assert_eq!(third.len(), 2);
}

// ---------- TenantGateway status ----------

fn status_for(
    d: &tgw_core::decide::Decision,
    gw_status: Option<&GatewayStatus>,
    errors: &[(&'static str, String)],
) -> tgw_core::tenantgateway::TenantGatewayStatus {
    let certs: BTreeMap<String, bool> = d
        .desired
        .certificates
        .iter()
        .map(|c| (c["metadata"]["name"].as_str().unwrap_or_default().to_owned(), true))
        .collect();
    let o = Observed {
        gateway: gw_status,
        certificates_ready: &certs,
        errors,
        ..observed()
    };
    status_of(&tgw("tenant-root", spec()), d, &o)
}

fn cond<'a>(s: &'a tgw_core::tenantgateway::TenantGatewayStatus, t: &str) -> &'a tgw_core::tenantgateway::Condition {
    s.conditions
        .as_ref()
        .and_then(|c| c.iter().find(|c| c.type_ == t))
        .expect("condition")
}

#[rstest]
#[case::error(Some(gateway_status(true, true, &["http", "tls-api"])), vec![("GatewayApplied", "boom".to_owned())], ("False", "ReconcileError", "boom"))]
#[case::no_gateway_status(None, vec![], ("False", "GatewayNotAccepted", "Underlying Gateway tenant-root/cozystack has not been accepted by its controller yet"))]
#[case::not_programmed(Some(gateway_status(true, false, &[])), vec![], ("False", "GatewayNotProgrammed", "Underlying Gateway tenant-root/cozystack has not been programmed by its controller yet"))]
#[case::listener_pending(Some(gateway_status(true, true, &["http"])), vec![], ("False", "ListenersNotReady", "One or more listeners on Gateway tenant-root/cozystack are not ready"))]
#[case::ready(Some(gateway_status(true, true, &["http", "tls-api"])), vec![], ("True", "Reconciled", "Gateway tenant-root/cozystack programmed with 2 listeners"))]
fn ready_reasons(
    #[case] gw: Option<GatewayStatus>,
    #[case] errors: Vec<(&'static str, String)>,
    #[case] want: (&str, &str, &str),
) {
    let d = decide(&tgw("tenant-root", spec()), &cluster_ns(), &[], &Settings::default());
    let s = status_for(&d, gw.as_ref(), &errors);
    let c = cond(&s, "Ready");
    assert_eq!((c.status.as_str(), c.reason.as_str(), c.message.as_str()), want);
    assert_eq!((s.observed_generation, c.observed_generation), (Some(3), Some(3)));
}

#[test]
fn listener_status_includes_certificate_readiness() {
    let routes = vec![http("tenant-a", "r", T0, &["a.example.org"], "tenant-root")];
    let d = decide(
        &tgw("tenant-root", spec()),
        &cluster_ns(),
        &routes,
        &Settings::default(),
    );
    let l = naming::host_listener("a.example.org");
    let gw = gateway_status(true, true, &["http", &l, "tls-api"]);
    let t = tgw("tenant-root", spec());
    let certs = BTreeMap::from([(naming::host_certificate("cozystack", "a.example.org"), false)]);
    let first = Observed {
        gateway: Some(&gw),
        certificates_ready: &certs,
        ..observed()
    };
    let s = status_of(&t, &d, &first);
    let ls = s.listeners.clone().expect("listeners");
    assert_eq!(
        ls[1],
        tgw_core::tenantgateway::ListenerStatus {
            name: l,
            hostname: Some("a.example.org".into()),
            ready: false,
            certificate_name: Some(naming::host_certificate("cozystack", "a.example.org")),
            certificate_ready: Some(false),
            reason: Some("CertificateNotReady".into()),
        }
    );
    // Issue 19: the child's pending certificate is the child's, named in its own condition; the
    // TenantGateway's Ready answers for its own listeners only.
    assert_eq!(cond(&s, "Ready").reason, "Reconciled");
    assert_eq!(
        cond(&s, "AttachedNamespacesReady").message,
        format!(
            "Not ready for attached namespaces (their own objects; the TenantGateway stays Ready): tenant-a: \
             listener {} CertificateNotReady",
            naming::host_listener("a.example.org")
        )
    );
    assert_eq!(
        cond(&s, "CertificatesReady").message,
        "Certificates not ready: cozystack-a-a8cae6e8-tls".replace("a8cae6e8", &naming::hash8("a.example.org"))
    );
    // Recomputing later with the previous status keeps every lastTransitionTime: no write.
    let later = Observed {
        previous: Some(&s),
        now: "LATER",
        ..first
    };
    let again = status_of(&t, &d, &later);
    assert_eq!(again, s);
}

/// The owner's own listener waiting for its certificate keeps `Ready` false; a child's only
/// its `AttachedNamespacesReady`; a child's route whose status cannot be written likewise.
#[rstest]
#[case::owner_certificate_pending("tenant-root", &[], ("False", "ListenersNotReady"), ("True", "Ready"))]
#[case::child_certificate_pending("tenant-a", &[], ("True", "Reconciled"), ("False", "NotReady"))]
#[case::child_route_unwritable_next_to_a_pending_owner_certificate(
    "tenant-root",
    &[("tenant-a", "HTTPRoute tenant-a/big: status not written: request is too large")],
    ("False", "ListenersNotReady"),
    ("False", "NotReady")
)]
fn ready_is_the_parents(
    #[case] pending_in: &str,
    #[case] failures: &[(&str, &str)],
    #[case] ready: (&str, &str),
    #[case] attached: (&str, &str),
) {
    let routes = vec![
        http("tenant-a", "r", T0, &["a.example.org"], "tenant-root"),
        http("tenant-root", "w", T0, &["www.example.org"], "tenant-root"),
    ];
    let d = decide(
        &tgw("tenant-root", spec()),
        &cluster_ns(),
        &routes,
        &Settings::default(),
    );
    let (la, lw) = (
        naming::host_listener("a.example.org"),
        naming::host_listener("www.example.org"),
    );
    let gw = gateway_status(true, true, &["http", &la, &lw, "tls-api"]);
    let pending = if pending_in == "tenant-a" {
        "a.example.org"
    } else {
        "www.example.org"
    };
    let certs = BTreeMap::from([
        (
            naming::host_certificate("cozystack", "a.example.org"),
            pending != "a.example.org",
        ),
        (
            naming::host_certificate("cozystack", "www.example.org"),
            pending != "www.example.org",
        ),
    ]);
    let failures: Vec<(String, String)> = failures
        .iter()
        .map(|(n, m)| ((*n).to_owned(), (*m).to_owned()))
        .collect();
    let o = Observed {
        gateway: Some(&gw),
        certificates_ready: &certs,
        attached_failures: &failures,
        ..observed()
    };
    let s = status_of(&tgw("tenant-root", spec()), &d, &o);
    let pick = |t: &str| {
        let c = cond(&s, t);
        (c.status.as_str().to_owned(), c.reason.clone())
    };
    assert_eq!(
        (pick("Ready"), pick("AttachedNamespacesReady")),
        (
            (ready.0.to_owned(), ready.1.to_owned()),
            (attached.0.to_owned(), attached.1.to_owned())
        )
    );
}

// ---------- namespace attachment ----------

#[test]
fn attach_plan_adds_reports_and_removes_only_its_own() {
    let mut s = spec();
    s.attached_namespaces = Some(vec![
        "cozy-a".into(),
        "cozy-b".into(),
        "cozy-missing".into(),
        "helm".into(),
    ]);
    let t = tgw("tenant-root", s);
    let annotated = |name: &str, label: &str, by: &str| {
        let mut n = ns(name, Some(label), None);
        n.annotations.insert(ANNOTATION_ATTACHED_BY.into(), by.into());
        n
    };
    let namespaces = vec![
        ns("tenant-root", None, None),
        ns("cozy-a", Some(""), None),
        ns("cozy-b", Some("tenant-other"), None),
        ns("helm", Some("tenant-root"), None),
        annotated("old", "tenant-root", "tenant-root/cozystack"),
        annotated("legacy", "tenant-root", "tenant-root"),
        annotated("theirs", "tenant-x", "tenant-x/cozystack"),
    ];
    let p = attach::plan(&t, &namespaces, &[], AttachedByFormat::Qualified, false);
    assert_eq!(
        p,
        attach::AttachPlan {
            add: vec!["cozy-a".into(), "tenant-root".into()],
            remove: vec!["legacy".into(), "old".into()],
            writer: "tenant-root/cozystack".into(),
            report: AttachReport {
                conflicts: vec![("cozy-b".into(), "tenant-other".into())],
                missing: vec!["cozy-missing".into()],
                refused: vec![],
            },
        }
    );
    let gone = attach::plan(&t, &namespaces, &[], AttachedByFormat::Qualified, true);
    assert_eq!(
        (gone.add.len(), gone.remove),
        (0, vec!["legacy".to_owned(), "old".to_owned()])
    );
    let _unused: BTreeSet<String> = BTreeSet::new();
}
