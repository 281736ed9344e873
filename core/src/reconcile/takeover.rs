//! Taking over fields another field manager holds on an object we own.
//!
//! Server-side apply never removes a field that another manager owns. A Gateway, Issuer,
//! Certificate or redirect route last written by Cozystack's Go controller (an `Update` by field
//! manager `cozystack-controller`) therefore keeps, after our first apply, every listener our plan
//! does not have. The fix is the documented ownership transfer: rewrite `metadata.managedFields`
//! once so that our apply entry owns the union of our fields and every other non-status writer's
//! fields; our next (forced) apply then owns the whole spec and drops what the plan does not have.
//! Entries for the `status` subresource (the data plane, cert-manager) are kept as they are.

use serde_json::{Map, Value};

/// The `managedFields` to write so that `ours` (operation `Apply`) owns every field any other
/// non-status writer owns; `None` when nobody else holds a field.
pub fn merged_managed_fields(entries: &[Value], ours: &str) -> Option<Vec<Value>> {
    let is_status = |e: &Value| e["subresource"].as_str() == Some("status");
    let is_our_apply = |e: &Value| e["manager"].as_str() == Some(ours) && e["operation"].as_str() == Some("Apply");
    let foreign: Vec<&Value> = entries.iter().filter(|e| !is_status(e) && !is_our_apply(e)).collect();
    if foreign.is_empty() {
        return None;
    }
    let base = entries.iter().find(|e| !is_status(e) && is_our_apply(e));
    let mut fields = base
        .map(|b| b["fieldsV1"].clone())
        .unwrap_or_else(|| Value::Object(Map::new()));
    for f in &foreign {
        merge_field_sets(&mut fields, &f["fieldsV1"]);
    }
    let template: Option<&Value> = base.or_else(|| foreign.first().copied());
    let api_version = template.and_then(|t| t["apiVersion"].as_str()).unwrap_or_default();
    let mut entry = serde_json::json!({
        "manager": ours,
        "operation": "Apply",
        "apiVersion": api_version,
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
    });
    if let Some(time) = template.and_then(|t| t.get("time")) {
        entry["time"] = time.clone();
    }
    let mut out = vec![entry];
    out.extend(entries.iter().filter(|e| is_status(e)).cloned());
    Some(out)
}

/// The managers (other than our apply entry) holding non-status fields, for messages and logs.
pub fn foreign_managers(entries: &[Value], ours: &str) -> Vec<String> {
    let mut out: Vec<String> = entries
        .iter()
        .filter(|e| e["subresource"].as_str() != Some("status"))
        .filter(|e| !(e["manager"].as_str() == Some(ours) && e["operation"].as_str() == Some("Apply")))
        .map(|e| {
            format!(
                "{} ({})",
                e["manager"].as_str().unwrap_or("?"),
                e["operation"].as_str().unwrap_or("?")
            )
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Union of two FieldsV1 sets (nested objects whose leaves are `{}`).
fn merge_field_sets(into: &mut Value, from: &Value) {
    let (Some(into), Some(from)) = (into.as_object_mut(), from.as_object()) else {
        return;
    };
    for (k, v) in from {
        match into.get_mut(k) {
            Some(existing) => merge_field_sets(existing, v),
            None => {
                into.insert(k.clone(), v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const OURS: &str = "tenantgateway-controller";

    fn entry(manager: &str, operation: &str, sub: Option<&str>, fields: Value) -> Value {
        let mut e = json!({
            "manager": manager, "operation": operation, "apiVersion": "gateway.networking.k8s.io/v1",
            "fieldsType": "FieldsV1", "fieldsV1": fields, "time": "2026-11-30T10:00:00Z",
        });
        if let Some(s) = sub {
            e["subresource"] = json!(s);
        }
        e
    }

    #[test]
    fn nothing_to_do_when_only_we_and_status_writers_hold_fields() {
        let entries = [
            entry(OURS, "Apply", None, json!({"f:spec": {"f:listeners": {}}})),
            entry("cilium", "Update", Some("status"), json!({"f:status": {}})),
        ];
        assert_eq!(merged_managed_fields(&entries, OURS), None);
        assert!(foreign_managers(&entries, OURS).is_empty());
    }

    #[test]
    fn the_go_controllers_fields_become_ours_and_status_entries_stay() {
        let go = json!({"f:spec": {"f:listeners": {
            "k:{\"name\":\"https-api-1a2b3c4d\"}": {".": {}, "f:hostname": {}},
            "k:{\"name\":\"http\"}": {".": {}, "f:port": {}},
        }}});
        let ours = json!({"f:spec": {"f:listeners": {"k:{\"name\":\"http\"}": {".": {}, "f:protocol": {}}}}});
        let status = entry("cilium", "Update", Some("status"), json!({"f:status": {}}));
        let entries = [
            entry("cozystack-controller", "Update", None, go),
            entry(OURS, "Apply", None, ours),
            status.clone(),
        ];
        let got = merged_managed_fields(&entries, OURS).expect("takeover needed");
        assert_eq!(
            got,
            vec![
                json!({
                    "manager": OURS, "operation": "Apply", "apiVersion": "gateway.networking.k8s.io/v1",
                    "fieldsType": "FieldsV1", "time": "2026-11-30T10:00:00Z",
                    "fieldsV1": {"f:spec": {"f:listeners": {
                        "k:{\"name\":\"http\"}": {".": {}, "f:port": {}, "f:protocol": {}},
                        "k:{\"name\":\"https-api-1a2b3c4d\"}": {".": {}, "f:hostname": {}},
                    }}},
                }),
                status,
            ]
        );
        assert_eq!(foreign_managers(&entries, OURS), ["cozystack-controller (Update)"]);
    }

    #[test]
    fn an_object_only_the_go_controller_wrote_is_taken_over_whole() {
        let entries = [entry(
            "cozystack-controller",
            "Update",
            None,
            json!({"f:spec": {"f:gatewayClassName": {}}}),
        )];
        let got = merged_managed_fields(&entries, OURS).expect("takeover needed");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0]["manager"], OURS);
        assert_eq!(got[0]["operation"], "Apply");
        assert_eq!(got[0]["fieldsV1"], json!({"f:spec": {"f:gatewayClassName": {}}}));
    }

    #[test]
    fn our_own_update_entries_are_folded_into_the_apply_entry() {
        let entries = [
            entry(OURS, "Update", None, json!({"f:metadata": {"f:labels": {"f:x": {}}}})),
            entry(OURS, "Apply", None, json!({"f:spec": {}})),
        ];
        let got = merged_managed_fields(&entries, OURS).expect("takeover needed");
        assert_eq!(
            got[0]["fieldsV1"],
            json!({"f:metadata": {"f:labels": {"f:x": {}}}, "f:spec": {}})
        );
    }
}
