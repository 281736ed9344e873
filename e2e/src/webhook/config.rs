//! The ValidatingWebhookConfiguration equivalent of the ClusterAdmissionPolicies in
//! `deploy/policy/`: same rules, same `matchConditions` (what Kubewarden's controller copies into
//! the webhook it registers), `failurePolicy: Fail`, no side effects.

use std::path::Path;

use anyhow::{Context, Result};
use k8s_openapi::ByteString;
use k8s_openapi::api::admissionregistration::v1::{
    MatchCondition, RuleWithOperations, ValidatingWebhook, ValidatingWebhookConfiguration, WebhookClientConfig,
};
use kube::api::{ObjectMeta, Patch, PatchParams};
use kube::{Api, Client};

/// One ClusterAdmissionPolicy as a webhook: its name (the URL path segment), rules and conditions.
#[derive(Debug, Clone)]
pub struct WebhookPolicy {
    pub name: String,
    pub rules: Vec<RuleWithOperations>,
    pub match_conditions: Vec<MatchCondition>,
}

/// Whether the registered webhooks carry the policies' `matchConditions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conditions {
    /// As deployed: `spec.matchConditions` of the manifests.
    Deployed,
    /// None: every request the rules match is sent (the policies before they had conditions).
    None,
}

fn load_manifest(manifest: &Path) -> Result<serde_yaml::Value> {
    let text = std::fs::read_to_string(manifest).with_context(|| format!("reading {}", manifest.display()))?;
    serde_yaml::from_str(&text).with_context(|| format!("parsing {}", manifest.display()))
}

/// The admission rules of one ClusterAdmissionPolicy manifest.
pub fn load_policy_rules(manifest: &Path) -> Result<Vec<RuleWithOperations>> {
    let cap = load_manifest(manifest)?;
    let rules = cap["spec"]["rules"].clone();
    let mut rules: Vec<RuleWithOperations> =
        serde_yaml::from_value(rules).with_context(|| format!("{}: spec.rules", manifest.display()))?;
    for rule in &mut rules {
        rule.scope = Some("*".to_string());
    }
    Ok(rules)
}

/// The `matchConditions` of one ClusterAdmissionPolicy manifest (empty when it has none).
pub fn load_match_conditions(manifest: &Path) -> Result<Vec<MatchCondition>> {
    let cap = load_manifest(manifest)?;
    let conditions = cap["spec"]["matchConditions"].clone();
    if conditions.is_null() {
        return Ok(Vec::new());
    }
    serde_yaml::from_value(conditions).with_context(|| format!("{}: spec.matchConditions", manifest.display()))
}

/// Both ClusterAdmissionPolicies in `deploy_dir` (`hostnames.yaml`, `identity.yaml`).
pub fn load_policies(deploy_dir: &Path, conditions: Conditions) -> Result<Vec<WebhookPolicy>> {
    ["hostnames", "identity"]
        .into_iter()
        .map(|name| {
            let manifest = deploy_dir.join(format!("{name}.yaml"));
            Ok(WebhookPolicy {
                name: name.to_string(),
                rules: load_policy_rules(&manifest)?,
                match_conditions: match conditions {
                    Conditions::Deployed => load_match_conditions(&manifest)?,
                    Conditions::None => Vec::new(),
                },
            })
        })
        .collect()
}

/// Registers `url` for both ClusterAdmissionPolicies in `deploy_dir`, with their rules and
/// matchConditions, as the ValidatingWebhookConfiguration `name`.
pub async fn register(client: &Client, name: &str, url: &str, ca_pem: &str, deploy_dir: &Path) -> Result<()> {
    register_with(client, name, url, ca_pem, deploy_dir, Conditions::Deployed).await
}

/// `register`, choosing whether the webhooks carry the matchConditions.
pub async fn register_with(
    client: &Client,
    name: &str,
    url: &str,
    ca_pem: &str,
    deploy_dir: &Path,
    conditions: Conditions,
) -> Result<()> {
    let policies = load_policies(deploy_dir, conditions)?;
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
    policies: &[WebhookPolicy],
) -> ValidatingWebhookConfiguration {
    let webhooks = policies
        .iter()
        .map(|policy| ValidatingWebhook {
            name: format!("{}.tenant-gateway.e2e.io", policy.name),
            admission_review_versions: vec!["v1".to_string()],
            client_config: WebhookClientConfig {
                url: Some(format!("{url}/validate/{}", policy.name)),
                ca_bundle: Some(ByteString(ca_pem.as_bytes().to_vec())),
                service: None,
            },
            failure_policy: Some("Fail".to_string()),
            match_policy: Some("Equivalent".to_string()),
            rules: Some(policy.rules.clone()),
            match_conditions: (!policy.match_conditions.is_empty()).then(|| policy.match_conditions.clone()),
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
