//! Who publishes under which apex of a TenantGateway: the attach set grouped by effective apex
//! ([`crate::scope`]), so each port-443 listener of the wildcard modes (dns01, existingSecret)
//! admits exactly the namespaces that own its names.
//!
//! - **Owner group**: the owner namespace and every attached namespace whose effective apex *is*
//!   the TenantGateway apex (platform namespaces without a host label, namespaces labelled with
//!   the apex itself). They are admitted by `https` (`*.<apex>`) and `https-apex` (`<apex>`).
//! - **Child groups**: for each child apex `C` (the valid host label of an attached namespace
//!   other than the owner, strictly under the TenantGateway apex) the attached namespaces labelled
//!   `C`. They are admitted by the `*.C` and `C` listeners and by nothing else: the most specific
//!   apex owns its subtree, so a grandchild with its own listeners is not admitted by its
//!   parent's, and siblings never share a listener.
//! - Everyone else (a tenant namespace without a usable host label, a label outside the apex) is
//!   admitted by no port-443 listener; unusable labels are reported as ignored child apexes.

use std::collections::{BTreeMap, BTreeSet};

use crate::dns::is_strict_subdomain;
use crate::scope::{NsScope, Scopes};
use crate::tenantgateway::TgwInput;

/// The attach set grouped by the apex each namespace publishes under.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Publishers {
    /// Namespaces publishing under the TenantGateway apex itself (always holds the owner), sorted.
    pub owner: Vec<String>,
    /// Child apex → the namespaces labelled with it, sorted.
    pub children: BTreeMap<String, Vec<String>>,
    /// (namespace, host label value) of attached namespaces whose label is unusable here: not a
    /// valid lowercase DNS name, or not within the TenantGateway apex.
    pub ignored: Vec<(String, String)>,
}

impl Publishers {
    /// Child apexes, sorted.
    pub fn child_apexes(&self) -> Vec<String> {
        self.children.keys().cloned().collect()
    }
}

/// Groups the attach set of `tgw` by effective apex.
pub fn publishers(tgw: &TgwInput, attach: &BTreeSet<String>, scopes: &Scopes<'_>) -> Publishers {
    let apex = tgw.spec.apex.as_str();
    let owner = tgw.meta.namespace.as_str();
    let mut out = Publishers {
        owner: vec![owner.to_owned()],
        ..Publishers::default()
    };
    for ns in attach.iter().filter(|n| n.as_str() != owner) {
        match scopes.of(ns) {
            NsScope::Apex(a) if a == apex => out.owner.push(ns.clone()),
            NsScope::Apex(a) if is_strict_subdomain(&a, apex) => out.children.entry(a).or_default().push(ns.clone()),
            NsScope::Apex(a) | NsScope::InvalidHostLabel(a) => out.ignored.push((ns.clone(), a)),
            NsScope::NoHostLabel => {}
        }
    }
    out.owner.sort();
    out
}
