//! Policy settings: parsed once from the JSON the Kubewarden host sends, validated, and resolved
//! to concrete values (defaults filled in). Unknown keys and wrong types are errors that name the
//! offending key.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::consts::{DEFAULT_TRUSTED_GROUPS, GATEWAY_LABEL, HOST_LABEL, TENANT_NAMESPACE_PREFIX};
use crate::hostname::{Hostname, HostnameError};
use crate::keys::{ACME_PROD_URL, ACME_STAGING_URL, DEFAULT_GATEWAY_CLASS};

/// Resolved settings, every field concrete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    pub tenant_namespace_prefix: String,
    pub host_label: String,
    pub gateway_label: String,
    pub protected_namespace_labels: Vec<String>,
    pub trusted_groups: Vec<String>,
    pub trusted_users: Vec<String>,
    pub require_route_hostnames: bool,
    pub allow_gateway_without_host_label: bool,
    #[serde(rename = "allowL4RoutesInTenantNamespaces")]
    pub allow_l4_routes_in_tenant_namespaces: bool,
    pub platform_root_host: Option<String>,
    pub forbid_tenant_attached_namespaces: bool,
    /// GatewayClasses a caller who is not trusted may choose for a TenantGateway or a Gateway in a
    /// tenant namespace.
    pub allowed_gateway_classes: Vec<String>,
    /// Admits ingress-nginx snippet annotations and `upstream-vhost` on Ingresses in tenant
    /// namespaces.
    pub allow_ingress_snippets: bool,
    /// ACME directory URLs a caller who is not trusted may set as an Issuer's `spec.acme.server` in
    /// a tenant namespace (exact strings).
    pub allowed_acme_servers: Vec<String>,
}

/// A settings document that cannot be used. The text is shown to the operator as is.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SettingsError {
    #[error("settings could not be parsed: {0}")]
    Parse(String),
    #[error("settings.tenantNamespacePrefix must not be empty")]
    EmptyTenantPrefix,
    #[error("settings.{setting}: {value:?} is not a valid label key: {reason}")]
    InvalidLabelKey {
        setting: String,
        value: String,
        reason: String,
    },
    #[error("settings.{setting} must not contain an empty entry")]
    EmptyEntry { setting: String },
    #[error("settings.platformRootHost: {value:?} is not a valid hostname: {source}")]
    InvalidRootHost { value: String, source: HostnameError },
    #[error("settings.platformRootHost: {value:?} must be a DNS name, not a wildcard")]
    WildcardRootHost { value: String },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawSettings {
    #[serde(rename = "tenantNamespacePrefix")]
    tenant_namespace_prefix: Option<String>,
    #[serde(rename = "hostLabel")]
    host_label: Option<String>,
    #[serde(rename = "gatewayLabel")]
    gateway_label: Option<String>,
    #[serde(rename = "protectedNamespaceLabels")]
    protected_namespace_labels: Option<Vec<String>>,
    #[serde(rename = "trustedGroups")]
    trusted_groups: Option<Vec<String>>,
    #[serde(rename = "trustedUsers")]
    trusted_users: Option<Vec<String>>,
    #[serde(rename = "requireRouteHostnames")]
    require_route_hostnames: Option<bool>,
    #[serde(rename = "allowGatewayWithoutHostLabel")]
    allow_gateway_without_host_label: Option<bool>,
    #[serde(rename = "allowL4RoutesInTenantNamespaces")]
    allow_l4_routes_in_tenant_namespaces: Option<bool>,
    #[serde(rename = "platformRootHost")]
    platform_root_host: Option<String>,
    #[serde(rename = "forbidTenantAttachedNamespaces")]
    forbid_tenant_attached_namespaces: Option<bool>,
    #[serde(rename = "allowedGatewayClasses")]
    allowed_gateway_classes: Option<Vec<String>>,
    #[serde(rename = "allowIngressSnippets")]
    allow_ingress_snippets: Option<bool>,
    #[serde(rename = "allowedAcmeServers")]
    allowed_acme_servers: Option<Vec<String>>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            tenant_namespace_prefix: TENANT_NAMESPACE_PREFIX.to_string(),
            host_label: HOST_LABEL.to_string(),
            gateway_label: GATEWAY_LABEL.to_string(),
            protected_namespace_labels: vec![HOST_LABEL.to_string(), GATEWAY_LABEL.to_string()],
            trusted_groups: DEFAULT_TRUSTED_GROUPS.iter().map(|g| g.to_string()).collect(),
            trusted_users: Vec::new(),
            require_route_hostnames: true,
            allow_gateway_without_host_label: false,
            allow_l4_routes_in_tenant_namespaces: false,
            platform_root_host: None,
            forbid_tenant_attached_namespaces: true,
            allowed_gateway_classes: vec![DEFAULT_GATEWAY_CLASS.to_string()],
            allow_ingress_snippets: false,
            allowed_acme_servers: vec![ACME_PROD_URL.to_string(), ACME_STAGING_URL.to_string()],
        }
    }
}

impl Settings {
    /// Parses, validates and resolves a settings document. `null` means "all defaults".
    pub fn from_json(value: &serde_json::Value) -> Result<Settings, SettingsError> {
        let got = match value {
            serde_json::Value::Null => return Ok(Settings::default()),
            serde_json::Value::Object(_) => None,
            serde_json::Value::Array(_) => Some("an array"),
            serde_json::Value::String(_) => Some("a string"),
            serde_json::Value::Number(_) => Some("a number"),
            serde_json::Value::Bool(_) => Some("a boolean"),
        };
        if let Some(got) = got {
            return Err(SettingsError::Parse(format!(
                "settings must be a JSON object, got {got}"
            )));
        }
        let raw: RawSettings =
            serde_path_to_error::deserialize(value).map_err(|e| SettingsError::Parse(describe_path_error(&e)))?;
        resolve(raw)
    }

    /// Parses settings from raw JSON bytes (what `validate_settings` receives).
    pub fn from_slice(bytes: &[u8]) -> Result<Settings, SettingsError> {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| SettingsError::Parse(e.to_string()))?;
        Settings::from_json(&value)
    }

    pub fn is_tenant_namespace(&self, namespace: &str) -> bool {
        namespace.starts_with(&self.tenant_namespace_prefix)
    }

    /// A request from a member of `trustedGroups` or a user listed in `trustedUsers`.
    pub fn is_trusted(&self, username: &str, groups: &[String]) -> bool {
        self.trusted_users.iter().any(|u| u == username)
            || groups.iter().any(|g| self.trusted_groups.iter().any(|t| t == g))
    }
}

fn resolve(raw: RawSettings) -> Result<Settings, SettingsError> {
    let d = Settings::default();
    let host_label = raw.host_label.unwrap_or(d.host_label);
    let gateway_label = raw.gateway_label.unwrap_or(d.gateway_label);
    let protected = raw
        .protected_namespace_labels
        .unwrap_or_else(|| vec![host_label.clone(), gateway_label.clone()]);
    let settings = Settings {
        tenant_namespace_prefix: raw.tenant_namespace_prefix.unwrap_or(d.tenant_namespace_prefix),
        host_label,
        gateway_label,
        protected_namespace_labels: protected,
        trusted_groups: raw.trusted_groups.unwrap_or(d.trusted_groups),
        trusted_users: raw.trusted_users.unwrap_or(d.trusted_users),
        require_route_hostnames: raw.require_route_hostnames.unwrap_or(d.require_route_hostnames),
        allow_gateway_without_host_label: raw
            .allow_gateway_without_host_label
            .unwrap_or(d.allow_gateway_without_host_label),
        allow_l4_routes_in_tenant_namespaces: raw
            .allow_l4_routes_in_tenant_namespaces
            .unwrap_or(d.allow_l4_routes_in_tenant_namespaces),
        platform_root_host: raw.platform_root_host.map(|h| h.to_ascii_lowercase()),
        forbid_tenant_attached_namespaces: raw
            .forbid_tenant_attached_namespaces
            .unwrap_or(d.forbid_tenant_attached_namespaces),
        allowed_gateway_classes: raw.allowed_gateway_classes.unwrap_or(d.allowed_gateway_classes),
        allow_ingress_snippets: raw.allow_ingress_snippets.unwrap_or(d.allow_ingress_snippets),
        allowed_acme_servers: raw.allowed_acme_servers.unwrap_or(d.allowed_acme_servers),
    };
    validate(&settings)?;
    Ok(settings)
}

fn validate(s: &Settings) -> Result<(), SettingsError> {
    if s.tenant_namespace_prefix.is_empty() {
        return Err(SettingsError::EmptyTenantPrefix);
    }
    check_label_key("hostLabel", &s.host_label)?;
    check_label_key("gatewayLabel", &s.gateway_label)?;
    for key in &s.protected_namespace_labels {
        check_label_key("protectedNamespaceLabels", key)?;
    }
    for (setting, list) in [
        ("trustedGroups", &s.trusted_groups),
        ("trustedUsers", &s.trusted_users),
        ("allowedGatewayClasses", &s.allowed_gateway_classes),
        ("allowedAcmeServers", &s.allowed_acme_servers),
    ] {
        if list.iter().any(|e| e.trim().is_empty()) {
            return Err(SettingsError::EmptyEntry {
                setting: setting.to_string(),
            });
        }
    }
    if let Some(root) = &s.platform_root_host {
        let parsed = Hostname::parse(root).map_err(|source| SettingsError::InvalidRootHost {
            value: root.clone(),
            source,
        })?;
        if parsed.is_wildcard() {
            return Err(SettingsError::WildcardRootHost { value: root.clone() });
        }
    }
    Ok(())
}

fn check_label_key(setting: &str, key: &str) -> Result<(), SettingsError> {
    label_key_problem(key).map_or(Ok(()), |reason| {
        Err(SettingsError::InvalidLabelKey {
            setting: setting.to_string(),
            value: key.to_string(),
            reason,
        })
    })
}

/// Kubernetes qualified-name rules for label keys: optional DNS-subdomain prefix and `/`, then a
/// 1-63 character name of alphanumerics, `-`, `_`, `.` that starts and ends alphanumeric.
pub fn label_key_problem(key: &str) -> Option<String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        if p.is_empty() || p.len() > 253 {
            return Some("the prefix must be 1-253 characters".to_string());
        }
        if !p.split('.').all(crate::dns::is_dns_label) {
            return Some("the prefix must be a lowercase DNS subdomain".to_string());
        }
    }
    if name.is_empty() || name.len() > 63 {
        return Some("the name must be 1-63 characters".to_string());
    }
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let body_ok = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !body_ok || !edge_ok(name.chars().next()) || !edge_ok(name.chars().last()) {
        return Some("the name must be alphanumerics, '-', '_' or '.', starting and ending alphanumeric".to_string());
    }
    None
}

/// `path: serde message`, or just the message at the top level.
pub(crate) fn describe_path_error(e: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let path = e.path().to_string();
    if path.is_empty() || path == "." {
        e.inner().to_string()
    } else {
        format!("{path}: {}", e.inner())
    }
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
