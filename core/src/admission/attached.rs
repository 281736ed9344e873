//! Who can publish through a Gateway: TenantGateway `spec.attachedNamespaces` and the platform
//! Package's `gateway.attachedNamespaces`. No one may list a tenant namespace (tenants attach
//! through their own gateway label), and only trusted callers may add any entry: an attached
//! namespace gets the gateway label from the controller, so the list is as sensitive as that label.
//! Entries are compared as sets of non-empty names; keeping or removing entries is allowed for anyone.

use super::objects::Package;
use super::{Denial, Request, describe_trusted, new_object, old_object};
use crate::settings::Settings;

pub(crate) const PACKAGE_FIELD: &str = "spec.components.platform.values.gateway.attachedNamespaces";
pub(crate) const TENANT_GATEWAY_FIELD: &str = "spec.attachedNamespaces";
/// How many added namespaces a message lists before "and N more".
const LISTED: usize = 5;

pub(crate) fn check_package(req: &Request, settings: &Settings) -> Result<(), Denial> {
    let new = new_object::<Package>(req)?.attached_namespaces();
    let old = old_object::<Package>(req)?.attached_namespaces();
    check_attached(req, PACKAGE_FIELD, new.as_deref(), old.as_deref(), settings)
}

/// Both attachment rules for one field: no tenant namespace (for everyone, when
/// `forbidTenantAttachedNamespaces`), and no new entry unless the caller is trusted.
pub(crate) fn check_attached(
    req: &Request,
    field: &str,
    new: Option<&[String]>,
    old: Option<&[String]>,
    settings: &Settings,
) -> Result<(), Denial> {
    let new = new.unwrap_or_default();
    if settings.forbid_tenant_attached_namespaces
        && let Some(ns) = new.iter().find(|ns| settings.is_tenant_namespace(ns.trim()))
    {
        return Err(Denial::TenantAttachedNamespace {
            subject: req.subject(),
            field: field.to_string(),
            namespace: ns.clone(),
            prefix: settings.tenant_namespace_prefix.clone(),
        });
    }
    if settings.is_trusted(&req.user.username, &req.user.groups) {
        return Ok(());
    }
    let added = added(new, old.unwrap_or_default());
    if added.is_empty() {
        return Ok(());
    }
    Err(Denial::AttachedNamespacesAdded {
        subject: req.subject(),
        field: field.to_string(),
        added: describe_added(&added),
        trusted: describe_trusted(settings),
        username: req.user.username.clone(),
        label: settings.gateway_label.clone(),
    })
}

/// The non-empty entries of `new` that `old` lacks, in `new`'s order and each once: the lists are
/// compared as sets of names, as the controller reads them (an entry with blanks is another name).
/// Both are at most 256 entries (CRD), so plain scans do.
fn added<'a>(new: &'a [String], old: &[String]) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for ns in new.iter().map(String::as_str) {
        if !ns.is_empty() && !old.iter().any(|o| o == ns) && !out.contains(&ns) {
            out.push(ns);
        }
    }
    out
}

/// `"a", "b"`, or the first few and `and N more`.
fn describe_added(added: &[&str]) -> String {
    let mut out = added
        .iter()
        .take(LISTED)
        .map(|ns| format!("{ns:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    if added.len() > LISTED {
        out.push_str(&format!(" and {} more", added.len() - LISTED));
    }
    out
}
