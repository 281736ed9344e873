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
