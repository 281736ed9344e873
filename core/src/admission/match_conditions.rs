//! `matchConditions` for the two ClusterAdmissionPolicies: CEL expressions, built from the policy
//! settings, that let kube-apiserver skip the webhook call for requests no rule can deny. The
//! expressions are the contract between `deploy/policy/*.yaml`, the Helm chart (which templates the
//! same text from the same settings) and the tests that prove nothing deniable is skipped.
//!
//! Kubernetes calls a webhook when every condition is true, skips it when one is false, and on an
//! evaluation error follows the webhook's `failurePolicy` (`Fail` here: the request is refused).
//! Each condition is therefore written so that `false` alone proves "no rule can deny": an error
//! can only refuse, never admit. Webhook conditions see `request`, `object` and `oldObject` (no
//! `namespaceObject`: that exists only for ValidatingAdmissionPolicies), so the tenant test is on
//! `request.namespace`, which the API server always sets for namespaced resources.
//!
//! What is skipped, and why no rule can deny it:
//! - hostnames policy (ListenerSets, routes, Ingresses): requests outside tenant namespaces; every
//!   hostname rule starts with the tenant-namespace test.
//! - identity policy, Namespaces: trusted callers, and callers who leave every protected label as
//!   it was (the only Namespace rule).
//! - identity policy, Gateways: outside tenant namespaces (the listener and the GatewayClass /
//!   addresses / infrastructure rules apply only there; no trusted-caller exemption for the
//!   listener hostnames, so trusted callers are still sent).
//! - identity policy, Issuers: outside tenant namespaces, and trusted callers (every Issuer rule is
//!   "only trusted callers may ...").
//! - Tenants, TenantGateways, Packages are always sent: their rules include checks that apply to
//!   every caller (a valid lowercase host, the apex, no tenant namespace in `attachedNamespaces`),
//!   also on an UPDATE that changes nothing; they are written rarely.

use crate::settings::Settings;

/// One entry of a webhook's `matchConditions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchCondition {
    pub name: &'static str,
    pub expression: String,
}

/// Sentinel for an absent label in the Namespace comparison; `~` is not allowed in label values.
const UNSET: &str = "\"~\"";

/// The conditions of `tenant-gateway-hostnames`.
pub fn hostnames(settings: &Settings) -> Vec<MatchCondition> {
    vec![MatchCondition {
        name: "tenant-namespaces-only",
        expression: format!(
            "request.namespace.startsWith({})",
            cel_string(&settings.tenant_namespace_prefix)
        ),
    }]
}

/// The conditions of `tenant-gateway-identity`: one per filtered kind, each true for every other
/// kind.
pub fn identity(settings: &Settings) -> Vec<MatchCondition> {
    let prefix = cel_string(&settings.tenant_namespace_prefix);
    let trusted = trusted(settings);
    let protected = cel_list(&settings.protected_namespace_labels);
    let label = |var: &str, k: &str| {
        format!("has({var}.metadata.labels) && {k} in {var}.metadata.labels ? {var}.metadata.labels[{k}] : {UNSET}")
    };
    vec![
        MatchCondition {
            name: "namespaces-protected-label-changes-by-untrusted-callers",
            expression: format!(
                "request.resource.group != \"\" || request.resource.resource != \"namespaces\" || \
                 (!({trusted}) && {protected}.exists(k, ({new}) != (request.operation == \"UPDATE\" && {old})))",
                new = label("object", "k"),
                old = label("oldObject", "k"),
            ),
        },
        MatchCondition {
            name: "gateways-in-tenant-namespaces",
            expression: format!(
                "request.resource.group != \"gateway.networking.k8s.io\" || request.resource.resource != \"gateways\" || \
                 request.namespace.startsWith({prefix})"
            ),
        },
        MatchCondition {
            name: "issuers-in-tenant-namespaces-by-untrusted-callers",
            expression: format!(
                "request.resource.group != \"cert-manager.io\" || request.resource.resource != \"issuers\" || \
                 (request.namespace.startsWith({prefix}) && !({trusted}))"
            ),
        },
    ]
}

/// The caller is in `trustedUsers` or in one of `trustedGroups`.
fn trusted(settings: &Settings) -> String {
    format!(
        "request.userInfo.username in {} || (has(request.userInfo.groups) && request.userInfo.groups.exists(g, g in {}))",
        cel_list(&settings.trusted_users),
        cel_list(&settings.trusted_groups)
    )
}

/// A CEL list literal of strings, `["a","b"]`: exactly what Helm's `toJson` prints for the list.
pub fn cel_list(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|s| cel_string(s)).collect();
    format!("[{}]", items.join(","))
}

/// A CEL string literal, double-quoted and escaped exactly as Go's `json.Marshal` (Helm's `toJson`)
/// escapes a string, every escape of which CEL reads the same way.
pub fn cel_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_literals_escape_like_go_json() {
        for (input, want) in [
            ("tenant-", r#""tenant-""#),
            ("a\"b\\c", r#""a\"b\\c""#),
            ("<&>", r#""\u003c\u0026\u003e""#),
            ("tab\there\nnl\u{1}", r#""tab\there\nnl\u0001""#),
            ("\u{8}\u{c}\u{2028}é", "\"\\b\\f\\u2028é\""),
        ] {
            assert_eq!(cel_string(input), want, "{input:?}");
        }
        assert_eq!(cel_list(&[]), "[]");
        assert_eq!(cel_list(&["a".into(), "b c".into()]), r#"["a","b c"]"#);
    }

    /// The whole text for the default settings: `deploy/policy/*.yaml` carries exactly this.
    #[test]
    fn default_conditions_are_pinned() {
        let s = Settings::default();
        let trusted = r#"request.userInfo.username in [] || (has(request.userInfo.groups) && request.userInfo.groups.exists(g, g in ["system:masters","system:serviceaccounts:cozy-system","system:serviceaccounts:cozy-cert-manager","system:serviceaccounts:cozy-fluxcd","system:serviceaccounts:kube-system"]))"#;
        assert_eq!(
            hostnames(&s),
            vec![MatchCondition {
                name: "tenant-namespaces-only",
                expression: r#"request.namespace.startsWith("tenant-")"#.into(),
            }]
        );
        assert_eq!(
            identity(&s),
            vec![
                MatchCondition {
                    name: "namespaces-protected-label-changes-by-untrusted-callers",
                    expression: format!(
                        r#"request.resource.group != "" || request.resource.resource != "namespaces" || (!({trusted}) && ["namespace.cozystack.io/host","namespace.cozystack.io/gateway"].exists(k, (has(object.metadata.labels) && k in object.metadata.labels ? object.metadata.labels[k] : "~") != (request.operation == "UPDATE" && has(oldObject.metadata.labels) && k in oldObject.metadata.labels ? oldObject.metadata.labels[k] : "~")))"#
                    ),
                },
                MatchCondition {
                    name: "gateways-in-tenant-namespaces",
                    expression: r#"request.resource.group != "gateway.networking.k8s.io" || request.resource.resource != "gateways" || request.namespace.startsWith("tenant-")"#.into(),
                },
                MatchCondition {
                    name: "issuers-in-tenant-namespaces-by-untrusted-callers",
                    expression: format!(
                        r#"request.resource.group != "cert-manager.io" || request.resource.resource != "issuers" || (request.namespace.startsWith("tenant-") && !({trusted}))"#
                    ),
                },
            ]
        );
    }

    #[test]
    fn conditions_follow_the_settings() {
        let s = Settings::from_json(&serde_json::json!({
            "tenantNamespacePrefix": "t-",
            "trustedUsers": ["ops"],
            "trustedGroups": [],
            "protectedNamespaceLabels": ["example.com/team"],
        }))
        .expect("settings");
        assert_eq!(hostnames(&s)[0].expression, r#"request.namespace.startsWith("t-")"#);
        let identity = identity(&s);
        assert!(
            identity[0]
                .expression
                .contains(r#"request.userInfo.username in ["ops"]"#)
        );
        assert!(identity[0].expression.contains(r#"g in []"#));
        assert!(identity[0].expression.contains(r#"["example.com/team"].exists(k,"#));
        assert!(
            identity[1]
                .expression
                .ends_with(r#"request.namespace.startsWith("t-")"#)
        );
        assert!(
            identity[2]
                .expression
                .contains(r#"request.namespace.startsWith("t-") && !(request.userInfo.username in ["ops"]"#)
        );
    }
}
