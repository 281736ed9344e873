//! TLS passthrough ownership: a passthrough listener (`tls-<service>`, hostname
//! `<service>.<apex>`) admits only the namespace that owns its name, the winner among the TLSRoutes
//! that would attach to it (platform first, then the oldest), or the owner namespace while nobody
//! claims it. So a tenant attached to the Gateway cannot put a TLSRoute next to the platform's on
//! the same SNI name, at the data plane as well as in status; in every cert mode.

mod common;

use common::*;
use rstest::rstest;
use tgw_core::decide::{Settings, decide};
use tgw_core::listeners::Admits;
use tgw_core::snapshot::{NamespaceView, ParentRef, RouteKind, RouteView};
use tgw_core::tenantgateway::{CertMode, TenantGatewaySpec};

const OWNER: &str = "tenant-r2";
const ALICE: &str = "tenant-r2-alice";
const PLATFORM: &str = "cozy-kubevirt";
const API: &str = "api.r2.example.org";

fn spec(mode: CertMode) -> TenantGatewaySpec {
    let mut s = TenantGatewaySpec::with_apex("r2.example.org");
    s.cert_mode = mode;
    s.tls_passthrough_services = Some(vec!["api".into()]);
    s
}

fn tree() -> Vec<NamespaceView> {
    vec![
        ns(OWNER, Some(OWNER), Some("r2.example.org")),
        ns(ALICE, Some(OWNER), Some("alice.r2.example.org")),
        ns(PLATFORM, Some(OWNER), None),
    ]
}

fn tls(ns: &str, name: &str, created: &str, hosts: &[&str]) -> RouteView {
    route(RouteKind::Tls, ns, name, created, hosts, vec![to_gw(OWNER)])
}

/// (namespace the `tls-api` listener admits, reason of every route's verdict in route order).
fn outcome(mode: CertMode, routes: &[RouteView]) -> (Vec<String>, Vec<(String, &'static str)>) {
    let d = decide(&tgw(OWNER, spec(mode)), &tree(), routes, &Settings::default());
    let admits = match d.plan.get("tls-api").map(|l| &l.admits) {
        Some(Admits::GatewayLabel { names }) => names.clone(),
        other => panic!("tls-api admits {other:?}"),
    };
    let verdicts = d
        .routes
        .iter()
        .flat_map(|(id, e)| {
            e.iter()
                .map(move |(_, v)| (format!("{}/{}", id.namespace, id.name), v.reason))
        })
        .collect();
    (admits, verdicts)
}

fn owned_by(ns: &str) -> Vec<String> {
    vec![ns.to_owned()]
}

#[rstest]
#[case::unclaimed_admits_the_owner(vec![], owned_by(OWNER), vec![])]
#[case::the_owner_claims_it(
    vec![tls(OWNER, "k8s", T0, &[API])],
    owned_by(OWNER),
    vec![("tenant-r2/k8s", "Accepted")]
)]
#[case::a_tenant_catch_all_cannot_join(
    vec![tls(ALICE, "all", T0, &[]), tls(OWNER, "k8s", T1, &[API])],
    owned_by(OWNER),
    vec![("tenant-r2-alice/all", "NotAllowedByListeners"), ("tenant-r2/k8s", "Accepted")]
)]
#[case::a_tenant_naming_it_is_outside_its_apex(
    vec![tls(ALICE, "steal", T0, &[API])],
    owned_by(OWNER),
    vec![("tenant-r2-alice/steal", "HostnameOutsideNamespaceApex")]
)]
#[case::the_platform_wins_over_an_older_owner_route(
    vec![tls(OWNER, "old", T0, &[API]), tls(PLATFORM, "k8s", T1, &[API])],
    owned_by(PLATFORM),
    vec![("tenant-r2/old", "HostnameConflict"), ("cozy-kubevirt/k8s", "Accepted")]
)]
#[case::a_wildcard_hostname_claims_it(
    vec![tls(PLATFORM, "wild", T0, &["*.r2.example.org"])],
    owned_by(PLATFORM),
    vec![("cozy-kubevirt/wild", "Accepted")]
)]
#[case::a_route_pinned_to_another_listener_does_not_claim_it(
    vec![route(RouteKind::Tls, PLATFORM, "pinned", T0, &[API], vec![ParentRef { section_name: Some("http".into()), ..to_gw(OWNER) }])],
    owned_by(OWNER),
    vec![("cozy-kubevirt/pinned", "NotAllowedByListeners")]
)]
fn passthrough_ownership(
    #[values(CertMode::Http01, CertMode::Dns01)] mode: CertMode,
    #[case] routes: Vec<RouteView>,
    #[case] admits: Vec<String>,
    #[case] verdicts: Vec<(&str, &str)>,
) {
    let (got_admits, got) = outcome(mode, &routes);
    let got: Vec<(&str, &str)> = got.iter().map(|(r, why)| (r.as_str(), *why)).collect();
    assert_eq!((got_admits, got), (admits, verdicts));
}
