//! Ingress (networking.k8s.io): rule hosts and TLS hosts within the namespace apex, or (when
//! `platformRootHost` is set) a concrete name entirely outside the platform's root apex;
//! no host-less rule and no `spec.defaultBackend`.

use super::objects::Ingress;
use super::{Apex, Denial, NamespaceFacts, Request, Rule, require_apex, tenant_object};
use crate::hostname::Hostname;
use crate::settings::Settings;

pub(crate) fn check(
    req: &Request,
    settings: &Settings,
    lookup: impl FnOnce(&str) -> NamespaceFacts,
) -> Result<(), Denial> {
    let Some(ingress) = tenant_object::<Ingress>(req, settings)? else {
        return Ok(());
    };
    let spec = ingress.spec.unwrap_or_default();
    let subject = req.subject();
    let apex = require_apex(req, settings, lookup, || rule(settings, None))?;
    let rule = || rule(settings, Some(&apex));
    if spec.default_backend.as_ref().is_some_and(|b| !b.is_null()) {
        return Err(Denial::IngressDefaultBackend { subject, rule: rule() });
    }
    for (i, r) in spec.rules.iter().flatten().enumerate() {
        let field = format!("spec.rules[{i}].host");
        match r.host.as_deref() {
            None | Some("") => {
                return Err(Denial::IngressRuleWithoutHost {
                    subject,
                    field: format!("spec.rules[{i}]"),
                    rule: rule(),
                });
            }
            Some(host) => check_host(&subject, field, host, &apex, settings, rule)?,
        }
    }
    for (i, tls) in spec.tls.iter().flatten().enumerate() {
        for (j, host) in tls.hosts.iter().flatten().enumerate() {
            check_host(
                &subject,
                format!("spec.tls[{i}].hosts[{j}]"),
                host,
                &apex,
                settings,
                rule,
            )?;
        }
    }
    Ok(())
}

fn check_host(
    subject: &str,
    field: String,
    raw: &str,
    apex: &Apex,
    settings: &Settings,
    rule: impl Fn() -> Rule,
) -> Result<(), Denial> {
    let deny = |why: String| Denial::IngressHostNotAllowed {
        subject: subject.to_string(),
        field: field.clone(),
        hostname: raw.to_string(),
        why,
        rule: rule(),
    };
    let host = Hostname::parse(raw).map_err(|e| deny(format!(" (not a valid hostname: {e})")))?;
    if host.within_apex(&apex.hostname) {
        return Ok(());
    }
    let Some(root) = settings.platform_root_host.as_deref() else {
        return Err(deny(String::new()));
    };
    if host.is_wildcard() {
        return Err(deny(" (a wildcard is only allowed within the namespace apex)".into()));
    }
    if crate::hostname::name_within(host.as_str(), &root.to_ascii_lowercase()) {
        return Err(deny(format!(
            " (it is under the platform apex {root} but outside the namespace apex)"
        )));
    }
    Ok(())
}

fn rule(settings: &Settings, apex: Option<&Apex>) -> Rule {
    let label = &settings.host_label;
    let apex_part = apex.map(|a| format!(" {}", a.hostname.original())).unwrap_or_default();
    let outside = match &settings.platform_root_host {
        Some(root) => format!(", or be a concrete name outside the platform apex {root}"),
        None => String::new(),
    };
    Rule(format!(
        "Ingress hostnames must be within the namespace's {label} apex{apex_part}{outside}; a rule without a host \
         and spec.defaultBackend are not allowed"
    ))
}
