//! The attach set and hostname-claim collection.
//!
//! One attach set — the namespaces whose `namespace.cozystack.io/gateway` label names the owner
//! namespace — drives both the port-443 listener selector and claim collection, so what earns a
//! listener is exactly what the Gateway admits. A claim is an (HTTPRoute parentRef, hostname)
//! that could bind to a per-host HTTPS listener. Claims that can never become a terminate
//! listener are set aside with a [`Rejection`] and reported on the route; they never reach
//! rendering, so they cannot block the Gateway.

use std::collections::{BTreeMap, BTreeSet};

use crate::dns::{HostPattern, within_apex};
use crate::keys::LABEL_GATEWAY;
use crate::naming;
use crate::scope::Scopes;
use crate::snapshot::{NamespaceView, RouteId, RouteKind, RouteView};
use crate::tenantgateway::{CertMode, TgwInput};

/// Namespaces allowed to attach to the port-443 listeners of `tgw`.
pub fn attach_set(tgw: &TgwInput, namespaces: &[NamespaceView]) -> BTreeSet<String> {
    namespaces
        .iter()
        .filter(|ns| ns.label(LABEL_GATEWAY) == Some(tgw.meta.namespace.as_str()))
        .map(|ns| ns.name.clone())
        .collect()
}

/// One route parentRef that claims a hostname.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Claimant {
    pub route: RouteId,
    /// Index of the parentRef in `spec.parentRefs`.
    pub parent: usize,
    pub created: Option<String>,
}

/// Why a claimed hostname does not get a terminate listener (or, for the namespace-scope
/// variants, is refused in every mode — see [`crate::scope`]).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rejection {
    Invalid,
    Wildcard,
    OutsideApex,
    Passthrough,
    /// Outside the apex in the claiming namespace's host label.
    OutsideNamespaceApex {
        namespace: String,
        apex: String,
    },
    /// Inside a more specific apex that another namespace's host label names.
    ChildApex {
        namespace: String,
        apex: String,
    },
    /// A tenant namespace without a host label publishes nothing.
    NoHostLabel {
        namespace: String,
    },
    /// The namespace's host label is not a valid lowercase DNS name.
    InvalidHostLabel {
        namespace: String,
        value: String,
    },
}

impl Rejection {
    /// Text used in route status messages, after the hostname (`<h> <describe>`).
    pub fn describe(&self, apex: &str) -> String {
        match self {
            Rejection::Invalid => "is not a valid lowercase DNS name".to_owned(),
            Rejection::Wildcard => "is a wildcard, which HTTP-01 cannot certify".to_owned(),
            Rejection::OutsideApex => format!("is outside the apex {apex}"),
            Rejection::Passthrough => "is served by a TLS passthrough listener".to_owned(),
            Rejection::OutsideNamespaceApex { namespace, apex } => {
                format!("is outside the apex {apex} of namespace {namespace}")
            }
            Rejection::ChildApex { namespace, apex } => {
                format!("is inside the apex {apex} of namespace {namespace}, which owns that subtree")
            }
            Rejection::NoHostLabel { namespace } => format!(
                "cannot be published from namespace {namespace}: it has no {} label",
                crate::keys::LABEL_HOST
            ),
            Rejection::InvalidHostLabel { namespace, value } => format!(
                "cannot be published from namespace {namespace}: its {} label {value:?} is not a valid lowercase DNS name",
                crate::keys::LABEL_HOST
            ),
        }
    }

    /// Refused by the namespace-scope rule (reported as `HostnameOutsideNamespaceApex`).
    pub fn is_scope(&self) -> bool {
        matches!(
            self,
            Rejection::OutsideNamespaceApex { .. }
                | Rejection::ChildApex { .. }
                | Rejection::NoHostLabel { .. }
                | Rejection::InvalidHostLabel { .. }
        )
    }
}

/// Claims collected for one TenantGateway.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Claims {
    /// Valid hostname → claimants (sorted, de-duplicated).
    pub valid: BTreeMap<String, Vec<Claimant>>,
    /// (route, parentRef index) → rejected hostnames with the reason.
    pub rejected: BTreeMap<(RouteId, usize), BTreeMap<String, Rejection>>,
    /// TLS passthrough hostname (`<service>.<apex>`) → the TLSRoutes that would attach to its
    /// listener (every cert mode; see [`passthrough`]).
    pub passthrough: BTreeMap<String, Vec<Claimant>>,
}

/// Collects per-host HTTPS claims (HTTP-01 only; other modes have no per-host listeners) and
/// the TLS passthrough claims (every mode).
/// Hostnames the claiming namespace may not publish ([`Scopes::check`]) never become claims.
pub fn collect(tgw: &TgwInput, attach: &BTreeSet<String>, scopes: &Scopes<'_>, routes: &[RouteView]) -> Claims {
    let mut claims = Claims {
        passthrough: passthrough(tgw, attach, scopes, routes),
        ..Claims::default()
    };
    if tgw.spec.cert_mode != CertMode::Http01 {
        return claims;
    }
    let apex = tgw.spec.apex.as_str();
    let passthrough: BTreeSet<String> = tgw.spec.passthrough().map(|svc| format!("{svc}.{apex}")).collect();
    for route in routes.iter().filter(|r| r.id.kind == RouteKind::Http) {
        if !attach.contains(&route.id.namespace) {
            continue;
        }
        for (i, pr) in route.parent_refs.iter().enumerate() {
            if !pr.targets(&route.id.namespace, &tgw.meta.namespace, &tgw.meta.name)
                || !matches!(pr.port, None | Some(443))
            {
                continue;
            }
            for h in &route.hostnames {
                // A sectionName selects one listener: only its own hostname is claimed through it.
                if let Some(section) = &pr.section_name
                    && *section != naming::host_listener(h)
                {
                    continue;
                }
                let verdict = match HostPattern::parse(h) {
                    None => Err(Rejection::Invalid),
                    Some(p) if p.is_wildcard() => Err(Rejection::Wildcard),
                    Some(_) if !within_apex(h, apex) => Err(Rejection::OutsideApex),
                    Some(_) => match scopes.check(&route.id.namespace, h) {
                        Err(why) => Err(why),
                        Ok(()) if passthrough.contains(h) => Err(Rejection::Passthrough),
                        Ok(()) => Ok(()),
                    },
                };
                match verdict {
                    Ok(()) => claims.valid.entry(h.clone()).or_default().push(Claimant {
                        route: route.id.clone(),
                        parent: i,
                        created: route.created.clone(),
                    }),
                    Err(why) => {
                        claims
                            .rejected
                            .entry((route.id.clone(), i))
                            .or_default()
                            .insert(h.clone(), why);
                    }
                }
            }
        }
    }
    for list in claims.valid.values_mut() {
        list.sort();
        list.dedup();
    }
    claims
}

/// TLSRoutes in the attach set that would attach to a passthrough listener of this Gateway: a
/// parentRef naming it (port 443 or none; sectionName none or that listener) and a hostname that
/// intersects `<service>.<apex>`, or no hostnames at all (which matches every listener). A
/// namespace that may not publish the passthrough name ([`Scopes::check`]) does not claim it.
pub fn passthrough(
    tgw: &TgwInput,
    attach: &BTreeSet<String>,
    scopes: &Scopes<'_>,
    routes: &[RouteView],
) -> BTreeMap<String, Vec<Claimant>> {
    let apex = tgw.spec.apex.as_str();
    let names: Vec<(String, String)> = tgw
        .spec
        .passthrough()
        .map(|svc| (naming::passthrough_listener(svc), format!("{svc}.{apex}")))
        .collect();
    let mut out: BTreeMap<String, Vec<Claimant>> = BTreeMap::new();
    for route in routes
        .iter()
        .filter(|r| r.id.kind == RouteKind::Tls && attach.contains(&r.id.namespace))
    {
        let ns = route.id.namespace.as_str();
        let hosts: Vec<HostPattern> = route.hostnames.iter().filter_map(|h| HostPattern::parse(h)).collect();
        for (i, pr) in route.parent_refs.iter().enumerate() {
            if !pr.targets(ns, &tgw.meta.namespace, &tgw.meta.name) || !matches!(pr.port, None | Some(443)) {
                continue;
            }
            for (listener, host) in &names {
                let Some(name) = HostPattern::parse(host) else { continue };
                let selected = pr.section_name.as_ref().is_none_or(|s| s == listener);
                let matches = route.hostnames.is_empty() || hosts.iter().any(|h| h.intersects(&name));
                if selected && matches && scopes.check(ns, host).is_ok() {
                    out.entry(host.clone()).or_default().push(Claimant {
                        route: route.id.clone(),
                        parent: i,
                        created: route.created.clone(),
                    });
                }
            }
        }
    }
    for list in out.values_mut() {
        list.sort();
        list.dedup();
    }
    out
}
