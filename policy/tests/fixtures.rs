//! Runs every case of `policy/test_data/cases.json` (the fixtures the bats suite also uses)
//! through the policy's `evaluate`, with the namespace lookup answered from the case's recorded
//! namespace state. A case without a namespace state must not look anything up.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::{Value, json};
use tgw_core::admission::NamespaceFacts;

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
struct NamespaceState {
    labels: Option<BTreeMap<String, String>>,
    error: Option<String>,
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
    let looked_up = Cell::new(false);
    let result = tgw_policy::evaluate(payload.to_string().as_bytes(), |ns| {
        looked_up.set(true);
        assert_eq!(ns, "tenant-test", "{}: unexpected namespace lookup", case.name);
        match &case.namespace {
            None => panic!("{}: no namespace lookup expected", case.name),
            Some(NamespaceState { error: Some(e), .. }) => NamespaceFacts::Unreadable { reason: e.clone() },
            Some(NamespaceState { labels, .. }) => NamespaceFacts::Found {
                labels: labels.clone().unwrap_or_default(),
            },
        }
    });
    if case.namespace.is_some() && case.allowed {
        assert!(
            looked_up.get(),
            "{}: the recorded session would be left unused",
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
    let result = tgw_policy::evaluate(b"{", |_| panic!("no lookup"));
    assert_eq!(
        result,
        Err("the validation request is not valid JSON: EOF while parsing an object at line 1 column 1".into())
    );
}
