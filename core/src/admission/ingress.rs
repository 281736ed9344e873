//! Ingress (networking.k8s.io): rule hosts, TLS hosts and the hosts of ingress-nginx's
//! `server-alias` annotation within the namespace apex, or (when `platformRootHost` is set) a
//! concrete name entirely outside the platform's root apex that no other namespace's host label
//! covers; no host-less rule, no `spec.defaultBackend`, and no ingress-nginx snippet or
//! `upstream-vhost` annotation unless `allowIngressSnippets`.
//!
//! A name outside the platform apex costs one list of the Namespaces carrying the host label
//! (`Cluster::host_labels`), asked once per request and only for such a name; when the list cannot
//! be read the name is refused.

use std::collections::BTreeMap;

use super::objects::Ingress;
use super::{Apex, Cluster, Denial, HostLabel, Request, Rule, require_apex, tenant_object};
use crate::hostname::Hostname;
use crate::settings::Settings;

/// ingress-nginx's annotation prefix (the controller's default `--annotations-prefix`).
const NGINX: &str = "nginx.ingress.kubernetes.io/";
/// Extra server names for the Ingress's server block, comma (or blank) separated.
pub(crate) const SERVER_ALIAS: &str = "nginx.ingress.kubernetes.io/server-alias";
/// Rewrites the Host header sent to the backend.
const UPSTREAM_VHOST: &str = "nginx.ingress.kubernetes.io/upstream-vhost";

pub(crate) fn check(req: &Request, settings: &Settings, cluster: &mut impl Cluster) -> Result<(), Denial> {
    let Some(ingress) = tenant_object::<Ingress>(req, settings)? else {
        return Ok(());
    };
    let annotations = ingress.metadata.and_then(|m| m.annotations).unwrap_or_default();
    let spec = ingress.spec.unwrap_or_default();
    let subject = req.subject();
    if !settings.allow_ingress_snippets
        && let Some((annotation, why)) = forbidden_annotation(&annotations)
    {
        return Err(Denial::IngressSnippet {
            subject,
            annotation: annotation.to_string(),
            why: why.to_string(),
        });
    }
    let apex = require_apex(req, settings, |ns| cluster.namespace(ns), || rule(settings, None))?;
    let rule = || rule(settings, Some(&apex));
    if spec.default_backend.as_ref().is_some_and(|b| !b.is_null()) {
        return Err(Denial::IngressDefaultBackend { subject, rule: rule() });
    }
    let mut hosts: Vec<(String, &str)> = Vec::new();
    for (i, r) in spec.rules.iter().flatten().enumerate() {
        match r.host.as_deref() {
            None | Some("") => {
                return Err(Denial::IngressRuleWithoutHost {
                    subject,
                    field: format!("spec.rules[{i}]"),
                    rule: rule(),
                });
            }
            Some(host) => hosts.push((format!("spec.rules[{i}].host"), host)),
        }
    }
    for (i, tls) in spec.tls.iter().flatten().enumerate() {
        for (j, host) in tls.hosts.iter().flatten().enumerate() {
            hosts.push((format!("spec.tls[{i}].hosts[{j}]"), host));
        }
    }
    for alias in annotations
        .get(SERVER_ALIAS)
        .map(|v| server_aliases(v))
        .unwrap_or_default()
    {
        hosts.push((format!("annotation {SERVER_ALIAS}"), alias));
    }
    let mut owners: Option<Result<Vec<HostLabel>, String>> = None;
    for (field, raw) in hosts {
        let deny = |why: String| Denial::IngressHostNotAllowed {
            subject: subject.clone(),
            field: field.clone(),
            hostname: raw.to_string(),
            why,
            rule: rule(),
        };
        let Some(host) = outside_root(raw, &apex, settings).map_err(deny)? else {
            continue;
        };
        let listed = owners.get_or_insert_with(|| cluster.host_labels(&settings.host_label));
        match listed {
            Err(reason) => {
                return Err(Denial::IngressOwnersUnknown {
                    subject,
                    field,
                    hostname: raw.to_string(),
                    label: settings.host_label.clone(),
                    reason: reason.clone(),
                    rule: rule(),
                });
            }
            Ok(labels) => {
                if let Some(owner) = foreign_apex(&host, &req.namespace, labels) {
                    return Err(deny(format!(
                        " (it is within {owner}, the {} apex of another namespace)",
                        settings.host_label
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Decides one host without the other namespaces: `Ok(None)` within the namespace apex,
/// `Ok(Some(host))` for a concrete name outside the platform apex (allowed unless another namespace
/// owns it), `Err(why)` otherwise (`why` completes "is not allowed").
fn outside_root(raw: &str, apex: &Apex, settings: &Settings) -> Result<Option<Hostname>, String> {
    let host = Hostname::parse(raw).map_err(|e| format!(" (not a valid hostname: {e})"))?;
    if host.within_apex(&apex.hostname) {
        return Ok(None);
    }
    let Some(root) = settings.platform_root_host.as_deref() else {
        return Err(String::new());
    };
    if host.is_wildcard() {
        return Err(" (a wildcard is only allowed within the namespace apex)".into());
    }
    if crate::hostname::name_within(host.as_str(), &root.to_ascii_lowercase()) {
        return Err(format!(
            " (it is under the platform apex {root} but outside the namespace apex)"
        ));
    }
    Ok(Some(host))
}

/// The apex of another namespace that covers `host` (the most specific one, then by namespace
/// name), as written in its label. Labels that are not a valid apex own nothing, as for the
/// controller; the request's own namespace is skipped.
pub(crate) fn foreign_apex<'a>(host: &Hostname, own_namespace: &str, labels: &'a [HostLabel]) -> Option<&'a str> {
    labels
        .iter()
        .filter(|l| l.namespace != own_namespace)
        .filter_map(|l| {
            let apex = Hostname::parse(l.value.trim()).ok().filter(|a| !a.is_wildcard())?;
            host.within_apex(&apex)
                .then_some((apex.as_str().len(), &l.namespace, l.value.trim()))
        })
        .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, _, value)| value)
}

/// The hosts of a `server-alias` value: separated by commas and/or blanks, empty entries skipped.
pub(crate) fn server_aliases(value: &str) -> Vec<&str> {
    value
        .split(|c: char| c == ',' || c.is_ascii_whitespace())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The first annotation (in key order) that injects NGINX configuration or rewrites the upstream
/// Host, with why it is refused.
pub(crate) fn forbidden_annotation(annotations: &BTreeMap<String, String>) -> Option<(&str, &'static str)> {
    annotations.keys().find_map(|key| {
        let name = key.strip_prefix(NGINX)?;
        if name.ends_with("-snippet") {
            Some((
                key.as_str(),
                "it injects raw NGINX configuration into the shared ingress controller, where it can serve, proxy or \
                 rewrite any hostname",
            ))
        } else if key == UPSTREAM_VHOST {
            Some((
                key.as_str(),
                "it rewrites the Host header sent to the backend, so requests can be passed on as any hostname",
            ))
        } else {
            None
        }
    })
}

fn rule(settings: &Settings, apex: Option<&Apex>) -> Rule {
    let label = &settings.host_label;
    let apex_part = apex.map(|a| format!(" {}", a.hostname.original())).unwrap_or_default();
    let outside = match &settings.platform_root_host {
        Some(root) => {
            format!(
                ", or be a concrete name outside the platform apex {root} that no other namespace's {label} label covers"
            )
        }
        None => String::new(),
    };
    Rule(format!(
        "Ingress hostnames (spec.rules, spec.tls and the {SERVER_ALIAS} annotation) must be within the namespace's \
         {label} apex{apex_part}{outside}; a rule without a host and spec.defaultBackend are not allowed"
    ))
}
