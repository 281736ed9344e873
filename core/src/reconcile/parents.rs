//! Merging our route-status entries into a route's `status.parents` (the controller half; see
//! [`crate::route_status`] for how the verdicts are decided).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::Value;

use crate::conditions::ROUTE_ACCEPTED_TYPE;
use crate::keys::MAX_ROUTE_PARENTS;
use crate::render::{condition_status, is_subset, route_parent};
use crate::route_status::Verdict;
use crate::snapshot::{ParentRef, RouteView, wire};

/// Merges our entries (`controllerName` = `controller`) for Gateway `gw_ns/gw_name` into the
/// existing `status.parents`. Returns `None` when nothing would change (so no write is needed).
///
/// Our entries are typed Gateway API route status ([`route_parent`]); entries of
/// others stay the JSON they are, byte for byte, so a field this crate does not know survives.
/// `lastTransitionTime` is kept from our previous entry when the status did not change (and
/// parses as a time), else `now`.
///
/// The CRD allows at most [`MAX_ROUTE_PARENTS`] (32) entries. Entries we do not own (other
/// controllers, other Gateways) come first and are never dropped — removing them would erase
/// another controller's report; ours follow in parentRef order and are cut at the limit.
pub fn merge_parents(
    existing: &[Value],
    route: &RouteView,
    gw: (&str, &str),
    controller: &str,
    ours: &[(ParentRef, Verdict)],
    now: &Time,
) -> Option<Vec<Value>> {
    let (gw_ns, gw_name) = gw;
    let ns = &route.id.namespace;
    let is_ours = |e: &Value| {
        e.get("controllerName").and_then(Value::as_str) == Some(controller)
            && wire::parent_ref(&e["parentRef"]).targets(ns, gw_ns, gw_name)
    };
    let mut merged: Vec<Value> = existing.iter().filter(|e| !is_ours(e)).cloned().collect();
    let old: Vec<&Value> = existing.iter().filter(|e| is_ours(e)).collect();
    for (pr, v) in ours {
        let prev_cond = old
            .iter()
            .find(|e| wire::parent_ref(&e["parentRef"]).same_as(pr, ns))
            .and_then(|e| e["conditions"].as_array())
            .and_then(|cs| cs.iter().find(|c| c["type"] == ROUTE_ACCEPTED_TYPE));
        let since = prev_cond
            .filter(|c| c["status"] == condition_status(v.accepted))
            .and_then(|c| serde_json::from_value::<Time>(c["lastTransitionTime"].clone()).ok())
            .unwrap_or_else(|| now.clone());
        let entry = route_parent(pr, v, controller, since, route.generation);
        // Strings, integers and a formatted time: serialising cannot fail.
        merged.extend(serde_json::to_value(entry).ok());
    }
    merged.truncate(MAX_ROUTE_PARENTS.max(existing.len() - old.len()));
    if merged.len() == existing.len() && merged.iter().zip(existing).all(|(m, e)| is_subset(m, e)) {
        None
    } else {
        Some(merged)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::snapshot::{RouteId, RouteKind};

    const NOW: &str = "2026-02-01T00:00:00Z";

    fn route() -> RouteView {
        RouteView {
            id: RouteId {
                kind: RouteKind::Http,
                namespace: "tenant-a".into(),
                name: "app".into(),
            },
            created: None,
            generation: Some(2),
            hostnames: vec!["app.example.org".into()],
            parent_refs: vec![gw_ref()],
        }
    }

    fn gw_ref() -> ParentRef {
        ParentRef {
            group: None,
            kind: None,
            namespace: Some("tenant-root".into()),
            name: "cozystack".into(),
            section_name: None,
            port: None,
        }
    }

    fn ours(accepted: bool) -> Vec<(ParentRef, Verdict)> {
        let reason = if accepted { "Accepted" } else { "HostnameConflict" };
        vec![(gw_ref(), Verdict::new(accepted, reason, "m"))]
    }

    fn previous(status: &str, since: &str) -> Value {
        json!({
            "parentRef": {"name": "cozystack", "namespace": "tenant-root"},
            "controllerName": "c",
            "conditions": [{"type": "Accepted", "status": status, "reason": "Accepted", "message": "old",
                            "lastTransitionTime": since, "observedGeneration": 1}],
        })
    }

    fn merged_since(existing: &[Value], accepted: bool) -> Value {
        let now: Time = serde_json::from_value(json!(NOW)).expect("time");
        let merged = merge_parents(
            existing,
            &route(),
            ("tenant-root", "cozystack"),
            "c",
            &ours(accepted),
            &now,
        )
        .expect("a change");
        merged[0]["conditions"][0]["lastTransitionTime"].clone()
    }

    #[test]
    fn new_entry_is_the_whole_typed_status() {
        let now: Time = serde_json::from_value(json!(NOW)).expect("time");
        let merged = merge_parents(&[], &route(), ("tenant-root", "cozystack"), "c", &ours(true), &now);
        assert_eq!(
            merged,
            Some(vec![json!({
                "parentRef": {"name": "cozystack", "namespace": "tenant-root"},
                "controllerName": "c",
                "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted", "message": "m",
                                "lastTransitionTime": NOW, "observedGeneration": 2}],
            })])
        );
    }

    #[test]
    fn unchanged_status_keeps_its_transition_time() {
        assert_eq!(
            merged_since(&[previous("True", "2026-01-01T00:00:00Z")], true),
            json!("2026-01-01T00:00:00Z")
        );
    }

    #[test]
    fn changed_status_transitions_now() {
        assert_eq!(
            merged_since(&[previous("True", "2026-01-01T00:00:00Z")], false),
            json!(NOW)
        );
    }

    #[test]
    fn an_unreadable_previous_time_is_replaced_not_copied() {
        assert_eq!(merged_since(&[previous("True", "yesterday")], true), json!(NOW));
    }
}
