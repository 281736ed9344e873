//! Host capabilities: what a policy may ask the host via `__host_call`, the
//! access control policy-server applies, and pluggable answer providers.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value;

use crate::metadata::ContextAwareResource;

/// A host call as received from the guest (binding already checked).
#[derive(Debug, Clone, PartialEq)]
pub struct HostRequest {
    pub namespace: String,
    pub operation: String,
    /// The guest payload parsed as JSON (kubewarden payloads are JSON).
    pub payload: Value,
}

/// Answers the host calls that pass access control (everything except
/// `tracing/log`, which the host handles itself). `Err` becomes a failed
/// `__host_call` seen by the guest, with the string as the error text.
pub trait HostCapabilities: Send + Sync {
    fn call(&self, request: &HostRequest) -> Result<Vec<u8>, String>;
}

/// Default provider: no live cluster mode exists, so every capability fails.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoClusterHost;

impl HostCapabilities for NoClusterHost {
    fn call(&self, request: &HostRequest) -> Result<Vec<u8>, String> {
        Err(format!(
            "tgw-kwctl cannot serve the '{}/{}' host capability: it has no live Kubernetes/OCI \
             mode; use --replay-host-capabilities-interactions <session.yml>",
            request.namespace, request.operation
        ))
    }
}

/// Adapts a closure into a provider (benchmarks, tests).
pub struct FnHost<F>(pub F);

impl<F> HostCapabilities for FnHost<F>
where
    F: Fn(&HostRequest) -> Result<Vec<u8>, String> + Send + Sync,
{
    fn call(&self, request: &HostRequest) -> Result<Vec<u8>, String> {
        (self.0)(request)
    }
}

/// In-memory cluster for benchmarks: answers `kubernetes/get_resource` for
/// `v1/Namespace` from a map (name -> object) and `list_resources_all` for
/// Namespaces with all of them. Anything else fails like the real host does
/// when an object is missing.
#[derive(Debug, Default, Clone)]
pub struct InMemoryHost {
    pub namespaces: BTreeMap<String, Value>,
}

impl InMemoryHost {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a Namespace with the given labels.
    pub fn with_namespace(mut self, name: &str, labels: &BTreeMap<String, String>) -> Self {
        let object = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "labels": labels},
        });
        self.namespaces.insert(name.to_owned(), object);
        self
    }
}

impl HostCapabilities for InMemoryHost {
    fn call(&self, request: &HostRequest) -> Result<Vec<u8>, String> {
        let field = |k: &str| request.payload.get(k).and_then(Value::as_str).unwrap_or_default();
        let is_namespace = field("api_version") == "v1" && field("kind") == "Namespace";
        match (request.namespace.as_str(), request.operation.as_str()) {
            ("kubernetes", "get_resource") if is_namespace => {
                let name = field("name");
                let object = self
                    .namespaces
                    .get(name)
                    .ok_or_else(|| format!("Cannot find v1/Namespace named '{name}'"))?;
                serde_json::to_vec(object).map_err(|e| e.to_string())
            }
            ("kubernetes", "list_resources_all") if is_namespace => {
                let list = serde_json::json!({
                    "apiVersion": "v1",
                    "kind": "NamespaceList",
                    "metadata": {},
                    "items": self.namespaces.values().collect::<Vec<_>>(),
                });
                serde_json::to_vec(&list).map_err(|e| e.to_string())
            }
            (ns, op) => Err(format!("in-memory host cannot answer {ns}/{op}")),
        }
    }
}

/// Every host capability path a Kubewarden host knows (besides `tracing/log`).
pub const KNOWN_CAPABILITIES: [&str; 12] = [
    "kubernetes/get_resource",
    "kubernetes/list_resources_by_namespace",
    "kubernetes/list_resources_all",
    "kubernetes/can_i",
    "oci/v1/manifest_digest",
    "oci/v1/oci_manifest",
    "oci/v1/oci_manifest_config",
    "oci/v1/verify",
    "oci/v2/verify",
    "net/v1/dns_lookup_host",
    "crypto/v1/is_certificate_trusted",
    "tracing/log",
];

/// Checks a capability pattern against the capability tree: `*`, an exact
/// known path, or `<prefix>/*` where `<prefix>` is a branch of the tree.
pub fn validate_capability_pattern(pattern: &str) -> Result<(), String> {
    let valid = pattern == "*"
        || KNOWN_CAPABILITIES.contains(&pattern)
        || pattern.strip_suffix("/*").is_some_and(|prefix| {
            KNOWN_CAPABILITIES
                .iter()
                .any(|known| known.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('/')))
        });
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{pattern:?} is not a known host capability (expected '*', a path such as \
             'kubernetes/get_resource', or a prefix such as 'oci/v1/*')"
        ))
    }
}

/// The access rules of policy-evaluator's callback handler.
#[derive(Debug, Clone)]
pub struct AccessControl {
    /// `(apiVersion, kind)` pairs the policy may read (contextAwareResources).
    pub context_aware_resources: BTreeSet<ContextAwareResource>,
    /// Host capability patterns: `*`, `oci/*`, `oci/v1/*`, or an exact path.
    pub allowed_capabilities: Vec<String>,
}

impl Default for AccessControl {
    fn default() -> Self {
        Self {
            context_aware_resources: BTreeSet::new(),
            allowed_capabilities: vec!["*".to_owned()],
        }
    }
}

const KUBERNETES_READS: [&str; 3] = ["get_resource", "list_resources_by_namespace", "list_resources_all"];

impl AccessControl {
    pub fn capability_allowed(&self, path: &str) -> bool {
        self.allowed_capabilities.iter().any(|pattern| {
            if pattern == "*" {
                true
            } else if let Some(prefix) = pattern.strip_suffix("/*") {
                path.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('/'))
            } else {
                pattern == path
            }
        })
    }

    /// Checks a host call; `Ok(None)` for `tracing/log` (handled by the host).
    pub fn check(
        &self,
        binding: &str,
        namespace: &str,
        operation: &str,
        payload: &[u8],
    ) -> Result<Option<HostRequest>, String> {
        if binding != "kubewarden" {
            return Err(format!("unknown binding: {binding}"));
        }
        if namespace == "tracing" {
            return if operation == "log" {
                Ok(None)
            } else {
                Err(format!("unknown operation: tracing/{operation}"))
            };
        }
        let path = format!("{namespace}/{operation}");
        if !self.capability_allowed(&path) {
            return Err(format!(
                "Policy has not been granted access to the '{path}' host capability. \
                 The violation has been reported."
            ));
        }
        let payload: Value =
            serde_json::from_slice(payload).map_err(|e| format!("cannot decode the {path} request payload: {e}"))?;
        if namespace == "kubernetes" && KUBERNETES_READS.contains(&operation) {
            let field = |k: &str| {
                payload
                    .get(k)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| format!("cannot decode the {path} request payload: missing field `{k}`"))
            };
            let resource = ContextAwareResource {
                api_version: field("api_version")?,
                kind: field("kind")?,
            };
            if !self.context_aware_resources.contains(&resource) {
                return Err(format!(
                    "Policy has not been granted access to Kubernetes {}/{} resources. \
                     The violation has been reported.",
                    resource.api_version, resource.kind
                ));
            }
        }
        Ok(Some(HostRequest {
            namespace: namespace.to_owned(),
            operation: operation.to_owned(),
            payload,
        }))
    }
}

/// Where policy log lines (`tracing/log`) go.
pub type LogSink = Arc<dyn Fn(&[u8]) + Send + Sync>;

/// Formats a policy `tracing/log` payload as one stderr line.
pub fn format_policy_log(payload: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Map<String, Value>>(payload) {
        Ok(mut fields) => {
            let level = fields
                .remove("level")
                .and_then(|v| v.as_str().map(str::to_uppercase))
                .unwrap_or_else(|| "INFO".to_owned());
            let message = fields
                .remove("message")
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .unwrap_or_default();
            for noisy in ["column", "file", "line"] {
                fields.remove(noisy);
            }
            let mut line = format!("{level:>5} policy: {message}");
            for (k, v) in fields {
                let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                line.push_str(&format!(" {k}={v}"));
            }
            line
        }
        Err(_) => format!(" INFO policy: {}", String::from_utf8_lossy(payload)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl(resources: &[(&str, &str)], caps: &[&str]) -> AccessControl {
        AccessControl {
            context_aware_resources: resources
                .iter()
                .map(|(a, k)| ContextAwareResource {
                    api_version: (*a).into(),
                    kind: (*k).into(),
                })
                .collect(),
            allowed_capabilities: caps.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    const GET_NS: &[u8] = br#"{"api_version":"v1","kind":"Namespace","name":"default","namespace":null,"disable_cache":false,"field_masks":null}"#;

    #[test]
    fn binding_and_tracing() {
        let a = AccessControl::default();
        assert_eq!(
            a.check("kubernetes", "x", "y", b"{}"),
            Err("unknown binding: kubernetes".into())
        );
        assert_eq!(a.check("kubewarden", "tracing", "log", b"not json"), Ok(None));
    }

    #[test]
    fn kubernetes_allow_list() {
        let denied = acl(&[], &["*"]).check("kubewarden", "kubernetes", "get_resource", GET_NS);
        assert_eq!(
            denied,
            Err("Policy has not been granted access to Kubernetes v1/Namespace resources. The violation has been reported.".into())
        );
        let ok = acl(&[("v1", "Namespace")], &["*"])
            .check("kubewarden", "kubernetes", "get_resource", GET_NS)
            .expect("allowed")
            .expect("forwarded");
        assert_eq!(ok.payload["name"], "default");
        // can_i is not gated by contextAwareResources.
        assert!(
            acl(&[], &["*"])
                .check("kubewarden", "kubernetes", "can_i", b"{}")
                .is_ok()
        );
    }

    #[test]
    fn capability_patterns() {
        let a = acl(&[("v1", "Namespace")], &["oci/v1/*", "net/v1/dns_lookup_host"]);
        assert!(a.capability_allowed("oci/v1/verify"));
        assert!(!a.capability_allowed("oci/v2/verify"));
        assert!(!a.capability_allowed("oci/v1"));
        assert!(a.capability_allowed("net/v1/dns_lookup_host"));
        assert_eq!(
            a.check("kubewarden", "kubernetes", "get_resource", GET_NS),
            Err("Policy has not been granted access to the 'kubernetes/get_resource' host capability. The violation has been reported.".into())
        );
        assert!(acl(&[], &["oci/*"]).capability_allowed("oci/v2/verify"));
    }

    #[test]
    fn capability_pattern_validation() {
        for ok in [
            "*",
            "kubernetes/*",
            "oci/*",
            "oci/v1/*",
            "oci/v2/verify",
            "kubernetes/get_resource",
        ] {
            assert_eq!(validate_capability_pattern(ok), Ok(()), "{ok}");
        }
        assert_eq!(
            validate_capability_pattern("kubernetes/get_resources"),
            Err("\"kubernetes/get_resources\" is not a known host capability (expected '*', a path such as 'kubernetes/get_resource', or a prefix such as 'oci/v1/*')".into())
        );
        for bad in ["oci/v3/*", "kube/*", "", "oci/v1"] {
            assert!(validate_capability_pattern(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn in_memory_namespaces() {
        let labels = BTreeMap::from([("tenant".to_owned(), "a".to_owned())]);
        let host = InMemoryHost::new().with_namespace("team-a", &labels);
        let req = |name: &str| HostRequest {
            namespace: "kubernetes".into(),
            operation: "get_resource".into(),
            payload: serde_json::json!({"api_version": "v1", "kind": "Namespace", "name": name}),
        };
        let got = host.call(&req("team-a")).expect("found");
        assert_eq!(
            String::from_utf8(got).expect("utf8"),
            r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"labels":{"tenant":"a"},"name":"team-a"}}"#
        );
        assert_eq!(
            host.call(&req("nope")),
            Err("Cannot find v1/Namespace named 'nope'".into())
        );
    }

    #[test]
    fn log_format() {
        assert_eq!(
            format_policy_log(br#"{"level":"warn","message":"hi","line":3,"policy":"p","k":1}"#),
            " WARN policy: hi k=1 policy=p"
        );
    }
}
