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
