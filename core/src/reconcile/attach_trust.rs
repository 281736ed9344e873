//! Which `spec.attachedNamespaces` entries the controller honours.
//!
//! Writing `attachedNamespaces` is as sensitive as writing the gateway label itself: the
//! controller turns every entry into `namespace.cozystack.io/gateway=<owner>`. Admission refuses
//! untrusted writers, but the controller must not depend on that (policy in monitor mode, objects
//! older than the policy, a policy-server outage). So the controller honours the field only on
//! TenantGateways in the *publishing* namespaces (`--attach-owner-namespaces`, default
//! `tenant-root`, the namespace Cozystack's Package writes the list into), and never for a tenant
//! namespace (a tenant attaches with `tenant.spec.gateway`, not through another tenant's list).
//! Refused entries are reported in the `NamespacesAttached` condition and never labelled.

use crate::tenantgateway::TgwInput;

/// Controller settings for `attachedNamespaces`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachTrust {
    /// Namespaces whose TenantGateways may list `attachedNamespaces`; `*` allows every namespace.
    pub owner_namespaces: Vec<String>,
}

impl Default for AttachTrust {
    fn default() -> Self {
        AttachTrust {
            owner_namespaces: vec![crate::keys::DEFAULT_ATTACH_OWNER_NAMESPACE.to_owned()],
        }
    }
}

/// Why an `attachedNamespaces` entry is not honoured.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AttachRefusal {
    #[error("only TenantGateways in {owners} may list attachedNamespaces (this one is in {namespace})")]
    NotAnOwner { owners: String, namespace: String },
    #[error("{entry} is a tenant namespace (prefix {prefix}); tenants attach with tenant.spec.gateway")]
    TenantNamespace { entry: String, prefix: String },
}

/// The entries of `tgw.spec.attachedNamespaces` split into honoured and refused (spec order,
/// duplicates and empty entries dropped); entries starting with `tenant_prefix` are refused for
/// every owner. The owner namespace itself is always attached and is not an entry here.
pub fn split(tgw: &TgwInput, trust: &AttachTrust, tenant_prefix: &str) -> (Vec<String>, Vec<(String, AttachRefusal)>) {
    let ns = tgw.meta.namespace.as_str();
    let owner_ok = trust.owner_namespaces.iter().any(|o| o == "*" || o == ns);
    let mut honoured: Vec<String> = Vec::new();
    let mut refused: Vec<(String, AttachRefusal)> = Vec::new();
    for entry in tgw.spec.attached() {
        if entry == ns || honoured.iter().any(|h| h == entry) || refused.iter().any(|(r, _)| r == entry) {
            continue;
        }
        let why = if !tenant_prefix.is_empty() && entry.starts_with(tenant_prefix) {
            Some(AttachRefusal::TenantNamespace {
                entry: entry.to_owned(),
                prefix: tenant_prefix.to_owned(),
            })
        } else if !owner_ok {
            Some(AttachRefusal::NotAnOwner {
                owners: trust.owner_namespaces.join(", "),
                namespace: ns.to_owned(),
            })
        } else {
            None
        };
        match why {
            Some(w) => refused.push((entry.to_owned(), w)),
            None => honoured.push(entry.to_owned()),
        }
    }
    (honoured, refused)
}

/// `tgw` with only the honoured `attachedNamespaces` entries, for the attach plan.
pub fn honoured_input(
    tgw: &TgwInput,
    trust: &AttachTrust,
    tenant_prefix: &str,
) -> (TgwInput, Vec<(String, AttachRefusal)>) {
    let (honoured, refused) = split(tgw, trust, tenant_prefix);
    let mut out = tgw.clone();
    out.spec.attached_namespaces = (!honoured.is_empty()).then_some(honoured);
    (out, refused)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenantgateway::{TenantGatewaySpec, TgwMeta};

    const T: &str = "tenant-";

    fn tgw(ns: &str, attached: &[&str]) -> TgwInput {
        let mut spec = TenantGatewaySpec::with_apex("example.org");
        spec.attached_namespaces = Some(attached.iter().map(|s| (*s).to_owned()).collect());
        TgwInput {
            meta: TgwMeta {
                namespace: ns.to_owned(),
                name: "cozystack".to_owned(),
                uid: "u".to_owned(),
                generation: 1,
            },
            spec,
        }
    }

    fn names(v: &[(String, AttachRefusal)]) -> Vec<String> {
        v.iter().map(|(n, r)| format!("{n}: {r}")).collect()
    }

    #[test]
    fn the_publishing_namespace_attaches_platform_namespaces() {
        let (ok, refused) = split(
            &tgw(
                "tenant-root",
                &["cozy-dashboard", "default", "", "cozy-dashboard", "tenant-root"],
            ),
            &AttachTrust::default(),
            T,
        );
        assert_eq!(ok, ["cozy-dashboard", "default"]);
        assert!(refused.is_empty());
    }

    #[test]
    fn a_tenant_tenantgateway_cannot_attach_a_platform_namespace() {
        let (ok, refused) = split(&tgw("tenant-x", &["cozy-newapp"]), &AttachTrust::default(), T);
        assert!(ok.is_empty());
        assert_eq!(
            names(&refused),
            ["cozy-newapp: only TenantGateways in tenant-root may list attachedNamespaces (this one is in tenant-x)"]
        );
    }

    #[test]
    fn tenant_namespaces_are_refused_even_for_the_publishing_namespace() {
        let (ok, refused) = split(
            &tgw("tenant-root", &["tenant-alice", "cozy-a"]),
            &AttachTrust::default(),
            T,
        );
        assert_eq!(ok, ["cozy-a"]);
        assert_eq!(
            names(&refused),
            [
                "tenant-alice: tenant-alice is a tenant namespace (prefix tenant-); tenants attach with tenant.spec.gateway"
            ]
        );
    }

    #[test]
    fn a_star_owner_list_trusts_every_namespace() {
        let trust = AttachTrust {
            owner_namespaces: vec!["*".to_owned()],
        };
        let (ok, refused) = split(&tgw("platform", &["apps"]), &trust, T);
        assert_eq!((ok, refused.len()), (vec!["apps".to_owned()], 0));
    }

    #[test]
    fn honoured_input_keeps_only_honoured_entries() {
        let (t, refused) = honoured_input(&tgw("tenant-x", &["cozy-newapp"]), &AttachTrust::default(), T);
        assert_eq!(t.spec.attached_namespaces, None);
        assert_eq!(refused.len(), 1);
        let (t, _) = honoured_input(&tgw("tenant-root", &["cozy-a"]), &AttachTrust::default(), T);
        assert_eq!(t.spec.attached_namespaces, Some(vec!["cozy-a".to_owned()]));
    }
}
