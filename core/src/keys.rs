//! Stable identifiers of the controller side: label and annotation keys, controller and field
//! manager names, defaults and ACME endpoints. Pinned by the tests at the bottom.

/// `status.parents[].controllerName` on routes.
pub const CONTROLLER_NAME: &str = "gateway.cozystack.io/tenantgateway-controller";
/// Server-side-apply field manager of every write the controller makes.
pub const FIELD_MANAGER: &str = "tenantgateway-controller";
/// Finalizer on TenantGateways (removes labels, annotations and route-status entries).
pub const FINALIZER: &str = "gateway.cozystack.io/tenantgateway-cleanup";

/// API group/version/kind of the TenantGateway.
pub const TGW_GROUP: &str = "gateway.cozystack.io";
pub const TGW_API_VERSION: &str = "gateway.cozystack.io/v1alpha1";
pub const TGW_KIND: &str = "TenantGateway";

/// Gateway API group.
pub const GATEWAY_GROUP: &str = "gateway.networking.k8s.io";
pub const GATEWAY_API_VERSION: &str = "gateway.networking.k8s.io/v1";
pub const CERT_MANAGER_API_VERSION: &str = "cert-manager.io/v1";

/// Namespace label: which owner namespace's Gateway this namespace publishes through.
pub const LABEL_GATEWAY: &str = "namespace.cozystack.io/gateway";
/// Namespace label: the namespace's apex.
pub const LABEL_HOST: &str = "namespace.cozystack.io/host";
/// Namespace label written by the apiserver.
pub const LABEL_METADATA_NAME: &str = "kubernetes.io/metadata.name";
/// Namespace annotation marking a gateway label this controller wrote. Value `<ns>` (Cozystack's
/// form) or `<ns>/<tgw>` (qualified); both are read, which one is written is a setting
/// ([`crate::attach::AttachedByFormat`]).
pub const ANNOTATION_ATTACHED_BY: &str = "cozystack.io/gateway-attached-by";

/// Labels on rendered objects.
pub const LABEL_MANAGED_BY: &str = "cozystack.io/managed-by";
pub const MANAGED_BY_VALUE: &str = "cozystack-controller";
pub const LABEL_OBJ_GATEWAY: &str = "cozystack.io/gateway";
pub const LABEL_OBJ_TENANTGATEWAY: &str = "cozystack.io/tenantgateway";
pub const LABEL_PER_LISTENER_CERT: &str = "cozystack.io/per-listener-cert";

/// Defaults.
pub const DEFAULT_GATEWAY_CLASS: &str = "cilium";
pub const DEFAULT_TSIG_ALGORITHM: &str = "HMACSHA256";
pub const DEFAULT_PLATFORM_PREFIX: &str = "cozy-";
/// Namespace where cert-manager runs its ACME challenge solvers (port-80 selector).
pub const ACME_CHALLENGE_NAMESPACE: &str = "cozy-cert-manager";
/// Namespace whose TenantGateways may list `attachedNamespaces` (Cozystack's publishing tenant).
pub const DEFAULT_ATTACH_OWNER_NAMESPACE: &str = "tenant-root";

/// Let's Encrypt directories.
pub const ACME_PROD_URL: &str = "https://acme-v02.api.letsencrypt.org/directory";
pub const ACME_STAGING_URL: &str = "https://acme-staging-v02.api.letsencrypt.org/directory";

/// Gateway API's `maxItems` for `spec.listeners`.
pub const MAX_LISTENERS: usize = 64;
/// Default cap on the per-host listeners of one attached namespace (http01; owner and platform
/// namespaces are not capped).
pub const DEFAULT_LISTENERS_PER_NAMESPACE: usize = 16;
/// Default cap on reconcile starts per second, over all TenantGateways.
pub const DEFAULT_RECONCILES_PER_SECOND: u32 = 20;
/// Gateway API's `maxItems` for a route's `status.parents`.
pub const MAX_ROUTE_PARENTS: usize = 32;
/// Namespaces whose name starts with this are tenant namespaces (fail closed without a host label).
pub const DEFAULT_TENANT_PREFIX: &str = crate::consts::TENANT_NAMESPACE_PREFIX;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_strings() {
        assert_eq!(
            [
                CONTROLLER_NAME,
                LABEL_GATEWAY,
                LABEL_HOST,
                ANNOTATION_ATTACHED_BY,
                LABEL_MANAGED_BY
            ],
            [
                "gateway.cozystack.io/tenantgateway-controller",
                "namespace.cozystack.io/gateway",
                "namespace.cozystack.io/host",
                "cozystack.io/gateway-attached-by",
                "cozystack.io/managed-by",
            ]
        );
        assert_eq!((MAX_LISTENERS, MAX_ROUTE_PARENTS), (64, 32));
        assert_eq!(DEFAULT_TENANT_PREFIX, "tenant-");
    }
}
