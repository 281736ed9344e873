//! The kubeconfig of a test cluster: one context per [`Identity`], the API server's self-signed
//! CA inlined as `certificate-authority-data`.

use std::path::Path;

use anyhow::Context;
use base64::Engine;
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::json;

use crate::identity::Identity;

pub const CLUSTER_NAME: &str = "tgw-e2e";

/// Writes the kubeconfig; the current context is `admin`.
pub fn write(path: &Path, server: &str, ca_pem: &[u8], tokens: &[(Identity, String)]) -> anyhow::Result<()> {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    let users: Vec<_> = tokens
        .iter()
        .map(|(id, token)| json!({"name": id.context(), "user": {"token": token}}))
        .collect();
    let contexts: Vec<_> = tokens
        .iter()
        .map(|(id, _)| {
            let mut ctx = json!({"cluster": CLUSTER_NAME, "user": id.context()});
            if let Some(ns) = default_namespace(*id) {
                ctx["namespace"] = json!(ns);
            }
            json!({"name": id.context(), "context": ctx})
        })
        .collect();
    let doc = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CLUSTER_NAME, "cluster": {"server": server, "certificate-authority-data": ca}}],
        "users": users,
        "contexts": contexts,
        "current-context": Identity::Admin.context(),
    });
    let text = serde_yaml::to_string(&doc).context("serialising the kubeconfig")?;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// A service account's own namespace is its contexts' default namespace.
fn default_namespace(id: Identity) -> Option<&'static str> {
    id.username().strip_prefix("system:serviceaccount:")?.split(':').next()
}

/// A client for one context of the kubeconfig at `path`.
pub async fn client(path: &Path, id: Identity) -> anyhow::Result<kube::Client> {
    let kubeconfig = Kubeconfig::read_from(path).with_context(|| format!("reading kubeconfig {}", path.display()))?;
    let options = KubeConfigOptions {
        context: Some(id.context().to_owned()),
        ..Default::default()
    };
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .with_context(|| format!("loading context {} from {}", id.context(), path.display()))?;
    kube::Client::try_from(config).with_context(|| format!("building a client for {}", id.context()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_accounts_default_to_their_namespace() {
        assert_eq!(default_namespace(Identity::Tenant), Some("tenant-test"));
        assert_eq!(default_namespace(Identity::Controller), Some("cozy-system"));
        assert_eq!(default_namespace(Identity::Admin), None);
    }
}
