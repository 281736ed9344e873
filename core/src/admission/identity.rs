//! The sources of tenant hostnames: who may set `Tenant.spec.host`, and who may add, change or
//! remove the protected namespace labels (the host and gateway labels by default).

use super::objects::{Namespace, Tenant};
use super::{Denial, Request, describe_trusted, new_object, old_object};
use crate::hostname::Hostname;
use crate::settings::Settings;

pub(crate) fn check_tenant(req: &Request, settings: &Settings) -> Result<(), Denial> {
    let new: Tenant = new_object(req)?;
    let old: Tenant = old_object(req)?;
    let new_host = new.spec.and_then(|s| s.host).unwrap_or_default();
    let old_host = old.spec.and_then(|s| s.host).unwrap_or_default();
    let subject = req.subject();
    if new_host != old_host && !settings.is_trusted(&req.user.username, &req.user.groups) {
        return Err(Denial::TenantHostChange {
            subject,
            trusted: describe_trusted(settings),
            username: req.user.username.clone(),
            old: old_host,
            new: new_host,
        });
    }
    if let Some(reason) = (!new_host.is_empty()).then(|| tenant_host_problem(&new_host)).flatten() {
        return Err(Denial::TenantHostInvalid {
            subject,
            host: new_host,
            reason,
        });
    }
    Ok(())
}

/// A tenant host must be a plain, lowercase DNS name.
fn tenant_host_problem(host: &str) -> Option<String> {
    match Hostname::parse(host) {
        Err(e) => Some(e.to_string()),
        Ok(h) if h.is_wildcard() => Some("a wildcard cannot be a tenant apex".to_string()),
        Ok(_) if host.bytes().any(|b| b.is_ascii_uppercase()) => Some("it contains upper-case letters".to_string()),
        Ok(_) => None,
    }
}

pub(crate) fn check_namespace(req: &Request, settings: &Settings) -> Result<(), Denial> {
    if settings.is_trusted(&req.user.username, &req.user.groups) {
        // Still parse, so a malformed object is reported rather than waved through.
        let _: Namespace = new_object(req)?;
        return Ok(());
    }
    let new: Namespace = new_object(req)?;
    let old: Namespace = old_object(req)?;
    let new_labels = new.metadata.and_then(|m| m.labels).unwrap_or_default();
    let old_labels = old.metadata.and_then(|m| m.labels).unwrap_or_default();
    for key in &settings.protected_namespace_labels {
        let (before, after) = (old_labels.get(key), new_labels.get(key));
        if before != after {
            return Err(Denial::ProtectedLabelChange {
                subject: req.subject(),
                label: key.clone(),
                old: describe_value(before),
                new: describe_value(after),
                trusted: describe_trusted(settings),
                username: req.user.username.clone(),
            });
        }
    }
    Ok(())
}

fn describe_value(v: Option<&String>) -> String {
    v.map_or_else(|| "<unset>".to_string(), |v| format!("{v:?}"))
}
