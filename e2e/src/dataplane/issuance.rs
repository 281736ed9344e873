//! cert-manager's part, played by the test: for every Certificate the controller asks for, a
//! `kubernetes.io/tls` Secret with exactly its `secretName` and `dnsNames`, issued by the
//! [`TestCa`], and the Certificate marked Ready. No ACME order, challenge or renewal happens.

use anyhow::{Context, Result};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::{Client, ResourceExt};
use serde_json::json;

use super::pki::TestCa;

const FIELD_MANAGER: &str = "tgw-e2e-issuance";
/// Annotation on issued Secrets: the DNS names they were issued for (re-issued when they change).
pub const ANNOTATION_DNS_NAMES: &str = "tgw-e2e/dns-names";

fn certificates(client: &Client, ns: &str) -> Api<DynamicObject> {
    let ar = ApiResource::from_gvk(&GroupVersionKind::gvk("cert-manager.io", "v1", "Certificate"));
    Api::namespaced_with(client.clone(), ns, &ar)
}

/// Issues every missing or outdated Secret for the Certificates in `namespaces`; returns how many.
pub async fn issue_certificates(client: &Client, ca: &TestCa, namespaces: &[&str]) -> Result<usize> {
    let mut issued = 0;
    for ns in namespaces {
        let api = certificates(client, ns);
        let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
        for c in api.list(&Default::default()).await?.items {
            if c.metadata.deletion_timestamp.is_some() {
                continue;
            }
            let name = c.name_any();
            let secret_name = c.data["spec"]["secretName"]
                .as_str()
                .with_context(|| format!("Certificate {ns}/{name} has no secretName"))?
                .to_owned();
            let dns: Vec<String> = c.data["spec"]["dnsNames"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect();
            let want = dns.join(",");
            let current = secrets.get_opt(&secret_name).await?;
            if current
                .as_ref()
                .and_then(|s| s.annotations().get(ANNOTATION_DNS_NAMES))
                .is_some_and(|v| *v == want)
            {
                continue;
            }
            let cert = ca.issue(&format!("Secret {ns}/{secret_name}"), &dns)?;
            let secret: Secret = serde_json::from_value(json!({
                "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                "metadata": {"name": secret_name, "namespace": ns,
                             "annotations": {ANNOTATION_DNS_NAMES: want}},
                "stringData": {"tls.crt": cert.cert_pem, "tls.key": cert.key_pem},
            }))?;
            secrets
                .patch(
                    &secret_name,
                    &PatchParams::apply(FIELD_MANAGER).force(),
                    &Patch::Apply(&secret),
                )
                .await
                .with_context(|| format!("applying Secret {ns}/{secret_name}"))?;
            let ready = json!({"status": {"conditions": [{"type": "Ready", "status": "True", "reason": "Ready",
                "message": "issued by the tgw-e2e test CA", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}});
            api.patch_status(&name, &PatchParams::default(), &Patch::Merge(ready))
                .await
                .with_context(|| format!("marking Certificate {ns}/{name} Ready"))?;
            issued += 1;
        }
    }
    Ok(issued)
}
