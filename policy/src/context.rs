//! The only place that talks to the Kubewarden host: reading the request's Namespace.

use std::collections::BTreeMap;

use kubewarden_policy_sdk::host_capabilities::kubernetes::{GetResourceRequest, get_resource};
use serde::Deserialize;
use tgw_core::admission::NamespaceFacts;

#[derive(Clone, Deserialize)]
struct NamespaceObject {
    #[serde(default)]
    metadata: Option<Metadata>,
}

#[derive(Clone, Deserialize)]
struct Metadata {
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
}

/// Reads `v1/Namespace <name>`; any failure (not found, not allowed, bad reply) is reported as
/// unreadable, which core treats as "host label absent".
pub fn namespace_facts(name: &str) -> NamespaceFacts {
    if name.is_empty() {
        return NamespaceFacts::Unreadable {
            reason: "the request names no namespace".to_string(),
        };
    }
    let request = GetResourceRequest {
        api_version: "v1".to_string(),
        kind: "Namespace".to_string(),
        name: name.to_string(),
        namespace: None,
        disable_cache: false,
        field_masks: None,
    };
    match get_resource::<NamespaceObject>(&request) {
        Ok(ns) => NamespaceFacts::Found {
            labels: ns.metadata.and_then(|m| m.labels).unwrap_or_default(),
        },
        // The SDK's text already carries the host's error message.
        Err(e) => NamespaceFacts::Unreadable { reason: e.to_string() },
    }
}
