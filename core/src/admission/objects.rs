//! The few fields of each guarded kind that carry a hostname or its source, as our own types.
//! Everything is optional (`null` and absent are the same); a field of the wrong type is a parse
//! error that names its path.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::settings::describe_path_error;

/// Reads `T` from an object, reporting the JSON path of the first field that does not fit. The
/// path-tracking deserializer only runs again when the plain one fails (it allocates per key).
pub(crate) fn parse<'a, T: Deserialize<'a>>(object: &'a Value) -> Result<T, String> {
    T::deserialize(object).or_else(|_| serde_path_to_error::deserialize(object).map_err(|e| describe_path_error(&e)))
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Metadata {
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
}

/// Gateway, ListenerSet and XListenerSet: `spec.listeners[].{name,hostname}`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListenerHolder<'a> {
    #[serde(default, borrow)]
    pub spec: Option<ListenerSpec<'a>>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListenerSpec<'a> {
    #[serde(default, borrow)]
    pub listeners: Option<Vec<Listener<'a>>>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Listener<'a> {
    #[serde(default, borrow)]
    pub name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub hostname: Option<Cow<'a, str>>,
}

/// HTTPRoute, GRPCRoute, TLSRoute: `spec.hostnames`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Route<'a> {
    #[serde(default, borrow)]
    pub spec: Option<RouteSpec<'a>>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RouteSpec<'a> {
    #[serde(default, borrow)]
    pub hostnames: Option<Vec<Cow<'a, str>>>,
}

/// Gateway fields only trusted callers may pick in tenant namespaces: `spec.gatewayClassName`,
/// `spec.addresses`, `spec.infrastructure` (kept as JSON: only compared, never interpreted).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Gateway {
    #[serde(default)]
    pub spec: Option<GatewaySpec>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct GatewaySpec {
    #[serde(default, rename = "gatewayClassName")]
    pub gateway_class_name: Option<String>,
    #[serde(default)]
    pub addresses: Option<Value>,
    #[serde(default)]
    pub infrastructure: Option<Value>,
}

/// Ingress: `metadata.annotations`, `spec.rules[].host`, `spec.tls[].hosts[]`,
/// `spec.defaultBackend`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Ingress {
    #[serde(default)]
    pub metadata: Option<AnnotatedMetadata>,
    #[serde(default)]
    pub spec: Option<IngressSpec>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct AnnotatedMetadata {
    #[serde(default)]
    pub annotations: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct IngressSpec {
    #[serde(default, rename = "defaultBackend")]
    pub default_backend: Option<Value>,
    #[serde(default)]
    pub rules: Option<Vec<IngressRule>>,
    #[serde(default)]
    pub tls: Option<Vec<IngressTls>>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct IngressRule {
    #[serde(default)]
    pub host: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct IngressTls {
    #[serde(default)]
    pub hosts: Option<Vec<String>>,
}

/// Tenant (apps.cozystack.io): `spec.host`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Tenant {
    #[serde(default)]
    pub spec: Option<TenantSpec>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct TenantSpec {
    #[serde(default)]
    pub host: Option<String>,
}

/// Namespace: `metadata.labels`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Namespace {
    #[serde(default)]
    pub metadata: Option<Metadata>,
}

/// TenantGateway: `spec.apex`, `spec.attachedNamespaces`, `spec.gatewayClassName`,
/// `spec.dns01.rfc2136.nameserver`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct TenantGateway {
    #[serde(default)]
    pub spec: Option<TenantGatewaySpec>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct TenantGatewaySpec {
    #[serde(default)]
    pub apex: Option<String>,
    #[serde(default, rename = "attachedNamespaces")]
    pub attached_namespaces: Option<Vec<String>>,
    #[serde(default, rename = "gatewayClassName")]
    pub gateway_class_name: Option<String>,
    #[serde(default)]
    pub dns01: Option<Dns01>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Dns01 {
    #[serde(default)]
    pub rfc2136: Option<Rfc2136>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Rfc2136 {
    #[serde(default)]
    pub nameserver: Option<String>,
}

impl TenantGatewaySpec {
    /// `spec.dns01.rfc2136.nameserver`, empty when unset.
    pub fn nameserver(&self) -> &str {
        self.dns01
            .as_ref()
            .and_then(|d| d.rfc2136.as_ref())
            .and_then(|r| r.nameserver.as_deref())
            .unwrap_or_default()
    }
}

/// Package (cozystack.io): `spec.components.platform.values.gateway.attachedNamespaces`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Package {
    #[serde(default)]
    pub spec: Option<PackageSpec>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct PackageSpec {
    #[serde(default)]
    pub components: Option<PackageComponents>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct PackageComponents {
    #[serde(default)]
    pub platform: Option<PackagePlatform>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct PackagePlatform {
    #[serde(default)]
    pub values: Option<PackageValues>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct PackageValues {
    #[serde(default)]
    pub gateway: Option<PackageGateway>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct PackageGateway {
    #[serde(default, rename = "attachedNamespaces")]
    pub attached_namespaces: Option<Vec<String>>,
}

impl Package {
    /// `spec.components.platform.values.gateway.attachedNamespaces`.
    pub fn attached_namespaces(self) -> Option<Vec<String>> {
        self.spec
            .and_then(|s| s.components)
            .and_then(|c| c.platform)
            .and_then(|p| p.values)
            .and_then(|v| v.gateway)
            .and_then(|g| g.attached_namespaces)
    }
}

/// cert-manager Issuer: every field naming an address cert-manager contacts on the Issuer's behalf
/// (kept as JSON where only compared).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Issuer {
    #[serde(default)]
    pub spec: Option<IssuerSpec>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct IssuerSpec {
    #[serde(default)]
    pub acme: Option<Acme>,
    #[serde(default)]
    pub vault: Option<Vault>,
    #[serde(default)]
    pub venafi: Option<Venafi>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Acme {
    #[serde(default)]
    pub server: Option<String>,
    #[serde(default)]
    pub solvers: Option<Vec<AcmeSolver>>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct AcmeSolver {
    #[serde(default)]
    pub dns01: Option<AcmeDns01>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct AcmeDns01 {
    #[serde(default)]
    pub rfc2136: Option<Rfc2136>,
    #[serde(default, rename = "acmeDNS")]
    pub acme_dns: Option<AcmeDnsHost>,
    #[serde(default)]
    pub akamai: Option<Akamai>,
    #[serde(default)]
    pub webhook: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct AcmeDnsHost {
    #[serde(default)]
    pub host: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Akamai {
    #[serde(default, rename = "serviceConsumerDomain")]
    pub service_consumer_domain: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Vault {
    #[serde(default)]
    pub server: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Venafi {
    #[serde(default)]
    pub tpp: Option<UrlHolder>,
    #[serde(default)]
    pub cloud: Option<UrlHolder>,
    #[serde(default)]
    pub ngts: Option<Ngts>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct UrlHolder {
    #[serde(default)]
    pub url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Ngts {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default, rename = "tokenEndpoint")]
    pub token_endpoint: Option<String>,
}
