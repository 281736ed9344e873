//! Listeners admit only the owners of their names, in every cert mode (issue 17): the matrix
//! cert mode × attacker namespace (sibling, child, parent, platform, unattached) × target name.
//! For each cell the legitimate owner routes the name, the attacker routes it too (written past
//! admission), and we ask which listeners of the rendered Gateway match the name and admit the
//! attacker's namespace:
//!
//! - **serving** (Gateway API listener isolation: the most specific matching listener serves the
//!   request; Cilium): none, in every cell;
//! - **matching** (any listener whose hostname matches; what a data plane without listener
//!   isolation, such as Traefik 3.7, attaches to): none, except where the attacker publishes a
//!   wildcard *above* the target: a parent (or an unlabelled platform namespace) reaches a child's
//!   names through its own `*.<apex>` listener. The controller refuses those claims
//!   (`HostnameOutsideNamespaceApex`), but only listener isolation keeps them off the wire.

mod common;

use common::*;
use rstest::rstest;
use tgw_core::decide::{Decision, Settings, decide};
use tgw_core::listeners::{self, Listener};
use tgw_core::naming;
use tgw_core::route_status::admits;
use tgw_core::snapshot::{NamespaceView, ParentRef, RouteKind, RouteView};
use tgw_core::tenantgateway::{CertMode, LocalObjectReference, TenantGatewaySpec};

const ROOT: &str = "tenant-root";
const ALICE: &str = "tenant-alice";
const BOB: &str = "tenant-bob";
const DEEP: &str = "tenant-bob-deep";
const PLATFORM: &str = "cozy-dashboard";
const EVE: &str = "tenant-eve";

fn spec(mode: CertMode) -> TenantGatewaySpec {
    let mut s = TenantGatewaySpec::with_apex("example.org");
    s.cert_mode = mode;
    if mode == CertMode::ExistingSecret {
        s.wildcard_secret_ref = Some(LocalObjectReference { name: "wild".into() });
    }
    s
}

/// Root owns the Gateway; alice and bob are attached children, bob-deep is bob's child (also
/// attached to root's Gateway), the dashboard an attached platform namespace, eve unattached.
fn tree() -> Vec<NamespaceView> {
    vec![
        ns(ROOT, Some(ROOT), Some("example.org")),
        ns(ALICE, Some(ROOT), Some("alice.example.org")),
        ns(BOB, Some(ROOT), Some("bob.example.org")),
        ns(DEEP, Some(ROOT), Some("deep.bob.example.org")),
        ns(PLATFORM, Some(ROOT), None),
        ns(EVE, None, Some("eve.example.org")),
    ]
}

fn on_443(ns: &str, name: &str, created: &str, host: &str) -> RouteView {
    let pr = ParentRef {
        port: Some(443),
        ..to_gw(ROOT)
    };
    route(RouteKind::Http, ns, name, created, &[host], vec![pr])
}

/// The owner's route comes first; the attacker's is younger (the attacker cannot win by age
/// anyway: the namespace scope refuses its claim before conflicts are resolved).
fn run(mode: CertMode, owner: &str, attacker: &str, target: &str) -> Decision {
    let routes = vec![
        on_443(owner, "legit", T0, target),
        on_443(attacker, "steal", T1, target),
    ];
    decide(&tgw(ROOT, spec(mode)), &tree(), &routes, &Settings::default())
}

fn admitting(d: &Decision, ls: Vec<&Listener>, attacker: &str) -> Vec<String> {
    ls.into_iter()
        .filter(|l| admits(l, attacker, &d.attach))
        .map(|l| l.name.clone())
        .collect()
}

#[rstest]
#[case::sibling_takes_a_siblings_name(BOB, ALICE, "shop.bob.example.org", vec![])]
#[case::sibling_takes_a_siblings_apex(BOB, ALICE, "bob.example.org", vec![])]
#[case::sibling_takes_a_grandchilds_name(DEEP, ALICE, "x.deep.bob.example.org", vec![])]
#[case::child_takes_the_owners_name(ROOT, ALICE, "www.example.org", vec![])]
#[case::child_takes_the_owners_apex(ROOT, ALICE, "example.org", vec![])]
#[case::grandchild_takes_its_parents_name(BOB, DEEP, "shop.bob.example.org", vec![])]
#[case::grandchild_takes_its_parents_apex(BOB, DEEP, "bob.example.org", vec![])]
#[case::child_takes_the_platforms_name(PLATFORM, BOB, "dashboard.example.org", vec![])]
#[case::parent_takes_a_childs_name(ALICE, ROOT, "shop.alice.example.org", vec!["https".into()])]
#[case::parent_takes_a_childs_apex(ALICE, ROOT, "alice.example.org", vec!["https".into()])]
#[case::middle_parent_takes_its_childs_name(
    DEEP,
    BOB,
    "x.deep.bob.example.org",
    vec![naming::child_listener("bob.example.org")]
)]
#[case::platform_takes_a_childs_name(BOB, PLATFORM, "shop.bob.example.org", vec!["https".into()])]
#[case::unattached_takes_a_childs_name(ALICE, EVE, "shop.alice.example.org", vec![])]
#[case::unattached_takes_the_owners_name(ROOT, EVE, "www.example.org", vec![])]
#[case::unattached_takes_its_own_name(ROOT, EVE, "eve.example.org", vec![])]
fn no_listener_serves_a_name_to_a_namespace_that_does_not_own_it(
    #[values(CertMode::Http01, CertMode::Dns01, CertMode::ExistingSecret)] mode: CertMode,
    #[case] owner: &str,
    #[case] attacker: &str,
    #[case] target: &str,
    #[case] matching_in_wildcard_modes: Vec<String>,
) {
    let d = run(mode, owner, attacker, target);
    let serving = admitting(&d, listeners::serving(&d.plan, target), attacker);
    let matching = admitting(&d, listeners::matching(&d.plan, target), attacker);
    let want_matching = if mode == CertMode::Http01 {
        Vec::new()
    } else {
        matching_in_wildcard_modes
    };
    assert_eq!((serving, matching), (Vec::<String>::new(), want_matching));
    // The owner itself is served (unless the name is the unattached namespace's own).
    if attacker != EVE || target != "eve.example.org" {
        assert_eq!(
            admitting(&d, listeners::serving(&d.plan, target), owner).len(),
            1,
            "{owner} serves {target}: {:?}",
            listeners::serving(&d.plan, target)
        );
    }
}

/// The kinds each listener of root's Gateway names, as `(listener, [kind])`.
fn kinds_by_listener(class: &str, settings: &Settings) -> Vec<(String, Vec<String>)> {
    let mut s = spec(CertMode::Dns01);
    s.gateway_class_name = class.into();
    s.tls_passthrough_services = Some(vec!["api".into()]);
    let d = decide(&tgw(ROOT, s), &tree(), &[], settings);
    let gw = d.desired.gateway.expect("gateway renders");
    gw.spec
        .listeners
        .iter()
        .map(|l| {
            let kinds = l
                .allowed_routes
                .as_ref()
                .and_then(|a| a.kinds.as_ref())
                .map(|ks| ks.iter().map(|k| k.kind.clone()).collect())
                .unwrap_or_default();
            (l.name.clone(), kinds)
        })
        .filter(|(name, _)| ["http", "https", "https-apex", "tls-api"].contains(&name.as_str()))
        .collect()
}

#[rstest]
#[case::traefik_gets_what_each_protocol_serves("traefik", Settings::default(), &[
    ("http", &[][..]),
    ("https", &["HTTPRoute"]),
    ("https-apex", &["HTTPRoute"]),
    ("tls-api", &["TLSRoute"]),
])]
#[case::cilium_gets_identical_kinds_on_port_443("cilium", Settings::default(), &[
    ("http", &[][..]),
    ("https", &["HTTPRoute", "TLSRoute"]),
    ("https-apex", &["HTTPRoute", "TLSRoute"]),
    ("tls-api", &["HTTPRoute", "TLSRoute"]),
])]
#[case::the_default_class_is_cilium("", Settings::default(), &[
    ("http", &[][..]),
    ("https", &["HTTPRoute", "TLSRoute"]),
    ("https-apex", &["HTTPRoute", "TLSRoute"]),
    ("tls-api", &["HTTPRoute", "TLSRoute"]),
])]
#[case::cilium_opted_out(
    "cilium",
    Settings { uniform_kinds_classes: vec![], ..Settings::default() },
    &[("http", &[][..]), ("https", &["HTTPRoute"]), ("https-apex", &["HTTPRoute"]), ("tls-api", &["TLSRoute"])]
)]
#[case::another_class_opted_in(
    "my-cilium",
    Settings { uniform_kinds_classes: vec!["my-cilium".into()], ..Settings::default() },
    &[
        ("http", &[][..]),
        ("https", &["HTTPRoute", "TLSRoute"]),
        ("https-apex", &["HTTPRoute", "TLSRoute"]),
        ("tls-api", &["HTTPRoute", "TLSRoute"]),
    ]
)]
fn route_kinds_follow_the_protocol_except_for_uniform_classes(
    #[case] class: &str,
    #[case] settings: Settings,
    #[case] want: &[(&str, &[&str])],
) {
    let want: Vec<(String, Vec<String>)> = want
        .iter()
        .map(|(l, ks)| ((*l).to_owned(), ks.iter().map(|k| (*k).to_owned()).collect()))
        .collect();
    assert_eq!(kinds_by_listener(class, &settings), want);
}

/// Every child apex takes two listeners; a child that does not fit gets none (it is reported as
/// dropped), never a listener shared with others.
#[test]
fn thirty_children_fit_one_gateway_in_the_wildcard_modes() {
    let mut namespaces = vec![ns(ROOT, Some(ROOT), Some("example.org"))];
    for i in 0..31 {
        namespaces.push(ns(
            &format!("tenant-c{i:02}"),
            Some(ROOT),
            Some(&format!("c{i:02}.example.org")),
        ));
    }
    let routes = vec![on_443("tenant-c30", "shop", T0, "shop.c30.example.org")];
    for mode in [CertMode::Dns01, CertMode::ExistingSecret] {
        let d = decide(&tgw(ROOT, spec(mode)), &namespaces, &routes, &Settings::default());
        let children = d
            .plan
            .listeners
            .iter()
            .filter(|l| matches!(l.role, tgw_core::listeners::Role::Child { .. }))
            .count();
        assert_eq!(
            (d.plan.listeners.len(), children, d.plan.dropped.clone()),
            (63, 60, vec!["c30.example.org".to_owned()]),
            "{mode:?}"
        );
        let verdict = &d.routes[0].1[0].1;
        assert_eq!(
            (verdict.accepted, verdict.reason, verdict.message.as_str()),
            (
                false,
                "NotAllowedByListeners",
                "No listener of Gateway tenant-root/cozystack selected by this parentRef allows this route's \
                 namespace and kind; not served: shop.c30.example.org is under the child apex c30.example.org, \
                 whose listeners were dropped: the Gateway's 64-listener limit is reached"
            ),
            "{mode:?}"
        );
    }
}

/// The attach set grouped by the apex each namespace owns ([`tgw_core::publishers`]): the owner
/// group, one group per child apex (two namespaces may share one), unusable labels reported.
#[test]
fn the_attach_set_is_grouped_by_the_apex_each_namespace_owns() {
    use std::collections::{BTreeMap, BTreeSet};
    use tgw_core::conflict::PlatformPrefixes;
    use tgw_core::publishers::{Publishers, publishers};
    use tgw_core::scope::{Classes, Scopes};
    let namespaces = vec![
        ns(ROOT, Some(ROOT), Some("example.org")),
        ns(ALICE, Some(ROOT), Some("alice.example.org")),
        ns("tenant-alice-twin", Some(ROOT), Some("alice.example.org")),
        ns(BOB, Some(ROOT), Some("bob.example.org")),
        ns(DEEP, Some(ROOT), Some("deep.bob.example.org")),
        ns("tenant-nolabel", Some(ROOT), None),
        ns("tenant-custom", Some(ROOT), Some("bob-shop.test")),
        ns("tenant-bad", Some(ROOT), Some("Bad.example.org")),
        ns(PLATFORM, Some(ROOT), None),
        ns("cozy-same", Some(ROOT), Some("example.org")),
    ];
    let attach: BTreeSet<String> = namespaces.iter().map(|n| n.name.clone()).collect();
    let platform = PlatformPrefixes::default();
    let t = tgw(ROOT, spec(CertMode::Dns01));
    let scopes = Scopes::new(
        &t,
        &namespaces,
        Classes {
            platform: &platform,
            tenant_prefix: "tenant-",
        },
    );
    let v = |xs: &[&str]| xs.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        publishers(&t, &attach, &scopes),
        Publishers {
            owner: v(&[PLATFORM, "cozy-same", ROOT]),
            children: BTreeMap::from([
                ("alice.example.org".to_owned(), v(&[ALICE, "tenant-alice-twin"])),
                ("bob.example.org".to_owned(), v(&[BOB])),
                ("deep.bob.example.org".to_owned(), v(&[DEEP])),
            ]),
            ignored: vec![
                ("tenant-bad".to_owned(), "Bad.example.org".to_owned()),
                ("tenant-custom".to_owned(), "bob-shop.test".to_owned()),
            ],
        }
    );
}
