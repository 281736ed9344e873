//! Namespace scope: which hostnames a namespace may publish through a TenantGateway, decided by
//! the controller itself so that isolation holds even when admission is absent (monitor mode,
//! routes older than the policy, a policy-server outage with `failurePolicy: Ignore`).
//!
//! A hostname `h` claimed by a route in namespace `ns` on TenantGateway `t` is allowed only when
//! all of these hold (hostnames outside `t`'s apex are left to the TenantGateway apex rule):
//!
//! 1. **Own apex.** `ns`'s *effective apex* covers `h`:
//!    - `ns` carries a valid host label (`namespace.cozystack.io/host`, lowercase DNS name): that
//!      value, whatever kind of namespace `ns` is (owner, platform, tenant or other);
//!    - the label is present but not a valid lowercase DNS name: nothing (fail closed);
//!    - no label or an empty one, and `ns` is a tenant namespace (name starts with the tenant
//!      prefix, default `tenant-`): nothing (fail closed — a tenant without an apex publishes
//!      nothing, even through a TenantGateway of its own);
//!    - no label or an empty one in any other namespace (the owner namespace of `t` when it is a
//!      platform namespace, platform `cozy-*`, `default`, …): `t`'s apex. Only trusted callers
//!      create such namespaces in Cozystack.
//! 2. **Most specific apex owns its subtree.** No *other* namespace's host label names an apex
//!    that lies strictly inside `ns`'s effective apex and covers `h` (for a wildcard `*.x`, covers
//!    `x`). So a parent tenant (`r2.example.org`) cannot publish `shop.bob.r2.example.org` once
//!    `bob.r2.example.org` belongs to a child, a sibling (`alice.r2.example.org`) never reaches
//!    into `bob.r2.example.org`, and platform namespaces without a label stay out of every
//!    tenant's subtree too. Every namespace in the snapshot counts, attached or not: a child with
//!    its own Gateway still owns its subtree.
//!
//! A refused hostname gets no listener and no certificate (HTTP-01) and the route's parentRef is
//! `Accepted=False` with reason `HostnameOutsideNamespaceApex` in every cert mode.
//!
//! 3. **A TenantGateway publishes only within its own namespace's apex** ([`Scopes::refusal`]):
//!    in a tenant namespace, `t`'s apex must lie within the namespace's host label (the rule the
//!    policy applies to `spec.apex`), else `t` publishes nothing. TenantGateways of platform
//!    namespaces are not restricted.

use std::collections::BTreeMap;

use crate::claims::Rejection;
use crate::conflict::PlatformPrefixes;
use crate::dns::{is_dns_name, is_strict_subdomain, within_apex};
use crate::keys::LABEL_HOST;
use crate::snapshot::NamespaceView;
use crate::tenantgateway::TgwInput;

/// What one namespace may publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NsScope {
    /// Hostnames within this apex.
    Apex(String),
    /// Tenant namespace without a host label: nothing.
    NoHostLabel,
    /// The host label is present but unusable: nothing.
    InvalidHostLabel(String),
}

/// Why a TenantGateway publishes nothing; the text is the condition message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PublishRefusal {
    #[error(
        "publishes nothing: spec.apex {tgw_apex} is outside the apex {apex} of its namespace {namespace} \
         (label {label}); a TenantGateway in a tenant namespace publishes only within that apex",
        label = LABEL_HOST
    )]
    ApexOutsideNamespace {
        namespace: String,
        tgw_apex: String,
        apex: String,
    },
    #[error(
        "publishes nothing: its namespace {namespace} is a tenant namespace without a {label} label",
        label = LABEL_HOST
    )]
    NoHostLabel { namespace: String },
    #[error(
        "publishes nothing: the {label} label {value:?} of its namespace {namespace} is not a valid lowercase DNS name",
        label = LABEL_HOST
    )]
    InvalidHostLabel { namespace: String, value: String },
}

/// How namespaces are classified (from [`crate::decide::Settings`]).
#[derive(Clone, Copy, Debug)]
pub struct Classes<'a> {
    pub platform: &'a PlatformPrefixes,
    pub tenant_prefix: &'a str,
}

impl Classes<'_> {
    pub fn is_tenant(&self, ns: &str) -> bool {
        !self.tenant_prefix.is_empty() && ns.starts_with(self.tenant_prefix) && !self.platform.is_platform(ns)
    }
}

/// Scopes of every namespace for one TenantGateway (borrows the snapshot; built once per
/// decision).
#[derive(Clone, Debug)]
pub struct Scopes<'a> {
    tgw_apex: &'a str,
    owner: &'a str,
    classes: Classes<'a>,
    /// Namespace → its host label value (as written).
    labels: BTreeMap<&'a str, &'a str>,
    /// Valid host-label apex → the first namespace (by name) carrying it.
    apexes: BTreeMap<&'a str, &'a str>,
}

impl<'a> Scopes<'a> {
    pub fn new(tgw: &'a TgwInput, namespaces: &'a [NamespaceView], classes: Classes<'a>) -> Scopes<'a> {
        let mut labels = BTreeMap::new();
        let mut apexes: BTreeMap<&str, &str> = BTreeMap::new();
        for ns in namespaces {
            let Some(v) = ns.label(LABEL_HOST).filter(|v| !v.is_empty()) else {
                continue;
            };
            labels.insert(ns.name.as_str(), v);
            if is_dns_name(v) {
                let first = apexes.entry(v).or_insert(ns.name.as_str());
                if ns.name.as_str() < *first {
                    *first = ns.name.as_str();
                }
            }
        }
        Scopes {
            tgw_apex: &tgw.spec.apex,
            owner: &tgw.meta.namespace,
            classes,
            labels,
            apexes,
        }
    }

    /// The scope of namespace `ns` (rule 1 of the module docs).
    pub fn of(&self, ns: &str) -> NsScope {
        match self.labels.get(ns) {
            Some(v) if is_dns_name(v) => NsScope::Apex((*v).to_owned()),
            Some(v) => NsScope::InvalidHostLabel((*v).to_owned()),
            None if self.classes.is_tenant(ns) => NsScope::NoHostLabel,
            None => NsScope::Apex(self.tgw_apex.to_owned()),
        }
    }

    /// Why the TenantGateway may publish nothing at all (rule 3 of the module docs): its
    /// namespace is a tenant namespace whose host label is missing, unusable, or does not cover
    /// `spec.apex`.
    pub fn refusal(&self) -> Option<PublishRefusal> {
        if !self.classes.is_tenant(self.owner) {
            return None;
        }
        let namespace = self.owner.to_owned();
        match self.of(self.owner) {
            NsScope::Apex(apex) if within_apex(self.tgw_apex, &apex) => None,
            NsScope::Apex(apex) => Some(PublishRefusal::ApexOutsideNamespace {
                namespace,
                tgw_apex: self.tgw_apex.to_owned(),
                apex,
            }),
            NsScope::NoHostLabel => Some(PublishRefusal::NoHostLabel { namespace }),
            NsScope::InvalidHostLabel(value) => Some(PublishRefusal::InvalidHostLabel { namespace, value }),
        }
    }

    /// Whether namespace `ns` may publish hostname `h` (exact or `*.x`). Hostnames outside the
    /// TenantGateway apex pass here; the apex rule reports them.
    pub fn check(&self, ns: &str, h: &str) -> Result<(), Rejection> {
        if !within_apex(h, self.tgw_apex) {
            return Ok(());
        }
        let apex = match self.of(ns) {
            NsScope::Apex(a) => a,
            NsScope::NoHostLabel => {
                return Err(Rejection::NoHostLabel {
                    namespace: ns.to_owned(),
                });
            }
            NsScope::InvalidHostLabel(value) => {
                return Err(Rejection::InvalidHostLabel {
                    namespace: ns.to_owned(),
                    value,
                });
            }
        };
        if !within_apex(h, &apex) {
            return Err(Rejection::OutsideNamespaceApex {
                namespace: ns.to_owned(),
                apex,
            });
        }
        // Rule 2: walk the suffixes of the name (a wildcard's base) from the most specific one
        // up to, not including, the namespace's own apex.
        let mut rest = h.strip_prefix("*.").unwrap_or(h);
        while is_strict_subdomain(rest, &apex) {
            if let Some(owner) = self.apexes.get(rest) {
                return Err(Rejection::ChildApex {
                    namespace: (*owner).to_owned(),
                    apex: rest.to_owned(),
                });
            }
            match rest.split_once('.') {
                Some((_, tail)) => rest = tail,
                None => break,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::LABEL_GATEWAY;
    use crate::tenantgateway::{TenantGatewaySpec, TgwMeta};
    use rstest::rstest;

    fn ns(name: &str, host: Option<&str>) -> NamespaceView {
        let mut labels = BTreeMap::from([(LABEL_GATEWAY.to_owned(), "tenant-r2".to_owned())]);
        if let Some(h) = host {
            labels.insert(LABEL_HOST.to_owned(), h.to_owned());
        }
        NamespaceView {
            name: name.into(),
            labels,
            annotations: BTreeMap::new(),
        }
    }

    fn fixture() -> (TgwInput, Vec<NamespaceView>) {
        let tgw = TgwInput {
            meta: TgwMeta {
                namespace: "tenant-r2".into(),
                name: "cozystack".into(),
                uid: "u".into(),
                generation: 1,
            },
            spec: TenantGatewaySpec::with_apex("r2.example.org"),
        };
        let namespaces = vec![
            ns("tenant-r2", Some("r2.example.org")),
            ns("tenant-r2-alice", Some("alice.r2.example.org")),
            ns("tenant-r2-bob", Some("bob.r2.example.org")),
            ns("tenant-r2-bob-deep", Some("deep.bob.r2.example.org")),
            ns("tenant-nolabel", None),
            ns("tenant-empty", Some("")),
            ns("tenant-bad", Some("Bad.r2.example.org")),
            ns("tenant-wild", Some("*.r2.example.org")),
            ns("cozy-dashboard", None),
            ns("cozy-labelled", Some("ops.r2.example.org")),
            ns("default", None),
        ];
        (tgw, namespaces)
    }

    fn outside(ns: &str, apex: &str) -> Result<(), Rejection> {
        Err(Rejection::OutsideNamespaceApex {
            namespace: ns.into(),
            apex: apex.into(),
        })
    }

    fn child(ns: &str, apex: &str) -> Result<(), Rejection> {
        Err(Rejection::ChildApex {
            namespace: ns.into(),
            apex: apex.into(),
        })
    }

    #[rstest]
    #[case::own_name("tenant-r2-alice", "shop.alice.r2.example.org", Ok(()))]
    #[case::own_apex("tenant-r2-alice", "alice.r2.example.org", Ok(()))]
    #[case::own_wildcard("tenant-r2-alice", "*.alice.r2.example.org", Ok(()))]
    #[case::sibling_hijack(
        "tenant-r2-alice",
        "shop.bob.r2.example.org",
        outside("tenant-r2-alice", "alice.r2.example.org")
    )]
    #[case::wildcard_above_own_apex(
        "tenant-r2-alice",
        "*.r2.example.org",
        outside("tenant-r2-alice", "alice.r2.example.org")
    )]
    #[case::parent_into_child("tenant-r2", "shop.bob.r2.example.org", child("tenant-r2-bob", "bob.r2.example.org"))]
    #[case::parent_takes_child_apex("tenant-r2", "bob.r2.example.org", child("tenant-r2-bob", "bob.r2.example.org"))]
    #[case::parent_wildcard_into_child(
        "tenant-r2",
        "*.bob.r2.example.org",
        child("tenant-r2-bob", "bob.r2.example.org")
    )]
    #[case::parent_own_name("tenant-r2", "shop.r2.example.org", Ok(()))]
    #[case::parent_own_wildcard("tenant-r2", "*.r2.example.org", Ok(()))]
    #[case::child_into_grandchild(
        "tenant-r2-bob",
        "x.deep.bob.r2.example.org",
        child("tenant-r2-bob-deep", "deep.bob.r2.example.org")
    )]
    #[case::grandchild_own("tenant-r2-bob-deep", "x.deep.bob.r2.example.org", Ok(()))]
    #[case::tenant_without_label("tenant-nolabel", "x.r2.example.org", Err(Rejection::NoHostLabel { namespace: "tenant-nolabel".into() }))]
    #[case::tenant_empty_label("tenant-empty", "x.r2.example.org", Err(Rejection::NoHostLabel { namespace: "tenant-empty".into() }))]
    #[case::tenant_invalid_label("tenant-bad", "x.r2.example.org", Err(Rejection::InvalidHostLabel { namespace: "tenant-bad".into(), value: "Bad.r2.example.org".into() }))]
    #[case::wildcard_label_is_invalid("tenant-wild", "x.r2.example.org", Err(Rejection::InvalidHostLabel { namespace: "tenant-wild".into(), value: "*.r2.example.org".into() }))]
    #[case::platform_unlabelled("cozy-dashboard", "dashboard.r2.example.org", Ok(()))]
    #[case::platform_unlabelled_into_tenant(
        "cozy-dashboard",
        "x.alice.r2.example.org",
        child("tenant-r2-alice", "alice.r2.example.org")
    )]
    #[case::platform_labelled_is_bound(
        "cozy-labelled",
        "dashboard.r2.example.org",
        outside("cozy-labelled", "ops.r2.example.org")
    )]
    #[case::other_unlabelled("default", "api.r2.example.org", Ok(()))]
    #[case::unknown_tenant_namespace("tenant-gone", "x.r2.example.org", Err(Rejection::NoHostLabel { namespace: "tenant-gone".into() }))]
    #[case::outside_tgw_apex_left_to_apex_rule("tenant-r2-alice", "shop.victim.com", Ok(()))]
    fn namespace_scope(#[case] ns: &str, #[case] h: &str, #[case] want: Result<(), Rejection>) {
        let (tgw, namespaces) = fixture();
        let platform = PlatformPrefixes::default();
        let scopes = Scopes::new(
            &tgw,
            &namespaces,
            Classes {
                platform: &platform,
                tenant_prefix: "tenant-",
            },
        );
        assert_eq!(scopes.check(ns, h), want);
    }

    fn owner_scopes(owner: &str, label: Option<&str>, tgw_apex: &str) -> (NsScope, Option<PublishRefusal>) {
        let tgw = TgwInput {
            meta: TgwMeta {
                namespace: owner.into(),
                name: "cozystack".into(),
                uid: "u".into(),
                generation: 1,
            },
            spec: TenantGatewaySpec::with_apex(tgw_apex),
        };
        let platform = PlatformPrefixes::default();
        let namespaces = [ns(owner, label)];
        let s = Scopes::new(
            &tgw,
            &namespaces,
            Classes {
                platform: &platform,
                tenant_prefix: "tenant-",
            },
        );
        (s.of(owner), s.refusal())
    }

    #[rstest]
    #[case::tenant_owner_own_apex("tenant-root", Some("example.org"), "example.org", NsScope::Apex("example.org".into()), None)]
    #[case::tenant_owner_subdomain_apex(
        "tenant-alice",
        Some("alice.example.org"),
        "shop.alice.example.org",
        NsScope::Apex("alice.example.org".into()),
        None
    )]
    #[case::tenant_owner_parent_apex(
        "tenant-x",
        Some("x.w3a.example.org"),
        "w3a.example.org",
        NsScope::Apex("x.w3a.example.org".into()),
        Some(PublishRefusal::ApexOutsideNamespace {
            namespace: "tenant-x".into(),
            tgw_apex: "w3a.example.org".into(),
            apex: "x.w3a.example.org".into(),
        })
    )]
    #[case::tenant_owner_without_label(
        "tenant-root",
        None,
        "example.org",
        NsScope::NoHostLabel,
        Some(PublishRefusal::NoHostLabel { namespace: "tenant-root".into() })
    )]
    #[case::tenant_owner_empty_label(
        "tenant-root",
        Some(""),
        "example.org",
        NsScope::NoHostLabel,
        Some(PublishRefusal::NoHostLabel { namespace: "tenant-root".into() })
    )]
    #[case::tenant_owner_invalid_label(
        "tenant-root",
        Some("Example.org"),
        "example.org",
        NsScope::InvalidHostLabel("Example.org".into()),
        Some(PublishRefusal::InvalidHostLabel { namespace: "tenant-root".into(), value: "Example.org".into() })
    )]
    #[case::platform_owner_without_label("cozy-system", None, "example.org", NsScope::Apex("example.org".into()), None)]
    #[case::other_owner_without_label("default", None, "example.org", NsScope::Apex("example.org".into()), None)]
    fn a_tenantgateway_publishes_only_within_its_namespace_apex(
        #[case] owner: &str,
        #[case] label: Option<&str>,
        #[case] tgw_apex: &str,
        #[case] scope: NsScope,
        #[case] refusal: Option<PublishRefusal>,
    ) {
        assert_eq!(owner_scopes(owner, label, tgw_apex), (scope, refusal));
    }

    #[test]
    fn refusal_messages_name_the_namespace_the_apex_and_the_rule() {
        let (_, refusal) = owner_scopes("tenant-x", Some("x.w3a.example.org"), "w3a.example.org");
        assert_eq!(
            refusal.map(|r| r.to_string()).as_deref(),
            Some(
                "publishes nothing: spec.apex w3a.example.org is outside the apex x.w3a.example.org of its \
                 namespace tenant-x (label namespace.cozystack.io/host); a TenantGateway in a tenant namespace \
                 publishes only within that apex"
            )
        );
    }
}
