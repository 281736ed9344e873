use rstest::rstest;
use serde_json::json;

use super::*;

fn parse(v: serde_json::Value) -> Result<Settings, String> {
    Settings::from_json(&v).map_err(|e| e.to_string())
}

#[test]
fn empty_and_null_settings_are_the_defaults() {
    let defaults = Settings {
        tenant_namespace_prefix: "tenant-".into(),
        host_label: "namespace.cozystack.io/host".into(),
        gateway_label: "namespace.cozystack.io/gateway".into(),
        protected_namespace_labels: vec![
            "namespace.cozystack.io/host".into(),
            "namespace.cozystack.io/gateway".into(),
        ],
        trusted_groups: vec![
            "system:masters".into(),
            "system:serviceaccounts:cozy-system".into(),
            "system:serviceaccounts:cozy-cert-manager".into(),
            "system:serviceaccounts:cozy-fluxcd".into(),
            "system:serviceaccounts:kube-system".into(),
        ],
        trusted_users: vec![],
        require_route_hostnames: true,
        allow_gateway_without_host_label: false,
        allow_l4_routes_in_tenant_namespaces: false,
        platform_root_host: None,
        forbid_tenant_attached_namespaces: true,
        allowed_gateway_classes: vec!["cilium".into()],
        allow_ingress_snippets: false,
        allowed_acme_servers: vec![
            "https://acme-v02.api.letsencrypt.org/directory".into(),
            "https://acme-staging-v02.api.letsencrypt.org/directory".into(),
        ],
    };
    assert_eq!(parse(json!({})), Ok(defaults.clone()));
    assert_eq!(parse(json!(null)), Ok(defaults.clone()));
    assert_eq!(Settings::default(), defaults);
}

#[test]
fn protected_labels_follow_custom_label_keys() {
    let s = parse(json!({"hostLabel": "example.com/apex", "gatewayLabel": "example.com/gw"}));
    assert_eq!(
        s.map(|s| s.protected_namespace_labels),
        Ok(vec!["example.com/apex".to_string(), "example.com/gw".to_string()])
    );
}

#[test]
fn every_setting_can_be_overridden() {
    let s = parse(json!({
        "tenantNamespacePrefix": "team-",
        "protectedNamespaceLabels": ["a/b"],
        "trustedGroups": ["ops"],
        "trustedUsers": ["alice"],
        "requireRouteHostnames": false,
        "allowGatewayWithoutHostLabel": true,
        "allowL4RoutesInTenantNamespaces": true,
        "platformRootHost": "Example.ORG",
        "forbidTenantAttachedNamespaces": false,
        "allowedGatewayClasses": ["envoy", "cilium"],
        "allowIngressSnippets": true,
        "allowedAcmeServers": ["https://acme.zerossl.com/v2/DV90"],
    }));
    let expected = Settings {
        tenant_namespace_prefix: "team-".into(),
        protected_namespace_labels: vec!["a/b".into()],
        trusted_groups: vec!["ops".into()],
        trusted_users: vec!["alice".into()],
        require_route_hostnames: false,
        allow_gateway_without_host_label: true,
        allow_l4_routes_in_tenant_namespaces: true,
        platform_root_host: Some("example.org".into()),
        forbid_tenant_attached_namespaces: false,
        allowed_gateway_classes: vec!["envoy".into(), "cilium".into()],
        allow_ingress_snippets: true,
        allowed_acme_servers: vec!["https://acme.zerossl.com/v2/DV90".into()],
        ..Settings::default()
    };
    assert_eq!(s, Ok(expected));
}

#[rstest]
#[case::unknown_key(json!({"tenantPrefix": "x"}), "settings could not be parsed: tenantPrefix: unknown field `tenantPrefix`, expected one of `tenantNamespacePrefix`, `hostLabel`, `gatewayLabel`, `protectedNamespaceLabels`, `trustedGroups`, `trustedUsers`, `requireRouteHostnames`, `allowGatewayWithoutHostLabel`, `allowL4RoutesInTenantNamespaces`, `platformRootHost`, `forbidTenantAttachedNamespaces`, `allowedGatewayClasses`, `allowIngressSnippets`, `allowedAcmeServers`")]
#[case::wrong_type_bool(json!({"requireRouteHostnames": "yes"}), "settings could not be parsed: requireRouteHostnames: invalid type: string \"yes\", expected a boolean")]
#[case::wrong_type_list(json!({"trustedGroups": "system:masters"}), "settings could not be parsed: trustedGroups: invalid type: string \"system:masters\", expected a sequence")]
#[case::wrong_type_entry(json!({"trustedUsers": [1]}), "settings could not be parsed: trustedUsers[0]: invalid type: integer `1`, expected a string")]
#[case::not_an_object(json!([1]), "settings could not be parsed: settings must be a JSON object, got an array")]
#[case::a_string(json!("x"), "settings could not be parsed: settings must be a JSON object, got a string")]
#[case::empty_prefix(json!({"tenantNamespacePrefix": ""}), "settings.tenantNamespacePrefix must not be empty")]
#[case::bad_host_label(json!({"hostLabel": "Bad Key"}), "settings.hostLabel: \"Bad Key\" is not a valid label key: the name must be alphanumerics, '-', '_' or '.', starting and ending alphanumeric")]
#[case::bad_gateway_label(json!({"gatewayLabel": "UPPER.case/x"}), "settings.gatewayLabel: \"UPPER.case/x\" is not a valid label key: the prefix must be a lowercase DNS subdomain")]
#[case::bad_protected(json!({"protectedNamespaceLabels": [""]}), "settings.protectedNamespaceLabels: \"\" is not a valid label key: the name must be 1-63 characters")]
#[case::empty_group(json!({"trustedGroups": [""]}), "settings.trustedGroups must not contain an empty entry")]
#[case::empty_gateway_class(json!({"allowedGatewayClasses": ["cilium", " "]}), "settings.allowedGatewayClasses must not contain an empty entry")]
#[case::empty_acme_server(json!({"allowedAcmeServers": [""]}), "settings.allowedAcmeServers must not contain an empty entry")]
#[case::snippets_not_a_bool(json!({"allowIngressSnippets": "no"}), "settings could not be parsed: allowIngressSnippets: invalid type: string \"no\", expected a boolean")]
#[case::gateway_class_not_a_list(json!({"allowedGatewayClasses": "cilium"}), "settings could not be parsed: allowedGatewayClasses: invalid type: string \"cilium\", expected a sequence")]
#[case::bad_root(json!({"platformRootHost": "example..org"}), "settings.platformRootHost: \"example..org\" is not a valid hostname: it has an empty label")]
#[case::wildcard_root(json!({"platformRootHost": "*.example.org"}), "settings.platformRootHost: \"*.example.org\" must be a DNS name, not a wildcard")]
fn invalid_settings_are_explained(#[case] input: serde_json::Value, #[case] message: &str) {
    assert_eq!(parse(input), Err(message.to_string()));
}

#[rstest]
#[case::plain("app")]
#[case::prefixed("namespace.cozystack.io/host")]
#[case::dots_and_underscores("example.com/a_b.c-d")]
fn valid_label_keys(#[case] key: &str) {
    assert_eq!(label_key_problem(key), None);
}

#[test]
fn no_allowed_gateway_class_is_a_valid_choice() {
    assert_eq!(
        parse(json!({"allowedGatewayClasses": []})).map(|s| s.allowed_gateway_classes),
        Ok(vec![])
    );
}

#[test]
fn trusted_by_group_or_user() {
    let s = Settings {
        trusted_users: vec!["bob".into()],
        ..Settings::default()
    };
    assert!(s.is_trusted("x", &["system:masters".into()]));
    assert!(s.is_trusted("bob", &[]));
    assert!(!s.is_trusted(
        "system:serviceaccount:tenant-test:default",
        &["system:serviceaccounts".into()]
    ));
}
