//! The deployable artifacts agree with the policy: the ClusterAdmissionPolicies in
//! `deploy/policy/` cover exactly the rules of `policy/metadata.yml`, split by background-audit
//! safety; their settings are valid; versions agree across metadata, manifests, Artifact Hub
//! metadata and the crate.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_yaml::Value;
use tgw_core::settings::Settings;

fn load(rel: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

type RuleKey = (String, String, String, String);

fn expand(rules: &Value) -> BTreeSet<RuleKey> {
    let list = |v: &Value, k: &str| -> Vec<String> {
        v[k].as_sequence()
            .unwrap_or_else(|| panic!("rule without {k}"))
            .iter()
            .map(|s| s.as_str().unwrap_or_default().to_string())
            .collect()
    };
    let mut out = BTreeSet::new();
    for rule in rules.as_sequence().unwrap_or_else(|| panic!("rules is not a list")) {
        for g in list(rule, "apiGroups") {
            for v in list(rule, "apiVersions") {
                for r in list(rule, "resources") {
                    for o in list(rule, "operations") {
                        out.insert((g.clone(), v.clone(), r.clone(), o));
                    }
                }
            }
        }
    }
    out
}

const VERSION: &str = env!("CARGO_PKG_VERSION");

#[test]
fn cluster_admission_policies_cover_exactly_the_metadata_rules() {
    let metadata = load("policy/metadata.yml");
    let hostnames = load("deploy/policy/hostnames.yaml");
    let identity = load("deploy/policy/identity.yaml");
    let mut covered = expand(&hostnames["spec"]["rules"]);
    let identity_rules = expand(&identity["spec"]["rules"]);
    assert!(covered.is_disjoint(&identity_rules), "a rule is enforced twice");
    covered.extend(identity_rules.clone());
    assert_eq!(covered, expand(&metadata["rules"]));
    let identity_resources: BTreeSet<&str> = identity_rules.iter().map(|(_, _, r, _)| r.as_str()).collect();
    assert_eq!(
        identity_resources,
        BTreeSet::from([
            "gateways",
            "issuers",
            "namespaces",
            "packages",
            "tenantgateways",
            "tenants"
        ])
    );
}

#[test]
fn cluster_admission_policies_are_fail_closed_and_split_by_audit_safety() {
    for (file, audit) in [
        ("deploy/policy/hostnames.yaml", true),
        ("deploy/policy/identity.yaml", false),
    ] {
        let cap = load(file);
        let spec = &cap["spec"];
        assert_eq!(cap["apiVersion"].as_str(), Some("policies.kubewarden.io/v1"), "{file}");
        assert_eq!(cap["kind"].as_str(), Some("ClusterAdmissionPolicy"), "{file}");
        assert_eq!(spec["failurePolicy"].as_str(), Some("Fail"), "{file}");
        assert_eq!(spec["mutating"].as_bool(), Some(false), "{file}");
        assert_eq!(spec["backgroundAudit"].as_bool(), Some(audit), "{file}");
        let module = format!("registry://ghcr.io/tenant-gateway/policies/tenant-gateway-hostnames:v{VERSION}");
        assert_eq!(spec["module"].as_str(), Some(module.as_str()), "{file}");
        let settings: serde_json::Value = serde_json::to_value(&spec["settings"]).unwrap_or_default();
        assert_eq!(
            Settings::from_json(&settings),
            Ok(Settings::default()),
            "{file}: settings are the defaults"
        );
    }
    let metadata = load("policy/metadata.yml");
    for file in ["deploy/policy/hostnames.yaml", "deploy/policy/identity.yaml"] {
        assert_eq!(
            load(file)["spec"]["contextAwareResources"],
            metadata["contextAwareResources"],
            "{file}"
        );
    }
}

#[test]
fn versions_and_descriptions_agree() {
    let metadata = load("policy/metadata.yml");
    let ann = &metadata["annotations"];
    let hub = load("artifacthub-pkg.yml");
    assert_eq!(ann["io.kubewarden.policy.version"].as_str(), Some(VERSION));
    assert_eq!(hub["version"].as_str(), Some(VERSION));
    assert_eq!(hub["name"], ann["io.kubewarden.policy.title"]);
    assert_eq!(hub["displayName"], ann["io.artifacthub.displayName"]);
    assert_eq!(hub["description"], ann["io.kubewarden.policy.description"]);
    assert_eq!(hub["license"], ann["io.kubewarden.policy.license"]);
    let image = format!(
        "{}:v{VERSION}",
        ann["io.kubewarden.policy.ociUrl"].as_str().unwrap_or_default()
    );
    assert_eq!(hub["containersImages"][0]["image"].as_str(), Some(image.as_str()));
    let keywords: Vec<String> = ann["io.kubewarden.policy.keywords"]
        .as_str()
        .or(ann["io.artifacthub.keywords"].as_str())
        .unwrap_or_default()
        .split(',')
        .map(|k| k.trim().to_string())
        .collect();
    let hub_keywords: Vec<String> = serde_yaml::from_value(hub["keywords"].clone()).unwrap_or_default();
    assert_eq!(hub_keywords, keywords);
    assert_eq!(
        hub["annotations"]["kubewarden/resources"],
        ann["io.artifacthub.resources"]
    );
    assert_eq!(hub["annotations"]["kubewarden/mutation"].as_str(), Some("false"));
    let hub_ctx: Value = serde_yaml::from_str(
        hub["annotations"]["kubewarden/contextAwareResources"]
            .as_str()
            .unwrap_or_default(),
    )
    .unwrap_or(Value::Null);
    assert_eq!(hub_ctx, metadata["contextAwareResources"]);
}

/// `kubewarden/rules` is the YAML text of metadata.yml's rules, as `kwctl scaffold artifacthub`
/// writes it (serde_yaml of the rule list), and `readme` is the embedded usage text.
#[test]
fn artifacthub_rules_and_readme_are_the_metadatas() {
    let metadata = load("policy/metadata.yml");
    let hub = load("artifacthub-pkg.yml");
    let rules = hub["annotations"]["kubewarden/rules"]
        .as_str()
        .expect("kubewarden/rules is a YAML string");
    assert_eq!(
        rules,
        serde_yaml::to_string(&metadata["rules"]).expect("rules as YAML"),
        "kubewarden/rules must be metadata.yml's rules as kwctl writes them"
    );
    assert_eq!(
        hub["readme"], metadata["annotations"]["io.kubewarden.policy.usage"],
        "readme must be the usage annotation"
    );
}

/// The usage text embedded as `io.kubewarden.policy.usage` (what `kwctl inspect` prints) is a short
/// summary: its settings table names exactly the settings of the README's table, and it links there.
#[test]
fn usage_text_is_short_and_lists_every_setting() {
    let metadata = load("policy/metadata.yml");
    let usage = metadata["annotations"]["io.kubewarden.policy.usage"]
        .as_str()
        .expect("usage annotation");
    assert!(usage.len() < 5_000, "usage is {} bytes", usage.len());
    assert!(usage.contains("https://github.com/tenant-gateway/tenant-gateway#the-admission-policy"));
    let readme =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../README.md")).expect("README.md");
    let section = readme
        .split("\n### Settings\n")
        .nth(1)
        .and_then(|s| s.split("\n### ").next())
        .expect("README settings section");
    let keys = |text: &str| -> BTreeSet<String> {
        text.lines()
            .filter_map(|l| l.strip_prefix("| `"))
            .filter_map(|l| l.split('`').next())
            .map(str::to_string)
            .collect()
    };
    let documented = keys(section);
    assert!(documented.len() >= 14, "{documented:?}");
    assert_eq!(keys(usage), documented);
}
