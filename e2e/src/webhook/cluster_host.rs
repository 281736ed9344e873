//! Host capabilities answered from the live cluster: `kubernetes/get_resource` for v1/Namespace
//! (the only resource the policy may read), through the webhook's own kube client.

use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
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
        let supported = request.namespace == "kubernetes"
            && request.operation == "get_resource"
            && field("api_version") == "v1"
            && field("kind") == "Namespace";
        if !supported {
            return Err(format!(
                "the e2e webhook does not serve {}/{}",
                request.namespace, request.operation
            ));
        }
        let name = field("name");
        let api = self.namespaces.clone();
        let found = self.runtime.block_on(async move { api.get_opt(&name).await });
        match found {
            Ok(Some(ns)) => serde_json::to_vec(&ns).map_err(|e| e.to_string()),
            Ok(None) => Err(format!("Cannot find v1/Namespace named '{}'", field("name"))),
            Err(e) => Err(e.to_string()),
        }
    }
}
