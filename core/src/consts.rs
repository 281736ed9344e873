//! Stable strings shared by the policy, the controller and the docs. Changing one is a breaking
//! change for operators' runbooks; tests pin them.

/// Namespace label carrying a tenant namespace's apex (Cozystack's key).
pub const HOST_LABEL: &str = "namespace.cozystack.io/host";
/// Namespace label naming the owner namespace whose Gateway a namespace publishes through.
pub const GATEWAY_LABEL: &str = "namespace.cozystack.io/gateway";
/// Namespaces whose name starts with this are tenant namespaces.
pub const TENANT_NAMESPACE_PREFIX: &str = "tenant-";

/// Groups whose members may change tenant hosts and protected namespace labels.
pub const DEFAULT_TRUSTED_GROUPS: &[&str] = &[
    "system:masters",
    "system:serviceaccounts:cozy-system",
    "system:serviceaccounts:cozy-cert-manager",
    "system:serviceaccounts:cozy-fluxcd",
    "system:serviceaccounts:kube-system",
];

/// API groups of the kinds the admission policy guards.
pub mod groups {
    pub const GATEWAY: &str = "gateway.networking.k8s.io";
    pub const GATEWAY_EXPERIMENTAL: &str = "gateway.networking.x-k8s.io";
    pub const NETWORKING: &str = "networking.k8s.io";
    pub const CORE: &str = "";
    pub const COZY_APPS: &str = "apps.cozystack.io";
    pub const COZY_PLATFORM: &str = "cozystack.io";
    pub const TENANT_GATEWAY: &str = "gateway.cozystack.io";
}

/// Key phrases kept from Cozystack's ValidatingAdmissionPolicy messages so existing runbooks and
/// tests that grep for them keep matching.
pub mod phrases {
    pub const LISTENER: &str = "must equal";
    pub const ROUTE: &str = "hostnames must equal";
    pub const INGRESS: &str = "must be within";
    pub const TENANT_HOST: &str = "spec.host can only be set";
    pub const NAMESPACE_LABEL: &str = "immutable";
}
