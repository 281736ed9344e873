//! Host capabilities answered from the live cluster, through the webhook's own kube client:
//! `kubernetes/get_resource` and `kubernetes/list_resources_all` (with its label selector) for
//! v1/Namespace, the only resource the policy may read. Field masks are not applied: the policy
//! reads only what it asked for.

use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::ListParams;
use tgw_runner::{HostCapabilities, HostRequest};
use tokio::runtime::Handle;

pub(crate) struct ClusterHost {
    pub namespaces: Api<Namespace>,
    pub runtime: Handle,
}

impl HostCapabilities for ClusterHost {
    /// Called from inside the wasm evaluation, which runs on a blocking thread.
    fn call(&self, request: &HostRequest) -> Result<Vec<u8>, String> {
        let field = |k: &str| {
            request
                .payload
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        let namespace_kind = field("api_version") == "v1" && field("kind") == "Namespace";
        let api = self.namespaces.clone();
        match (request.namespace.as_str(), request.operation.as_str()) {
            ("kubernetes", "get_resource") if namespace_kind => {
                let name = field("name");
                let found = self.runtime.block_on(async move { api.get_opt(&name).await });
                match found {
                    Ok(Some(ns)) => serde_json::to_vec(&ns).map_err(|e| e.to_string()),
                    Ok(None) => Err(format!("Cannot find v1/Namespace named '{}'", field("name"))),
                    Err(e) => Err(e.to_string()),
                }
            }
            ("kubernetes", "list_resources_all") if namespace_kind => {
                let mut params = ListParams::default();
                if let Some(selector) = request.payload.get("label_selector").and_then(|v| v.as_str()) {
                    params = params.labels(selector);
                }
                if let Some(selector) = request.payload.get("field_selector").and_then(|v| v.as_str()) {
                    params = params.fields(selector);
                }
                let listed = self.runtime.block_on(async move { api.list(&params).await });
                let list = listed.map_err(|e| e.to_string())?;
                let body = serde_json::json!({
                    "apiVersion": "v1", "kind": "NamespaceList", "metadata": {}, "items": list.items,
                });
                serde_json::to_vec(&body).map_err(|e| e.to_string())
            }
            (ns, op) => Err(format!("the e2e webhook does not serve {ns}/{op}")),
        }
    }
}
