//! The ValidatingWebhookConfiguration equivalent of the ClusterAdmissionPolicies in
//! `deploy/policy/`: same rules, `failurePolicy: Fail`, no side effects.

use std::path::Path;

use anyhow::{Context, Result};
use k8s_openapi::ByteString;
use k8s_openapi::api::admissionregistration::v1::{
    RuleWithOperations, ValidatingWebhook, ValidatingWebhookConfiguration, WebhookClientConfig,
};
use kube::api::{ObjectMeta, Patch, PatchParams};
use kube::{Api, Client};

/// The admission rules of one ClusterAdmissionPolicy manifest.
pub fn load_policy_rules(manifest: &Path) -> Result<Vec<RuleWithOperations>> {
    let text = std::fs::read_to_string(manifest).with_context(|| format!("reading {}", manifest.display()))?;
    let cap: serde_yaml::Value =
        serde_yaml::from_str(&text).with_context(|| format!("parsing {}", manifest.display()))?;
    let rules = cap["spec"]["rules"].clone();
    let mut rules: Vec<RuleWithOperations> =
        serde_yaml::from_value(rules).with_context(|| format!("{}: spec.rules", manifest.display()))?;
    for rule in &mut rules {
        rule.scope = Some("*".to_string());
    }
    Ok(rules)
}

/// Registers `url` for the rules of both ClusterAdmissionPolicies in `deploy_dir`
/// (`hostnames.yaml`, `identity.yaml`) as the ValidatingWebhookConfiguration `name`.
pub async fn register(client: &Client, name: &str, url: &str, ca_pem: &str, deploy_dir: &Path) -> Result<()> {
    let policies = [
        ("hostnames", load_policy_rules(&deploy_dir.join("hostnames.yaml"))?),
        ("identity", load_policy_rules(&deploy_dir.join("identity.yaml"))?),
    ];
    let config = webhook_configuration(name, url, ca_pem, &policies);
    Api::<ValidatingWebhookConfiguration>::all(client.clone())
        .patch(
            name,
            &PatchParams::apply("tgw-e2e-webhook").force(),
            &Patch::Apply(&config),
        )
        .await
        .with_context(|| format!("registering ValidatingWebhookConfiguration {name}"))?;
    Ok(())
}

/// One webhook per policy manifest, all pointing at `url`.
pub fn webhook_configuration(
    name: &str,
    url: &str,
    ca_pem: &str,
    policies: &[(&str, Vec<RuleWithOperations>)],
) -> ValidatingWebhookConfiguration {
    let webhooks = policies
        .iter()
        .map(|(policy, rules)| ValidatingWebhook {
            name: format!("{policy}.tenant-gateway.e2e.io"),
            admission_review_versions: vec!["v1".to_string()],
            client_config: WebhookClientConfig {
                url: Some(format!("{url}/validate/{policy}")),
                ca_bundle: Some(ByteString(ca_pem.as_bytes().to_vec())),
                service: None,
            },
            failure_policy: Some("Fail".to_string()),
            match_policy: Some("Equivalent".to_string()),
            rules: Some(rules.clone()),
            side_effects: "None".to_string(),
            timeout_seconds: Some(10),
            ..ValidatingWebhook::default()
        })
        .collect();
    ValidatingWebhookConfiguration {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            ..ObjectMeta::default()
        },
        webhooks: Some(webhooks),
    }
}
