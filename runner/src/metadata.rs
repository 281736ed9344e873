//! Kubewarden policy metadata (`io.kubewarden.metadata` custom section,
//! `metadata.yml`) and the checks `kwctl annotate` applies to it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Name of the wasm custom section holding the metadata JSON.
pub const METADATA_SECTION: &str = "io.kubewarden.metadata";

pub const ANNOTATION_TITLE: &str = "io.kubewarden.policy.title";
pub const ANNOTATION_VERSION: &str = "io.kubewarden.policy.version";
pub const ANNOTATION_USAGE: &str = "io.kubewarden.policy.usage";
pub const ANNOTATION_SOURCE: &str = "io.kubewarden.policy.source";
pub const ANNOTATION_KWCTL: &str = "io.kubewarden.kwctl";

/// Policy metadata, camelCase like Kubewarden's. Unknown keys are ignored
/// (kwctl is lenient as well).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol_version: Option<String>,
    #[serde(default)]
    pub rules: Vec<Rule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    pub mutating: bool,
    #[serde(default = "default_true")]
    pub background_audit: bool,
    #[serde(default)]
    pub context_aware_resources: BTreeSet<ContextAwareResource>,
    #[serde(default)]
    pub execution_mode: ExecutionMode,
    #[serde(default)]
    pub policy_type: PolicyType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_kubewarden_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_capabilities: Option<Vec<String>>,
}

fn default_true() -> bool {
    true
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub api_groups: Vec<String>,
    pub api_versions: Vec<String>,
    pub resources: Vec<String>,
    pub operations: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// One `(apiVersion, kind)` pair a context-aware policy may read.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "camelCase")]
pub struct ContextAwareResource {
    pub api_version: String,
    pub kind: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExecutionMode {
    #[default]
    #[serde(rename = "kubewarden-wapc")]
    KubewardenWapc,
    #[serde(rename = "opa")]
    Opa,
    #[serde(rename = "gatekeeper")]
    Gatekeeper,
    #[serde(rename = "wasi")]
    Wasi,
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum PolicyType {
    #[default]
    Kubernetes,
    Raw,
}

/// Reads the embedded metadata of a module, if it was annotated.
pub fn read_metadata(wasm: &[u8]) -> Result<Option<Metadata>> {
    let Some(data) = crate::wasm::find_custom_section(wasm, METADATA_SECTION)? else {
        return Ok(None);
    };
    let mut de = serde_json::Deserializer::from_slice(data);
    let metadata: Metadata = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| Error::Metadata(format!("{METADATA_SECTION} section: {e}")))?;
    Ok(Some(metadata))
}

/// Parses `metadata.yml` (YAML or JSON), naming the offending field on error.
pub fn parse_metadata_yaml(text: &str) -> Result<Metadata> {
    let de = serde_yaml::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.inner().to_string();
        // serde_yaml already prefixes nested errors with the path.
        if path == "." || inner.starts_with(&path) {
            Error::Metadata(inner)
        } else {
            Error::Metadata(format!("{path}: {inner}"))
        }
    })
}

const OPERATIONS: [&str; 5] = ["CREATE", "UPDATE", "DELETE", "CONNECT", "*"];

impl Metadata {
    /// The checks `kwctl annotate` performs before embedding the metadata.
    pub fn validate(&self) -> Result<()> {
        for (i, rule) in self.rules.iter().enumerate() {
            rule.validate(&format!("rules[{i}]"))?;
        }
        for (i, res) in self.context_aware_resources.iter().enumerate() {
            if res.api_version.trim().is_empty() {
                return Err(Error::Metadata(format!(
                    "contextAwareResources[{i}].apiVersion: must not be empty"
                )));
            }
            if res.kind.trim().is_empty() {
                return Err(Error::Metadata(format!(
                    "contextAwareResources[{i}].kind: must not be empty"
                )));
            }
        }
        if let Some(annotations) = &self.annotations {
            if let Some(title) = annotations.get(ANNOTATION_TITLE)
                && !is_rfc1123_subdomain(title)
            {
                return Err(Error::Metadata(format!(
                    "annotations.\"{ANNOTATION_TITLE}\": {title:?} is not a valid RFC 1123 name \
                     (lowercase alphanumerics, '-' and '.', starting and ending with an alphanumeric)"
                )));
            }
            if let Some(version) = annotations.get(ANNOTATION_VERSION)
                && let Err(e) = semver::Version::parse(version)
            {
                return Err(Error::Metadata(format!(
                    "annotations.\"{ANNOTATION_VERSION}\": {version:?} is not a semantic version: {e}"
                )));
            }
        }
        if let Some(min) = &self.minimum_kubewarden_version
            && let Err(e) = semver::Version::parse(min)
        {
            return Err(Error::Metadata(format!(
                "minimumKubewardenVersion: {min:?} is not a semantic version: {e}"
            )));
        }
        if let Some(caps) = &self.host_capabilities {
            for (i, cap) in caps.iter().enumerate() {
                crate::host::validate_capability_pattern(cap)
                    .map_err(|e| Error::Metadata(format!("hostCapabilities[{i}]: {e}")))?;
            }
        }
        Ok(())
    }
}

impl Rule {
    fn validate(&self, at: &str) -> Result<()> {
        let lists = [
            ("apiGroups", &self.api_groups),
            ("apiVersions", &self.api_versions),
            ("resources", &self.resources),
            ("operations", &self.operations),
        ];
        for (field, values) in lists {
            if values.is_empty() {
                return Err(Error::Metadata(format!("{at}.{field}: must not be empty")));
            }
            if values.len() > 1 && values.iter().any(|v| v == "*") {
                return Err(Error::Metadata(format!(
                    "{at}.{field}: if '*' is present, it must be the only entry"
                )));
            }
        }
        for (field, values) in [("apiVersions", &self.api_versions), ("resources", &self.resources)] {
            if values.iter().any(|v| v.is_empty()) {
                return Err(Error::Metadata(format!(
                    "{at}.{field}: entries must not be empty strings"
                )));
            }
        }
        for op in &self.operations {
            if !OPERATIONS.contains(&op.as_str()) {
                return Err(Error::Metadata(format!(
                    "{at}.operations: {op:?} is not a valid operation \
                     (expected one of CREATE, UPDATE, DELETE, CONNECT, *)"
                )));
            }
        }
        validate_resources(at, &self.resources)?;
        if let Some(scope) = &self.scope
            && !["Cluster", "Namespaced", "*"].contains(&scope.as_str())
        {
            return Err(Error::Metadata(format!(
                "{at}.scope: {scope:?} is not valid (expected Cluster, Namespaced or *)"
            )));
        }
        Ok(())
    }
}

/// Kubernetes' resource/subresource wildcard rules for webhook rules.
fn validate_resources(at: &str, resources: &[String]) -> Result<()> {
    let mut whole_wildcards = BTreeSet::new(); // "res/*" and "*"
    let mut sub_wildcards = BTreeSet::new(); // "*/sub"
    let has_all = resources.iter().any(|r| r == "*/*");
    if has_all && resources.len() > 1 {
        return Err(Error::Metadata(format!(
            "{at}.resources: if '*/*' is present, it must be the only entry"
        )));
    }
    for res in resources {
        let mut parts = res.splitn(2, '/');
        let resource = parts.next().unwrap_or_default();
        let sub = parts.next();
        if resource.is_empty() || sub.is_some_and(|s| s.is_empty() || s.contains('/')) {
            return Err(Error::Metadata(format!(
                "{at}.resources: {res:?} must be <resource> or <resource>/<subresource>"
            )));
        }
        match sub {
            Some("*") => {
                whole_wildcards.insert(resource.to_owned());
            }
            Some(s) if resource == "*" => {
                sub_wildcards.insert(s.to_owned());
            }
            _ => {}
        }
    }
    for res in resources {
        let mut parts = res.splitn(2, '/');
        let resource = parts.next().unwrap_or_default();
        match parts.next() {
            Some("*") | None => {}
            Some(sub) => {
                if resource != "*" && whole_wildcards.contains(resource) {
                    return Err(Error::Metadata(format!(
                        "{at}.resources: {res:?} is redundant with \"{resource}/*\""
                    )));
                }
                if resource != "*" && sub_wildcards.contains(sub) {
                    return Err(Error::Metadata(format!(
                        "{at}.resources: {res:?} is redundant with \"*/{sub}\""
                    )));
                }
            }
        }
    }
    Ok(())
}

/// RFC 1123 DNS subdomain: what Kubernetes accepts as an object name.
pub fn is_rfc1123_subdomain(name: &str) -> bool {
    if name.is_empty() || name.len() > 253 {
        return false;
    }
    name.split('.').all(|label| {
        let bytes = label.as_bytes();
        !bytes.is_empty()
            && bytes.len() <= 63
            && bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
            && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
            && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
rules:
- apiGroups: ["gateway.networking.k8s.io"]
  apiVersions: ["v1"]
  resources: ["httproutes"]
  operations: ["CREATE", "UPDATE"]
mutating: false
contextAwareResources:
- apiVersion: v1
  kind: Namespace
executionMode: kubewarden-wapc
annotations:
  io.kubewarden.policy.title: tenant-gateway
  io.kubewarden.policy.version: 0.1.0
somethingUnknown: is ignored
"#;

    fn err_of(yaml: &str) -> String {
        match parse_metadata_yaml(yaml).and_then(|m| m.validate()) {
            Ok(()) => String::from("<ok>"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn good_metadata_parses_with_defaults() {
        let m = parse_metadata_yaml(GOOD).expect("parse");
        m.validate().expect("valid");
        assert!(m.background_audit);
        assert_eq!(m.policy_type, PolicyType::Kubernetes);
        assert_eq!(
            serde_json::to_string(&m).expect("json"),
            r#"{"rules":[{"apiGroups":["gateway.networking.k8s.io"],"apiVersions":["v1"],"resources":["httproutes"],"operations":["CREATE","UPDATE"]}],"annotations":{"io.kubewarden.policy.title":"tenant-gateway","io.kubewarden.policy.version":"0.1.0"},"mutating":false,"backgroundAudit":true,"contextAwareResources":[{"apiVersion":"v1","kind":"Namespace"}],"executionMode":"kubewarden-wapc","policyType":"kubernetes"}"#
        );
    }

    #[test]
    fn mutating_is_required() {
        assert_eq!(err_of("rules: []\n"), "invalid metadata: missing field `mutating`");
    }

    #[test]
    fn enums_name_the_field() {
        let e = err_of("mutating: false\nexecutionMode: rego\n");
        assert!(
            e.starts_with("invalid metadata: executionMode: unknown variant `rego`"),
            "{e}"
        );
        let e = err_of("mutating: false\npolicyType: weird\n");
        assert!(
            e.starts_with("invalid metadata: policyType: unknown variant `weird`"),
            "{e}"
        );
    }

    #[test]
    fn rule_errors() {
        let rule = |groups: &str, ops: &str, res: &str| {
            format!(
                "mutating: true\nrules:\n- apiGroups: {groups}\n  apiVersions: [v1]\n  resources: {res}\n  operations: {ops}\n"
            )
        };
        assert_eq!(
            err_of(&rule("[]", "[CREATE]", "[pods]")),
            "invalid metadata: rules[0].apiGroups: must not be empty"
        );
        assert_eq!(
            err_of(&rule(r#"["*", "apps"]"#, "[CREATE]", "[pods]")),
            "invalid metadata: rules[0].apiGroups: if '*' is present, it must be the only entry"
        );
        assert_eq!(
            err_of(&rule(r#"[""]"#, "[PATCH]", "[pods]")),
            r#"invalid metadata: rules[0].operations: "PATCH" is not a valid operation (expected one of CREATE, UPDATE, DELETE, CONNECT, *)"#
        );
        assert_eq!(
            err_of(&rule(r#"[""]"#, "[CREATE]", r#"["*/*", pods]"#)),
            "invalid metadata: rules[0].resources: if '*/*' is present, it must be the only entry"
        );
        assert_eq!(
            err_of(&rule(r#"[""]"#, "[CREATE]", r#"["pods/*", pods/status]"#)),
            r#"invalid metadata: rules[0].resources: "pods/status" is redundant with "pods/*""#
        );
        assert_eq!(err_of(&rule(r#"[""]"#, "['*']", r#"[pods, pods/status]"#)), "<ok>");
    }

    #[test]
    fn context_aware_entries_need_both_fields() {
        let e = err_of("mutating: false\ncontextAwareResources:\n- apiVersion: v1\n");
        assert!(e.contains("contextAwareResources"), "{e}");
        assert!(e.contains("missing field `kind`"), "{e}");
    }

    #[test]
    fn annotation_checks() {
        assert_eq!(
            err_of("mutating: false\nannotations:\n  io.kubewarden.policy.title: Bad_Name\n"),
            r#"invalid metadata: annotations."io.kubewarden.policy.title": "Bad_Name" is not a valid RFC 1123 name (lowercase alphanumerics, '-' and '.', starting and ending with an alphanumeric)"#
        );
        let e = err_of("mutating: false\nannotations:\n  io.kubewarden.policy.version: v1.0\n");
        assert!(
            e.starts_with(
                r#"invalid metadata: annotations."io.kubewarden.policy.version": "v1.0" is not a semantic version"#
            ),
            "{e}"
        );
        let e = err_of("mutating: false\nannotations:\n  foo: [1, 2]\n");
        assert!(e.starts_with("invalid metadata: annotations.foo: invalid type"), "{e}");
    }

    #[test]
    fn host_capabilities_are_checked() {
        assert_eq!(
            err_of("mutating: false\nhostCapabilities: [kubernetes/get_resource, 'oci/*']\n"),
            "<ok>"
        );
        let e = err_of("mutating: false\nhostCapabilities: [kubernetes/get_resource, kubernetes/watch]\n");
        assert!(
            e.starts_with(r#"invalid metadata: hostCapabilities[1]: "kubernetes/watch" is not a known"#),
            "{e}"
        );
    }

    #[test]
    fn rfc1123() {
        assert!(is_rfc1123_subdomain("a.b-c.d1"));
        for bad in ["", "A", "-a", "a-", "a..b", "a_b"] {
            assert!(!is_rfc1123_subdomain(bad), "{bad}");
        }
    }
}
