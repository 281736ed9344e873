//! Desired objects for one TenantGateway, ready for server-side apply. The Gateway and the redirect
//! HTTPRoute are typed Gateway API objects (`gateway-api` crate: a misspelt field does not
//! compile); the cert-manager Issuer and Certificates, which have no maintained Rust types, are
//! `serde_json::Value`s. Each object renders independently so a broken DNS-01 block cannot stop
//! the Gateway, and vice versa.

mod certificate;
mod gateway;
mod issuer;
mod redirect;
mod route_parent;

use std::collections::BTreeMap;

use gateway_api::gateways::Gateway;
use gateway_api::httproutes::HttpRoute;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use serde_json::{Value, json};

use crate::keys;
use crate::listeners::ListenerPlan;
use crate::tenantgateway::TgwInput;

pub use certificate::certificates;
pub use gateway::gateway;
pub use issuer::issuer;
pub use redirect::redirect;
pub use route_parent::{condition_status, route_parent};

/// Why an object could not be rendered (the text goes into the matching condition).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("certMode=existingSecret requires spec.wildcardSecretRef.name to be set")]
    MissingWildcardSecret,
    #[error("certMode=dns01 requires spec.dns01 to be set")]
    MissingDns01,
    #[error("dns01.provider={0} requires dns01.{0} to be set")]
    MissingProviderBlock(&'static str),
    /// Nothing is rendered: the TenantGateway may not publish ([`crate::decide::Decision::withdrawn`]).
    #[error("{0}")]
    Withdrawn(crate::scope::PublishRefusal),
}

/// Every object the controller applies for one TenantGateway.
#[derive(Clone, Debug, PartialEq)]
pub struct Desired {
    pub gateway: Result<Gateway, RenderError>,
    /// `Ok(None)` when the mode needs no Issuer (existingSecret).
    pub issuer: Result<Option<Value>, RenderError>,
    pub certificates: Vec<Value>,
    /// The HTTP→HTTPS redirect route; `None` when no Gateway is written in this pass (it would
    /// attach to nothing — see [`crate::decide::Decision::gateway_not_written`]).
    pub redirect: Option<HttpRoute>,
}

pub fn render(tgw: &TgwInput, plan: &ListenerPlan, directories: &crate::acme::Directories) -> Desired {
    let gateway = gateway(tgw, plan);
    let redirect = gateway.is_ok().then(|| redirect(tgw));
    Desired {
        gateway,
        issuer: issuer(tgw, directories),
        certificates: certificates(tgw, plan),
        redirect,
    }
}

/// The controller ownerRef pointing at the TenantGateway.
pub fn owner_reference(tgw: &TgwInput) -> OwnerReference {
    OwnerReference {
        api_version: keys::TGW_API_VERSION.to_owned(),
        kind: keys::TGW_KIND.to_owned(),
        name: tgw.meta.name.clone(),
        uid: tgw.meta.uid.clone(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// Metadata of every object we render: name, the TenantGateway's namespace, `labels`, and the
/// controller ownerRef.
fn metadata(name: &str, tgw: &TgwInput, labels: &[(&str, &str)]) -> ObjectMeta {
    let labels: BTreeMap<String, String> = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(tgw.meta.namespace.clone()),
        labels: Some(labels),
        owner_references: Some(vec![owner_reference(tgw)]),
        ..ObjectMeta::default()
    }
}

/// An untyped object (cert-manager kinds) with [`metadata`].
fn object(api_version: &str, kind: &str, name: &str, tgw: &TgwInput, labels: &[(&str, &str)], spec: Value) -> Value {
    json!({
        "apiVersion": api_version,
        "kind": kind,
        "metadata": metadata(name, tgw, labels),
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
