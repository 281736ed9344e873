//! TenantGateway: what a tenant controls in the spec. `spec.attachedNamespaces` (see
//! `attached`), `spec.dns01.rfc2136.nameserver` and `spec.gatewayClassName` are caller-identity
//! rules, checked in every namespace; `spec.apex` must lie within the namespace apex in tenant
//! namespaces. Formats (apex, nameserver, name length) are the CRD's CEL rules.

use super::attached::{TENANT_GATEWAY_FIELD, check_attached};
use super::objects::{TenantGateway, TenantGatewaySpec};
use super::{Denial, NamespaceFacts, Request, Rule, describe_trusted, new_object, old_object, require_apex};
use crate::hostname::Hostname;
use crate::keys::DEFAULT_GATEWAY_CLASS;
use crate::settings::Settings;

pub(crate) fn check(
    req: &Request,
    settings: &Settings,
    lookup: impl FnOnce(&str) -> NamespaceFacts,
) -> Result<(), Denial> {
    let new = new_object::<TenantGateway>(req)?.spec.unwrap_or_default();
    let old = old_object::<TenantGateway>(req)?.spec.unwrap_or_default();
    check_attached(
        req,
        TENANT_GATEWAY_FIELD,
        new.attached_namespaces.as_deref(),
        old.attached_namespaces.as_deref(),
        settings,
    )?;
    if !settings.is_trusted(&req.user.username, &req.user.groups) {
        check_nameserver(req, &new, &old, settings)?;
        check_gateway_class(req, &new, &old, settings)?;
    }
    if !settings.is_tenant_namespace(&req.namespace) {
        return Ok(());
    }
    check_apex(req, &new, settings, lookup)
}

/// cert-manager sends the DNS updates from inside the cluster, so a tenant could aim them at any
/// internal address: setting or changing the nameserver is for trusted callers (clearing it is not
/// restricted). Checked whatever the provider, so a value cannot be parked for a later switch.
fn check_nameserver(
    req: &Request,
    new: &TenantGatewaySpec,
    old: &TenantGatewaySpec,
    settings: &Settings,
) -> Result<(), Denial> {
    let (before, after) = (old.nameserver(), new.nameserver());
    if after.is_empty() || after == before {
        return Ok(());
    }
    Err(Denial::NameserverChange {
        subject: req.subject(),
        trusted: describe_trusted(settings),
        username: req.user.username.clone(),
        old: before.to_string(),
        new: after.to_string(),
    })
}

/// A GatewayClass outside `allowedGatewayClasses` may be chosen only by trusted callers; an
/// unchanged class (as the controller resolves it: empty means the default) stays allowed.
fn check_gateway_class(
    req: &Request,
    new: &TenantGatewaySpec,
    old: &TenantGatewaySpec,
    settings: &Settings,
) -> Result<(), Denial> {
    let old_class = req.old_object.is_some().then(|| effective_class(old));
    check_class(req, effective_class(new), old_class, settings)
}

/// The GatewayClass rule shared by TenantGateways and Gateways, for a caller who is not trusted:
/// `class` must be in `allowedGatewayClasses` unless it equals `old` (the class before an UPDATE).
pub(crate) fn check_class(req: &Request, class: &str, old: Option<&str>, settings: &Settings) -> Result<(), Denial> {
    if old == Some(class) || settings.allowed_gateway_classes.iter().any(|c| c == class) {
        return Ok(());
    }
    let allowed = if settings.allowed_gateway_classes.is_empty() {
        "none".to_string()
    } else {
        settings.allowed_gateway_classes.join(", ")
    };
    Err(Denial::GatewayClassNotAllowed {
        subject: req.subject(),
        class: class.to_string(),
        allowed,
        trusted: describe_trusted(settings),
        username: req.user.username.clone(),
    })
}

/// `gatewayClassName`, or the controller's default when absent or empty.
fn effective_class(spec: &TenantGatewaySpec) -> &str {
    match spec.gateway_class_name.as_deref() {
        None | Some("") => DEFAULT_GATEWAY_CLASS,
        Some(class) => class,
    }
}

fn check_apex(
    req: &Request,
    spec: &TenantGatewaySpec,
    settings: &Settings,
    lookup: impl FnOnce(&str) -> NamespaceFacts,
) -> Result<(), Denial> {
    let subject = req.subject();
    let rule = || {
        Rule(format!(
            "a TenantGateway's spec.apex must equal the namespace's {} label or be a subdomain of it",
            settings.host_label
        ))
    };
    let apex = require_apex(req, settings, lookup, rule)?;
    let value = match spec.apex.as_deref() {
        None | Some("") => {
            return Err(Denial::TenantGatewayWithoutApex {
                subject,
                apex: apex.hostname.original().to_string(),
            });
        }
        Some(v) => v,
    };
    let invalid = |reason: String| Denial::TenantGatewayApexInvalid {
        subject: subject.clone(),
        value: value.to_string(),
        reason,
        apex: apex.hostname.original().to_string(),
    };
    let parsed = Hostname::parse(value).map_err(|e| invalid(e.to_string()))?;
    if parsed.is_wildcard() {
        return Err(invalid("an apex cannot be a wildcard".into()));
    }
    if !parsed.within_apex(&apex.hostname) {
        return Err(Denial::TenantGatewayApexOutside {
            subject,
            value: value.to_string(),
            apex: apex.hostname.original().to_string(),
            namespace: req.namespace.clone(),
            label: settings.host_label.clone(),
        });
    }
    Ok(())
}
