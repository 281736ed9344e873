//! Who can publish through a Gateway: TenantGateway `spec.attachedNamespaces` and the platform
//! Package's `gateway.attachedNamespaces` must not list tenant namespaces (tenants attach through
//! their own gateway label), and a TenantGateway's apex must lie within its namespace's apex.

use super::objects::{Package, TenantGateway};
use super::{Denial, NamespaceFacts, Request, Rule, new_object, require_apex};
use crate::hostname::Hostname;
use crate::settings::Settings;

const PACKAGE_FIELD: &str = "spec.components.platform.values.gateway.attachedNamespaces";

pub(crate) fn check_tenant_gateway(
    req: &Request,
    settings: &Settings,
    lookup: impl FnOnce(&str) -> NamespaceFacts,
) -> Result<(), Denial> {
    let tgw: TenantGateway = new_object(req)?;
    let spec = tgw.spec.unwrap_or_default();
    let subject = req.subject();
    check_attached(
        &subject,
        "spec.attachedNamespaces",
        spec.attached_namespaces.as_deref(),
        settings,
    )?;
    if !settings.is_tenant_namespace(&req.namespace) {
        return Ok(());
    }
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

pub(crate) fn check_package(req: &Request, settings: &Settings) -> Result<(), Denial> {
    let package: Package = new_object(req)?;
    let attached = package
        .spec
        .and_then(|s| s.components)
        .and_then(|c| c.platform)
        .and_then(|p| p.values)
        .and_then(|v| v.gateway)
        .and_then(|g| g.attached_namespaces);
    check_attached(&req.subject(), PACKAGE_FIELD, attached.as_deref(), settings)
}

fn check_attached(
    subject: &str,
    field: &str,
    namespaces: Option<&[String]>,
    settings: &Settings,
) -> Result<(), Denial> {
    if !settings.forbid_tenant_attached_namespaces {
        return Ok(());
    }
    match namespaces
        .unwrap_or_default()
        .iter()
        .find(|ns| settings.is_tenant_namespace(ns.trim()))
    {
        Some(ns) => Err(Denial::TenantAttachedNamespace {
            subject: subject.to_string(),
            field: field.to_string(),
            namespace: ns.clone(),
            prefix: settings.tenant_namespace_prefix.clone(),
        }),
        None => Ok(()),
    }
}
