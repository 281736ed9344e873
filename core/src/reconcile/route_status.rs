//! Route parent status computed from the rendered listener set, per parentRef, with the Gateway
//! API reasons (`Accepted`, `NoMatchingParent`, `NotAllowedByListeners`,
//! `NoMatchingListenerHostname`) plus ours (`HostnameOutsideNamespaceApex`, `HostnameConflict`,
//! `GatewayNotWritten`); then merged into the route's existing `status.parents`: entries of other
//! controllers and other Gateways are kept, our entries for parentRefs that no longer exist are
//! pruned, `lastTransitionTime` is carried over when the status did not change, and the list
//! never exceeds the CRD's 32 entries.
//!
//! Precedence per parentRef: the Gateway admits the route's namespace (attached, or a port-80
//! namespace) and a hostname is one the namespace may not publish ([`crate::scope`]) →
//! `HostnameOutsideNamespaceApex` (the refusal is why there is no listener, so it comes first);
//! a hostname lost to another namespace → `HostnameConflict`; no listener selected by
//! sectionName/port → `NoMatchingParent`; none admits the route's namespace and kind →
//! `NotAllowedByListeners`; no listener hostname intersects → `NoMatchingListenerHostname`;
//! else `Accepted`. A parentRef that attaches to the plaintext
//! `http` listener without pinning a sectionName or port gets a warning in its message (Cozystack
//! gap 13, reported, not closed). Every message is capped ([`crate::bounded`]).

use std::collections::{BTreeMap, BTreeSet};

use crate::bounded;
use crate::budget::{ShareLimit, Shortfall};
use crate::claims::{Claims, Rejection};
use crate::conditions::{messages, reasons};
use crate::conflict::Ownership;
use crate::dns::{HostPattern, within_apex};
use crate::listeners::{Admits, Listener, ListenerPlan, Protocol, Role};
use crate::scope::Scopes;
use crate::snapshot::{ParentRef, RouteId, RouteKind, RouteView};
use crate::tenantgateway::{CertMode, TgwInput};

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
    pub scopes: &'a Scopes<'a>,
}

/// Our entries for one route: (parentRef as written, verdict).
pub type RouteEntries = Vec<(ParentRef, Verdict)>;

impl Verdict {
    /// A verdict with its message capped at [`bounded::ROUTE_MESSAGE_BYTES`].
    pub fn new(accepted: bool, reason: &'static str, message: &str) -> Verdict {
        Verdict {
            accepted,
            reason,
            message: bounded::route_message(message),
        }
    }

    /// The verdict when no Gateway was written in this pass (render or apply failed): nothing
    /// serves the route, whatever the plan says.
    pub fn gateway_not_written(tgw: &str, cause: &str) -> Verdict {
        Verdict::new(
            false,
            reasons::GATEWAY_NOT_WRITTEN,
            &messages::gateway_not_written(tgw, cause),
        )
    }
}

/// Every verdict of `routes` replaced by [`Verdict::gateway_not_written`] (same routes, same
/// parentRefs).
pub fn not_written(routes: &mut [(RouteId, RouteEntries)], tgw: &str, cause: &str) {
    let v = Verdict::gateway_not_written(tgw, cause);
    for (_, entries) in routes.iter_mut() {
        for (_, verdict) in entries.iter_mut() {
            *verdict = v.clone();
        }
    }
}

/// Whether parentRef `pr` of `route` attaches to the plaintext `http` listener only because it
/// pins neither a sectionName nor a port (Cozystack gap 13): its hostnames are then served on
/// port 80 without TLS next to the redirect. Explicit `sectionName: http` (the redirect, ACME
/// challenge routes) and `port: 80` are deliberate and not reported.
pub fn plaintext_by_default(plan: &ListenerPlan, route: &RouteView, pr: &ParentRef) -> bool {
    pr.section_name.is_none()
        && pr.port.is_none()
        && plan.listeners.iter().any(|l| {
            l.role == Role::Http
                && kind_ok(l, route.id.kind)
                && matches!(&l.admits, Admits::Port80(names) if names.contains(&route.id.namespace))
        })
}

fn kind_ok(l: &Listener, kind: RouteKind) -> bool {
    match l.protocol {
        Protocol::Http => matches!(kind, RouteKind::Http | RouteKind::Grpc),
        Protocol::Https => kind == RouteKind::Http,
        Protocol::Tls => kind == RouteKind::Tls,
    }
}

/// Whether `l` admits namespace `ns` by its namespace selector, before a per-host listener is
/// narrowed to its winner.
fn admits_namespace(l: &Listener, ns: &str, attach: &BTreeSet<String>) -> bool {
    match &l.admits {
        Admits::Port80(names) => names.iter().any(|n| n == ns),
        Admits::GatewayLabel { .. } => attach.contains(ns),
    }
}

/// Whether `l`'s selector admits namespace `ns` (gateway label and name).
pub fn admits(l: &Listener, ns: &str, attach: &BTreeSet<String>) -> bool {
    match &l.admits {
        Admits::Port80(names) => names.iter().any(|n| n == ns),
        Admits::GatewayLabel { names } => attach.contains(ns) && names.iter().any(|n| n == ns),
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
    if !route.parent_refs.iter().any(|pr| pr.targets(ns, tgw_ns, tgw_name)) {
        return Vec::new();
    }
    let hosts: Vec<HostPattern> = route.hostnames.iter().filter_map(|h| HostPattern::parse(h)).collect();
    // Hostnames this namespace may not publish, in every cert mode.
    let refused: BTreeMap<&str, String> = hosts
        .iter()
        .filter_map(|h| {
            ctx.scopes
                .check(ns, h.as_str())
                .err()
                .map(|why| (h.as_str(), why.describe(&ctx.tgw.spec.apex)))
        })
        .collect();
    // The Gateway admits the namespace at all (attached, or the port-80 namespaces): only then
    // is a refusal the reason the route is not served; otherwise the listener checks say it.
    let eligible = ctx.attach.contains(ns) || ctx.plan.listeners.iter().any(|l| admits_namespace(l, ns, ctx.attach));
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
        // The namespace scope governs the HTTPS names; a parentRef that selects only the `http`
        // listener (the redirect, cert-manager's challenge routes) is judged by that listener
        // alone, which is what the data plane does.
        let port_80_only = pr.port == Some(80) || pr.section_name.as_deref() == Some(crate::naming::HTTP_LISTENER);
        let reaches_443 = !port_80_only;
        let mut verdict = if eligible && reaches_443 && !refused.is_empty() {
            let parts: Vec<String> = refused.iter().map(|(h, why)| format!("{h} {why}")).collect();
            Verdict::new(
                false,
                reasons::HOSTNAME_OUTSIDE_NAMESPACE_APEX,
                &messages::hostname_outside_namespace_apex(&bounded::join(&parts, bounded::LIST_ITEMS, "; "), &key),
            )
        } else if let Some(lost) = lost {
            Verdict::new(
                false,
                reasons::HOSTNAME_CONFLICT,
                &messages::hostname_conflict(&bounded::few(lost), &key),
            )
        } else if selected.is_empty() {
            Verdict::new(false, reasons::NO_MATCHING_PARENT, &messages::no_matching_parent(&key))
        } else if allowed.is_empty() {
            Verdict::new(
                false,
                reasons::NOT_ALLOWED_BY_LISTENERS,
                &with_detail(messages::not_allowed_by_listeners(&key), &unserved),
            )
        } else if !matching {
            Verdict::new(
                false,
                reasons::NO_MATCHING_LISTENER_HOSTNAME,
                &with_detail(messages::no_matching_listener_hostname(&key), &unserved),
            )
        } else {
            Verdict::new(
                true,
                reasons::ROUTE_ACCEPTED,
                &with_detail(messages::route_accepted(&key), &unserved),
            )
        };
        if plaintext_by_default(ctx.plan, route, pr) {
            // The warning always fits: the rest of the message gives way.
            let room = bounded::ROUTE_MESSAGE_BYTES - messages::PLAINTEXT_WARNING.len() - 2;
            verdict.message = format!(
                "{}; {}",
                bounded::cap(&verdict.message, room),
                messages::PLAINTEXT_WARNING
            );
        }
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
        .filter(|(_, r): &(&String, &Rejection)| !r.is_scope())
        .map(|(h, r): (&String, &Rejection)| (h.clone(), r.describe(apex)))
        .collect();
    let wildcard_mode = ctx.tgw.spec.cert_mode != CertMode::Http01;
    for d in &ctx.plan.dropped {
        for h in &route.hostnames {
            if !wildcard_mode && h == d {
                let ns = ctx.ownership.winners.get(h).map(|w| w.namespace.as_str());
                out.insert(h.clone(), dropped_why(ns, ns.and_then(|n| ctx.plan.short.get(n))));
            } else if wildcard_mode && within_apex(h.strip_prefix("*.").unwrap_or(h), d) {
                out.insert(
                    h.clone(),
                    format!("is under the child apex {d}, whose listeners were dropped: the Gateway's 64-listener limit is reached"),
                );
            }
        }
    }
    out
}

/// Why a won hostname got no per-host listener ([`crate::budget`]).
fn dropped_why(ns: Option<&str>, short: Option<&Shortfall>) -> String {
    match (ns, short) {
        (
            Some(ns),
            Some(Shortfall {
                limit: ShareLimit::Cap(cap),
                ..
            }),
        ) => format!(
            "was dropped: namespace {ns} already holds the {cap} listeners one namespace may use on this Gateway"
        ),
        (Some(ns), Some(Shortfall { kept, .. })) => format!(
            "was dropped: the Gateway's 64-listener limit is reached and namespace {ns} holds its fair share ({kept} listeners)"
        ),
        _ => "was dropped: the Gateway's 64-listener limit is reached".to_owned(),
    }
}

fn with_detail(base: String, unserved: &BTreeMap<String, String>) -> String {
    if unserved.is_empty() {
        return base;
    }
    let parts: Vec<String> = unserved.iter().map(|(h, why)| format!("{h} {why}")).collect();
    format!(
        "{base}; not served: {}",
        bounded::join(&parts, bounded::LIST_ITEMS, "; ")
    )
}

/// Our desired entries for the route: parentRef as written, with the Accepted condition.
pub fn entries(route: &RouteView, verdicts: &[(usize, Verdict)]) -> Vec<(ParentRef, Verdict)> {
    verdicts
        .iter()
        .map(|(i, v)| (route.parent_refs[*i].clone(), v.clone()))
        .collect()
}
