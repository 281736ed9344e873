//! The Gateway: one listener per planned listener; port-443 listeners pin kinds
//! HTTPRoute+TLSRoute and select the gateway label (narrowed to the winner namespace on per-host
//! listeners); `http` selects `kubernetes.io/metadata.name` in {owner, ACME challenge ns}.

use std::collections::BTreeMap;

use gateway_api::gateways::{
    Gateway, GatewayListeners, GatewayListenersAllowedRoutes, GatewayListenersAllowedRoutesKinds,
    GatewayListenersAllowedRoutesNamespaces, GatewayListenersAllowedRoutesNamespacesFrom,
    GatewayListenersAllowedRoutesNamespacesSelector, GatewayListenersAllowedRoutesNamespacesSelectorMatchExpressions,
    GatewayListenersTls, GatewayListenersTlsCertificateRefs, GatewayListenersTlsMode, GatewaySpec,
};

use super::{RenderError, metadata};
use crate::keys::{self, GATEWAY_GROUP, LABEL_GATEWAY, LABEL_METADATA_NAME};
use crate::listeners::{Admits, Listener, ListenerPlan, Protocol};
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
            listeners: plan.listeners.iter().map(|l| listener(tgw, l)).collect(),
            ..GatewaySpec::default()
        },
        status: None,
    })
}

fn listener(tgw: &TgwInput, l: &Listener) -> GatewayListeners {
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
        allowed_routes: Some(allowed_routes(tgw, &l.admits)),
    }
}

fn allowed_routes(tgw: &TgwInput, admits: &Admits) -> GatewayListenersAllowedRoutes {
    let (selector, kinds) = match admits {
        Admits::Port80(names) => (
            Selector {
                match_expressions: Some(vec![name_in(names.clone())]),
                match_labels: None,
            },
            None,
        ),
        Admits::GatewayLabel { only } => (
            Selector {
                match_labels: Some(BTreeMap::from([(LABEL_GATEWAY.to_owned(), tgw.meta.namespace.clone())])),
                match_expressions: only.as_ref().map(|ns| vec![name_in(vec![ns.clone()])]),
            },
            Some(vec![route_kind("HTTPRoute"), route_kind("TLSRoute")]),
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

fn route_kind(kind: &str) -> GatewayListenersAllowedRoutesKinds {
    GatewayListenersAllowedRoutesKinds {
        group: Some(GATEWAY_GROUP.to_owned()),
        kind: kind.to_owned(),
    }
}
