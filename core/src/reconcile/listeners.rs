//! The listener set of the Gateway (Cozystack §2.6 with the gaps of §5 closed).
//!
//! Order: `http`; then `https` + `https-apex` + two listeners per child apex, `https-child-*`
//! (`*.C`) and `https-child-apex-*` (`C`) (dns01, existingSecret), or one `https-<label>-<hash>`
//! per won hostname (http01), sorted by hostname; then `tls-<svc>` in spec order. At most 64
//! listeners: the fixed ones always stay; dynamic listeners are kept in precedence order
//! (platform winners, then oldest winning route, then hostname; child apexes by name, both of a
//! child's listeners or neither) and the rest are reported as dropped.
//!
//! Every port-443 listener admits namespaces by name (with the gateway label): per-host and
//! passthrough listeners the winner of their name, the wildcard modes' listeners the namespaces
//! publishing under their apex ([`crate::publishers`]). Route kinds follow the protocol (HTTPS:
//! HTTPRoute, TLS: TLSRoute) unless the data plane needs identical kinds on port 443
//! ([`RouteKinds::Uniform`], Cilium).

use std::collections::{BTreeMap, BTreeSet};

use crate::budget::{self, Candidate, Shortfall};
use crate::conflict::Ownership;
use crate::dns::{HostPattern, is_dns_label};
use crate::keys::MAX_LISTENERS;
use crate::naming;
use crate::publishers::Publishers;
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
    /// Port 443: namespaces carrying the gateway label whose `kubernetes.io/metadata.name` is one
    /// of `names` (sorted, never empty).
    GatewayLabel { names: Vec<String> },
}

/// Which route kinds the port-443 listeners name in `allowedRoutes.kinds`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RouteKinds {
    /// What the protocol serves: HTTPS → HTTPRoute, TLS passthrough → TLSRoute (Gateway API; a
    /// kind the protocol cannot serve makes stock Traefik, for one, drop the listener).
    #[default]
    PerProtocol,
    /// HTTPRoute and TLSRoute on every port-443 listener: Cilium needs the kinds of listeners on
    /// one port to be identical (cilium#45559).
    Uniform,
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
    /// The attached tenant namespaces this listener exists for; empty for the TenantGateway's own
    /// listeners (`http`, the apex pair, and listeners won by the owner or a platform
    /// namespace). Only the own listeners count towards the TenantGateway's `Ready`.
    pub served_for: Vec<String>,
}

/// Inputs that were ignored, with the reason (reported in the InputsValid condition).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ignored {
    /// `tlsPassthroughServices` entries that are invalid or duplicates.
    pub services: Vec<String>,
    /// (namespace, host label value) of child namespaces whose apex is unusable.
    pub child_apexes: Vec<(String, String)>,
    /// The whole TenantGateway: it may publish nothing ([`crate::scope::Scopes::refusal`]).
    pub withdrawn: Option<crate::scope::PublishRefusal>,
}

/// The planned listeners plus what did not make it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListenerPlan {
    pub listeners: Vec<Listener>,
    /// Hostnames (http01) or child apexes (wildcard modes) left out by the 64-listener limit.
    pub dropped: Vec<String>,
    /// Namespaces that won more hostnames than they got listeners for (http01; see
    /// [`crate::budget`]).
    pub short: BTreeMap<String, Shortfall>,
    pub ignored: Ignored,
    pub kinds: RouteKinds,
}

impl ListenerPlan {
    pub fn get(&self, name: &str) -> Option<&Listener> {
        self.listeners.iter().find(|l| l.name == name)
    }
}

/// Builds the listener plan. `publishers` matters in the wildcard modes only (http01 has no
/// wildcard or child listeners); `per_namespace` caps the per-host listeners of one namespace
/// other than the owner (http01; 0: no cap; [`crate::budget`]).
pub fn plan(
    tgw: &TgwInput,
    ownership: &Ownership,
    publishers: &Publishers,
    challenge_ns: &str,
    kinds: RouteKinds,
    per_namespace: usize,
) -> ListenerPlan {
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
        served_for: Vec::new(),
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
            listeners.push(https(
                name.to_owned(),
                role,
                host,
                secret.clone(),
                publishers.owner.clone(),
                false,
            ));
        }
    }
    services.truncate(MAX_LISTENERS.saturating_sub(listeners.len()));
    let budget = MAX_LISTENERS - listeners.len() - services.len();

    let mut dropped = Vec::new();
    let mut short = BTreeMap::new();
    let mut dynamic = Vec::new();
    if let Some(secret) = &wildcard_secret {
        // Two listeners per child apex: `*.C` and `C`, both admitting only C's namespaces.
        for (i, (c, names)) in publishers.children.iter().enumerate() {
            if 2 * i + 1 < budget {
                for (name, host) in [
                    (naming::child_listener(c), format!("*.{c}")),
                    (naming::child_apex_listener(c), c.clone()),
                ] {
                    let role = Role::Child { apex: c.clone() };
                    dynamic.push((c.clone(), https(name, role, host, secret.clone(), names.clone(), true)));
                }
            } else {
                dropped.push(c.clone());
            }
        }
    } else {
        // Precedence order, shared fairly between namespaces (crate::budget); rendered sorted by
        // hostname.
        let mut hosts: Vec<(&String, &crate::conflict::Winner)> = ownership.winners.iter().collect();
        hosts.sort_by(|(ha, a), (hb, b)| {
            (!a.platform, a.created.is_none(), &a.created, ha).cmp(&(!b.platform, b.created.is_none(), &b.created, hb))
        });
        let candidates: Vec<Candidate<'_>> = hosts
            .iter()
            .map(|(h, w)| Candidate {
                host: h.as_str(),
                namespace: w.namespace.as_str(),
                platform: w.platform,
            })
            .collect();
        let allocation = budget::allocate(&candidates, budget, &tgw.meta.namespace, per_namespace);
        for (i, (h, w)) in hosts.into_iter().enumerate() {
            if allocation.kept.binary_search(&i).is_ok() {
                let l = https(
                    naming::host_listener(h),
                    Role::Host { hostname: h.clone() },
                    h.clone(),
                    naming::host_certificate(tgw_name, h),
                    vec![w.namespace.clone()],
                    !w.platform && w.namespace != tgw.meta.namespace,
                );
                dynamic.push((h.clone(), l));
            } else {
                dropped.push(h.clone());
            }
        }
        short = allocation.short;
    }
    dynamic.sort_by(|a, b| a.0.cmp(&b.0));
    dropped.sort();
    listeners.extend(dynamic.into_iter().map(|(_, l)| l));
    // A passthrough listener admits only the namespace that owns its name (the winner among the
    // TLSRoutes claiming it), or the owner namespace while nobody claims it: a tenant attached to
    // the Gateway cannot put its TLSRoute next to the platform's on the same SNI name.
    listeners.extend(services.into_iter().map(|svc| {
        let host = format!("{svc}.{apex}");
        let (only, tenant) = ownership.passthrough.get(&host).map_or_else(
            || (tgw.meta.namespace.clone(), false),
            |w| (w.namespace.clone(), !w.platform && w.namespace != tgw.meta.namespace),
        );
        Listener {
            name: naming::passthrough_listener(&svc),
            hostname: Some(host),
            role: Role::Passthrough { service: svc },
            port: 443,
            protocol: Protocol::Tls,
            certificate: None,
            served_for: if tenant { vec![only.clone()] } else { Vec::new() },
            admits: Admits::GatewayLabel { names: vec![only] },
        }
    }));
    ListenerPlan {
        listeners,
        dropped,
        short,
        ignored,
        kinds,
    }
}

/// A terminate listener admitting `names`; `tenant`: it exists for those (attached tenant)
/// namespaces rather than for the TenantGateway itself.
fn https(name: String, role: Role, host: String, cert: String, names: Vec<String>, tenant: bool) -> Listener {
    Listener {
        served_for: if tenant { names.clone() } else { Vec::new() },
        name,
        role,
        port: 443,
        protocol: Protocol::Https,
        hostname: Some(host),
        certificate: Some(cert),
        admits: Admits::GatewayLabel { names },
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

/// Port-443 listeners whose hostname matches the concrete name `host` (exact, or `*.x` with
/// `host` anywhere under `x`): the listeners a route for `host` can attach to.
pub fn matching<'a>(plan: &'a ListenerPlan, host: &str) -> Vec<&'a Listener> {
    let Some(h) = HostPattern::parse(host).filter(|h| !h.is_wildcard()) else {
        return Vec::new();
    };
    plan.listeners
        .iter()
        .filter(|l| l.port == 443)
        .filter(|l| {
            l.hostname
                .as_deref()
                .and_then(HostPattern::parse)
                .is_some_and(|lh| lh.intersects(&h))
        })
        .collect()
}

/// The listeners that serve requests for `host` under Gateway API listener isolation: of the
/// [`matching`] ones, the most specific (an exact hostname, else the longest wildcard suffix).
/// A data plane without listener isolation (Traefik 3.7) serves a route attached to any
/// [`matching`] listener.
pub fn serving<'a>(plan: &'a ListenerPlan, host: &str) -> Vec<&'a Listener> {
    let all = matching(plan, host);
    let specificity = |l: &Listener| {
        let h = l.hostname.as_deref().unwrap_or_default();
        (!h.starts_with("*."), h.len())
    };
    let Some(best) = all.iter().map(|l| specificity(l)).max() else {
        return Vec::new();
    };
    all.into_iter().filter(|l| specificity(l) == best).collect()
}
