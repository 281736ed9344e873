//! Gateways written directly in tenant namespaces get what a TenantGateway gets: a GatewayClass
//! outside `allowedGatewayClasses`, and any `spec.addresses` or `spec.infrastructure`, only from
//! trusted callers (keeping the old value on UPDATE is allowed for anyone). These are caller-identity
//! rules, so Gateways are admitted by the identity policy; the listener hostname rule runs there
//! too (`listeners`).

use serde_json::Value;

use super::objects::Gateway;
use super::tenant_gateway::check_class;
use super::{Denial, Request, describe_trusted, new_object, old_object};
use crate::settings::Settings;

const ADDRESSES: &str = "spec.addresses";
const INFRASTRUCTURE: &str = "spec.infrastructure";

pub(crate) fn check(req: &Request, settings: &Settings) -> Result<(), Denial> {
    if !settings.is_tenant_namespace(&req.namespace) || settings.is_trusted(&req.user.username, &req.user.groups) {
        return Ok(());
    }
    let new = new_object::<Gateway>(req)?.spec.unwrap_or_default();
    let old = req
        .old_object
        .is_some()
        .then(|| old_object::<Gateway>(req))
        .transpose()?
        .map(|g| g.spec.unwrap_or_default());
    let class = new.gateway_class_name.as_deref().unwrap_or_default();
    let old_class = old
        .as_ref()
        .map(|o| o.gateway_class_name.as_deref().unwrap_or_default());
    check_class(req, class, old_class, settings)?;
    let old = old.unwrap_or_default();
    let deny = |field: &str, why: &str| Denial::GatewayFieldChange {
        subject: req.subject(),
        field: field.to_string(),
        trusted: describe_trusted(settings),
        username: req.user.username.clone(),
        why: why.to_string(),
    };
    if set_or_changed(new.addresses.as_ref(), old.addresses.as_ref()) {
        return Err(deny(
            ADDRESSES,
            "The data plane assigns the requested addresses from pools every Gateway shares (another tenant's or the \
             platform's IP)",
        ));
    }
    if set_or_changed(new.infrastructure.as_ref(), old.infrastructure.as_ref()) {
        return Err(deny(
            INFRASTRUCTURE,
            "Its labels, annotations and parametersRef reach the load balancer Service and the data plane's own \
             resources",
        ));
    }
    Ok(())
}

/// A non-empty new value that differs from the old one. Clearing is allowed: it only gives the
/// choice back to the data plane's defaults.
pub(crate) fn set_or_changed(new: Option<&Value>, old: Option<&Value>) -> bool {
    !is_empty(new) && new != old
}

/// Absent, `null`, `[]`, `{}` and `""` all mean "not set".
pub(crate) fn is_empty(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        Some(Value::String(s)) => s.is_empty(),
        Some(_) => false,
    }
}
