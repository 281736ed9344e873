//! The Gateway: one listener per planned listener; port-443 listeners pin kinds
//! HTTPRoute+TLSRoute and select the gateway label (narrowed to the winner namespace on per-host
//! listeners); `http` selects `kubernetes.io/metadata.name` in {owner, ACME challenge ns}.

use serde_json::{Value, json};

use super::{RenderError, object};
use crate::keys::{self, GATEWAY_GROUP, LABEL_GATEWAY, LABEL_METADATA_NAME};
use crate::listeners::{Admits, Listener, ListenerPlan, Protocol};
use crate::naming;
use crate::tenantgateway::{CertMode, TgwInput};

pub fn gateway(tgw: &TgwInput, plan: &ListenerPlan) -> Result<Value, RenderError> {
    if tgw.spec.cert_mode == CertMode::ExistingSecret
        && tgw.spec.wildcard_secret_ref.as_ref().is_none_or(|r| r.name.is_empty())
    {
        return Err(RenderError::MissingWildcardSecret);
    }
    let listeners: Vec<Value> = plan.listeners.iter().map(|l| listener(tgw, l)).collect();
    Ok(object(
        keys::GATEWAY_API_VERSION,
        "Gateway",
        &naming::gateway(&tgw.meta.name),
        tgw,
        &[
            (keys::LABEL_OBJ_GATEWAY, &tgw.meta.namespace),
            (keys::LABEL_MANAGED_BY, keys::MANAGED_BY_VALUE),
        ],
        json!({
            "gatewayClassName": tgw.spec.gateway_class(),
            "listeners": listeners,
        }),
    ))
}

fn listener(tgw: &TgwInput, l: &Listener) -> Value {
    let mut v = json!({
        "name": l.name,
        "port": l.port,
        "protocol": l.protocol.as_str(),
    });
    if let Some(h) = &l.hostname {
        v["hostname"] = json!(h);
    }
    match (l.protocol, &l.certificate) {
        (Protocol::Https, Some(cert)) => {
            v["tls"] = json!({"mode": "Terminate", "certificateRefs": [{"name": cert}]});
        }
        (Protocol::Tls, _) => v["tls"] = json!({"mode": "Passthrough"}),
        _ => {}
    }
    v["allowedRoutes"] = match &l.admits {
        Admits::Port80(names) => json!({
            "namespaces": {
                "from": "Selector",
                "selector": {"matchExpressions": [
                    {"key": LABEL_METADATA_NAME, "operator": "In", "values": names}
                ]},
            },
        }),
        Admits::GatewayLabel { only } => {
            let mut selector = json!({"matchLabels": {LABEL_GATEWAY: tgw.meta.namespace}});
            if let Some(ns) = only {
                selector["matchExpressions"] = json!([{"key": LABEL_METADATA_NAME, "operator": "In", "values": [ns]}]);
            }
            json!({
                "namespaces": {"from": "Selector", "selector": selector},
                "kinds": [
                    {"group": GATEWAY_GROUP, "kind": "HTTPRoute"},
                    {"group": GATEWAY_GROUP, "kind": "TLSRoute"},
                ],
            })
        }
    };
    v
}
