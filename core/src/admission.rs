//! Admission decisions for every place a hostname or its source can be written.
//!
//! `decide` is the whole policy: it classifies the request by group and kind, asks for the
//! request's Namespace only when a hostname rule needs the apex (and, for an Ingress host outside
//! the platform apex, for the host labels of the other namespaces), and returns a `Verdict`.
//! The policy crate supplies the lookups (Kubewarden host capabilities); tests supply data.

// A denial is the rare, terminal path and carries the message parts; boxing it buys nothing.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::consts::groups;
use crate::hostname::Hostname;
use crate::settings::Settings;

mod attached;
mod denial;
mod gateway;
mod identity;
mod ingress;
mod issuer;
mod listeners;
pub mod match_conditions;
pub(crate) mod objects;
mod request;
mod routes;
pub mod settings;
mod tenant_gateway;

pub use denial::{ApexProblem, Denial, Rule};
pub use request::{GroupVersionKind, Operation, Request, RequestError, UserInfo};

/// The outcome of one admission request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    Deny(Denial),
}

/// What the policy learned about the request's Namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamespaceFacts {
    Found {
        labels: BTreeMap<String, String>,
    },
    /// The lookup failed (not found, not permitted, host error): counts as "label absent".
    Unreadable {
        reason: String,
    },
}

/// One namespace's host label, as listed: the namespace name and the label value as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostLabel {
    pub namespace: String,
    pub value: String,
}

/// What the policy may read from the cluster. `decide` asks each question at most once per request.
pub trait Cluster {
    /// The request's Namespace (`kubernetes/get_resource`).
    fn namespace(&mut self, name: &str) -> NamespaceFacts;
    /// Every Namespace carrying `label`, with that label's value (`kubernetes/list_resources_all`
    /// with the label key as selector). `Err` carries the host's reason; the policy then fails
    /// closed.
    fn host_labels(&mut self, label: &str) -> Result<Vec<HostLabel>, String>;
}

/// A closure answers the Namespace lookup only; the list of host labels is then unavailable, so
/// a rule that needs it denies (fail closed).
impl<F: FnMut(&str) -> NamespaceFacts> Cluster for F {
    fn namespace(&mut self, name: &str) -> NamespaceFacts {
        self(name)
    }

    fn host_labels(&mut self, _label: &str) -> Result<Vec<HostLabel>, String> {
        Err("this caller cannot list Namespaces".to_string())
    }
}

/// The kinds the policy guards, by API group and kind (every version).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guarded {
    /// Gateway: listener hostnames, and in tenant namespaces the GatewayClass, addresses and
    /// infrastructure only trusted callers may pick.
    Gateway,
    /// ListenerSet, XListenerSet: listener hostnames.
    Listeners,
    /// HTTPRoute, GRPCRoute, TLSRoute: `spec.hostnames`.
    Route,
    /// TCPRoute, UDPRoute: no hostnames at all.
    L4Route,
    Ingress,
    Tenant,
    Namespace,
    TenantGateway,
    Package,
    /// cert-manager Issuer: the addresses cert-manager contacts for it.
    Issuer,
}

/// cert-manager's API group (not a hostname source, so not in `consts::groups`).
const CERT_MANAGER: &str = "cert-manager.io";

impl Guarded {
    /// The guarded kinds at the versions the policy covers (every served version; TCPRoute and
    /// UDPRoute at any version). Other versions are accepted like any other kind: a new API
    /// version must be added here and to `policy/metadata.yml` together.
    pub fn classify(kind: &GroupVersionKind) -> Option<Guarded> {
        let (g, v, k) = (kind.group.as_str(), kind.version.as_str(), kind.kind.as_str());
        match (g, k, v) {
            (groups::GATEWAY, "Gateway", "v1" | "v1beta1") => Some(Guarded::Gateway),
            (groups::GATEWAY, "ListenerSet", "v1") => Some(Guarded::Listeners),
            (groups::GATEWAY_EXPERIMENTAL, "XListenerSet", "v1alpha1") => Some(Guarded::Listeners),
            (groups::GATEWAY, "HTTPRoute", "v1" | "v1beta1") => Some(Guarded::Route),
            (groups::GATEWAY, "GRPCRoute", "v1") => Some(Guarded::Route),
            (groups::GATEWAY, "TLSRoute", "v1alpha2" | "v1alpha3" | "v1") => Some(Guarded::Route),
            (groups::GATEWAY, "TCPRoute" | "UDPRoute", _) => Some(Guarded::L4Route),
            (groups::NETWORKING, "Ingress", "v1") => Some(Guarded::Ingress),
            (groups::COZY_APPS, "Tenant", "v1alpha1") => Some(Guarded::Tenant),
            (groups::CORE, "Namespace", "v1") => Some(Guarded::Namespace),
            (groups::TENANT_GATEWAY, "TenantGateway", "v1alpha1") => Some(Guarded::TenantGateway),
            (groups::COZY_PLATFORM, "Package", "v1alpha1") => Some(Guarded::Package),
            (CERT_MANAGER, "Issuer", "v1") => Some(Guarded::Issuer),
            _ => None,
        }
    }
}

/// Decides one request. `cluster` is asked for the request's Namespace at most once, and only when
/// a hostname rule needs that namespace's apex; for the other namespaces' host labels at most once,
/// and only for an Ingress naming a concrete host outside the platform apex.
pub fn decide(req: &Request, settings: &Settings, mut cluster: impl Cluster) -> Verdict {
    if !matches!(req.operation, Operation::Create | Operation::Update) {
        return Verdict::Allow;
    }
    let Some(guarded) = Guarded::classify(&req.kind) else {
        return Verdict::Allow;
    };
    let lookup = |ns: &str| cluster.namespace(ns);
    let result = match guarded {
        Guarded::Gateway => gateway::check(req, settings).and_then(|()| listeners::check(req, settings, lookup)),
        Guarded::Listeners => listeners::check(req, settings, lookup),
        Guarded::Route => routes::check(req, settings, lookup),
        Guarded::L4Route => routes::check_l4(req, settings),
        Guarded::Ingress => ingress::check(req, settings, &mut cluster),
        Guarded::Tenant => identity::check_tenant(req, settings),
        Guarded::Namespace => identity::check_namespace(req, settings),
        Guarded::TenantGateway => tenant_gateway::check(req, settings, lookup),
        Guarded::Package => attached::check_package(req, settings),
        Guarded::Issuer => issuer::check(req, settings),
    };
    match result {
        Ok(()) => Verdict::Allow,
        Err(denial) => Verdict::Deny(denial),
    }
}

/// Parses the request's new object as `T`.
pub(crate) fn new_object<'a, T: Deserialize<'a>>(req: &'a Request) -> Result<T, Denial> {
    let object = req
        .object
        .as_ref()
        .ok_or_else(|| Denial::MissingObject { subject: req.subject() })?;
    parse_as(req, object)
}

/// The request's new object as `T`, or `None` outside tenant namespaces (where no hostname
/// rule applies).
pub(crate) fn tenant_object<'a, T: Deserialize<'a>>(
    req: &'a Request,
    settings: &Settings,
) -> Result<Option<T>, Denial> {
    if !settings.is_tenant_namespace(&req.namespace) {
        return Ok(None);
    }
    new_object(req).map(Some)
}

/// Parses the request's old object as `T` (absent on CREATE).
pub(crate) fn old_object<'a, T: Deserialize<'a> + Default>(req: &'a Request) -> Result<T, Denial> {
    req.old_object
        .as_ref()
        .map_or_else(|| Ok(T::default()), |o| parse_as(req, o))
}

fn parse_as<'a, T: Deserialize<'a>>(req: &Request, object: &'a serde_json::Value) -> Result<T, Denial> {
    objects::parse(object).map_err(|reason| Denial::MalformedObject {
        subject: req.subject(),
        reason,
    })
}

/// A tenant namespace's apex, as read from its host label.
pub(crate) struct Apex {
    pub hostname: Hostname,
}

/// Reads the apex from the namespace's host label, or says why there is none.
pub(crate) fn resolve_apex(
    req: &Request,
    settings: &Settings,
    lookup: impl FnOnce(&str) -> NamespaceFacts,
) -> Result<Apex, ApexProblem> {
    let namespace = req.namespace.clone();
    let label = settings.host_label.clone();
    let labels = match lookup(&namespace) {
        NamespaceFacts::Found { labels } => labels,
        NamespaceFacts::Unreadable { reason } => {
            return Err(ApexProblem::Unreadable {
                namespace,
                label,
                reason,
            });
        }
    };
    let value = match labels.get(&label) {
        None => return Err(ApexProblem::Missing { namespace, label }),
        Some(v) if v.trim().is_empty() => return Err(ApexProblem::Empty { namespace, label }),
        Some(v) => v.clone(),
    };
    match Hostname::parse(&value) {
        Ok(h) if h.is_wildcard() => Err(ApexProblem::Invalid {
            namespace,
            label,
            value,
            reason: "an apex cannot be a wildcard".into(),
        }),
        Ok(hostname) => Ok(Apex { hostname }),
        Err(e) => Err(ApexProblem::Invalid {
            namespace,
            label,
            value,
            reason: e.to_string(),
        }),
    }
}

/// The apex of the request's tenant namespace, or a `NoApex` denial stating `rule`.
pub(crate) fn require_apex(
    req: &Request,
    settings: &Settings,
    lookup: impl FnOnce(&str) -> NamespaceFacts,
    rule: impl FnOnce() -> Rule,
) -> Result<Apex, Denial> {
    resolve_apex(req, settings, lookup).map_err(|problem| Denial::NoApex {
        subject: req.subject(),
        problem,
        rule: rule(),
    })
}

/// `groups a, b; users c` for messages about trusted callers.
pub(crate) fn describe_trusted(settings: &Settings) -> String {
    let mut out = format!("groups {}", settings.trusted_groups.join(", "));
    if !settings.trusted_users.is_empty() {
        out.push_str(&format!("; users {}", settings.trusted_users.join(", ")));
    }
    out
}

#[cfg(test)]
#[path = "admission_tests.rs"]
mod tests;
