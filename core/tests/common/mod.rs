//! Builders shared by the TenantGateway integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;

use tgw_core::keys::{LABEL_GATEWAY, LABEL_HOST};
use tgw_core::snapshot::{NamespaceView, ParentRef, RouteId, RouteKind, RouteView};
use tgw_core::tenantgateway::{TenantGatewaySpec, TgwInput, TgwMeta};

pub fn tgw(ns: &str, spec: TenantGatewaySpec) -> TgwInput {
    TgwInput {
        meta: TgwMeta {
            namespace: ns.into(),
            name: "cozystack".into(),
            uid: "uid-1".into(),
            generation: 3,
        },
        spec,
    }
}

pub fn ns(name: &str, gateway: Option<&str>, host: Option<&str>) -> NamespaceView {
    let mut labels = BTreeMap::new();
    if let Some(g) = gateway {
        labels.insert(LABEL_GATEWAY.to_owned(), g.to_owned());
    }
    if let Some(h) = host {
        labels.insert(LABEL_HOST.to_owned(), h.to_owned());
    }
    NamespaceView {
        name: name.into(),
        labels,
        annotations: BTreeMap::new(),
    }
}

pub fn to_gw(ns: &str) -> ParentRef {
    ParentRef {
        name: "cozystack".into(),
        namespace: Some(ns.into()),
        ..Default::default()
    }
}

pub fn route(
    kind: RouteKind,
    ns: &str,
    name: &str,
    created: &str,
    hosts: &[&str],
    parents: Vec<ParentRef>,
) -> RouteView {
    RouteView {
        id: RouteId {
            kind,
            namespace: ns.into(),
            name: name.into(),
        },
        created: Some(created.into()),
        generation: Some(1),
        hostnames: hosts.iter().map(|h| (*h).to_owned()).collect(),
        parent_refs: parents,
    }
}

pub fn http(ns: &str, name: &str, created: &str, hosts: &[&str], owner: &str) -> RouteView {
    route(RouteKind::Http, ns, name, created, hosts, vec![to_gw(owner)])
}

pub const T0: &str = "2026-01-01T00:00:00Z";
pub const T1: &str = "2026-01-02T00:00:00Z";
pub const T2: &str = "2026-01-03T00:00:00Z";
pub const T3: &str = "2026-01-04T00:00:00Z";

/// A Kubernetes `Time` from its RFC 3339 form (the `now` of a route-status merge).
pub fn time(rfc3339: &str) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::Time {
    serde_json::from_value(serde_json::Value::from(rfc3339)).expect("test time parses")
}

/// A Gateway status as a data plane reports it: the Gateway's Accepted/Programmed conditions and
/// the named listeners, each Accepted and Programmed.
pub fn gateway_status(accepted: bool, programmed: bool, listeners: &[&str]) -> gateway_api::gateways::GatewayStatus {
    use gateway_api::gateways::{GatewayStatus, GatewayStatusListeners};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
    let c = |t: &str, ok: bool| Condition {
        type_: t.to_owned(),
        status: if ok { "True" } else { "False" }.to_owned(),
        reason: t.to_owned(),
        message: String::new(),
        last_transition_time: time(T0),
        observed_generation: Some(1),
    };
    GatewayStatus {
        conditions: Some(vec![c("Accepted", accepted), c("Programmed", programmed)]),
        listeners: Some(
            listeners
                .iter()
                .map(|n| GatewayStatusListeners {
                    name: (*n).to_owned(),
                    conditions: vec![c("Accepted", true), c("Programmed", true)],
                    ..GatewayStatusListeners::default()
                })
                .collect(),
        ),
        ..GatewayStatus::default()
    }
}

/// Our entries merged into a route's `status.parents` for tenant-root's Gateway `cozystack`, at
/// `at` (RFC 3339).
pub fn merge_at(
    existing: &[serde_json::Value],
    route: &RouteView,
    ours: &[(ParentRef, tgw_core::route_status::Verdict)],
    at: &str,
) -> Option<Vec<serde_json::Value>> {
    tgw_core::parents::merge_parents(
        existing,
        route,
        ("tenant-root", "cozystack"),
        tgw_core::keys::CONTROLLER_NAME,
        ours,
        &time(at),
    )
}

/// What a TenantGateway status test varies; [`observed`] gives the rest.
pub struct Observed<'a> {
    pub gateway: Option<&'a gateway_api::gateways::GatewayStatus>,
    pub certificates_ready: &'a BTreeMap<String, bool>,
    pub issuer_ready: Option<bool>,
    pub errors: &'a [(&'static str, String)],
    pub previous: Option<&'a tgw_core::tenantgateway::TenantGatewayStatus>,
    pub now: &'a str,
    /// Failed route-status writes on attached tenants' routes: (namespace, message).
    pub attached_failures: &'a [(String, String)],
}

static NO_CERTIFICATES: BTreeMap<String, bool> = BTreeMap::new();

/// A first reconcile: no Gateway status yet, no Certificates, the Issuer ready, nothing failed,
/// no previous status, `now` = "NOW".
pub fn observed() -> Observed<'static> {
    Observed {
        gateway: None,
        certificates_ready: &NO_CERTIFICATES,
        issuer_ready: Some(true),
        errors: &[],
        previous: None,
        now: "NOW",
        attached_failures: &[],
    }
}

/// The status `compute` gives for decision `d` of `t` with `o` observed (the attach step
/// reported nothing).
pub fn status_of(
    t: &TgwInput,
    d: &tgw_core::decide::Decision,
    o: &Observed<'_>,
) -> tgw_core::tenantgateway::TenantGatewayStatus {
    tgw_core::tgw_status::compute(&tgw_core::tgw_status::StatusInput {
        tgw: t,
        plan: &d.plan,
        gateway_status: o.gateway,
        certificates_ready: o.certificates_ready,
        issuer_ready: o.issuer_ready,
        errors: o.errors,
        attach: &tgw_core::tgw_status::AttachReport::default(),
        previous: o.previous,
        now: o.now,
        gateway_not_written: d.gateway_not_written.as_deref(),
        plaintext_routes: &d.plaintext_routes,
        attached_failures: o.attached_failures,
    })
}

/// Condition `t` of a status as (status, reason, message).
pub fn cond(s: &tgw_core::tenantgateway::TenantGatewayStatus, t: &str) -> (String, String, String) {
    let c = s
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == t)
        .expect("condition present");
    (c.status.as_str().to_owned(), c.reason.clone(), c.message.clone())
}
