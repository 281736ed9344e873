//! The ClusterAdmissionPolicies' `matchConditions` skip only requests no rule can deny.
//!
//! * `deploy/policy/*.yaml` carry exactly the text `tgw_core::admission::match_conditions` builds
//!   from their settings (and `make chart-check` proves the chart renders the same for the
//!   defaults; `chart_renders_the_conditions_of_other_settings` does for other settings).
//! * Every case of `policy/test_data/cases.json` is routed like kube-apiserver routes it (the
//!   policy whose rules match group, version, resource and operation) and that policy's
//!   conditions, built from the case's own settings, are evaluated with a CEL interpreter on the
//!   request as the API server sends it. A case the policy denies must be sent (every condition
//!   true); no case may hit an evaluation error (with `failurePolicy: Fail` that would refuse an
//!   allowed write). The test prints how many allowed cases are skipped.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use serde::Deserialize;
use serde_json::{Value, json};
use tgw_core::admission::match_conditions::{self, MatchCondition};
use tgw_core::settings::Settings;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn yaml(rel: &str) -> Value {
    let path = repo().join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Policy {
    Hostnames,
    Identity,
}

impl Policy {
    const ALL: [Policy; 2] = [Policy::Hostnames, Policy::Identity];

    fn file(self) -> &'static str {
        match self {
            Policy::Hostnames => "deploy/policy/hostnames.yaml",
            Policy::Identity => "deploy/policy/identity.yaml",
        }
    }

    fn conditions(self, settings: &Settings) -> Vec<MatchCondition> {
        match self {
            Policy::Hostnames => match_conditions::hostnames(settings),
            Policy::Identity => match_conditions::identity(settings),
        }
    }
}

fn as_conditions(list: &Value) -> Vec<(String, String)> {
    list.as_array()
        .unwrap_or_else(|| panic!("matchConditions is not a list: {list}"))
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default().to_string(),
                c["expression"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn pairs(conditions: &[MatchCondition]) -> Vec<(String, String)> {
    conditions
        .iter()
        .map(|c| (c.name.to_string(), c.expression.clone()))
        .collect()
}

#[test]
fn deployed_conditions_are_built_from_the_deployed_settings() {
    for policy in Policy::ALL {
        let cap = yaml(policy.file());
        let settings = Settings::from_json(&cap["spec"]["settings"]).expect("settings");
        assert_eq!(
            as_conditions(&cap["spec"]["matchConditions"]),
            pairs(&policy.conditions(&settings)),
            "{}",
            policy.file()
        );
    }
}

/// Does `rule` (a ClusterAdmissionPolicy rule) match the request, as kube-apiserver matches it?
fn rule_matches(rule: &Value, request: &Value) -> bool {
    let has = |field: &str, value: &str| {
        rule[field]
            .as_array()
            .is_some_and(|l| l.iter().any(|v| v.as_str() == Some("*") || v.as_str() == Some(value)))
    };
    let resource = &request["resource"];
    has("apiGroups", resource["group"].as_str().unwrap_or_default())
        && has("apiVersions", resource["version"].as_str().unwrap_or_default())
        && has("resources", resource["resource"].as_str().unwrap_or_default())
        && has("operations", request["operation"].as_str().unwrap_or_default())
}

/// The policy kube-apiserver would send the request to, if any.
fn route(request: &Value) -> Option<Policy> {
    let matching: Vec<Policy> = Policy::ALL
        .into_iter()
        .filter(|p| {
            yaml(p.file())["spec"]["rules"]
                .as_array()
                .is_some_and(|rules| rules.iter().any(|r| rule_matches(r, request)))
        })
        .collect();
    assert!(matching.len() <= 1, "two policies match {request}");
    matching.first().copied()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Case {
    name: String,
    request: String,
    settings: Value,
    allowed: bool,
}

/// The AdmissionRequest as kube-apiserver sends it: a namespaced object's request always carries
/// its namespace (the fixtures may leave it to `object.metadata.namespace`); `oldObject` is null
/// on CREATE.
fn as_sent(fixture: Value) -> Value {
    let mut request = fixture.get("request").cloned().unwrap_or(fixture);
    let object_ns = request["object"]["metadata"]["namespace"].clone();
    if request
        .get("namespace")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .is_empty()
        && object_ns.is_string()
    {
        request["namespace"] = object_ns;
    }
    request
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Sent,
    Skipped(String),
    Error(String),
}

fn evaluate(conditions: &[MatchCondition], request: &Value) -> Outcome {
    let mut context = cel::Context::default();
    let vars = [
        ("request", request.clone()),
        ("object", request.get("object").cloned().unwrap_or(Value::Null)),
        ("oldObject", request.get("oldObject").cloned().unwrap_or(Value::Null)),
    ];
    for (name, value) in vars {
        context.add_variable(name, value).expect("CEL value");
    }
    // kube-apiserver: any false skips the call; otherwise any error follows failurePolicy.
    let mut error = None;
    for c in conditions {
        let program = cel::Program::compile(&c.expression).unwrap_or_else(|e| panic!("{}: {e}", c.name));
        match program.execute(&context) {
            Ok(cel::Value::Bool(true)) => {}
            Ok(cel::Value::Bool(false)) => return Outcome::Skipped(c.name.to_string()),
            Ok(other) => error = Some(format!("{}: not a boolean: {other:?}", c.name)),
            Err(e) => error = Some(format!("{}: {e}", c.name)),
        }
    }
    error.map_or(Outcome::Sent, Outcome::Error)
}

#[test]
fn no_denied_case_is_skipped_and_no_case_errors() {
    let text = std::fs::read_to_string(repo().join("policy/test_data/cases.json")).expect("cases.json");
    let cases: Vec<Case> = serde_json::from_str(&text).expect("cases");
    let mut failures = Vec::new();
    // (policy, kind) -> [denied sent, allowed sent, allowed skipped]
    let mut tally: BTreeMap<(String, String), [usize; 3]> = BTreeMap::new();
    for case in &cases {
        let fixture: Value =
            serde_json::from_str(&std::fs::read_to_string(repo().join(&case.request)).expect("request fixture"))
                .expect("request JSON");
        let request = as_sent(fixture);
        let Some(policy) = route(&request) else {
            if !case.allowed {
                failures.push(format!("{}: denied, but no policy's rules send it", case.name));
            }
            continue;
        };
        let settings = Settings::from_json(&case.settings).expect("case settings");
        let outcome = evaluate(&policy.conditions(&settings), &request);
        let kind = request["kind"]["kind"].as_str().unwrap_or_default().to_string();
        let slot = tally.entry((format!("{policy:?}"), kind)).or_default();
        match (&outcome, case.allowed) {
            (Outcome::Sent, false) => slot[0] += 1,
            (Outcome::Sent, true) => slot[1] += 1,
            (Outcome::Skipped(_), true) => slot[2] += 1,
            (Outcome::Skipped(by), false) => failures.push(format!(
                "{}: the policy denies it, but condition {by} skips the call",
                case.name
            )),
            (Outcome::Error(e), _) => failures.push(format!("{}: evaluation error {e}", case.name)),
        }
    }
    println!("policy     kind              denied→sent  allowed→sent  allowed→skipped");
    for ((policy, kind), [d, a, s]) in &tally {
        println!("{policy:<10} {kind:<17} {d:>11}  {a:>12}  {s:>15}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let denied: usize = tally.values().map(|t| t[0]).sum();
    assert_eq!(
        denied,
        cases.iter().filter(|c| !c.allowed).count(),
        "every denied case is counted"
    );
    assert!(
        tally.values().map(|t| t[2]).sum::<usize>() > 0,
        "the conditions skip nothing"
    );
}

/// The interpreter agrees with Kubernetes' CEL on the constructs the conditions rely on, including
/// the commutative `&&`/`||` that absorbs an error (oldObject is null on CREATE).
#[test]
fn interpreter_semantics_the_conditions_rely_on() {
    let s = Settings::default();
    let ns = |op: &str, user: &str, groups: Value, new: Value, old: Value| {
        json!({"operation": op, "namespace": "tenant-x", "resource": {"group": "", "version": "v1", "resource": "namespaces"},
               "userInfo": {"username": user, "groups": groups}, "object": {"metadata": {"name": "tenant-x", "labels": new}},
               "oldObject": if old.is_null() { Value::Null } else { json!({"metadata": {"name": "tenant-x", "labels": old}}) }})
    };
    let host = "namespace.cozystack.io/host";
    let conditions = match_conditions::identity(&s);
    let tenant = "system:serviceaccount:tenant-x:default";
    for (what, request, want_sent) in [
        (
            "CREATE without labels",
            ns("CREATE", tenant, json!([]), json!({}), Value::Null),
            false,
        ),
        (
            "CREATE with a host label",
            ns("CREATE", tenant, json!([]), json!({host: "a.example.org"}), Value::Null),
            true,
        ),
        (
            "UPDATE keeping the label",
            ns(
                "UPDATE",
                tenant,
                json!([]),
                json!({host: "a", "x": "1"}),
                json!({host: "a"}),
            ),
            false,
        ),
        (
            "UPDATE changing it",
            ns("UPDATE", tenant, json!([]), json!({host: "b"}), json!({host: "a"})),
            true,
        ),
        (
            "UPDATE removing it",
            ns("UPDATE", tenant, json!([]), json!({}), json!({host: "a"})),
            true,
        ),
        (
            "UPDATE setting it empty",
            ns("UPDATE", tenant, json!([]), json!({host: ""}), json!({})),
            true,
        ),
        (
            "trusted group",
            ns(
                "UPDATE",
                "flux",
                json!(["system:serviceaccounts:cozy-fluxcd"]),
                json!({host: "b"}),
                json!({host: "a"}),
            ),
            false,
        ),
        (
            "no groups field",
            ns("UPDATE", tenant, Value::Null, json!({host: "b"}), json!({host: "a"})),
            true,
        ),
    ] {
        let mut request = request;
        if request["userInfo"]["groups"].is_null() {
            request["userInfo"].as_object_mut().map(|u| u.remove("groups"));
        }
        let outcome = evaluate(&conditions, &request);
        assert_eq!(outcome == Outcome::Sent, want_sent, "{what}: {outcome:?}");
        assert!(!matches!(outcome, Outcome::Error(_)), "{what}: {outcome:?}");
    }
    // A missing field the API server always sets errors (and so refuses): never a silent skip.
    let no_namespace = json!({"operation": "CREATE", "resource": {"group": "gateway.networking.k8s.io", "version": "v1", "resource": "httproutes"},
                              "userInfo": {"username": "u"}, "object": {}});
    assert!(matches!(
        evaluate(&match_conditions::hostnames(&s), &no_namespace),
        Outcome::Error(_)
    ));
}

/// The chart templates the same text as the generator for settings other than the defaults. Runs
/// when HELM names a helm binary (`make chart-check` sets it); skipped otherwise.
#[test]
fn chart_renders_the_conditions_of_other_settings() {
    let Some(helm) = std::env::var_os("HELM") else {
        eprintln!("skipping: HELM is not set (make chart-check runs this test)");
        return;
    };
    for settings in [
        json!({}),
        json!({"tenantNamespacePrefix": "t-", "trustedUsers": ["ops", "a\"b"], "trustedGroups": [], "protectedNamespaceLabels": ["example.com/team"]}),
        json!({"hostLabel": "example.com/host", "gatewayLabel": "example.com/gw", "protectedNamespaceLabels": null, "trustedGroups": null, "trustedUsers": null, "tenantNamespacePrefix": null}),
        json!({"trustedGroups": ["<dev&ops>"]}),
    ] {
        let out = Command::new(&helm)
            .args(["template", "t"])
            .arg(repo().join("deploy/helm/tenant-gateway"))
            .args(["--set", "policy.enabled=true", "--set-json"])
            .arg(format!("policy.settings={settings}"))
            .output()
            .expect("run helm");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).expect("utf-8");
        let mut rendered = BTreeMap::new();
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let doc = Value::deserialize(doc).expect("rendered YAML");
            if doc["kind"] == "ClusterAdmissionPolicy" {
                rendered.insert(doc["metadata"]["name"].as_str().unwrap_or_default().to_string(), doc);
            }
        }
        for policy in Policy::ALL {
            let name = yaml(policy.file())["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let cap = rendered.get(&name).unwrap_or_else(|| panic!("{name} not rendered"));
            // The policy reads the rendered settings; the chart must have built the conditions from
            // exactly those (nulls meaning "default", as for the policy).
            let effective = Settings::from_json(&strip_nulls(&cap["spec"]["settings"])).expect("settings");
            assert_eq!(
                as_conditions(&cap["spec"]["matchConditions"]),
                pairs(&policy.conditions(&effective)),
                "{name} with {settings}"
            );
        }
    }
}

fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}
