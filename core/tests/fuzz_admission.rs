//! Property-based fuzzing of everything the policy feeds with user input: hostnames, admission
//! requests (arbitrary JSON and request-shaped JSON for every guarded kind) and settings. The
//! property is totality: no panic, and every input gets a decision or a typed error. One property
//! is about meaning: a caller who is not trusted never gets a new attached namespace admitted.
//! The cluster answers the Namespace lookup with arbitrary labels and the list of host labels with
//! arbitrary values or a failure.
//!
//! CI runs the default 256 cases per property; run longer with
//! `PROPTEST_CASES=100000 cargo test -p tgw-core --release --test fuzz_admission`.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{Value, json};
use tgw_core::admission::{Cluster, HostLabel, NamespaceFacts, Request, Verdict, decide};
use tgw_core::hostname::{Hostname, WildcardMode};
use tgw_core::settings::Settings;

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[a-zA-Z0-9.*_-]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,10}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Hostname-ish strings: labels, dots, wildcards, case, junk.
fn arb_hostname() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9*.-]{0,40}",
        prop::collection::vec("[a-z0-9-]{0,8}", 1..6).prop_map(|l| l.join(".")),
        prop::collection::vec("[a-z0-9-]{1,8}", 1..5).prop_map(|l| format!("*.{}", l.join("."))),
        any::<String>(),
    ]
}

const KINDS: &[(&str, &str, &str)] = &[
    ("gateway.networking.k8s.io", "v1", "Gateway"),
    ("gateway.networking.k8s.io", "v1", "ListenerSet"),
    ("gateway.networking.x-k8s.io", "v1alpha1", "XListenerSet"),
    ("gateway.networking.k8s.io", "v1", "HTTPRoute"),
    ("gateway.networking.k8s.io", "v1", "GRPCRoute"),
    ("gateway.networking.k8s.io", "v1alpha2", "TLSRoute"),
    ("gateway.networking.k8s.io", "v1alpha2", "TCPRoute"),
    ("networking.k8s.io", "v1", "Ingress"),
    ("apps.cozystack.io", "v1alpha1", "Tenant"),
    ("", "v1", "Namespace"),
    ("gateway.cozystack.io", "v1alpha1", "TenantGateway"),
    ("cozystack.io", "v1alpha1", "Package"),
    ("cert-manager.io", "v1", "Issuer"),
];

/// Objects shaped like the guarded kinds, with hostnames and types drawn at random.
fn arb_object() -> impl Strategy<Value = Value> {
    (
        arb_hostname(),
        arb_hostname(),
        arb_json(),
        prop::collection::vec(arb_hostname(), 0..4),
    )
        .prop_map(|(a, b, junk, hosts)| {
            json!({
                "metadata": {
                    "name": a,
                    "labels": {"namespace.cozystack.io/host": b},
                    "annotations": {"nginx.ingress.kubernetes.io/server-alias": hosts.join(","), "x": a},
                },
                "spec": {
                    "hostnames": hosts,
                    "listeners": [{"name": "l", "hostname": a}, {"hostname": junk}],
                    "rules": [{"host": b}],
                    "tls": [{"hosts": hosts}],
                    "host": a,
                    "apex": b,
                    "attachedNamespaces": [a, "tenant-x"],
                    "gatewayClassName": b,
                    "dns01": {"rfc2136": {"nameserver": junk}},
                    "components": {"platform": {"values": {"gateway": {"attachedNamespaces": [b]}}}},
                    "addresses": [{"value": a}],
                    "infrastructure": junk,
                    "acme": {"server": a, "solvers": [{"dns01": {"rfc2136": {"nameserver": b}, "webhook": junk}}]},
                    "vault": {"server": b},
                }
            })
        })
}

fn arb_request() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(KINDS),
        prop::sample::select(&["CREATE", "UPDATE", "DELETE", "CONNECT", "PATCH"][..]),
        "(tenant-|cozy-)?[a-z]{0,6}",
        prop_oneof![arb_object(), arb_json()],
        prop::option::of(prop_oneof![arb_object(), arb_json()]),
        prop::collection::vec("system:[a-z:-]{0,20}", 0..3),
    )
        .prop_map(|((group, version, kind), op, ns, object, old, groups)| {
            json!({
                "uid": "u", "kind": {"group": group, "version": version, "kind": kind},
                "resource": {"group": group, "version": version, "resource": "x"},
                "operation": op, "namespace": ns, "name": "n",
                "userInfo": {"username": "u", "groups": groups},
                "object": object, "oldObject": old,
            })
        })
}

fn arb_namespace() -> impl Strategy<Value = NamespaceFacts> {
    prop_oneof![
        arb_hostname().prop_map(|h| NamespaceFacts::Found {
            labels: BTreeMap::from([("namespace.cozystack.io/host".to_string(), h)])
        }),
        Just(NamespaceFacts::Found {
            labels: BTreeMap::new()
        }),
        Just(NamespaceFacts::Unreadable {
            reason: "not found".into()
        }),
    ]
}

/// A cluster with one Namespace state and one answer to the host-label list.
struct Fuzzed {
    ns: NamespaceFacts,
    owners: Result<Vec<HostLabel>, String>,
}

impl Cluster for Fuzzed {
    fn namespace(&mut self, _: &str) -> NamespaceFacts {
        self.ns.clone()
    }

    fn host_labels(&mut self, _: &str) -> Result<Vec<HostLabel>, String> {
        self.owners.clone()
    }
}

fn arb_owners() -> impl Strategy<Value = Result<Vec<HostLabel>, String>> {
    prop_oneof![
        prop::collection::vec(
            ("(tenant-)?[a-z]{0,6}", arb_hostname()).prop_map(|(namespace, value)| HostLabel { namespace, value }),
            0..5
        )
        .prop_map(Ok),
        Just(Err("forbidden".to_string())),
    ]
}

fn decide_json(request: &Value, settings: &Settings, ns: NamespaceFacts) -> Option<Verdict> {
    decide_json_with(request, settings, ns, Ok(Vec::new()))
}

fn decide_json_with(
    request: &Value,
    settings: &Settings,
    ns: NamespaceFacts,
    owners: Result<Vec<HostLabel>, String>,
) -> Option<Verdict> {
    let req = Request::from_json(request).ok()?;
    Some(decide(&req, settings, Fuzzed { ns, owners }))
}

/// A TenantGateway or Package object carrying `list` as its attached namespaces.
fn attachment_body(kind: &str, list: &[String]) -> Value {
    match kind {
        "Package" => {
            json!({"spec": {"components": {"platform": {"values": {"gateway": {"attachedNamespaces": list}}}}}})
        }
        _ => json!({"spec": {"apex": "x.org", "attachedNamespaces": list}}),
    }
}

fn attachment_request(kind: &str, new: &[String], old: Option<&[String]>, groups: &[String]) -> Value {
    let group = if kind == "Package" {
        "cozystack.io"
    } else {
        "gateway.cozystack.io"
    };
    json!({
        "uid": "u", "kind": {"group": group, "version": "v1alpha1", "kind": kind},
        "operation": if old.is_some() { "UPDATE" } else { "CREATE" }, "namespace": "cozy-x", "name": "n",
        "userInfo": {"username": "u", "groups": groups},
        "object": attachment_body(kind, new), "oldObject": old.map(|o| attachment_body(kind, o)),
    })
}

proptest! {
    #[test]
    fn only_trusted_callers_ever_add_an_attached_namespace(
        kind in prop::sample::select(&["TenantGateway", "Package"][..]),
        new in prop::collection::vec(prop::sample::select(&["", "cozy-a", "cozy-b", "kube-system"][..]), 0..4),
        old in prop::option::of(prop::collection::vec(prop::sample::select(&["", "cozy-a", "cozy-b"][..]), 0..3)),
        trusted in any::<bool>(),
    ) {
        let new: Vec<String> = new.iter().map(|s| s.to_string()).collect();
        let old: Option<Vec<String>> = old.map(|o| o.iter().map(|s| s.to_string()).collect());
        let groups = vec![if trusted { "system:masters" } else { "system:serviceaccounts:tenant-x" }.to_string()];
        let request = attachment_request(kind, &new, old.as_deref(), &groups);
        let verdict = decide_json(&request, &Settings::default(), NamespaceFacts::Found { labels: BTreeMap::new() });
        let before: Vec<&String> = old.iter().flatten().collect();
        let adds = new.iter().any(|n| !n.is_empty() && !before.contains(&n));
        prop_assert_eq!(verdict == Some(Verdict::Allow), trusted || !adds, "{:?}", verdict);
    }

    #[test]
    fn hostname_parsing_is_total_and_normalising(raw in arb_hostname()) {
        if let Ok(h) = Hostname::parse(&raw) {
            prop_assert_eq!(h.as_str(), raw.to_ascii_lowercase());
            prop_assert!(h.within_apex(&h) || h.is_wildcard());
            prop_assert!(Hostname::parse(h.as_str()).is_ok());
        }
    }

    #[test]
    fn hostname_relations_are_total_and_symmetric(a in arb_hostname(), b in arb_hostname()) {
        if let (Ok(a), Ok(b)) = (Hostname::parse(&a), Hostname::parse(&b)) {
            for mode in [WildcardMode::GatewayApi, WildcardMode::SingleLabel] {
                prop_assert_eq!(a.intersects(&b, mode), b.intersects(&a, mode));
                if a.covers(&b, mode) {
                    prop_assert!(a.intersects(&b, mode));
                }
            }
            let _ = a.within_apex(&b);
        }
    }

    #[test]
    fn arbitrary_json_requests_get_a_decision_or_an_error(request in arb_json(), ns in arb_namespace()) {
        let _ = decide_json(&request, &Settings::default(), ns);
    }

    #[test]
    fn request_shaped_json_always_gets_a_decision(request in arb_request(), ns in arb_namespace()) {
        prop_assert!(decide_json(&request, &Settings::default(), ns).is_some());
    }

    #[test]
    fn request_shaped_json_with_a_platform_root_and_any_owners_gets_a_decision(
        request in arb_request(), ns in arb_namespace(), owners in arb_owners(), snippets in any::<bool>()
    ) {
        let settings = Settings {
            platform_root_host: Some("example.org".into()),
            allow_ingress_snippets: snippets,
            ..Settings::default()
        };
        prop_assert!(decide_json_with(&request, &settings, ns, owners).is_some());
    }

    #[test]
    fn a_name_under_another_namespaces_apex_never_passes_as_a_custom_domain(
        apex in prop::collection::vec("[a-z][a-z0-9]{0,6}", 2..4).prop_map(|l| l.join(".")),
        sub in prop::option::of("[a-z][a-z0-9]{0,6}"),
        alias in any::<bool>(),
    ) {
        prop_assume!(!apex.ends_with("example.org") && !apex.ends_with("test.example.org"));
        let host = sub.map_or_else(|| apex.clone(), |s| format!("{s}.{apex}"));
        let (rules, annotations) = if alias {
            (json!([{"host": "test.example.org"}]), json!({"nginx.ingress.kubernetes.io/server-alias": host}))
        } else {
            (json!([{"host": host}]), json!({}))
        };
        let request = json!({
            "uid": "u", "kind": {"group": "networking.k8s.io", "version": "v1", "kind": "Ingress"},
            "operation": "CREATE", "namespace": "tenant-test", "name": "n",
            "userInfo": {"username": "u", "groups": []},
            "object": {"metadata": {"name": "n", "annotations": annotations}, "spec": {"rules": rules}},
        });
        let settings = Settings { platform_root_host: Some("example.org".into()), ..Settings::default() };
        let ns = NamespaceFacts::Found {
            labels: BTreeMap::from([("namespace.cozystack.io/host".to_string(), "test.example.org".to_string())]),
        };
        let owners = vec![HostLabel { namespace: "tenant-other".into(), value: apex }];
        let verdict = decide_json_with(&request, &settings, ns, Ok(owners));
        prop_assert!(matches!(verdict, Some(Verdict::Deny(_))), "{:?}", verdict);
    }

    #[test]
    fn arbitrary_settings_are_accepted_or_explained(settings in arb_json()) {
        if let Err(e) = Settings::from_json(&settings) {
            prop_assert!(e.to_string().starts_with("settings"));
        }
    }

    #[test]
    fn settings_shaped_json_is_accepted_or_explained(
        prefix in "[a-z-]{0,6}", label in "[a-zA-Z0-9./_ -]{0,20}", root in prop::option::of(arb_hostname()), flag in any::<bool>()
    ) {
        let s = json!({"tenantNamespacePrefix": prefix, "hostLabel": label, "platformRootHost": root, "requireRouteHostnames": flag});
        match Settings::from_json(&s) {
            Ok(parsed) => {
                prop_assert!(!parsed.tenant_namespace_prefix.is_empty());
                prop_assert!(tgw_core::settings::label_key_problem(&parsed.host_label).is_none());
            }
            Err(e) => prop_assert!(e.to_string().starts_with("settings")),
        }
    }
}
