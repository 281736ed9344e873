//! The `TenantGateway` API (`gateway.cozystack.io/v1alpha1`): spec and status types.
//!
//! The plain types compile without the `crd` feature (the wasm policy never sees them derive
//! `kube::CustomResource`); with `crd` the same structs also produce the CRD schema, including the
//! CEL rules the reference CRD lacks.

mod spec;
mod status;

#[cfg(feature = "crd")]
pub use spec::TenantGateway;
pub use spec::{
    CertMode, CloudflareConfig, DigitalOceanConfig, Dns01Config, Dns01Provider, IssuerName, LocalObjectReference,
    MAX_ATTACHED_NAMESPACES, MAX_PASSTHROUGH_SERVICES, Rfc2136Config, Route53Config, SecretKeySelector,
    TenantGatewaySpec,
};
pub use status::{Condition, ConditionStatus, ListenerStatus, TenantGatewayStatus};

/// Identity of one TenantGateway as the decisions need it: everything but the spec comes from
/// `metadata`. Plain data so the wasm build and the tests can construct it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TgwMeta {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub generation: i64,
}

/// A TenantGateway as core consumes it: identity + spec.
#[derive(Clone, Debug, PartialEq)]
pub struct TgwInput {
    pub meta: TgwMeta,
    pub spec: TenantGatewaySpec,
}

impl TgwInput {
    /// `<ns>/<name>`, as used in every message.
    pub fn key(&self) -> String {
        format!("{}/{}", self.meta.namespace, self.meta.name)
    }
}
