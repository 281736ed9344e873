//! TenantGateway status: `observedGeneration`, `Ready` with Cozystack's reasons and precedence,
//! one condition per concern, and per-listener readiness including certificate readiness.
//! `now` is an argument; `lastTransitionTime` is carried over when a condition's status is
//! unchanged, so recomputing an unchanged state yields an equal value (and no write).
//!
//! `status.listeners` lists only listeners that exist: when no Gateway was written in this pass
//! it is empty and `GatewayApplied=False/GatewayNotWritten` says why. Every message lists at most
//! a few items and is capped at [`bounded::CONDITION_MESSAGE_BYTES`].

use std::collections::BTreeMap;

use gateway_api::gateways::GatewayStatus;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition as MetaCondition;

use crate::bounded;
use crate::conditions::{messages, reasons, types};
use crate::dns::HostPattern;
use crate::listeners::{ListenerPlan, Protocol, Role};
use crate::tenantgateway::{CertMode, Condition, ConditionStatus, ListenerStatus, TenantGatewayStatus, TgwInput};

pub use crate::attach::AttachReport;

/// Everything the status depends on.
pub struct StatusInput<'a> {
    pub tgw: &'a TgwInput,
    pub plan: &'a ListenerPlan,
    /// The Gateway's `.status` as observed, typed (None when absent or unreadable).
    pub gateway_status: Option<&'a GatewayStatus>,
    /// Certificate name → Ready, for the Certificates this TenantGateway manages.
    pub certificates_ready: &'a BTreeMap<String, bool>,
    pub issuer_ready: Option<bool>,
    /// Step errors, by condition type (GatewayApplied, IssuerReady, CertificatesReady,
    /// NamespacesAttached, RouteStatusUpdated). Ordered as reported in Ready.
    pub errors: &'a [(&'static str, String)],
    pub attach: &'a AttachReport,
    pub previous: Option<&'a TenantGatewayStatus>,
    pub now: &'a str,
    /// Why no Gateway was written in this pass (`Decision::gateway_not_written`); `None` when it
    /// was.
    pub gateway_not_written: Option<&'a str>,
    /// `ns/name` of routes attached to the plaintext listener by default (`Decision::plaintext_routes`).
    pub plaintext_routes: &'a [String],
    /// Route-status writes that failed on routes of attached tenant namespaces: (namespace,
    /// bounded message). Reported in `AttachedNamespacesReady`, never in `Ready`.
    pub attached_failures: &'a [(String, String)],
}

/// `(passthrough listener, terminate listener)` pairs on port 443 whose hostnames intersect
/// (Cozystack gap 12: Cilium ≥ 1.19.6 marks both `Conflicted`).
pub fn passthrough_overlaps(plan: &ListenerPlan) -> Vec<(String, String)> {
    let host = |l: &crate::listeners::Listener| l.hostname.as_deref().and_then(HostPattern::parse);
    let mut out = Vec::new();
    for tls in plan.listeners.iter().filter(|l| l.protocol == Protocol::Tls) {
        let Some(t) = host(tls) else { continue };
        for https in plan
            .listeners
            .iter()
            .filter(|l| l.protocol == Protocol::Https && l.port == tls.port)
        {
            if host(https).is_some_and(|h| h.intersects(&t)) {
                out.push((tls.name.clone(), https.name.clone()));
            }
        }
    }
    out
}

fn cond_true(conds: Option<&[MetaCondition]>, t: &str) -> bool {
    conds.is_some_and(|cs| cs.iter().any(|c| c.type_ == t && c.status == "True"))
}

fn listener_status(input: &StatusInput<'_>) -> Vec<ListenerStatus> {
    let gw_listeners = input.gateway_status.and_then(|s| s.listeners.as_deref());
    let managed = input.tgw.spec.cert_mode != CertMode::ExistingSecret;
    input
        .plan
        .listeners
        .iter()
        .map(|l| {
            let observed = gw_listeners.and_then(|ls| ls.iter().find(|x| x.name == l.name));
            let cert_ready = match (&l.role, &l.certificate) {
                (Role::Host { .. } | Role::Wildcard | Role::Apex | Role::Child { .. }, Some(c)) if managed => {
                    Some(input.certificates_ready.get(c).copied().unwrap_or(false))
                }
                _ => None,
            };
            let reason = match observed {
                None => Some(reasons::LISTENER_PENDING),
                Some(o) if !cond_true(Some(&o.conditions), "Accepted") => Some(reasons::LISTENER_NOT_ACCEPTED),
                Some(o) if !cond_true(Some(&o.conditions), "Programmed") => Some(reasons::LISTENER_NOT_PROGRAMMED),
                Some(_) if cert_ready == Some(false) => Some(reasons::CERTIFICATE_NOT_READY),
                Some(_) => None,
            };
            ListenerStatus {
                name: l.name.clone(),
                hostname: l.hostname.clone(),
                ready: reason.is_none(),
                certificate_name: l.certificate.clone(),
                certificate_ready: cert_ready,
                reason: reason.map(str::to_owned),
            }
        })
        .collect()
}

/// Whether a listener of the TenantGateway's own (`served_for` empty) is not ready: what its
/// `Ready` answers for. Listeners of attached tenants are reported in `AttachedNamespacesReady`.
fn own_listeners_not_ready(plan: &ListenerPlan, listeners: &[ListenerStatus]) -> bool {
    listeners
        .iter()
        .filter(|l| plan.get(&l.name).is_none_or(|p| p.served_for.is_empty()))
        .any(|l| !l.ready)
}

/// `AttachedNamespacesReady`: the listeners that exist for attached tenant namespaces, and the
/// status writes on those tenants' routes. A tenant's pending certificate or unwritable route is
/// its own problem: it is named here (bounded), not in the TenantGateway's `Ready`.
fn attached_ready(
    plan: &ListenerPlan,
    listeners: &[ListenerStatus],
    failures: &[(String, String)],
) -> (&'static str, bool, &'static str, String) {
    let mut by_ns: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for l in listeners.iter().filter(|l| !l.ready) {
        for ns in plan.get(&l.name).map(|p| p.served_for.as_slice()).unwrap_or_default() {
            let why = l.reason.as_deref().unwrap_or("NotReady");
            by_ns.entry(ns).or_default().push(format!("listener {} {why}", l.name));
        }
    }
    for (ns, msg) in failures {
        by_ns.entry(ns).or_default().push(msg.clone());
    }
    if by_ns.is_empty() {
        return (
            types::ATTACHED_READY,
            true,
            reasons::READY,
            "Every attached namespace's listeners are ready and its routes' status is written".to_owned(),
        );
    }
    let parts: Vec<String> = by_ns
        .iter()
        .map(|(ns, items)| format!("{ns}: {}", bounded::join(items, bounded::LIST_ITEMS, ", ")))
        .collect();
    (
        types::ATTACHED_READY,
        false,
        reasons::NOT_READY,
        messages::attached_not_ready(&bounded::join(&parts, bounded::LIST_ITEMS, "; ")),
    )
}

pub fn compute(input: &StatusInput<'_>) -> TenantGatewayStatus {
    let key = input.tgw.key();
    let gen_ = input.tgw.meta.generation;
    let listeners = if input.gateway_not_written.is_some() {
        Vec::new()
    } else {
        listener_status(input)
    };
    let err = |t: &str| input.errors.iter().find(|(c, _)| *c == t).map(|(_, m)| m.clone());
    let gw_conds = input.gateway_status.and_then(|s| s.conditions.as_deref());
    let accepted = cond_true(gw_conds, "Accepted");
    let programmed = cond_true(gw_conds, "Programmed");

    let mut conds: Vec<(&str, bool, &str, String)> = Vec::new();
    let ready = if !input.errors.is_empty() {
        let msg: Vec<String> = input.errors.iter().map(|(_, m)| m.clone()).collect();
        (false, reasons::RECONCILE_ERROR, msg.join("; "))
    } else if let Some(cause) = input.gateway_not_written {
        (
            false,
            reasons::GATEWAY_NOT_WRITTEN,
            messages::tgw_gateway_not_written(&key, cause),
        )
    } else if !accepted {
        (
            false,
            reasons::GATEWAY_NOT_ACCEPTED,
            messages::gateway_not_accepted(&key),
        )
    } else if !programmed {
        (
            false,
            reasons::GATEWAY_NOT_PROGRAMMED,
            messages::gateway_not_programmed(&key),
        )
    } else if own_listeners_not_ready(input.plan, &listeners) {
        (false, reasons::LISTENERS_NOT_READY, messages::listeners_not_ready(&key))
    } else {
        (true, reasons::RECONCILED, messages::reconciled(&key, listeners.len()))
    };
    conds.push((types::READY, ready.0, ready.1, ready.2));
    conds.push(if programmed {
        (
            types::PROGRAMMED,
            true,
            reasons::PROGRAMMED,
            format!("Gateway {key} is programmed"),
        )
    } else if accepted {
        (
            types::PROGRAMMED,
            false,
            reasons::GATEWAY_NOT_PROGRAMMED,
            messages::gateway_not_programmed(&key),
        )
    } else {
        (
            types::PROGRAMMED,
            false,
            reasons::GATEWAY_NOT_ACCEPTED,
            messages::gateway_not_accepted(&key),
        )
    });
    conds.push(match (input.gateway_not_written, err(types::GATEWAY_APPLIED)) {
        (Some(cause), _) => (
            types::GATEWAY_APPLIED,
            false,
            reasons::GATEWAY_NOT_WRITTEN,
            messages::tgw_gateway_not_written(&key, cause),
        ),
        (None, Some(m)) => (types::GATEWAY_APPLIED, false, reasons::RECONCILE_ERROR, m),
        (None, None) => (
            types::GATEWAY_APPLIED,
            true,
            reasons::APPLIED,
            format!("Gateway {key} applied with {} listeners", listeners.len()),
        ),
    });
    let issuer = format!(
        "{}/{}",
        input.tgw.meta.namespace,
        crate::naming::issuer(&input.tgw.meta.name)
    );
    conds.push(
        match (err(types::ISSUER_READY), input.tgw.spec.cert_mode, input.issuer_ready) {
            (Some(m), _, _) => (types::ISSUER_READY, false, reasons::RECONCILE_ERROR, m),
            (None, CertMode::ExistingSecret, _) => (
                types::ISSUER_READY,
                true,
                reasons::NOT_REQUIRED,
                "certMode=existingSecret uses an operator-provided Secret".to_owned(),
            ),
            (None, _, Some(true)) => (
                types::ISSUER_READY,
                true,
                reasons::READY,
                format!("Issuer {issuer} is ready"),
            ),
            (None, _, _) => (
                types::ISSUER_READY,
                false,
                reasons::NOT_READY,
                format!("Issuer {issuer} is not ready yet"),
            ),
        },
    );
    let mut not_ready: Vec<&String> = input
        .certificates_ready
        .iter()
        .filter(|(_, r)| !**r)
        .map(|(n, _)| n)
        .collect();
    not_ready.sort();
    conds.push(match err(types::CERTIFICATES_READY) {
        Some(m) => (types::CERTIFICATES_READY, false, reasons::RECONCILE_ERROR, m),
        None if input.certificates_ready.is_empty() => (
            types::CERTIFICATES_READY,
            true,
            reasons::NOT_REQUIRED,
            "No certificates are managed for this TenantGateway".to_owned(),
        ),
        None if not_ready.is_empty() => (
            types::CERTIFICATES_READY,
            true,
            reasons::READY,
            format!("{} certificate(s) ready", input.certificates_ready.len()),
        ),
        None => (
            types::CERTIFICATES_READY,
            false,
            reasons::PENDING,
            format!("Certificates not ready: {}", bounded::few(&not_ready)),
        ),
    });
    conds.push(match err(types::NAMESPACES_ATTACHED) {
        Some(m) => (types::NAMESPACES_ATTACHED, false, reasons::RECONCILE_ERROR, m),
        None if input.attach.conflicts.is_empty()
            && input.attach.missing.is_empty()
            && input.attach.refused.is_empty() =>
        {
            (
                types::NAMESPACES_ATTACHED,
                true,
                reasons::ATTACHED,
                "All namespaces attached".to_owned(),
            )
        }
        None => {
            let mut parts = Vec::new();
            if !input.attach.conflicts.is_empty() {
                let c: Vec<String> = input
                    .attach
                    .conflicts
                    .iter()
                    .map(|(ns, o)| format!("{ns} (attached to {o})"))
                    .collect();
                parts.push(format!("already attached to another owner: {}", bounded::few(&c)));
            }
            if !input.attach.missing.is_empty() {
                parts.push(format!("not found: {}", bounded::few(&input.attach.missing)));
            }
            if !input.attach.refused.is_empty() {
                let r: Vec<String> = input
                    .attach
                    .refused
                    .iter()
                    .map(|(ns, why)| format!("{ns} ({why})"))
                    .collect();
                parts.push(format!("refused: {}", bounded::join(&r, bounded::LIST_ITEMS, "; ")));
            }
            (
                types::NAMESPACES_ATTACHED,
                false,
                reasons::ATTACH_CONFLICT,
                format!("Namespaces not attached: {}", parts.join("; ")),
            )
        }
    });
    conds.push(if input.plan.dropped.is_empty() {
        (
            types::LISTENER_BUDGET,
            true,
            reasons::WITHIN_LIMIT,
            format!("{} of {} listeners used", listeners.len(), crate::keys::MAX_LISTENERS),
        )
    } else if input.plan.short.is_empty() {
        (
            types::LISTENER_BUDGET,
            false,
            reasons::LISTENER_LIMIT_EXCEEDED,
            format!(
                "Listener limit of {} reached; not served: {}",
                crate::keys::MAX_LISTENERS,
                bounded::few(&input.plan.dropped)
            ),
        )
    } else {
        let short: Vec<String> = input
            .plan
            .short
            .iter()
            .map(|(ns, s)| match s.limit {
                crate::budget::ShareLimit::Cap(cap) => {
                    format!("{ns} ({} of {} hostnames, capped at {cap})", s.kept, s.wanted)
                }
                crate::budget::ShareLimit::FairShare => {
                    format!("{ns} ({} of {} hostnames, fair share)", s.kept, s.wanted)
                }
            })
            .collect();
        (
            types::LISTENER_BUDGET,
            false,
            reasons::LISTENER_LIMIT_EXCEEDED,
            format!(
                "{} of {} listeners used; namespaces short of listeners: {}; not served: {}",
                listeners.len(),
                crate::keys::MAX_LISTENERS,
                bounded::join(&short, bounded::LIST_ITEMS, ", "),
                bounded::few(&input.plan.dropped)
            ),
        )
    });
    let ig = &input.plan.ignored;
    conds.push(
        if ig.services.is_empty() && ig.child_apexes.is_empty() && ig.withdrawn.is_none() {
            (
                types::INPUTS_VALID,
                true,
                reasons::VALID,
                "All inputs are valid".to_owned(),
            )
        } else {
            let mut parts = Vec::new();
            if let Some(why) = &ig.withdrawn {
                parts.push(format!("TenantGateway {key} {why}"));
            }
            if !ig.services.is_empty() {
                parts.push(format!(
                    "tlsPassthroughServices ignored (invalid or duplicate): {}",
                    bounded::few(&ig.services)
                ));
            }
            if !ig.child_apexes.is_empty() {
                let c: Vec<String> = ig.child_apexes.iter().map(|(ns, h)| format!("{ns}={h}")).collect();
                parts.push(format!(
                    "child apexes ignored (invalid or outside {}): {}",
                    input.tgw.spec.apex,
                    bounded::few(&c)
                ));
            }
            (types::INPUTS_VALID, false, reasons::INVALID_INPUTS, parts.join("; "))
        },
    );
    conds.push(attached_ready(input.plan, &listeners, input.attached_failures));
    conds.push(match err(types::ROUTES_UPDATED) {
        Some(m) => (types::ROUTES_UPDATED, false, reasons::RECONCILE_ERROR, m),
        None => (
            types::ROUTES_UPDATED,
            true,
            reasons::UPDATED,
            "Route status is up to date".to_owned(),
        ),
    });
    conds.push(if input.plaintext_routes.is_empty() {
        (
            types::PLAINTEXT_ISOLATED,
            true,
            reasons::NO_PLAINTEXT_ROUTES,
            "No route attaches to the plaintext listener http without pinning a sectionName or port".to_owned(),
        )
    } else {
        (
            types::PLAINTEXT_ISOLATED,
            false,
            reasons::PLAINTEXT_ROUTES,
            messages::plaintext_routes(&bounded::few(input.plaintext_routes)),
        )
    });
    let overlaps = passthrough_overlaps(input.plan);
    conds.push(if overlaps.is_empty() {
        (
            types::PASSTHROUGH_ISOLATED,
            true,
            reasons::NO_OVERLAP,
            "No TLS passthrough listener shares a hostname with a terminate listener".to_owned(),
        )
    } else {
        let pairs: Vec<String> = overlaps.iter().map(|(t, h)| format!("{t} overlaps {h}")).collect();
        (
            types::PASSTHROUGH_ISOLATED,
            false,
            reasons::PASSTHROUGH_OVERLAP,
            messages::passthrough_overlap(&bounded::few(&pairs)),
        )
    });

    let prev = input.previous.and_then(|p| p.conditions.as_ref());
    let conditions = conds
        .into_iter()
        .map(|(t, ok, reason, message)| {
            let status = ConditionStatus::from_bool(ok);
            let time = prev
                .and_then(|cs| cs.iter().find(|c| c.type_ == t && c.status == status))
                .map_or_else(|| input.now.to_owned(), |c| c.last_transition_time.clone());
            Condition {
                last_transition_time: time,
                message: bounded::condition_message(&message),
                observed_generation: Some(gen_),
                reason: reason.to_owned(),
                status,
                type_: t.to_owned(),
            }
        })
        .collect();
    TenantGatewayStatus {
        conditions: Some(conditions),
        listeners: Some(listeners),
        observed_generation: Some(gen_),
    }
}
