//! `TenantGateway.spec`: field names, types, enums and defaults as in Cozystack's CRD, plus CEL
//! rules for what that CRD leaves unvalidated (apex format, passthrough service names, list bounds,
//! the name length, the RFC 2136 nameserver format, the GatewayClass name, and the Secret an
//! `existingSecret` TenantGateway needs). Who may set which field is the admission policy's part.

use serde::{Deserialize, Serialize};

/// Upper bound for `tlsPassthroughServices`: `http` + `https` + `https-apex` + 61 = 64 listeners.
pub const MAX_PASSTHROUGH_SERVICES: usize = 61;
/// Upper bound for `attachedNamespaces`.
pub const MAX_ATTACHED_NAMESPACES: usize = 256;

// The name rule: the TenantGateway name is the value of the `cozystack.io/tenantgateway` label on
// per-host Certificates, and label values are at most 63 characters. The derived object names stay
// within 253 for longer names: the longest, the per-host Certificate
// `<name>-<first label ≤63>-<hash8>-tls`, up to 176. Listener names do not contain it.
/// TenantGatewaySpec is the operator-facing intent for one tenant's Gateway: the apex it serves,
/// how certificates are obtained, and which extra namespaces may publish routes through it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "crd", derive(kube::CustomResource, kube::KubeSchema))]
#[cfg_attr(
    feature = "crd",
    kube(
        group = "gateway.cozystack.io",
        version = "v1alpha1",
        kind = "TenantGateway",
        plural = "tenantgateways",
        singular = "tenantgateway",
        shortname = "tgw",
        namespaced,
        status = "super::status::TenantGatewayStatus",
        printcolumn = r#"{"name":"Apex","type":"string","jsonPath":".spec.apex"}"#,
        printcolumn = r#"{"name":"Mode","type":"string","jsonPath":".spec.certMode"}"#,
        printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
        printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
        doc = "TenantGateway declares one tenant's Gateway; the controller renders the Gateway, Issuer, Certificates and redirect route from it.",
        validation = Rule::new("size(self.metadata.name) <= 63").message("metadata.name must be at most 63 characters: it becomes the cozystack.io/tenantgateway label value of the per-host Certificates")
    )
)]
#[cfg_attr(
    feature = "crd",
    x_kube(validation = Rule::new("!has(self.certMode) || self.certMode != 'existingSecret' || (has(self.wildcardSecretRef) && has(self.wildcardSecretRef.name) && self.wildcardSecretRef.name != '')").message("certMode=existingSecret requires spec.wildcardSecretRef.name to be set"))
)]
#[serde(rename_all = "camelCase")]
pub struct TenantGatewaySpec {
    /// Apex is the tenant's base DNS name (lowercase RFC 1123). Listeners serve it and names under it.
    #[cfg_attr(feature = "crd", schemars(length(max = 253)))]
    #[cfg_attr(
        feature = "crd",
        x_kube(validation = Rule::new("self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$') && self.split('.').all(l, size(l) <= 63)").message("apex must be a lowercase RFC 1123 DNS name"))
    )]
    pub apex: String,

    /// CertMode selects per-hostname HTTP-01 certificates, one DNS-01 wildcard certificate, or an
    /// operator-provided wildcard Secret.
    #[serde(default)]
    pub cert_mode: CertMode,

    /// IssuerName selects the Let's Encrypt environment of the per-tenant Issuer.
    #[serde(default)]
    pub issuer_name: IssuerName,

    /// DNS01 configures the DNS-01 solver; read only when certMode=dns01.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns01: Option<Dns01Config>,

    /// WildcardSecretRef names a TLS Secret in this namespace used by the wildcard and apex
    /// listeners when certMode=existingSecret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wildcard_secret_ref: Option<LocalObjectReference>,

    /// AttachedNamespaces are extra namespaces (besides this one) whose routes may attach. The
    /// controller labels them; a namespace already attached to another owner is reported, not taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "crd", schemars(length(max = 256), inner(length(max = 63))))]
    #[cfg_attr(
        feature = "crd",
        x_kube(validation = Rule::new("self.all(n, n == '' || (size(n) <= 63 && n.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')))").message("attachedNamespaces entries must be namespace names"))
    )]
    pub attached_namespaces: Option<Vec<String>>,

    /// TLSPassthroughServices each yield a TLS passthrough listener `tls-<svc>` for `<svc>.<apex>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "crd", schemars(length(max = 61), inner(length(max = 63))))]
    #[cfg_attr(
        feature = "crd",
        x_kube(
            validation = Rule::new("self.all(s, size(s) <= 63 && s.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'))").message("tlsPassthroughServices entries must be lowercase DNS labels"),
            validation = Rule::new("self.all(s, self.exists_one(t, t == s))").message("tlsPassthroughServices entries must be unique")
        )
    )]
    pub tls_passthrough_services: Option<Vec<String>>,

    /// GatewayClassName of the rendered Gateway (empty means the default).
    #[serde(default = "default_gateway_class")]
    #[cfg_attr(feature = "crd", schemars(length(max = 253)))]
    #[cfg_attr(
        feature = "crd",
        x_kube(validation = Rule::new(r"self == '' || self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')").message("gatewayClassName must be a GatewayClass name (a lowercase RFC 1123 subdomain)"))
    )]
    pub gateway_class_name: String,
}

fn default_gateway_class() -> String {
    crate::keys::DEFAULT_GATEWAY_CLASS.to_owned()
}

fn default_tsig_algorithm() -> String {
    crate::keys::DEFAULT_TSIG_ALGORITHM.to_owned()
}

impl TenantGatewaySpec {
    /// A spec with only the apex set and every other field at its CRD default.
    pub fn with_apex(apex: &str) -> Self {
        TenantGatewaySpec {
            apex: apex.to_owned(),
            cert_mode: CertMode::default(),
            issuer_name: IssuerName::default(),
            dns01: None,
            wildcard_secret_ref: None,
            attached_namespaces: None,
            tls_passthrough_services: None,
            gateway_class_name: default_gateway_class(),
        }
    }

    /// The non-empty attached namespace names, in spec order.
    pub fn attached(&self) -> impl Iterator<Item = &str> {
        self.attached_namespaces
            .iter()
            .flatten()
            .map(String::as_str)
            .filter(|n| !n.is_empty())
    }

    /// The passthrough service names, in spec order.
    pub fn passthrough(&self) -> impl Iterator<Item = &str> {
        self.tls_passthrough_services.iter().flatten().map(String::as_str)
    }

    /// `gatewayClassName`, or the default when empty.
    pub fn gateway_class(&self) -> &str {
        if self.gateway_class_name.is_empty() {
            crate::keys::DEFAULT_GATEWAY_CLASS
        } else {
            &self.gateway_class_name
        }
    }
}

/// How listener certificates are obtained.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "crd", derive(schemars::JsonSchema))]
pub enum CertMode {
    #[default]
    #[serde(rename = "http01")]
    Http01,
    #[serde(rename = "dns01")]
    Dns01,
    #[serde(rename = "existingSecret")]
    ExistingSecret,
}

impl CertMode {
    pub fn as_str(self) -> &'static str {
        match self {
            CertMode::Http01 => "http01",
            CertMode::Dns01 => "dns01",
            CertMode::ExistingSecret => "existingSecret",
        }
    }
}

/// Let's Encrypt environment of the per-tenant Issuer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "crd", derive(schemars::JsonSchema))]
pub enum IssuerName {
    #[default]
    #[serde(rename = "letsencrypt-prod")]
    LetsencryptProd,
    #[serde(rename = "letsencrypt-stage")]
    LetsencryptStage,
}

/// DNS-01 solver configuration: a provider and that provider's block.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "crd", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Dns01Config {
    /// Provider selects which DNS-01 solver block is rendered.
    #[serde(default)]
    pub provider: Dns01Provider,
    /// Cloudflare settings; required when provider=cloudflare.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloudflare: Option<CloudflareConfig>,
    /// Route53 settings; required when provider=route53.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route53: Option<Route53Config>,
    /// DigitalOcean settings; required when provider=digitalocean.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digitalocean: Option<DigitalOceanConfig>,
    /// RFC 2136 settings; required when provider=rfc2136.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rfc2136: Option<Rfc2136Config>,
}

/// Supported DNS-01 providers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "crd", derive(schemars::JsonSchema))]
pub enum Dns01Provider {
    #[default]
    #[serde(rename = "cloudflare")]
    Cloudflare,
    #[serde(rename = "route53")]
    Route53,
    #[serde(rename = "digitalocean")]
    Digitalocean,
    #[serde(rename = "rfc2136")]
    Rfc2136,
}

impl Dns01Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Dns01Provider::Cloudflare => "cloudflare",
            Dns01Provider::Route53 => "route53",
            Dns01Provider::Digitalocean => "digitalocean",
            Dns01Provider::Rfc2136 => "rfc2136",
        }
    }
}

/// Cloudflare DNS-01 settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "crd", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CloudflareConfig {
    /// Secret key holding an API token allowed to edit the apex zone.
    pub api_token_secret_ref: SecretKeySelector,
}

/// Route53 DNS-01 settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "crd", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Route53Config {
    /// AWS region of the hosted zone.
    pub region: String,
    /// IAM access key ID; omit with ambient credentials.
    #[serde(rename = "accessKeyID", default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// Secret key holding the IAM secret access key; omit with ambient credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_access_key_secret_ref: Option<SecretKeySelector>,
}

/// DigitalOcean DNS-01 settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "crd", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct DigitalOceanConfig {
    /// Secret key holding an API token with write access to the apex domain.
    pub token_secret_ref: SecretKeySelector,
}

/// RFC 2136 (dynamic DNS update) DNS-01 settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "crd", derive(kube::KubeSchema))]
#[serde(rename_all = "camelCase")]
pub struct Rfc2136Config {
    /// host:port of the authoritative nameserver (a DNS name, an IPv4 address or a bracketed
    /// IPv6 address, and a port 1-65535).
    #[cfg_attr(feature = "crd", schemars(length(max = 259)))]
    #[cfg_attr(
        feature = "crd",
        x_kube(validation = Rule::new(r"self.matches('^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*):([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$')").message("nameserver must be host:port (a DNS name, an IPv4 address or a bracketed IPv6 address, and a port 1-65535)"))
    )]
    pub nameserver: String,
    /// Name of the TSIG key.
    pub tsig_key_name: String,
    /// TSIG HMAC algorithm.
    #[serde(rename = "tsigAlgorithm", default = "default_tsig_algorithm")]
    pub tsig_algorithm: String,
    /// Secret key holding the TSIG key material.
    pub tsig_secret_secret_ref: SecretKeySelector,
}

/// A key of a Secret in the TenantGateway's namespace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "crd", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "crd", schemars(extend("x-kubernetes-map-type" = "atomic")))]
pub struct SecretKeySelector {
    /// Name of the Secret.
    #[serde(default)]
    pub name: String,
    /// Key within the Secret.
    pub key: String,
    /// Accepted for compatibility; not used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

/// A reference to an object in the same namespace.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "crd", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "crd", schemars(extend("x-kubernetes-map-type" = "atomic")))]
pub struct LocalObjectReference {
    /// Name of the referent.
    #[serde(default)]
    pub name: String,
}
