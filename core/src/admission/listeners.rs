//! Gateway, ListenerSet and XListenerSet: every listener hostname within the namespace apex.

use super::objects::ListenerHolder;
use super::{ApexProblem, Denial, NamespaceFacts, Request, Rule, resolve_apex, tenant_object};
use crate::hostname::Hostname;
use crate::settings::Settings;

pub(crate) fn check(
    req: &Request,
    settings: &Settings,
    lookup: impl FnOnce(&str) -> NamespaceFacts,
) -> Result<(), Denial> {
    let Some(holder) = tenant_object::<ListenerHolder>(req, settings)? else {
        return Ok(());
    };
    let listeners = holder.spec.and_then(|s| s.listeners).unwrap_or_default();
    let subject = req.subject();
    let apex = match resolve_apex(req, settings, lookup) {
        Ok(apex) => apex,
        // A missing, empty or unreadable label may be tolerated; a malformed one never is.
        Err(ApexProblem::Missing { .. } | ApexProblem::Empty { .. } | ApexProblem::Unreadable { .. })
            if settings.allow_gateway_without_host_label =>
        {
            return Ok(());
        }
        Err(problem) => {
            return Err(Denial::NoApex {
                subject,
                problem,
                rule: rule(req, settings, None),
            });
        }
    };
    for (index, listener) in listeners.iter().enumerate() {
        let Some(raw) = listener.hostname.as_deref() else {
            continue;
        };
        let name = listener
            .name
            .as_deref()
            .map_or_else(|| format!("#{index}"), str::to_string);
        let hostname = Hostname::parse(raw).map_err(|reason| Denial::ListenerInvalid {
            subject: subject.clone(),
            listener: name.clone(),
            hostname: raw.to_string(),
            reason,
            rule: rule(req, settings, Some(apex.hostname.original())),
        })?;
        if !hostname.within_apex(&apex.hostname) {
            return Err(Denial::ListenerOutsideApex {
                subject,
                listener: name,
                hostname: raw.to_string(),
                apex: apex.hostname.original().to_string(),
                namespace: req.namespace.clone(),
                label: settings.host_label.clone(),
            });
        }
    }
    Ok(())
}

fn rule(req: &Request, settings: &Settings, apex: Option<&str>) -> Rule {
    let kind = &req.kind.kind;
    Rule(match apex {
        Some(apex) => format!("{kind} listener hostnames must equal {apex} or end with .{apex}"),
        None => format!(
            "{kind} listener hostnames must equal the namespace's {} label or end with . + that label ({})",
            settings.host_label,
            if settings.allow_gateway_without_host_label {
                "allowGatewayWithoutHostLabel tolerates only a missing, empty or unreadable label"
            } else {
                "allowGatewayWithoutHostLabel is false"
            }
        ),
    })
}
