//! Benchmark floor: the least a context-aware policy can do. It parses the validation payload,
//! reads the request's Namespace through the same host capability as the real policy, and
//! accepts. `policy/floor` in the benchmark is the cost of the actual hostname rules.

use std::collections::BTreeMap;

use kubewarden_policy_sdk::host_capabilities::kubernetes::{GetResourceRequest, get_resource};
use kubewarden_policy_sdk::wapc_guest::{self as guest, CallResult};
use kubewarden_policy_sdk::{accept_request, protocol_version_guest};
use serde::Deserialize;
use serde_json::Value;

#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    guest::register_function("validate", validate);
    guest::register_function("validate_settings", validate_settings);
    guest::register_function("protocol_version", protocol_version_guest);
}

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

fn validate(payload: &[u8]) -> CallResult {
    let payload: Value = serde_json::from_slice(payload)?;
    let namespace = payload["request"]["namespace"].as_str().unwrap_or_default();
    if !namespace.is_empty() {
        let request = GetResourceRequest {
            api_version: "v1".to_string(),
            kind: "Namespace".to_string(),
            name: namespace.to_string(),
            namespace: None,
            disable_cache: false,
            field_masks: None,
        };
        let labels = get_resource::<NamespaceObject>(&request)
            .ok()
            .and_then(|ns| ns.metadata)
            .and_then(|m| m.labels);
        std::hint::black_box(labels);
    }
    accept_request()
}

fn validate_settings(_payload: &[u8]) -> CallResult {
    Ok(br#"{"valid":true,"message":null}"#.to_vec())
}
