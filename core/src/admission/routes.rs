//! HTTPRoute, GRPCRoute and TLSRoute hostnames within the namespace apex; TCPRoute and UDPRoute
//! kept out of tenant namespaces.

use super::objects::Route;
use super::{Denial, NamespaceFacts, Request, Rule, require_apex, tenant_object};
use crate::hostname::Hostname;
use crate::settings::Settings;

pub(crate) fn check(
    req: &Request,
    settings: &Settings,
    lookup: impl FnOnce(&str) -> NamespaceFacts,
) -> Result<(), Denial> {
    let Some(route) = tenant_object::<Route>(req, settings)? else {
        return Ok(());
    };
    let hostnames = route.spec.and_then(|s| s.hostnames).unwrap_or_default();
    let subject = req.subject();
    let apex = require_apex(req, settings, lookup, || rule(req, settings, None))?;
    let apex_text = apex.hostname.original();
    if hostnames.is_empty() && settings.require_route_hostnames {
        return Err(Denial::RouteWithoutHostnames {
            subject,
            rule: rule(req, settings, Some(apex_text)),
        });
    }
    for raw in &hostnames {
        let hostname = Hostname::parse(raw).map_err(|reason| Denial::RouteInvalid {
            subject: subject.clone(),
            hostname: raw.to_string(),
            reason,
            rule: rule(req, settings, Some(apex_text)),
        })?;
        if !hostname.within_apex(&apex.hostname) {
            return Err(Denial::RouteOutsideApex {
                subject,
                hostname: raw.to_string(),
                rule: rule(req, settings, Some(apex_text)),
            });
        }
    }
    Ok(())
}

pub(crate) fn check_l4(req: &Request, settings: &Settings) -> Result<(), Denial> {
    if !settings.is_tenant_namespace(&req.namespace) || settings.allow_l4_routes_in_tenant_namespaces {
        return Ok(());
    }
    Err(Denial::L4RouteInTenantNamespace {
        subject: req.subject(),
        kind: req.kind.kind.clone(),
        namespace: req.namespace.clone(),
        label: settings.host_label.clone(),
    })
}

fn rule(req: &Request, settings: &Settings, apex: Option<&str>) -> Rule {
    let kind = &req.kind.kind;
    let label = &settings.host_label;
    let ns = &req.namespace;
    Rule(match apex {
        Some(apex) => format!(
            "{kind} hostnames must equal the namespace's {label} label ({apex}) or be subdomains of it (namespace {ns})"
        ),
        None => {
            format!("{kind} hostnames must equal the namespace's {label} label or be subdomains of it (namespace {ns})")
        }
    })
}
