//! The Gateway: one listener per planned listener. Port-443 listeners select the gateway label
//! and `kubernetes.io/metadata.name` in the namespaces the plan admits, and pin the route kinds
//! their protocol serves (HTTPS: HTTPRoute; TLS: TLSRoute), or HTTPRoute+TLSRoute on every one
//! where the data plane needs identical kinds ([`RouteKinds::Uniform`]); `http` selects
//! `kubernetes.io/metadata.name` in {owner, ACME challenge ns} and pins no kinds.

use std::collections::BTreeMap;

use gateway_api::gateways::{
    Gateway, GatewayListeners, GatewayListenersAllowedRoutes, GatewayListenersAllowedRoutesKinds,
    GatewayListenersAllowedRoutesNamespaces, GatewayListenersAllowedRoutesNamespacesFrom,
    GatewayListenersAllowedRoutesNamespacesSelector, GatewayListenersAllowedRoutesNamespacesSelectorMatchExpressions,
    GatewayListenersTls, GatewayListenersTlsCertificateRefs, GatewayListenersTlsMode, GatewaySpec,
};

use super::{RenderError, metadata};
use crate::keys::{self, GATEWAY_GROUP, LABEL_GATEWAY, LABEL_METADATA_NAME};
use crate::listeners::{Admits, Listener, ListenerPlan, Protocol, RouteKinds};
use crate::naming;
use crate::tenantgateway::{CertMode, TgwInput};

type Selector = GatewayListenersAllowedRoutesNamespacesSelector;
type Expression = GatewayListenersAllowedRoutesNamespacesSelectorMatchExpressions;

pub fn gateway(tgw: &TgwInput, plan: &ListenerPlan) -> Result<Gateway, RenderError> {
    if tgw.spec.cert_mode == CertMode::ExistingSecret
        && tgw.spec.wildcard_secret_ref.as_ref().is_none_or(|r| r.name.is_empty())
    {
        return Err(RenderError::MissingWildcardSecret);
    }
    let labels = [
        (keys::LABEL_OBJ_GATEWAY, tgw.meta.namespace.as_str()),
        (keys::LABEL_MANAGED_BY, keys::MANAGED_BY_VALUE),
    ];
    Ok(Gateway {
        metadata: metadata(&naming::gateway(&tgw.meta.name), tgw, &labels),
        spec: GatewaySpec {
            gateway_class_name: tgw.spec.gateway_class().to_owned(),
            listeners: plan.listeners.iter().map(|l| listener(tgw, l, plan.kinds)).collect(),
            ..GatewaySpec::default()
        },
        status: None,
    })
}

fn listener(tgw: &TgwInput, l: &Listener, kinds: RouteKinds) -> GatewayListeners {
    let tls = match (l.protocol, &l.certificate) {
        (Protocol::Https, Some(cert)) => Some(GatewayListenersTls {
            mode: Some(GatewayListenersTlsMode::Terminate),
            certificate_refs: Some(vec![GatewayListenersTlsCertificateRefs {
                name: cert.clone(),
                ..GatewayListenersTlsCertificateRefs::default()
            }]),
            ..GatewayListenersTls::default()
        }),
        (Protocol::Tls, _) => Some(GatewayListenersTls {
            mode: Some(GatewayListenersTlsMode::Passthrough),
            ..GatewayListenersTls::default()
        }),
        _ => None,
    };
    GatewayListeners {
        name: l.name.clone(),
        port: i32::from(l.port),
        protocol: l.protocol.as_str().to_owned(),
        hostname: l.hostname.clone(),
        tls,
        allowed_routes: Some(allowed_routes(tgw, l, kinds)),
    }
}

fn allowed_routes(tgw: &TgwInput, l: &Listener, kinds: RouteKinds) -> GatewayListenersAllowedRoutes {
    let (selector, kinds) = match &l.admits {
        Admits::Port80(names) => (
            Selector {
                match_expressions: Some(vec![name_in(names.clone())]),
                match_labels: None,
            },
            None,
        ),
        Admits::GatewayLabel { names } => (
            Selector {
                match_labels: Some(BTreeMap::from([(LABEL_GATEWAY.to_owned(), tgw.meta.namespace.clone())])),
                match_expressions: Some(vec![name_in(names.clone())]),
            },
            Some(route_kinds(l.protocol, kinds)),
        ),
    };
    GatewayListenersAllowedRoutes {
        namespaces: Some(GatewayListenersAllowedRoutesNamespaces {
            from: Some(GatewayListenersAllowedRoutesNamespacesFrom::Selector),
            selector: Some(selector),
        }),
        kinds,
    }
}

/// `kubernetes.io/metadata.name In names`.
fn name_in(names: Vec<String>) -> Expression {
    Expression {
        key: LABEL_METADATA_NAME.to_owned(),
        operator: "In".to_owned(),
        values: Some(names),
    }
}

/// The kinds a port-443 listener names.
fn route_kinds(protocol: Protocol, kinds: RouteKinds) -> Vec<GatewayListenersAllowedRoutesKinds> {
    match (kinds, protocol) {
        (RouteKinds::Uniform, _) => vec![route_kind("HTTPRoute"), route_kind("TLSRoute")],
        (RouteKinds::PerProtocol, Protocol::Tls) => vec![route_kind("TLSRoute")],
        (RouteKinds::PerProtocol, Protocol::Https | Protocol::Http) => vec![route_kind("HTTPRoute")],
    }
}

fn route_kind(kind: &str) -> GatewayListenersAllowedRoutesKinds {
    GatewayListenersAllowedRoutesKinds {
        group: Some(GATEWAY_GROUP.to_owned()),
        kind: kind.to_owned(),
    }
}
