//! The only place that talks to the Kubewarden host: reading the request's Namespace
//! (`kubernetes/get_resource`) and, for an Ingress host outside the platform apex, listing the
//! Namespaces that carry the host label (`kubernetes/list_resources_all`).

use std::collections::{BTreeMap, BTreeSet};

use kubewarden_policy_sdk::host_capabilities::kubernetes::{GetResourceRequest, ListAllResourcesRequest, get_resource};
use kubewarden_policy_sdk::wapc_guest::host_call;
use serde::Deserialize;
use tgw_core::admission::{Cluster, HostLabel, NamespaceFacts};

#[derive(Clone, Deserialize)]
struct NamespaceObject {
    #[serde(default)]
    metadata: Option<Metadata>,
}

#[derive(Clone, Deserialize)]
struct Metadata {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct NamespaceList {
    #[serde(default)]
    items: Option<Vec<NamespaceObject>>,
}

/// The Kubewarden host as the policy's view of the cluster.
pub struct HostCluster;

impl Cluster for HostCluster {
    fn namespace(&mut self, name: &str) -> NamespaceFacts {
        namespace_facts(name)
    }

    fn host_labels(&mut self, label: &str) -> Result<Vec<HostLabel>, String> {
        list_host_labels(label)
    }
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

/// The request for every Namespace carrying `label` (an existence selector), pruned to the name
/// and the labels. policy-server answers list calls from a watch cache it starts on first use.
pub fn host_labels_request(label: &str) -> ListAllResourcesRequest {
    ListAllResourcesRequest {
        api_version: "v1".to_string(),
        kind: "Namespace".to_string(),
        label_selector: Some(label.to_string()),
        field_selector: None,
        field_masks: Some(BTreeSet::from([
            "metadata.name".to_string(),
            "metadata.labels".to_string(),
        ])),
    }
}

/// Lists the Namespaces carrying `label` through `kubernetes/list_resources_all`. The SDK's
/// `list_all_resources` needs k8s-openapi's full Namespace type; the reply is read into the two
/// fields used instead. A Namespace without the label (a host ignoring the selector) is skipped.
fn list_host_labels(label: &str) -> Result<Vec<HostLabel>, String> {
    let payload = serde_json::to_vec(&host_labels_request(label)).map_err(|e| e.to_string())?;
    let reply = host_call("kubewarden", "kubernetes", "list_resources_all", &payload).map_err(|e| e.to_string())?;
    let list: NamespaceList =
        serde_json::from_slice(&reply).map_err(|e| format!("the Namespace list could not be read: {e}"))?;
    Ok(host_labels_of(list, label))
}

fn host_labels_of(list: NamespaceList, label: &str) -> Vec<HostLabel> {
    list.items
        .unwrap_or_default()
        .into_iter()
        .filter_map(|ns| {
            let meta = ns.metadata?;
            let value = meta.labels?.remove(label)?;
            Some(HostLabel {
                namespace: meta.name.unwrap_or_default(),
                value,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_keeps_only_namespaces_carrying_the_label() {
        let list: NamespaceList = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "NamespaceList", "metadata": {},
            "items": [
                {"metadata": {"name": "tenant-bob", "labels": {"namespace.cozystack.io/host": "bob-shop.test"}}},
                {"metadata": {"name": "default", "labels": {"kubernetes.io/metadata.name": "default"}}},
                {"metadata": {"name": "tenant-x"}},
                {}
            ]
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            host_labels_of(list, "namespace.cozystack.io/host"),
            vec![HostLabel {
                namespace: "tenant-bob".into(),
                value: "bob-shop.test".into()
            }]
        );
    }

    #[test]
    fn the_request_selects_by_label_key_and_prunes_to_name_and_labels() {
        assert_eq!(
            serde_json::to_value(host_labels_request("namespace.cozystack.io/host")).ok(),
            Some(serde_json::json!({
                "api_version": "v1", "kind": "Namespace", "label_selector": "namespace.cozystack.io/host",
                "field_selector": null, "field_masks": ["metadata.labels", "metadata.name"]
            }))
        );
    }
}
