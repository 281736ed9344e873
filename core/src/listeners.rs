//! The listener set of the Gateway (Cozystack §2.6 with the gaps of §5 closed).
//!
//! Order: `http`; then `https` + `https-apex` + one `https-child-*` per child apex (dns01,
//! existingSecret) or one `https-<label>-<hash>` per won hostname (http01), sorted by hostname;
//! then `tls-<svc>` in spec order. At most 64 listeners: the fixed ones always stay; dynamic
//! listeners are kept in precedence order (platform winners, then oldest winning route, then
//! hostname; child apexes by name) and the rest are reported as dropped.

use std::collections::{BTreeMap, BTreeSet};

use crate::conflict::Ownership;
use crate::dns::{is_dns_label, is_dns_name, is_strict_subdomain};
use crate::keys::{LABEL_HOST, MAX_LISTENERS};
use crate::naming;
use crate::snapshot::NamespaceView;
use crate::tenantgateway::{CertMode, TgwInput};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Http,
    Https,
    Tls,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Http => "HTTP",
            Protocol::Https => "HTTPS",
            Protocol::Tls => "TLS",
        }
    }
}

/// Which namespaces a listener admits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admits {
    /// Port 80: `kubernetes.io/metadata.name In [owner ns, ACME challenge ns]`.
    Port80(Vec<String>),
    /// Port 443: the gateway label; `only` narrows a per-host listener to the winner namespace.
    GatewayLabel { only: Option<String> },
}

/// What the listener is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    Http,
    Wildcard,
    Apex,
    Child { apex: String },
    Host { hostname: String },
    Passthrough { service: String },
}

/// One rendered listener.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listener {
    pub name: String,
    pub role: Role,
    pub port: u16,
    pub protocol: Protocol,
    pub hostname: Option<String>,
    /// Certificate Secret name for terminate listeners.
    pub certificate: Option<String>,
    pub admits: Admits,
}

/// Inputs that were ignored, with the reason (reported in the InputsValid condition).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ignored {
    /// `tlsPassthroughServices` entries that are invalid or duplicates.
    pub services: Vec<String>,
    /// (namespace, host label value) of child namespaces whose apex is unusable.
    pub child_apexes: Vec<(String, String)>,
}

/// The planned listeners plus what did not make it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListenerPlan {
    pub listeners: Vec<Listener>,
    /// Hostnames (http01) or child apexes (wildcard modes) left out by the 64-listener limit.
    pub dropped: Vec<String>,
    pub ignored: Ignored,
}

impl ListenerPlan {
    pub fn get(&self, name: &str) -> Option<&Listener> {
        self.listeners.iter().find(|l| l.name == name)
    }
}

fn label_selector(only: Option<String>) -> Admits {
    Admits::GatewayLabel { only }
}

/// Child apexes of `tgw`: host labels of attached namespaces other than the owner, lowercase
/// valid names strictly under the apex, de-duplicated and sorted.
pub fn child_apexes(
    tgw: &TgwInput,
    attach: &BTreeSet<String>,
    namespaces: &[NamespaceView],
    ignored: &mut Vec<(String, String)>,
) -> Vec<String> {
    let mut out = BTreeSet::new();
    for ns in namespaces
        .iter()
        .filter(|n| attach.contains(&n.name) && n.name != tgw.meta.namespace)
    {
        match ns.label(LABEL_HOST) {
            None | Some("") => {}
            Some(h) if h == tgw.spec.apex => {}
            Some(h) if is_dns_name(h) && is_strict_subdomain(h, &tgw.spec.apex) => {
                out.insert(h.to_owned());
            }
            Some(h) => ignored.push((ns.name.clone(), h.to_owned())),
        }
    }
    out.into_iter().collect()
}

/// Builds the listener plan.
pub fn plan(tgw: &TgwInput, ownership: &Ownership, children: &[String], challenge_ns: &str) -> ListenerPlan {
    let tgw_name = &tgw.meta.name;
    let apex = &tgw.spec.apex;
    let mut ignored = Ignored::default();

    // Passthrough services: valid, unique, in spec order.
    let mut seen = BTreeSet::new();
    let mut services = Vec::new();
    for svc in tgw.spec.passthrough() {
        let ok = is_dns_label(svc) && svc.len() + 1 + apex.len() <= 253;
        if ok && seen.insert(svc.to_owned()) {
            services.push(svc.to_owned());
        } else {
            ignored.services.push(svc.to_owned());
        }
    }
    ignored.services.sort();
    ignored.services.dedup();

    let mut port80 = vec![tgw.meta.namespace.clone()];
    if challenge_ns != tgw.meta.namespace {
        port80.push(challenge_ns.to_owned());
    }
    let mut listeners = vec![Listener {
        name: naming::HTTP_LISTENER.to_owned(),
        role: Role::Http,
        port: 80,
        protocol: Protocol::Http,
        hostname: None,
        certificate: None,
        admits: Admits::Port80(port80),
    }];

    let wildcard_secret = match tgw.spec.cert_mode {
        CertMode::Http01 => None,
        CertMode::Dns01 => Some(naming::wildcard_certificate(tgw_name)),
        CertMode::ExistingSecret => Some(
            tgw.spec
                .wildcard_secret_ref
                .as_ref()
                .map(|r| r.name.clone())
                .unwrap_or_default(),
        ),
    };
    if let Some(secret) = &wildcard_secret {
        for (name, role, host) in [
            (naming::WILDCARD_LISTENER, Role::Wildcard, format!("*.{apex}")),
            (naming::APEX_LISTENER, Role::Apex, apex.clone()),
        ] {
            listeners.push(https(name.to_owned(), role, host, secret.clone(), None));
        }
    }
    services.truncate(MAX_LISTENERS.saturating_sub(listeners.len()));
    let budget = MAX_LISTENERS - listeners.len() - services.len();

    let mut dropped = Vec::new();
    let mut dynamic = Vec::new();
    if let Some(secret) = &wildcard_secret {
        for (i, c) in children.iter().enumerate() {
            if i < budget {
                let l = https(
                    naming::child_listener(c),
                    Role::Child { apex: c.clone() },
                    format!("*.{c}"),
                    secret.clone(),
                    None,
                );
                dynamic.push((c.clone(), l));
            } else {
                dropped.push(c.clone());
            }
        }
    } else {
        // Keep in precedence order, render sorted by hostname.
        let mut hosts: Vec<(&String, &crate::conflict::Winner)> = ownership.winners.iter().collect();
        hosts.sort_by(|(ha, a), (hb, b)| {
            (!a.platform, a.created.is_none(), &a.created, ha).cmp(&(!b.platform, b.created.is_none(), &b.created, hb))
        });
        for (i, (h, w)) in hosts.into_iter().enumerate() {
            if i < budget {
                let l = https(
                    naming::host_listener(h),
                    Role::Host { hostname: h.clone() },
                    h.clone(),
                    naming::host_certificate(tgw_name, h),
                    Some(w.namespace.clone()),
                );
                dynamic.push((h.clone(), l));
            } else {
                dropped.push(h.clone());
            }
        }
    }
    dynamic.sort_by(|a, b| a.0.cmp(&b.0));
    dropped.sort();
    listeners.extend(dynamic.into_iter().map(|(_, l)| l));
    // A passthrough listener admits only the namespace that owns its name (the winner among the
    // TLSRoutes claiming it), or the owner namespace while nobody claims it: a tenant attached to
    // the Gateway cannot put its TLSRoute next to the platform's on the same SNI name.
    listeners.extend(services.into_iter().map(|svc| {
        let host = format!("{svc}.{apex}");
        let only = ownership
            .passthrough
            .get(&host)
            .map_or_else(|| tgw.meta.namespace.clone(), |w| w.namespace.clone());
        Listener {
            name: naming::passthrough_listener(&svc),
            hostname: Some(host),
            role: Role::Passthrough { service: svc },
            port: 443,
            protocol: Protocol::Tls,
            certificate: None,
            admits: label_selector(Some(only)),
        }
    }));
    ListenerPlan {
        listeners,
        dropped,
        ignored,
    }
}

fn https(name: String, role: Role, host: String, cert: String, only: Option<String>) -> Listener {
    Listener {
        name,
        role,
        port: 443,
        protocol: Protocol::Https,
        hostname: Some(host),
        certificate: Some(cert),
        admits: label_selector(only),
    }
}

/// Hostname → per-host Certificate name for the http01 listeners actually planned.
pub fn host_certificates(plan: &ListenerPlan) -> BTreeMap<String, String> {
    plan.listeners
        .iter()
        .filter_map(|l| match (&l.role, &l.certificate) {
            (Role::Host { hostname }, Some(c)) => Some((hostname.clone(), c.clone())),
            _ => None,
        })
        .collect()
}
