//! Route parent status computed from the rendered listener set, per parentRef, with the Gateway
//! API reasons (`Accepted`, `NoMatchingParent`, `NotAllowedByListeners`,
//! `NoMatchingListenerHostname`) plus `HostnameConflict`; then merged into the route's existing
//! `status.parents`: entries of other controllers and other Gateways are kept, our entries for
//! parentRefs that no longer exist are pruned, `lastTransitionTime` is carried over when the
//! status did not change.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::claims::{Claims, Rejection};
use crate::conditions::{ROUTE_ACCEPTED_TYPE, messages, reasons};
use crate::conflict::Ownership;
use crate::dns::HostPattern;
use crate::listeners::{Admits, Listener, ListenerPlan, Protocol};
use crate::snapshot::{ParentRef, RouteKind, RouteView, wire};
use crate::tenantgateway::TgwInput;

/// The Accepted condition for one parentRef.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub accepted: bool,
    pub reason: &'static str,
    pub message: String,
}

/// Everything route status depends on for one TenantGateway.
pub struct RouteContext<'a> {
    pub tgw: &'a TgwInput,
    pub attach: &'a BTreeSet<String>,
    pub plan: &'a ListenerPlan,
    pub claims: &'a Claims,
    pub ownership: &'a Ownership,
}

fn kind_ok(l: &Listener, kind: RouteKind) -> bool {
    match l.protocol {
        Protocol::Http => matches!(kind, RouteKind::Http | RouteKind::Grpc),
        Protocol::Https => kind == RouteKind::Http,
        Protocol::Tls => kind == RouteKind::Tls,
    }
}

fn admits(l: &Listener, ns: &str, attach: &BTreeSet<String>) -> bool {
    match &l.admits {
        Admits::Port80(names) => names.iter().any(|n| n == ns),
        Admits::GatewayLabel { only } => attach.contains(ns) && only.as_deref().is_none_or(|o| o == ns),
    }
}

fn hostname_ok(l: &Listener, route_hosts: &[HostPattern]) -> bool {
    let Some(lh) = l.hostname.as_deref().and_then(HostPattern::parse) else {
        return true;
    };
    route_hosts.is_empty() || route_hosts.iter().any(|h| lh.intersects(h))
}

/// Verdicts for every parentRef of `route` that names this TenantGateway's Gateway.
pub fn verdicts(ctx: &RouteContext<'_>, route: &RouteView) -> Vec<(usize, Verdict)> {
    let (tgw_ns, tgw_name) = (&ctx.tgw.meta.namespace, &ctx.tgw.meta.name);
    let key = ctx.tgw.key();
    let ns = route.id.namespace.as_str();
    let hosts: Vec<HostPattern> = route.hostnames.iter().filter_map(|h| HostPattern::parse(h)).collect();
    let mut out = Vec::new();
    for (i, pr) in route.parent_refs.iter().enumerate() {
        if !pr.targets(ns, tgw_ns, tgw_name) {
            continue;
        }
        let selected: Vec<&Listener> = ctx
            .plan
            .listeners
            .iter()
            .filter(|l| pr.section_name.as_deref().is_none_or(|s| s == l.name))
            .filter(|l| pr.port.is_none_or(|p| i64::from(p) == i64::from(l.port)))
            .collect();
        let allowed: Vec<&&Listener> = selected
            .iter()
            .filter(|l| kind_ok(l, route.id.kind) && admits(l, ns, ctx.attach))
            .collect();
        let matching = allowed.iter().any(|l| hostname_ok(l, &hosts));
        let lost = ctx.ownership.losers.get(&(route.id.clone(), i));
        let unserved = unserved(ctx, route, i);
        let verdict = if let Some(lost) = lost {
            let lost: Vec<String> = lost.iter().cloned().collect();
            Verdict {
                accepted: false,
                reason: reasons::HOSTNAME_CONFLICT,
                message: messages::hostname_conflict(&lost, &key),
            }
        } else if selected.is_empty() {
            Verdict {
                accepted: false,
                reason: reasons::NO_MATCHING_PARENT,
                message: messages::no_matching_parent(&key),
            }
        } else if allowed.is_empty() {
            Verdict {
                accepted: false,
                reason: reasons::NOT_ALLOWED_BY_LISTENERS,
                message: with_detail(messages::not_allowed_by_listeners(&key), &unserved),
            }
        } else if !matching {
            Verdict {
                accepted: false,
                reason: reasons::NO_MATCHING_LISTENER_HOSTNAME,
                message: with_detail(messages::no_matching_listener_hostname(&key), &unserved),
            }
        } else {
            Verdict {
                accepted: true,
                reason: reasons::ROUTE_ACCEPTED,
                message: with_detail(messages::route_accepted(&key), &unserved),
            }
        };
        out.push((i, verdict));
    }
    out
}

/// Hostnames of this parentRef that were claimed but are not served, with the reason.
fn unserved(ctx: &RouteContext<'_>, route: &RouteView, i: usize) -> BTreeMap<String, String> {
    let apex = &ctx.tgw.spec.apex;
    let mut out: BTreeMap<String, String> = ctx
        .claims
        .rejected
        .get(&(route.id.clone(), i))
        .into_iter()
        .flatten()
        .map(|(h, r): (&String, &Rejection)| (h.clone(), r.describe(apex)))
        .collect();
    for h in &ctx.plan.dropped {
        if route.hostnames.contains(h) {
            out.insert(
                h.clone(),
                "was dropped: the Gateway's 64-listener limit is reached".to_owned(),
            );
        }
    }
    out
}

fn with_detail(base: String, unserved: &BTreeMap<String, String>) -> String {
    if unserved.is_empty() {
        return base;
    }
    let parts: Vec<String> = unserved.iter().map(|(h, why)| format!("{h} {why}")).collect();
    format!("{base}; not served: {}", parts.join("; "))
}

/// Our desired entries for the route: parentRef as written, with the Accepted condition.
pub fn entries(route: &RouteView, verdicts: &[(usize, Verdict)]) -> Vec<(ParentRef, Verdict)> {
    verdicts
        .iter()
        .map(|(i, v)| (route.parent_refs[*i].clone(), v.clone()))
        .collect()
}

/// Merges our entries (`controllerName` = `controller`) for Gateway `gw_ns/gw_name` into the
/// existing `status.parents`. Returns `None` when nothing would change (so no write is needed).
pub fn merge_parents(
    existing: &[Value],
    route: &RouteView,
    gw: (&str, &str),
    controller: &str,
    ours: &[(ParentRef, Verdict)],
    now: &str,
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
        let status = if v.accepted { "True" } else { "False" };
        let prev_cond = old
            .iter()
            .find(|e| wire::parent_ref(&e["parentRef"]).same_as(pr, ns))
            .and_then(|e| e["conditions"].as_array())
            .and_then(|cs| cs.iter().find(|c| c["type"] == ROUTE_ACCEPTED_TYPE));
        let time = match prev_cond {
            Some(c) if c["status"] == status => c["lastTransitionTime"].as_str().unwrap_or(now).to_owned(),
            _ => now.to_owned(),
        };
        let mut cond = json!({
            "type": ROUTE_ACCEPTED_TYPE,
            "status": status,
            "reason": v.reason,
            "message": v.message,
            "lastTransitionTime": time,
        });
        if let Some(g) = route.generation {
            cond["observedGeneration"] = json!(g);
        }
        merged.push(json!({
            "parentRef": wire::parent_ref_json(pr),
            "controllerName": controller,
            "conditions": [cond],
        }));
    }
    if merged.len() == existing.len() && merged.iter().zip(existing).all(|(m, e)| crate::render::is_subset(m, e)) {
        None
    } else {
        Some(merged)
    }
}
