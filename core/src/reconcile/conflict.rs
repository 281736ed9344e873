//! Hostname ownership. For each hostname the claimants are ordered by a total order:
//!
//! 1. claimants in a *platform* namespace (name starts with a configured prefix, default `cozy-`)
//!    before all others;
//! 2. older route first (`metadata.creationTimestamp`; a missing timestamp sorts last);
//! 3. `namespace/name` ascending (byte order), then route kind, then parentRef index.
//!
//! The first claimant's namespace wins the hostname. Claimants in the winning namespace share it
//! (Gateway API merges routes of one namespace); every claimant in another namespace loses it.
//! The same order decides TLS passthrough hostnames among the TLSRoutes that claim them.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use crate::claims::{Claimant, Claims};
use crate::snapshot::RouteId;

/// The prefixes marking platform namespaces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlatformPrefixes(pub Vec<String>);

impl Default for PlatformPrefixes {
    fn default() -> Self {
        PlatformPrefixes(vec![crate::keys::DEFAULT_PLATFORM_PREFIX.to_owned()])
    }
}

impl PlatformPrefixes {
    pub fn is_platform(&self, ns: &str) -> bool {
        self.0.iter().any(|p| !p.is_empty() && ns.starts_with(p.as_str()))
    }
}

/// The winner of one hostname.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Winner {
    pub namespace: String,
    pub platform: bool,
    /// Creation timestamp of the winning (first-ordered) route.
    pub created: Option<String>,
}

/// Result of conflict resolution.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ownership {
    /// HTTPS hostname (http01 per-host listeners) → winner.
    pub winners: BTreeMap<String, Winner>,
    /// TLS passthrough hostname (`<service>.<apex>`) → winner; its listener admits only the
    /// winner's namespace.
    pub passthrough: BTreeMap<String, Winner>,
    /// (route, parentRef index) → hostnames it lost.
    pub losers: BTreeMap<(RouteId, usize), BTreeSet<String>>,
}

/// The documented precedence as a comparator.
pub fn precedence(prefixes: &PlatformPrefixes, a: &Claimant, b: &Claimant) -> Ordering {
    let plat = |c: &Claimant| !prefixes.is_platform(&c.route.namespace);
    let age = |c: &Claimant| (c.created.is_none(), c.created.clone());
    plat(a)
        .cmp(&plat(b))
        .then_with(|| age(a).cmp(&age(b)))
        .then_with(|| a.route.namespace.cmp(&b.route.namespace))
        .then_with(|| a.route.name.cmp(&b.route.name))
        .then_with(|| a.route.kind.cmp(&b.route.kind))
        .then_with(|| a.parent.cmp(&b.parent))
}

pub fn resolve(claims: &Claims, prefixes: &PlatformPrefixes) -> Ownership {
    let mut out = Ownership::default();
    out.winners = resolve_hosts(&claims.valid, prefixes, &mut out.losers);
    out.passthrough = resolve_hosts(&claims.passthrough, prefixes, &mut out.losers);
    out
}

/// Winners of `claims` by [`precedence`]; every claimant outside the winning namespace is added
/// to `losers`.
fn resolve_hosts(
    claims: &BTreeMap<String, Vec<Claimant>>,
    prefixes: &PlatformPrefixes,
    losers: &mut BTreeMap<(RouteId, usize), BTreeSet<String>>,
) -> BTreeMap<String, Winner> {
    let mut winners = BTreeMap::new();
    for (host, claimants) in claims {
        let mut sorted: Vec<&Claimant> = claimants.iter().collect();
        sorted.sort_by(|a, b| precedence(prefixes, a, b));
        let Some(first) = sorted.first() else { continue };
        let ns = first.route.namespace.clone();
        winners.insert(
            host.clone(),
            Winner {
                platform: prefixes.is_platform(&ns),
                namespace: ns.clone(),
                created: first.created.clone(),
            },
        );
        for c in sorted.iter().filter(|c| c.route.namespace != ns) {
            losers
                .entry((c.route.clone(), c.parent))
                .or_default()
                .insert(host.clone());
        }
    }
    winners
}
