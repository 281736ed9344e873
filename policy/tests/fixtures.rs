//! Runs every case of `policy/test_data/cases.json` (the fixtures the bats suite also uses)
//! through the policy's `evaluate`, with the Namespace lookup and the list of host labels answered
//! from the case's recorded namespace state. A case without a namespace state must not look
//! anything up, and a state without a list must not be asked for one.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::{Value, json};
use tgw_core::admission::{Cluster, HostLabel, NamespaceFacts};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Case {
    name: String,
    request: String,
    settings: Value,
    namespace: Option<NamespaceState>,
    allowed: bool,
    message_contains: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NamespaceState {
    labels: Option<BTreeMap<String, String>>,
    error: Option<String>,
    host_labels: Option<Vec<(String, String)>>,
    list_error: Option<String>,
}

/// The cluster as one case recorded it; counts what the policy asked.
struct Recorded<'a> {
    case: &'a Case,
    looked_up: usize,
    listed: usize,
}

impl Cluster for &mut Recorded<'_> {
    fn namespace(&mut self, ns: &str) -> NamespaceFacts {
        self.looked_up += 1;
        let name = &self.case.name;
        assert_eq!(ns, "tenant-test", "{name}: unexpected namespace lookup");
        match &self.case.namespace {
            None => panic!("{name}: no namespace lookup expected"),
            Some(NamespaceState { error: Some(e), .. }) => NamespaceFacts::Unreadable { reason: e.clone() },
            Some(NamespaceState { labels, .. }) => NamespaceFacts::Found {
                labels: labels.clone().unwrap_or_default(),
            },
        }
    }

    fn host_labels(&mut self, label: &str) -> Result<Vec<HostLabel>, String> {
        self.listed += 1;
        let name = &self.case.name;
        assert_eq!(
            label, "namespace.cozystack.io/host",
            "{name}: unexpected label selector"
        );
        match &self.case.namespace {
            Some(NamespaceState {
                list_error: Some(e), ..
            }) => Err(e.clone()),
            Some(NamespaceState {
                host_labels: Some(list),
                ..
            }) => Ok(list
                .iter()
                .map(|(namespace, value)| HostLabel {
                    namespace: namespace.clone(),
                    value: value.clone(),
                })
                .collect()),
            _ => panic!("{name}: no Namespace list expected"),
        }
    }
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read_json(path: PathBuf) -> Value {
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn run(case: &Case) -> Result<(), String> {
    let review = read_json(repo_root().join(&case.request));
    let payload = json!({"request": review["request"], "settings": case.settings});
    let mut recorded = Recorded {
        case,
        looked_up: 0,
        listed: 0,
    };
    let result = tgw_policy::evaluate(payload.to_string().as_bytes(), &mut recorded);
    assert!(recorded.looked_up <= 1, "{}: the Namespace was read twice", case.name);
    assert!(recorded.listed <= 1, "{}: the Namespaces were listed twice", case.name);
    if let Some(state) = case.namespace.as_ref().filter(|_| case.allowed) {
        assert!(
            recorded.looked_up == 1,
            "{}: the recorded session would be left unused",
            case.name
        );
        assert!(
            state.host_labels.is_none() || recorded.listed == 1,
            "{}: the recorded Namespace list would be left unused",
            case.name
        );
    }
    result
}

#[test]
fn every_fixture_gets_the_specified_decision() {
    let cases: Vec<Case> = serde_json::from_value(read_json(repo_root().join("policy/test_data/cases.json")))
        .unwrap_or_else(|e| panic!("cases.json: {e}"));
    assert!(cases.len() >= 70, "the case table shrank to {}", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        match (run(case), case.allowed, &case.message_contains) {
            (Ok(()), true, _) => {}
            (Err(m), false, Some(phrase)) if m.contains(phrase.as_str()) => {}
            (got, _, phrase) => failures.push(format!(
                "{}: got {got:?}, expected allowed={} containing {phrase:?}",
                case.name, case.allowed
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn settings_validation_answers_with_core_messages() {
    let answer = |payload: &str| -> Value {
        let bytes = tgw_policy::validate_settings_payload(payload.as_bytes());
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{e}"))
    };
    assert_eq!(answer("{}"), json!({"valid": true, "message": null}));
    assert_eq!(
        answer(r#"{"tenantNamespacePrefix": ""}"#),
        json!({"valid": false, "message": "settings.tenantNamespacePrefix must not be empty"})
    );
    assert_eq!(
        answer("not json"),
        json!({"valid": false, "message": "settings could not be parsed: expected ident at line 1 column 2"})
    );
}

#[test]
fn a_payload_that_is_not_json_is_rejected_with_the_cause() {
    let result = tgw_policy::evaluate(b"{", |_: &str| -> NamespaceFacts { panic!("no lookup") });
    assert_eq!(
        result,
        Err("the validation request is not valid JSON: EOF while parsing an object at line 1 column 1".into())
    );
}
