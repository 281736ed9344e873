//! Desired objects for one TenantGateway: Gateway, Issuer, Certificates and the redirect route,
//! as `serde_json::Value`s ready for server-side apply. Each object renders independently so a
//! broken DNS-01 block cannot stop the Gateway, and vice versa.

mod certificate;
mod gateway;
mod issuer;
mod redirect;

use serde_json::{Map, Value, json};

use crate::keys;
use crate::listeners::ListenerPlan;
use crate::tenantgateway::TgwInput;

pub use certificate::certificates;
pub use gateway::gateway;
pub use issuer::issuer;
pub use redirect::redirect;

/// Why an object could not be rendered (the text goes into the matching condition).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("certMode=existingSecret requires spec.wildcardSecretRef.name to be set")]
    MissingWildcardSecret,
    #[error("certMode=dns01 requires spec.dns01 to be set")]
    MissingDns01,
    #[error("dns01.provider={0} requires dns01.{0} to be set")]
    MissingProviderBlock(&'static str),
}

/// Every object the controller applies for one TenantGateway.
#[derive(Clone, Debug, PartialEq)]
pub struct Desired {
    pub gateway: Result<Value, RenderError>,
    /// `Ok(None)` when the mode needs no Issuer (existingSecret).
    pub issuer: Result<Option<Value>, RenderError>,
    pub certificates: Vec<Value>,
    /// The HTTP→HTTPS redirect route; `None` when no Gateway is written in this pass (it would
    /// attach to nothing — see [`crate::decide::Decision::gateway_not_written`]).
    pub redirect: Option<Value>,
}

pub fn render(tgw: &TgwInput, plan: &ListenerPlan) -> Desired {
    let gateway = gateway(tgw, plan);
    let redirect = gateway.is_ok().then(|| redirect(tgw));
    Desired {
        gateway,
        issuer: issuer(tgw),
        certificates: certificates(tgw, plan),
        redirect,
    }
}

/// The controller ownerRef pointing at the TenantGateway.
pub fn owner_reference(tgw: &TgwInput) -> Value {
    json!({
        "apiVersion": keys::TGW_API_VERSION,
        "kind": keys::TGW_KIND,
        "name": tgw.meta.name,
        "uid": tgw.meta.uid,
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

fn object(api_version: &str, kind: &str, name: &str, tgw: &TgwInput, labels: &[(&str, &str)], spec: Value) -> Value {
    let labels: Map<String, Value> = labels.iter().map(|(k, v)| ((*k).to_owned(), Value::from(*v))).collect();
    json!({
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {
            "name": name,
            "namespace": tgw.meta.namespace,
            "labels": labels,
            "ownerReferences": [owner_reference(tgw)],
        },
        "spec": spec,
    })
}

/// Whether every field of `desired` is present with the same value in `observed` (arrays must
/// have the same length and match element-wise). Fields the apiserver defaulted or other
/// managers own are ignored, so a converged object compares equal and no write is sent.
pub fn is_subset(desired: &Value, observed: &Value) -> bool {
    match (desired, observed) {
        (Value::Object(d), Value::Object(o)) => d.iter().all(|(k, dv)| o.get(k).is_some_and(|ov| is_subset(dv, ov))),
        (Value::Array(d), Value::Array(o)) => d.len() == o.len() && d.iter().zip(o).all(|(dv, ov)| is_subset(dv, ov)),
        (d, o) => d == o,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::equal(json!({"a": 1}), json!({"a": 1}), true)]
    #[case::defaulted_extra(json!({"a": {"b": 1}}), json!({"a": {"b": 1, "kind": "Secret"}}), true)]
    #[case::changed(json!({"a": 1}), json!({"a": 2}), false)]
    #[case::missing(json!({"a": 1}), json!({}), false)]
    #[case::array_len(json!({"l": [1]}), json!({"l": [1, 2]}), false)]
    #[case::array_elem_extra(json!({"l": [{"n": "x"}]}), json!({"l": [{"n": "x", "d": 1}]}), true)]
    fn subset(#[case] desired: Value, #[case] observed: Value, #[case] want: bool) {
        assert_eq!(is_subset(&desired, &observed), want);
    }
}
