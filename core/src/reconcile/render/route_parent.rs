//! Our entry in a route's `status.parents`: the parentRef as the route wrote it, our controller
//! name, and one `Accepted` condition carrying the verdict. Typed as Gateway API HTTPRoute status;
//! GRPCRoute and TLSRoute parent status have the same schema, so the same entry serves them.

use gateway_api::httproutes::{HttpRouteStatusParents, HttpRouteStatusParentsParentRef};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use crate::bounded;
use crate::conditions::ROUTE_ACCEPTED_TYPE;
use crate::route_status::Verdict;
use crate::snapshot::ParentRef;

/// `"True"` / `"False"`, the condition status of a verdict.
pub fn condition_status(accepted: bool) -> &'static str {
    if accepted { "True" } else { "False" }
}

/// The entry for `pr` with `verdict`, transitioned at `since`, observing `generation`.
pub fn route_parent(
    pr: &ParentRef,
    verdict: &Verdict,
    controller: &str,
    since: Time,
    generation: Option<i64>,
) -> HttpRouteStatusParents {
    HttpRouteStatusParents {
        parent_ref: HttpRouteStatusParentsParentRef {
            group: pr.group.clone(),
            kind: pr.kind.clone(),
            namespace: pr.namespace.clone(),
            name: pr.name.clone(),
            section_name: pr.section_name.clone(),
            port: pr.port,
        },
        controller_name: controller.to_owned(),
        conditions: vec![Condition {
            type_: ROUTE_ACCEPTED_TYPE.to_owned(),
            status: condition_status(verdict.accepted).to_owned(),
            reason: verdict.reason.to_owned(),
            // Verdicts are built capped; cap again at the write boundary for any other caller.
            message: bounded::route_message(&verdict.message),
            last_transition_time: since,
            observed_generation: generation,
        }],
    }
}
