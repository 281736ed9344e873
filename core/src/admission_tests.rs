//! The admission policy as a specification: one table per kind family, including every decision
//! vector of cozystack-behaviour.md §3 and the cases where we deliberately differ (fail closed).

use std::collections::BTreeMap;

use rstest::rstest;
use serde_json::{Value, json};

use super::ingress::SERVER_ALIAS;
use super::*;

const TENANT_SA: &str = "system:serviceaccount:tenant-test:default";

fn mk_request(
    group: &str,
    version: &str,
    kind: &str,
    op: &str,
    ns: &str,
    object: Value,
    old: Option<Value>,
) -> Request {
    mk_request_as(
        group,
        version,
        kind,
        op,
        ns,
        object,
        old,
        TENANT_SA,
        &["system:serviceaccounts", "system:serviceaccounts:tenant-test"],
    )
}

#[allow(clippy::too_many_arguments)]
fn mk_request_as(
    group: &str,
    version: &str,
    kind: &str,
    op: &str,
    ns: &str,
    object: Value,
    old: Option<Value>,
    user: &str,
    groups: &[&str],
) -> Request {
    let wire = json!({
        "uid": "1", "kind": {"group": group, "version": version, "kind": kind},
        "resource": {"group": group, "version": version, "resource": "x"},
        "operation": op, "namespace": ns, "name": "obj",
        "userInfo": {"username": user, "groups": groups},
        "object": object, "oldObject": old,
    });
    match Request::from_json(&wire) {
        Ok(r) => r,
        Err(e) => panic!("test request does not parse: {e}"),
    }
}

fn ns_labels(host: Option<&str>) -> impl FnMut(&str) -> NamespaceFacts {
    let host = host.map(str::to_string);
    move |_| {
        let mut labels = BTreeMap::new();
        if let Some(h) = &host {
            labels.insert("namespace.cozystack.io/host".to_string(), h.clone());
        }
        NamespaceFacts::Found { labels }
    }
}

/// For rules that must not read the cluster.
fn no_lookup(_: &str) -> NamespaceFacts {
    unreachable!("this rule needs no namespace lookup")
}

fn unreadable(_: &str) -> NamespaceFacts {
    NamespaceFacts::Unreadable {
        reason: "namespaces \"tenant-test\" not found".into(),
    }
}

fn message(v: Verdict) -> Option<String> {
    match v {
        Verdict::Allow => None,
        Verdict::Deny(d) => Some(d.to_string()),
    }
}

fn gateway(hostnames: &[Option<&str>]) -> Value {
    let listeners: Vec<Value> = hostnames
        .iter()
        .enumerate()
        .map(|(i, h)| match h {
            Some(h) => json!({"name": format!("l{i}"), "port": 443, "protocol": "HTTPS", "hostname": h}),
            None => json!({"name": format!("l{i}"), "port": 80, "protocol": "HTTP"}),
        })
        .collect();
    json!({"metadata": {"name": "obj", "namespace": "tenant-test"}, "spec": {"gatewayClassName": "cilium", "listeners": listeners}})
}

fn decide_gateway(ns: &str, label: Option<&str>, hostnames: &[Option<&str>], settings: &Settings) -> Verdict {
    let req = mk_request(
        "gateway.networking.k8s.io",
        "v1",
        "Gateway",
        "CREATE",
        ns,
        gateway(hostnames),
        None,
    );
    decide(&req, settings, ns_labels(label))
}

// --- Gateway listeners: cozystack-behaviour.md §3.1 (apex test.example.org) ---------------------

#[rstest]
#[case::no_hostname(&[None], true)]
#[case::apex(&[Some("test.example.org")], true)]
#[case::subdomain(&[Some("harbor.test.example.org")], true)]
#[case::wildcard_of_apex(&[Some("*.test.example.org")], true)]
#[case::wildcard_below_apex(&[Some("*.a.test.example.org")], true)]
#[case::sibling(&[Some("dashboard.example.org")], false)]
#[case::no_dot_boundary(&[Some("eviltest.example.org")], false)]
#[case::wildcard_of_parent(&[Some("*.example.org")], false)]
#[case::one_bad_listener(&[None, Some("a.test.example.org"), Some("attacker.com")], false)]
#[case::uppercase_hostname(&[Some("Harbor.TEST.example.org")], true)]
#[case::invalid_hostname(&[Some("a_b.test.example.org")], false)]
fn gateway_listener_hostnames(#[case] hostnames: &[Option<&str>], #[case] allowed: bool) {
    let v = decide_gateway("tenant-test", Some("test.example.org"), hostnames, &Settings::default());
    assert_eq!(v == Verdict::Allow, allowed, "{v:?}");
}

#[test]
fn gateway_denial_names_listener_hostname_apex_and_label() {
    let v = decide_gateway(
        "tenant-test",
        Some("test.example.org"),
        &[Some("dashboard.example.org")],
        &Settings::default(),
    );
    assert_eq!(
        message(v).as_deref(),
        Some(
            "Gateway tenant-test/obj: listener \"l0\" hostname \"dashboard.example.org\" must equal test.example.org or \
             end with .test.example.org (namespace tenant-test carries label namespace.cozystack.io/host=test.example.org)"
        )
    );
}

#[test]
fn gateway_label_is_compared_case_insensitively() {
    let v = decide_gateway(
        "tenant-test",
        Some("Test.Example.ORG"),
        &[Some("a.test.example.org")],
        &Settings::default(),
    );
    assert_eq!(v, Verdict::Allow);
}

#[rstest]
#[case::label_absent(None)]
#[case::label_empty(Some(""))]
fn gateway_without_host_label_is_denied_by_default(#[case] label: Option<&str>) {
    let v = decide_gateway(
        "tenant-test",
        label,
        &[Some("anything.example.com")],
        &Settings::default(),
    );
    assert!(message(v).is_some_and(|m| m.contains("must equal") && m.contains("namespace.cozystack.io/host")));
}

#[test]
fn gateway_without_host_label_is_allowed_when_configured() {
    let s = Settings {
        allow_gateway_without_host_label: true,
        ..Settings::default()
    };
    assert_eq!(
        decide_gateway("tenant-test", None, &[Some("anything.example.com")], &s),
        Verdict::Allow
    );
    let req = mk_request(
        "gateway.networking.k8s.io",
        "v1",
        "Gateway",
        "CREATE",
        "tenant-test",
        gateway(&[Some("x.com")]),
        None,
    );
    assert_eq!(decide(&req, &s, unreadable), Verdict::Allow);
}

#[test]
fn gateway_with_malformed_label_is_denied_even_when_unlabelled_gateways_are_allowed() {
    let s = Settings {
        allow_gateway_without_host_label: true,
        ..Settings::default()
    };
    let v = decide_gateway("tenant-test", Some("*.example.org"), &[Some("a.example.org")], &s);
    assert_eq!(
        message(v).as_deref(),
        Some(
            "Gateway tenant-test/obj: namespace tenant-test label namespace.cozystack.io/host=\"*.example.org\" is not a \
             valid apex: an apex cannot be a wildcard; Gateway listener hostnames must equal the namespace's \
             namespace.cozystack.io/host label or end with . + that label (allowGatewayWithoutHostLabel tolerates \
             only a missing, empty or unreadable label)"
        )
    );
}

#[rstest]
#[case::default_ns("default")]
#[case::platform_ns("cozy-system")]
#[case::kube_system("kube-system")]
fn gateway_outside_tenant_namespaces_is_not_evaluated(#[case] ns: &str) {
    let v = decide_gateway(ns, None, &[Some("dashboard.example.org")], &Settings::default());
    assert_eq!(v, Verdict::Allow);
}

#[rstest]
#[case::listenerset_v1("gateway.networking.k8s.io", "v1", "ListenerSet")]
#[case::xlistenerset("gateway.networking.x-k8s.io", "v1alpha1", "XListenerSet")]
#[case::gateway_v1beta1("gateway.networking.k8s.io", "v1beta1", "Gateway")]
fn every_listener_kind_and_version_is_checked(#[case] group: &str, #[case] version: &str, #[case] kind: &str) {
    let req = mk_request(
        group,
        version,
        kind,
        "UPDATE",
        "tenant-test",
        gateway(&[Some("evil.example.org")]),
        None,
    );
    let v = decide(&req, &Settings::default(), ns_labels(Some("test.example.org")));
    assert!(
        message(v)
            .is_some_and(|m| m.starts_with(&format!("{kind} tenant-test/obj: listener")) && m.contains("must equal"))
    );
}

// --- Routes: §3.4, plus hostname-less routes denied (Cozystack #3868) ---------------------------

fn route(kind: &str, version: &str, hostnames: Option<&[&str]>, label: Option<&str>, settings: &Settings) -> Verdict {
    let spec = match hostnames {
        Some(h) => json!({"hostnames": h}),
        None => json!({"parentRefs": [{"name": "gw"}]}),
    };
    let obj = json!({"metadata": {"name": "obj"}, "spec": spec});
    let req = mk_request(
        "gateway.networking.k8s.io",
        version,
        kind,
        "CREATE",
        "tenant-test",
        obj,
        None,
    );
    decide(&req, settings, ns_labels(label))
}

#[rstest]
#[case::label_absent_no_hostnames(None, None, false)]
#[case::label_absent_hostname(None, Some(&["harbor.test.example.org"][..]), false)]
#[case::label_empty(Some(""), Some(&["harbor.test.example.org"][..]), false)]
#[case::no_hostnames(Some("test.example.org"), None, false)]
#[case::empty_hostnames(Some("test.example.org"), Some(&[][..]), false)]
#[case::subdomain(Some("test.example.org"), Some(&["harbor.test.example.org"][..]), true)]
#[case::foreign(Some("test.example.org"), Some(&["attacker.com"][..]), false)]
#[case::case_probe(Some("Case-Probe.route.invalid"), Some(&["probe.case-probe.route.invalid"][..]), true)]
#[case::case_probe_other(Some("Case-Probe.route.invalid"), Some(&["evil.other.invalid"][..]), false)]
#[case::case_probe_boundary(Some("Case-Probe.route.invalid"), Some(&["evilcase-probe.route.invalid"][..]), false)]
#[case::wildcard(Some("test.example.org"), Some(&["*.test.example.org"][..]), true)]
#[case::all_must_pass(Some("test.example.org"), Some(&["a.test.example.org", "x.example.org"][..]), false)]
#[case::trailing_dot(Some("test.example.org"), Some(&["a.test.example.org."][..]), false)]
fn route_hostnames(#[case] label: Option<&str>, #[case] hostnames: Option<&[&str]>, #[case] allowed: bool) {
    for (kind, version) in [
        ("HTTPRoute", "v1"),
        ("HTTPRoute", "v1beta1"),
        ("GRPCRoute", "v1"),
        ("TLSRoute", "v1alpha2"),
        ("TLSRoute", "v1alpha3"),
        ("TLSRoute", "v1"),
    ] {
        let v = route(kind, version, hostnames, label, &Settings::default());
        assert_eq!(v == Verdict::Allow, allowed, "{kind}/{version}: {v:?}");
        if let Some(m) = message(v) {
            assert!(m.contains("hostnames must equal"), "{m}");
            assert!(m.starts_with(&format!("{kind} tenant-test/obj: ")), "{m}");
        }
    }
}

#[test]
fn route_denial_names_hostname_apex_and_rule() {
    let v = route(
        "HTTPRoute",
        "v1",
        Some(&["ok.test.example.org", "Attacker.com"]),
        Some("test.example.org"),
        &Settings::default(),
    );
    assert_eq!(
        message(v).as_deref(),
        Some(
            "HTTPRoute tenant-test/obj: hostname \"Attacker.com\" is outside the namespace apex; HTTPRoute hostnames must \
             equal the namespace's namespace.cozystack.io/host label (test.example.org) or be subdomains of it \
             (namespace tenant-test)"
        )
    );
}

#[test]
fn hostname_less_routes_can_be_allowed_by_setting() {
    let s = Settings {
        require_route_hostnames: false,
        ..Settings::default()
    };
    assert_eq!(
        route("HTTPRoute", "v1", None, Some("test.example.org"), &s),
        Verdict::Allow
    );
    assert_ne!(
        route("HTTPRoute", "v1", None, None, &s),
        Verdict::Allow,
        "the label is still required"
    );
}

#[test]
fn unreadable_namespace_counts_as_label_absent_and_says_so() {
    let obj = json!({"spec": {"hostnames": ["a.test.example.org"]}});
    let req = mk_request(
        "gateway.networking.k8s.io",
        "v1",
        "HTTPRoute",
        "CREATE",
        "tenant-test",
        obj,
        None,
    );
    assert_eq!(
        message(decide(&req, &Settings::default(), unreadable)).as_deref(),
        Some(
            "HTTPRoute tenant-test/obj: namespace tenant-test could not be read (namespaces \"tenant-test\" not found), \
             which counts as having no namespace.cozystack.io/host label; HTTPRoute hostnames must equal the namespace's \
             namespace.cozystack.io/host label or be subdomains of it (namespace tenant-test)"
        )
    );
}

#[rstest]
#[case::tcp("TCPRoute", "v1alpha2")]
#[case::udp("UDPRoute", "v1")]
fn l4_routes_are_kept_out_of_tenant_namespaces(#[case] kind: &str, #[case] version: &str) {
    let obj = json!({"spec": {"rules": [{"backendRefs": [{"name": "svc", "port": 5432}]}]}});
    let req = mk_request(
        "gateway.networking.k8s.io",
        version,
        kind,
        "CREATE",
        "tenant-test",
        obj.clone(),
        None,
    );
    assert_eq!(
        message(decide(&req, &Settings::default(), ns_labels(Some("test.example.org")))),
        Some(format!(
            "{kind} tenant-test/obj: {kind} is not allowed in tenant namespaces because no hostname can scope it to the \
             tenant: route hostnames must equal the namespace's namespace.cozystack.io/host label or be subdomains of \
             it, and a {kind} has none (namespace tenant-test; setting allowL4RoutesInTenantNamespaces)"
        ))
    );
    let allow = Settings {
        allow_l4_routes_in_tenant_namespaces: true,
        ..Settings::default()
    };
    assert_eq!(decide(&req, &allow, ns_labels(None)), Verdict::Allow);
    let platform = mk_request(
        "gateway.networking.k8s.io",
        version,
        kind,
        "CREATE",
        "cozy-postgres",
        obj,
        None,
    );
    assert_eq!(decide(&platform, &Settings::default(), ns_labels(None)), Verdict::Allow);
}

// --- Ingress: §3.5 (R = example.org, A = test.example.org) --------------------------------------

/// The cluster an Ingress sees: the request namespace's host label, and the Namespaces carrying the
/// host label (or why they could not be listed). Counts the lists.
struct FakeCluster {
    label: Option<String>,
    owners: Result<Vec<HostLabel>, String>,
    lists: usize,
}

impl FakeCluster {
    fn new(label: Option<&str>, owners: Result<&[(&str, &str)], &str>) -> FakeCluster {
        FakeCluster {
            label: label.map(str::to_string),
            owners: owners
                .map(|list| {
                    list.iter()
                        .map(|(namespace, value)| HostLabel {
                            namespace: namespace.to_string(),
                            value: value.to_string(),
                        })
                        .collect()
                })
                .map_err(str::to_string),
            lists: 0,
        }
    }
}

impl Cluster for &mut FakeCluster {
    fn namespace(&mut self, _: &str) -> NamespaceFacts {
        ns_labels(self.label.as_deref())("tenant-test")
    }

    fn host_labels(&mut self, label: &str) -> Result<Vec<HostLabel>, String> {
        assert_eq!(label, "namespace.cozystack.io/host");
        self.lists += 1;
        self.owners.clone()
    }
}

/// The host labels of the cluster in the Ingress tests: tenant-bob owns the custom domain
/// bob-shop.test, tenant-bob-eu a subdomain of it.
const OWNERS: &[(&str, &str)] = &[
    ("tenant-root", "example.org"),
    ("tenant-test", "test.example.org"),
    ("tenant-bob", "bob-shop.test"),
    ("tenant-bob-eu", "eu.bob-shop.test"),
    ("tenant-odd", "*.odd.test"),
];

fn ingress_object(spec: Value, annotations: &[(&str, &str)]) -> Value {
    let annotations: BTreeMap<&str, &str> = annotations.iter().copied().collect();
    json!({"metadata": {"name": "obj", "annotations": annotations}, "spec": spec})
}

/// Decides an Ingress in `ns` against `cluster`, with `platformRootHost` = `root`.
fn ingress_in(ns: &str, object: Value, root: Option<&str>, cluster: &mut FakeCluster, settings: Settings) -> Verdict {
    let s = Settings {
        platform_root_host: root.map(str::to_string),
        ..settings
    };
    let req = mk_request("networking.k8s.io", "v1", "Ingress", "CREATE", ns, object, None);
    decide(&req, &s, cluster)
}

fn ingress(spec: Value, label: Option<&str>, root: Option<&str>) -> Verdict {
    let mut cluster = FakeCluster::new(label, Ok(OWNERS));
    ingress_in(
        "tenant-test",
        ingress_object(spec, &[]),
        root,
        &mut cluster,
        Settings::default(),
    )
}

fn rule_host(h: &str) -> Value {
    json!({"rules": [{"host": h, "http": {"paths": []}}]})
}

#[rstest]
#[case::in_apex_with_tls(json!({"rules": [{"host": "harbor.test.example.org"}], "tls": [{"hosts": ["harbor.test.example.org"]}]}), true)]
#[case::wildcard_in_apex(rule_host("*.test.example.org"), true)]
#[case::sibling(rule_host("dashboard.example.org"), false)]
#[case::root_itself(rule_host("example.org"), false)]
#[case::no_dot_boundary(rule_host("eviltest.example.org"), false)]
#[case::tls_branch_alone(json!({"rules": [{"host": "a.test.example.org"}], "tls": [{"hosts": ["harbor.example.org"]}]}), false)]
#[case::wildcard_outside_root(rule_host("*.org"), false)]
#[case::custom_domain(rule_host("shop.external-probe.invalid"), true)]
#[case::custom_domain_tls(json!({"rules": [{"host": "shop.external-probe.invalid"}], "tls": [{"hosts": ["shop.external-probe.invalid"]}]}), true)]
#[case::rule_without_host(json!({"rules": [{"http": {"paths": []}}]}), false)]
#[case::rule_with_empty_host(rule_host(""), false)]
#[case::default_backend(json!({"defaultBackend": {"service": {"name": "s", "port": {"number": 80}}}}), false)]
#[case::nothing(json!({}), true)]
#[case::tls_without_hosts(json!({"rules": [{"host": "a.test.example.org"}], "tls": [{"secretName": "s"}]}), true)]
#[case::tls_empty_host(json!({"rules": [{"host": "a.test.example.org"}], "tls": [{"hosts": [""]}]}), false)]
fn ingress_hosts_with_platform_root(#[case] spec: Value, #[case] allowed: bool) {
    let v = ingress(spec, Some("test.example.org"), Some("Example.ORG"));
    assert_eq!(v == Verdict::Allow, allowed, "{v:?}");
    if let Some(m) = message(v) {
        assert!(m.contains("must be within"), "{m}");
    }
}

#[test]
fn ingress_custom_domain_needs_a_platform_root() {
    assert_ne!(
        ingress(rule_host("shop.external-probe.invalid"), Some("test.example.org"), None),
        Verdict::Allow
    );
    assert_eq!(
        ingress(rule_host("a.test.example.org"), Some("test.example.org"), None),
        Verdict::Allow
    );
}

#[test]
fn ingress_case_probes() {
    let label = Some("Case-Probe.example.org");
    assert_eq!(
        ingress(rule_host("probe.case-probe.example.org"), label, Some("example.org")),
        Verdict::Allow
    );
    assert_ne!(
        ingress(rule_host("dashboard.example.org"), label, Some("example.org")),
        Verdict::Allow
    );
    assert_ne!(
        ingress(rule_host("evilcase-probe.example.org"), label, Some("example.org")),
        Verdict::Allow
    );
}

#[test]
fn ingress_denial_names_the_field() {
    let v = ingress(
        json!({"rules": [{"host": "a.test.example.org"}], "tls": [{"hosts": ["harbor.example.org"]}]}),
        Some("test.example.org"),
        Some("example.org"),
    );
    assert_eq!(
        message(v).as_deref(),
        Some(
            "Ingress tenant-test/obj: spec.tls[0].hosts[0] \"harbor.example.org\" is not allowed (it is under the platform \
             apex example.org but outside the namespace apex); Ingress hostnames (spec.rules, spec.tls and the \
             nginx.ingress.kubernetes.io/server-alias annotation) must be within the namespace's \
             namespace.cozystack.io/host apex test.example.org, or be a concrete name outside the platform apex \
             example.org that no other namespace's namespace.cozystack.io/host label covers; a rule without a host \
             and spec.defaultBackend are not allowed"
        )
    );
}

#[test]
fn ingress_without_label_is_denied() {
    let v = ingress(rule_host("a.test.example.org"), None, Some("example.org"));
    assert!(
        message(v)
            .is_some_and(|m| m.contains("has no namespace.cozystack.io/host label") && m.contains("must be within"))
    );
}

// --- Ingress: another tenant's custom domain (issue 18, item 1) ---------------------------------

#[rstest]
#[case::apex_itself("bob-shop.test", Some("bob-shop.test"))]
#[case::subdomain("www.bob-shop.test", Some("bob-shop.test"))]
#[case::most_specific_owner("api.eu.bob-shop.test", Some("eu.bob-shop.test"))]
#[case::case_insensitive("WWW.Bob-Shop.TEST", Some("bob-shop.test"))]
#[case::no_dot_boundary("evilbob-shop.test", None)]
#[case::parent_of_an_apex("test", None)]
#[case::unowned("shop.external-probe.invalid", None)]
#[case::invalid_label_owns_nothing("www.odd.test", None)]
#[case::own_namespace_skipped("www.test.example.org", Some("example.org"))]
fn foreign_apex_finds_the_closest_other_owner(#[case] host: &str, #[case] owner: Option<&str>) {
    let labels: Vec<HostLabel> = OWNERS
        .iter()
        .map(|(namespace, value)| HostLabel {
            namespace: namespace.to_string(),
            value: value.to_string(),
        })
        .collect();
    let host = Hostname::parse(host).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ingress::foreign_apex(&host, "tenant-test", &labels), owner);
}

#[test]
fn foreign_apex_keeps_the_label_as_written_and_skips_the_own_namespace() {
    let labels = vec![
        HostLabel {
            namespace: "tenant-test".into(),
            value: "mine.test".into(),
        },
        HostLabel {
            namespace: "tenant-carol".into(),
            value: " Carol-Shop.TEST ".into(),
        },
    ];
    let host = |h: &str| Hostname::parse(h).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        ingress::foreign_apex(&host("a.mine.test"), "tenant-test", &labels),
        None
    );
    assert_eq!(
        ingress::foreign_apex(&host("a.carol-shop.test"), "tenant-test", &labels),
        Some("Carol-Shop.TEST")
    );
}

/// (spec, annotations, allowed, lists): with platformRootHost example.org and the `OWNERS` cluster.
#[rstest]
#[case::other_tenant_apex(rule_host("bob-shop.test"), &[], false, 1)]
#[case::other_tenant_subdomain(rule_host("www.bob-shop.test"), &[], false, 1)]
#[case::other_tenant_in_tls(json!({"rules": [{"host": "shop.external-probe.invalid"}], "tls": [{"hosts": ["www.bob-shop.test"]}]}), &[], false, 1)]
#[case::other_tenant_in_alias(rule_host("test.example.org"), &[(SERVER_ALIAS, "www.test.example.org,www.bob-shop.test")], false, 1)]
#[case::unowned_custom_domain(rule_host("shop.external-probe.invalid"), &[], true, 1)]
#[case::one_list_for_many_names(json!({"rules": [{"host": "a.external-probe.invalid"}, {"host": "b.external-probe.invalid"}], "tls": [{"hosts": ["a.external-probe.invalid"]}]}), &[(SERVER_ALIAS, "c.external-probe.invalid")], true, 1)]
#[case::in_apex_needs_no_list(rule_host("shop.test.example.org"), &[(SERVER_ALIAS, "www.test.example.org")], true, 0)]
#[case::platform_name_needs_no_list(rule_host("dashboard.example.org"), &[], false, 0)]
fn ingress_names_outside_the_platform_apex_must_not_belong_to_another_namespace(
    #[case] spec: Value,
    #[case] annotations: &[(&str, &str)],
    #[case] allowed: bool,
    #[case] lists: usize,
) {
    let mut cluster = FakeCluster::new(Some("test.example.org"), Ok(OWNERS));
    let v = ingress_in(
        "tenant-test",
        ingress_object(spec, annotations),
        Some("example.org"),
        &mut cluster,
        Settings::default(),
    );
    assert_eq!(v == Verdict::Allow, allowed, "{v:?}");
    assert_eq!(cluster.lists, lists);
}

#[test]
fn another_tenants_custom_domain_is_refused_with_its_owner_apex() {
    let mut cluster = FakeCluster::new(Some("test.example.org"), Ok(OWNERS));
    let v = ingress_in(
        "tenant-test",
        ingress_object(rule_host("www.bob-shop.test"), &[]),
        Some("example.org"),
        &mut cluster,
        Settings::default(),
    );
    assert_eq!(
        message(v).as_deref(),
        Some(
            "Ingress tenant-test/obj: spec.rules[0].host \"www.bob-shop.test\" is not allowed (it is within \
             bob-shop.test, the namespace.cozystack.io/host apex of another namespace); Ingress hostnames (spec.rules, \
             spec.tls and the nginx.ingress.kubernetes.io/server-alias annotation) must be within the namespace's \
             namespace.cozystack.io/host apex test.example.org, or be a concrete name outside the platform apex \
             example.org that no other namespace's namespace.cozystack.io/host label covers; a rule without a host \
             and spec.defaultBackend are not allowed"
        )
    );
}

#[test]
fn a_namespace_list_that_cannot_be_read_refuses_names_outside_the_platform_apex() {
    let mut cluster = FakeCluster::new(Some("test.example.org"), Err("namespaces is forbidden"));
    let v = ingress_in(
        "tenant-test",
        ingress_object(rule_host("shop.external-probe.invalid"), &[]),
        Some("example.org"),
        &mut cluster,
        Settings::default(),
    );
    assert_eq!(
        message(v).as_deref(),
        Some(
            "Ingress tenant-test/obj: spec.rules[0].host \"shop.external-probe.invalid\" is outside the platform apex, but \
             whether another namespace's namespace.cozystack.io/host label covers it is unknown: the Namespaces \
             carrying that label could not be listed (namespaces is forbidden; the policy lists them once per Ingress \
             write that names such a host, from policy-server's cache); Ingress hostnames (spec.rules, spec.tls and \
             the nginx.ingress.kubernetes.io/server-alias annotation) must be within the namespace's \
             namespace.cozystack.io/host apex test.example.org, or be a concrete name outside the platform apex \
             example.org that no other namespace's namespace.cozystack.io/host label covers; a rule without a host \
             and spec.defaultBackend are not allowed"
        )
    );
    let mut cluster = FakeCluster::new(Some("test.example.org"), Err("namespaces is forbidden"));
    let own = ingress_in(
        "tenant-test",
        ingress_object(rule_host("a.test.example.org"), &[]),
        Some("example.org"),
        &mut cluster,
        Settings::default(),
    );
    assert_eq!(own, Verdict::Allow, "names within the apex need no list");
}

#[test]
fn a_host_that_only_answers_the_namespace_lookup_fails_closed() {
    let req = mk_request(
        "networking.k8s.io",
        "v1",
        "Ingress",
        "CREATE",
        "tenant-test",
        ingress_object(rule_host("shop.external-probe.invalid"), &[]),
        None,
    );
    let s = Settings {
        platform_root_host: Some("example.org".into()),
        ..Settings::default()
    };
    assert!(
        message(decide(&req, &s, ns_labels(Some("test.example.org"))))
            .is_some_and(|m| m.contains("could not be listed (this caller cannot list Namespaces;"))
    );
}

// --- Ingress annotations (issue 18, item 2) -------------------------------------------------------

#[rstest]
#[case::comma("a.test.example.org,b.test.example.org", &["a.test.example.org", "b.test.example.org"])]
#[case::comma_and_blank("a.test.example.org, b.test.example.org  c.test.example.org", &["a.test.example.org", "b.test.example.org", "c.test.example.org"])]
#[case::tabs_and_newlines("a.x\tb.x\nc.x", &["a.x", "b.x", "c.x"])]
#[case::empty_entries(",, a.x ,", &["a.x"])]
#[case::empty("", &[])]
fn server_alias_values_are_split_on_commas_and_blanks(#[case] value: &str, #[case] hosts: &[&str]) {
    assert_eq!(ingress::server_aliases(value), hosts);
}

/// (alias value, allowed) with platformRootHost example.org, apex test.example.org.
#[rstest]
#[case::own_names("www.test.example.org shop.test.example.org", true)]
#[case::own_wildcard("*.test.example.org", true)]
#[case::sibling("www.test.example.org,dashboard.example.org", false)]
#[case::platform_root("example.org", false)]
#[case::wildcard_outside("*.bob-shop.test", false)]
#[case::nginx_regex("~^(?<sub>.+)\\.example\\.org$", false)]
#[case::unowned_custom_domain("www.external-probe.invalid", true)]
#[case::other_tenant("api.eu.bob-shop.test", false)]
#[case::blank_only("  ", true)]
fn server_alias_hosts_obey_the_host_rule(#[case] alias: &str, #[case] allowed: bool) {
    let mut cluster = FakeCluster::new(Some("test.example.org"), Ok(OWNERS));
    let v = ingress_in(
        "tenant-test",
        ingress_object(rule_host("test.example.org"), &[(SERVER_ALIAS, alias)]),
        Some("example.org"),
        &mut cluster,
        Settings::default(),
    );
    assert_eq!(v == Verdict::Allow, allowed, "{v:?}");
    if let Some(m) = message(v) {
        assert!(
            m.starts_with("Ingress tenant-test/obj: annotation nginx.ingress.kubernetes.io/server-alias \""),
            "{m}"
        );
    }
}

#[test]
fn server_alias_without_a_platform_root_is_held_to_the_apex() {
    let mut cluster = FakeCluster::new(Some("test.example.org"), Ok(OWNERS));
    let v = ingress_in(
        "tenant-test",
        ingress_object(
            rule_host("test.example.org"),
            &[(SERVER_ALIAS, "shop.external-probe.invalid")],
        ),
        None,
        &mut cluster,
        Settings::default(),
    );
    assert_eq!(
        message(v).as_deref(),
        Some(
            "Ingress tenant-test/obj: annotation nginx.ingress.kubernetes.io/server-alias \"shop.external-probe.invalid\" \
             is not allowed; Ingress hostnames (spec.rules, spec.tls and the nginx.ingress.kubernetes.io/server-alias \
             annotation) must be within the namespace's namespace.cozystack.io/host apex test.example.org; a rule \
             without a host and spec.defaultBackend are not allowed"
        )
    );
    assert_eq!(cluster.lists, 0);
}

/// (annotation key, allowed by default)
#[rstest]
#[case::server_snippet("nginx.ingress.kubernetes.io/server-snippet", false)]
#[case::configuration_snippet("nginx.ingress.kubernetes.io/configuration-snippet", false)]
#[case::stream_snippet("nginx.ingress.kubernetes.io/stream-snippet", false)]
#[case::auth_snippet("nginx.ingress.kubernetes.io/auth-snippet", false)]
#[case::modsecurity_snippet("nginx.ingress.kubernetes.io/modsecurity-snippet", false)]
#[case::upstream_vhost("nginx.ingress.kubernetes.io/upstream-vhost", false)]
#[case::rewrite_target("nginx.ingress.kubernetes.io/rewrite-target", true)]
#[case::ssl_redirect("nginx.ingress.kubernetes.io/ssl-redirect", true)]
#[case::other_prefix("example.com/server-snippet", true)]
fn snippet_annotations_are_refused_in_tenant_namespaces(#[case] key: &str, #[case] allowed: bool) {
    let object = || ingress_object(rule_host("test.example.org"), &[(key, "x")]);
    let mut cluster = FakeCluster::new(Some("test.example.org"), Ok(OWNERS));
    let v = ingress_in(
        "tenant-test",
        object(),
        Some("example.org"),
        &mut cluster,
        Settings::default(),
    );
    assert_eq!(v == Verdict::Allow, allowed, "{v:?}");
    if let Some(m) = message(v) {
        assert!(
            m.starts_with(&format!(
                "Ingress tenant-test/obj: annotation {key} is not allowed in tenant namespaces: "
            )),
            "{m}"
        );
    }
    let snippets = Settings {
        allow_ingress_snippets: true,
        ..Settings::default()
    };
    let mut cluster = FakeCluster::new(Some("test.example.org"), Ok(OWNERS));
    assert_eq!(
        ingress_in("tenant-test", object(), Some("example.org"), &mut cluster, snippets),
        Verdict::Allow
    );
    let mut cluster = FakeCluster::new(None, Err("unused"));
    assert_eq!(
        ingress_in(
            "cozy-dashboard",
            object(),
            Some("example.org"),
            &mut cluster,
            Settings::default()
        ),
        Verdict::Allow
    );
}

#[test]
fn snippet_denials_name_the_ingress_the_annotation_and_the_setting() {
    let deny = |key: &str| {
        let mut cluster = FakeCluster::new(Some("test.example.org"), Ok(OWNERS));
        message(ingress_in(
            "tenant-test",
            ingress_object(rule_host("test.example.org"), &[(key, "x"), ("a", "b")]),
            None,
            &mut cluster,
            Settings::default(),
        ))
    };
    assert_eq!(
        deny("nginx.ingress.kubernetes.io/server-snippet").as_deref(),
        Some(
            "Ingress tenant-test/obj: annotation nginx.ingress.kubernetes.io/server-snippet is not allowed in tenant \
             namespaces: it injects raw NGINX configuration into the shared ingress controller, where it can serve, \
             proxy or rewrite any hostname; ingress-nginx snippet annotations and upstream-vhost need the setting \
             allowIngressSnippets"
        )
    );
    assert_eq!(
        deny("nginx.ingress.kubernetes.io/upstream-vhost").as_deref(),
        Some(
            "Ingress tenant-test/obj: annotation nginx.ingress.kubernetes.io/upstream-vhost is not allowed in tenant \
             namespaces: it rewrites the Host header sent to the backend, so requests can be passed on as any \
             hostname; ingress-nginx snippet annotations and upstream-vhost need the setting allowIngressSnippets"
        )
    );
}

#[test]
fn malformed_annotations_are_reported_with_the_path() {
    let req = mk_request(
        "networking.k8s.io",
        "v1",
        "Ingress",
        "CREATE",
        "tenant-test",
        json!({"metadata": {"annotations": {"nginx.ingress.kubernetes.io/server-alias": ["a"]}}}),
        None,
    );
    assert_eq!(
        message(decide(&req, &Settings::default(), no_lookup)).as_deref(),
        Some(
            "Ingress tenant-test/obj could not be parsed: metadata.annotations.nginx.ingress.kubernetes.io/server-alias: \
             invalid type: sequence, expected a string"
        )
    );
}

// --- Tenant spec.host: §3.2 ---------------------------------------------------------------------

fn tenant(op: &str, new: Option<&str>, old: Option<Option<&str>>, user: &str, groups: &[&str]) -> Verdict {
    let obj = |h: Option<&str>| json!({"metadata": {"name": "alice"}, "spec": {"host": h}});
    let req = mk_request_as(
        "apps.cozystack.io",
        "v1alpha1",
        "Tenant",
        op,
        "tenant-root",
        obj(new),
        old.map(obj),
        user,
        groups,
    );
    decide(&req, &Settings::default(), no_lookup)
}

const SA_GROUPS: &[&str] = &["system:serviceaccounts", "system:serviceaccounts:tenant-test"];

#[rstest]
#[case::create_without_host(tenant("CREATE", None, None, TENANT_SA, SA_GROUPS), true)]
#[case::create_with_host_untrusted(tenant("CREATE", Some("foreign.example.org"), None, TENANT_SA, SA_GROUPS), false)]
#[case::update_unchanged(
    tenant("UPDATE", Some("a.example.org"), Some(Some("a.example.org")), TENANT_SA, SA_GROUPS),
    true
)]
#[case::update_changed_untrusted(
    tenant("UPDATE", Some("b.example.org"), Some(Some("a.example.org")), TENANT_SA, SA_GROUPS),
    false
)]
#[case::update_cleared_untrusted(tenant("UPDATE", Some(""), Some(Some("a.example.org")), TENANT_SA, SA_GROUPS), false)]
#[case::update_removed_untrusted(tenant("UPDATE", None, Some(Some("a.example.org")), TENANT_SA, SA_GROUPS), false)]
#[case::change_by_masters(tenant("UPDATE", Some("b.example.org"), Some(Some("a.example.org")), "admin", &["system:masters"]), true)]
#[case::change_by_flux(tenant("CREATE", Some("b.example.org"), None, "system:serviceaccount:cozy-fluxcd:flux", &["system:serviceaccounts:cozy-fluxcd"]), true)]
#[case::invalid_host_even_trusted(tenant("CREATE", Some("B.example.org"), None, "admin", &["system:masters"]), false)]
#[case::wildcard_host_trusted(tenant("CREATE", Some("*.example.org"), None, "admin", &["system:masters"]), false)]
#[case::delete_is_not_evaluated(
    tenant("DELETE", Some("b.example.org"), Some(Some("a.example.org")), TENANT_SA, SA_GROUPS),
    true
)]
fn tenant_host(#[case] v: Verdict, #[case] allowed: bool) {
    assert_eq!(v == Verdict::Allow, allowed, "{v:?}");
}

#[test]
fn tenant_denial_keeps_cozystack_phrase_and_names_the_user() {
    let v = tenant("CREATE", Some("foreign.example.org"), None, TENANT_SA, SA_GROUPS);
    assert_eq!(
        message(v).as_deref(),
        Some(
            "Tenant tenant-root/obj: tenant.spec.host can only be set or changed by trusted callers (groups \
             system:masters, system:serviceaccounts:cozy-system, system:serviceaccounts:cozy-cert-manager, \
             system:serviceaccounts:cozy-fluxcd, system:serviceaccounts:kube-system); request user is \
             system:serviceaccount:tenant-test:default (was \"\", requested \"foreign.example.org\"). A tenant with empty \
             spec.host inherits the apex from its parent tenant."
        )
    );
}

// --- Namespace labels: §3.3, extended to the gateway label --------------------------------------

fn namespace(op: &str, new: &[(&str, &str)], old: Option<&[(&str, &str)]>, user: &str, groups: &[&str]) -> Verdict {
    let obj = |labels: &[(&str, &str)]| {
        let map: BTreeMap<&str, &str> = labels.iter().copied().collect();
        json!({"metadata": {"name": "tenant-x", "labels": map}})
    };
    let req = mk_request_as(
        "",
        "v1",
        "Namespace",
        op,
        "tenant-x",
        obj(new),
        old.map(obj),
        user,
        groups,
    );
    decide(&req, &Settings::default(), no_lookup)
}

const HOST: &str = "namespace.cozystack.io/host";
const GW: &str = "namespace.cozystack.io/gateway";

#[rstest]
#[case::create_unlabelled(namespace("CREATE", &[("team", "a")], None, TENANT_SA, SA_GROUPS), true)]
#[case::create_with_host_untrusted(namespace("CREATE", &[(HOST, "a.example.org")], None, TENANT_SA, SA_GROUPS), false)]
#[case::create_with_empty_host_untrusted(namespace("CREATE", &[(HOST, "")], None, TENANT_SA, SA_GROUPS), false)]
#[case::reapply_same(namespace("UPDATE", &[(HOST, "a.example.org"), ("x", "y")], Some(&[(HOST, "a.example.org")]), TENANT_SA, SA_GROUPS), true)]
#[case::change_host(namespace("UPDATE", &[(HOST, "b.example.org")], Some(&[(HOST, "a.example.org")]), TENANT_SA, SA_GROUPS), false)]
#[case::remove_host(namespace("UPDATE", &[], Some(&[(HOST, "a.example.org")]), TENANT_SA, SA_GROUPS), false)]
#[case::add_gateway_label(namespace("UPDATE", &[(GW, "tenant-root")], Some(&[]), TENANT_SA, SA_GROUPS), false)]
#[case::change_by_trusted(namespace("UPDATE", &[(HOST, "b.example.org")], Some(&[(HOST, "a.example.org")]), "system:serviceaccount:cozy-system:c", &["system:serviceaccounts:cozy-system"]), true)]
#[case::case_change_counts(namespace("UPDATE", &[(HOST, "A.example.org")], Some(&[(HOST, "a.example.org")]), TENANT_SA, SA_GROUPS), false)]
fn namespace_labels(#[case] v: Verdict, #[case] allowed: bool) {
    assert_eq!(v == Verdict::Allow, allowed, "{v:?}");
}

#[test]
fn namespace_denial_says_immutable_and_names_values() {
    let v = namespace(
        "UPDATE",
        &[(HOST, "b.example.org")],
        Some(&[(HOST, "a.example.org")]),
        TENANT_SA,
        SA_GROUPS,
    );
    assert!(message(v).is_some_and(|m| m.starts_with(
        "Namespace obj: label namespace.cozystack.io/host is immutable once set (was \"a.example.org\", requested \
         \"b.example.org\"); only trusted callers (groups system:masters"
    ) && m.ends_with("Request user: system:serviceaccount:tenant-test:default")));
}

// --- TenantGateway and Package attachedNamespaces -----------------------------------------------

const FLUX_SA: &str = "system:serviceaccount:cozy-fluxcd:flux";
const FLUX_GROUPS: &[&str] = &["system:serviceaccounts", "system:serviceaccounts:cozy-fluxcd"];
const ADMIN_GROUPS: &[&str] = &["system:masters"];
const TRUSTED: &str = "groups system:masters, system:serviceaccounts:cozy-system, \
                       system:serviceaccounts:cozy-cert-manager, system:serviceaccounts:cozy-fluxcd, \
                       system:serviceaccounts:kube-system";

/// A TenantGateway request: CREATE when `old` is `None`, else UPDATE from `old`.
fn tgw_as(ns: &str, spec: Value, old: Option<Value>, user: &str, groups: &[&str], label: Option<&str>) -> Verdict {
    let op = if old.is_some() { "UPDATE" } else { "CREATE" };
    let req = mk_request_as(
        "gateway.cozystack.io",
        "v1alpha1",
        "TenantGateway",
        op,
        ns,
        json!({"spec": spec}),
        old.map(|o| json!({"spec": o})),
        user,
        groups,
    );
    decide(&req, &Settings::default(), ns_labels(label))
}

fn tgw(ns: &str, spec: Value, label: Option<&str>) -> Verdict {
    tgw_as(ns, spec, None, TENANT_SA, SA_GROUPS, label)
}

fn root_tgw(attached: &[&str]) -> Value {
    json!({"apex": "example.org", "gatewayClassName": "cilium", "attachedNamespaces": attached})
}

#[rstest]
#[case::own_apex(tgw("tenant-root", json!({"apex": "example.org"}), Some("example.org")), true)]
#[case::sub_apex(tgw("tenant-alice", json!({"apex": "shop.alice.example.org"}), Some("alice.example.org")), true)]
#[case::foreign_apex(tgw("tenant-alice", json!({"apex": "example.org"}), Some("alice.example.org")), false)]
#[case::no_label(tgw("tenant-alice", json!({"apex": "alice.example.org"}), None), false)]
#[case::foreign_apex_even_by_admin(tgw_as("tenant-alice", json!({"apex": "example.org"}), None, "admin", ADMIN_GROUPS, Some("alice.example.org")), false)]
#[case::tenant_attached_by_admin(tgw_as("tenant-root", root_tgw(&["cozy-dashboard", "tenant-alice"]), None, "admin", ADMIN_GROUPS, Some("example.org")), false)]
#[case::platform_attached_by_admin(tgw_as("tenant-root", root_tgw(&["cozy-dashboard"]), None, "admin", ADMIN_GROUPS, Some("example.org")), true)]
#[case::platform_attached_by_flux(tgw_as("tenant-root", root_tgw(&["cozy-dashboard"]), None, FLUX_SA, FLUX_GROUPS, Some("example.org")), true)]
#[case::platform_attached_by_tenant(tgw("tenant-root", root_tgw(&["cozy-dashboard"]), Some("example.org")), false)]
#[case::empty_entries_by_tenant(tgw("tenant-root", root_tgw(&["", ""]), Some("example.org")), true)]
#[case::unchanged_by_tenant(tgw_as("tenant-root", root_tgw(&["cozy-dashboard"]), Some(root_tgw(&["cozy-dashboard"])), TENANT_SA, SA_GROUPS, Some("example.org")), true)]
#[case::reordered_and_repeated_by_tenant(tgw_as("tenant-root", root_tgw(&["cozy-b", "cozy-a", "cozy-a", ""]), Some(root_tgw(&["cozy-a", "cozy-b"])), TENANT_SA, SA_GROUPS, Some("example.org")), true)]
#[case::removed_by_tenant(tgw_as("tenant-root", root_tgw(&["cozy-a"]), Some(root_tgw(&["cozy-a", "cozy-b"])), TENANT_SA, SA_GROUPS, Some("example.org")), true)]
#[case::cleared_by_tenant(tgw_as("tenant-root", json!({"apex": "example.org"}), Some(root_tgw(&["cozy-a"])), TENANT_SA, SA_GROUPS, Some("example.org")), true)]
#[case::extended_by_tenant(tgw_as("tenant-root", root_tgw(&["cozy-a", "cozy-b"]), Some(root_tgw(&["cozy-a"])), TENANT_SA, SA_GROUPS, Some("example.org")), false)]
#[case::replaced_by_tenant(tgw_as("tenant-root", root_tgw(&["cozy-b"]), Some(root_tgw(&["cozy-a"])), TENANT_SA, SA_GROUPS, Some("example.org")), false)]
#[case::extended_by_admin(tgw_as("tenant-root", root_tgw(&["cozy-a", "cozy-b"]), Some(root_tgw(&["cozy-a"])), "admin", ADMIN_GROUPS, Some("example.org")), true)]
#[case::platform_ns_unchecked_apex(tgw_as("cozy-system", json!({"apex": "anything.org"}), None, FLUX_SA, FLUX_GROUPS, None), true)]
#[case::platform_ns_attached_by_tenant(tgw("cozy-system", json!({"apex": "anything.org", "attachedNamespaces": ["cozy-x"]}), None), false)]
#[case::platform_ns_attached_tenant(tgw_as("cozy-system", json!({"apex": "anything.org", "attachedNamespaces": ["tenant-x"]}), None, "admin", ADMIN_GROUPS, None), false)]
fn tenant_gateway(#[case] v: Verdict, #[case] allowed: bool) {
    assert_eq!(v == Verdict::Allow, allowed, "{v:?}");
}

#[test]
fn tenant_gateway_attachment_by_a_tenant_names_the_field_the_added_namespaces_in_order_and_who_may() {
    let v = tgw_as(
        "tenant-x",
        json!({"apex": "x.example.org", "attachedNamespaces": ["kube-system", "cozy-old", "cozy-newapp", "kube-system"]}),
        Some(json!({"apex": "x.example.org", "attachedNamespaces": ["cozy-old"]})),
        TENANT_SA,
        SA_GROUPS,
        Some("x.example.org"),
    );
    assert_eq!(
        message(v),
        Some(format!(
            "TenantGateway tenant-x/obj: spec.attachedNamespaces can only be set or extended by trusted callers \
             ({TRUSTED}); request user is system:serviceaccount:tenant-test:default, who adds \"kube-system\", \
             \"cozy-newapp\". A listed namespace may publish routes through the Gateway (the controller gives it the \
             namespace.cozystack.io/gateway label); removing entries is allowed for anyone"
        ))
    );
}

#[test]
fn a_long_list_of_added_namespaces_is_cut_short() {
    let many: Vec<String> = (0..8).map(|i| format!("cozy-{i}")).collect();
    let v = tgw(
        "tenant-root",
        json!({"apex": "example.org", "attachedNamespaces": many}),
        Some("example.org"),
    );
    assert!(message(v).is_some_and(|m| m.contains(
        "who adds \"cozy-0\", \"cozy-1\", \"cozy-2\", \"cozy-3\", \"cozy-4\" and 3 more. A listed namespace"
    )),);
}

#[test]
fn a_tenant_namespace_keeps_its_own_message_whoever_adds_it() {
    let v = tgw_as(
        "tenant-root",
        root_tgw(&["tenant-alice"]),
        None,
        "admin",
        ADMIN_GROUPS,
        Some("example.org"),
    );
    assert_eq!(
        message(v).as_deref(),
        Some(
            "TenantGateway tenant-root/obj: spec.attachedNamespaces must not contain any tenant namespace \
             (\"tenant-alice\" starts with \"tenant-\"); use tenant.spec.gateway=true instead of adding a tenant \
             namespace to the publishing Gateway's whitelist"
        )
    );
}

#[test]
fn trusted_users_may_attach_too() {
    let settings = Settings {
        trusted_users: vec!["ops@example.org".into()],
        ..Settings::default()
    };
    let req = mk_request_as(
        "gateway.cozystack.io",
        "v1alpha1",
        "TenantGateway",
        "CREATE",
        "cozy-system",
        json!({"spec": {"apex": "example.org", "attachedNamespaces": ["cozy-a"]}}),
        None,
        "ops@example.org",
        &["system:authenticated"],
    );
    assert_eq!(decide(&req, &settings, no_lookup), Verdict::Allow);
}

fn package_as(new: &[&str], old: Option<&[&str]>, user: &str, groups: &[&str]) -> Verdict {
    let obj = |attached: &[&str]| {
        json!({"metadata": {"name": "cozystack.cozystack-platform"},
               "spec": {"components": {"platform": {"values": {"gateway": {"attachedNamespaces": attached}}}}}})
    };
    let req = mk_request_as(
        "cozystack.io",
        "v1alpha1",
        "Package",
        if old.is_some() { "UPDATE" } else { "CREATE" },
        "",
        obj(new),
        old.map(obj),
        user,
        groups,
    );
    decide(&req, &Settings::default(), no_lookup)
}

#[rstest]
#[case::platform_by_admin(package_as(&["cozy-dashboard", "kube-system"], None, "admin", ADMIN_GROUPS), true)]
#[case::platform_by_flux(package_as(&["cozy-dashboard"], Some(&[]), FLUX_SA, FLUX_GROUPS), true)]
#[case::tenant_ns_by_admin(package_as(&["tenant-alice"], None, "admin", ADMIN_GROUPS), false)]
#[case::set_by_tenant(package_as(&["cozy-dashboard"], None, TENANT_SA, SA_GROUPS), false)]
#[case::unchanged_by_tenant(package_as(&["cozy-dashboard"], Some(&["cozy-dashboard"]), TENANT_SA, SA_GROUPS), true)]
#[case::removed_by_tenant(package_as(&[], Some(&["cozy-dashboard"]), TENANT_SA, SA_GROUPS), true)]
#[case::extended_by_tenant(package_as(&["cozy-dashboard", "cozy-x"], Some(&["cozy-dashboard"]), TENANT_SA, SA_GROUPS), false)]
fn package_attached_namespaces(#[case] v: Verdict, #[case] allowed: bool) {
    assert_eq!(v == Verdict::Allow, allowed, "{v:?}");
}

#[test]
fn package_messages_name_the_package_field() {
    assert_eq!(
        message(package_as(&["tenant-alice"], None, "admin", ADMIN_GROUPS)).as_deref(),
        Some(
            "Package obj: spec.components.platform.values.gateway.attachedNamespaces must not \
             contain any tenant namespace (\"tenant-alice\" starts with \"tenant-\"); use tenant.spec.gateway=true \
             instead of adding a tenant namespace to the publishing Gateway's whitelist"
        )
    );
    assert_eq!(
        message(package_as(
            &["cozy-dashboard", "cozy-x"],
            Some(&["cozy-dashboard"]),
            TENANT_SA,
            SA_GROUPS
        )),
        Some(format!(
            "Package obj: spec.components.platform.values.gateway.attachedNamespaces can only \
             be set or extended by trusted callers ({TRUSTED}); request user is \
             system:serviceaccount:tenant-test:default, who adds \"cozy-x\". A listed namespace may publish routes \
             through the Gateway (the controller gives it the namespace.cozystack.io/gateway label); removing entries \
             is allowed for anyone"
        ))
    );
}

// --- TenantGateway dns01 nameserver and gatewayClassName -----------------------------------------

fn rfc2136(nameserver: &str) -> Value {
    json!({"apex": "test.example.org", "certMode": "dns01", "dns01": {"provider": "rfc2136", "rfc2136": {
        "nameserver": nameserver, "tsigKeyName": "k", "tsigSecretSecretRef": {"name": "s", "key": "k"}}}})
}

fn tenant_tgw(spec: Value, old: Option<Value>) -> Verdict {
    tgw_as("tenant-test", spec, old, TENANT_SA, SA_GROUPS, Some("test.example.org"))
}

fn admin_tgw(spec: Value, old: Option<Value>) -> Verdict {
    tgw_as(
        "tenant-test",
        spec,
        old,
        "admin",
        ADMIN_GROUPS,
        Some("test.example.org"),
    )
}

#[rstest]
#[case::set_by_tenant(tenant_tgw(rfc2136("10.0.0.53:53"), None), false)]
#[case::set_by_admin(admin_tgw(rfc2136("10.0.0.53:53"), None), true)]
#[case::set_by_flux(
    tgw_as(
        "tenant-test",
        rfc2136("ns1.example.net:53"),
        None,
        FLUX_SA,
        FLUX_GROUPS,
        Some("test.example.org")
    ),
    true
)]
#[case::unchanged_by_tenant(tenant_tgw(rfc2136("ns1.example.net:53"), Some(rfc2136("ns1.example.net:53"))), true)]
#[case::changed_by_tenant(tenant_tgw(rfc2136("10.96.0.10:53"), Some(rfc2136("ns1.example.net:53"))), false)]
#[case::cleared_by_tenant(tenant_tgw(json!({"apex": "test.example.org"}), Some(rfc2136("ns1.example.net:53"))), true)]
#[case::parked_under_another_provider(tenant_tgw(json!({"apex": "test.example.org", "dns01": {"provider": "cloudflare", "rfc2136": {"nameserver": "10.0.0.1:53"}}}), None), false)]
#[case::other_provider(tenant_tgw(json!({"apex": "test.example.org", "certMode": "dns01", "dns01": {"provider": "cloudflare", "cloudflare": {"apiTokenSecretRef": {"name": "cf", "key": "t"}}}}), None), true)]
fn dns01_nameserver(#[case] v: Verdict, #[case] allowed: bool) {
    assert_eq!(v == Verdict::Allow, allowed, "{v:?}");
}

#[test]
fn nameserver_denial_names_old_new_and_who_may() {
    assert_eq!(
        message(tenant_tgw(
            rfc2136("10.96.0.10:53"),
            Some(rfc2136("ns1.example.net:53"))
        )),
        Some(format!(
            "TenantGateway tenant-test/obj: spec.dns01.rfc2136.nameserver can only be set or changed by trusted callers \
             ({TRUSTED}); request user is system:serviceaccount:tenant-test:default (was \"ns1.example.net:53\", \
             requested \"10.96.0.10:53\"). cert-manager sends DNS updates to this address from inside the cluster"
        ))
    );
}

fn class(name: Option<&str>) -> Value {
    match name {
        Some(c) => json!({"apex": "test.example.org", "gatewayClassName": c}),
        None => json!({"apex": "test.example.org"}),
    }
}

#[rstest]
#[case::default_class(tenant_tgw(class(Some("cilium")), None), true)]
#[case::absent_means_default(tenant_tgw(class(None), None), true)]
#[case::empty_means_default(tenant_tgw(class(Some("")), None), true)]
#[case::other_class_by_tenant(tenant_tgw(class(Some("internal-lb")), None), false)]
#[case::other_class_by_admin(admin_tgw(class(Some("internal-lb")), None), true)]
#[case::kept_by_tenant(tenant_tgw(class(Some("internal-lb")), Some(class(Some("internal-lb")))), true)]
#[case::switched_by_tenant(tenant_tgw(class(Some("internal-lb")), Some(class(Some("cilium")))), false)]
#[case::back_to_allowed_by_tenant(tenant_tgw(class(Some("cilium")), Some(class(Some("internal-lb")))), true)]
fn gateway_class(#[case] v: Verdict, #[case] allowed: bool) {
    assert_eq!(v == Verdict::Allow, allowed, "{v:?}");
}

#[test]
fn gateway_class_follows_the_setting_and_names_it() {
    let settings = Settings {
        allowed_gateway_classes: vec!["envoy".into(), "envoy-internal".into()],
        ..Settings::default()
    };
    let decide_as_tenant = |spec: Value| {
        let req = mk_request(
            "gateway.cozystack.io",
            "v1alpha1",
            "TenantGateway",
            "CREATE",
            "tenant-test",
            json!({"spec": spec}),
            None,
        );
        decide(&req, &settings, ns_labels(Some("test.example.org")))
    };
    assert_eq!(decide_as_tenant(class(Some("envoy-internal"))), Verdict::Allow);
    assert_eq!(
        message(decide_as_tenant(class(None))),
        Some(format!(
            "TenantGateway tenant-test/obj: spec.gatewayClassName \"cilium\" is not in allowedGatewayClasses (envoy, \
             envoy-internal); other GatewayClasses can only be chosen by trusted callers ({TRUSTED}). Request user: \
             system:serviceaccount:tenant-test:default"
        ))
    );
    let none = Settings {
        allowed_gateway_classes: vec![],
        ..Settings::default()
    };
    let req = mk_request(
        "gateway.cozystack.io",
        "v1alpha1",
        "TenantGateway",
        "CREATE",
        "tenant-test",
        json!({"spec": class(Some("cilium"))}),
        None,
    );
    assert!(
        message(decide(&req, &none, ns_labels(Some("test.example.org"))))
            .is_some_and(|m| m.contains("is not in allowedGatewayClasses (none)"))
    );
}

// --- Gateways written directly in tenant namespaces (issue 18, item 3) ----------------------------

/// A Gateway request with one listener within the apex: CREATE when `old` is `None`, else UPDATE.
fn gateway_as(ns: &str, spec: Value, old: Option<Value>, user: &str, groups: &[&str]) -> Verdict {
    let listeners = json!([{"name": "https", "port": 443, "protocol": "HTTPS", "hostname": "a.test.example.org"}]);
    let obj = |mut spec: Value| {
        spec["listeners"] = listeners.clone();
        json!({"metadata": {"name": "obj"}, "spec": spec})
    };
    let req = mk_request_as(
        "gateway.networking.k8s.io",
        "v1",
        "Gateway",
        if old.is_some() { "UPDATE" } else { "CREATE" },
        ns,
        obj(spec),
        old.map(obj),
        user,
        groups,
    );
    decide(&req, &Settings::default(), ns_labels(Some("test.example.org")))
}

fn tenant_gateway_write(spec: Value, old: Option<Value>) -> Verdict {
    gateway_as("tenant-test", spec, old, TENANT_SA, SA_GROUPS)
}

const IP: &str = "10.0.0.10";

#[rstest]
#[case::allowed_class(tenant_gateway_write(json!({"gatewayClassName": "cilium"}), None), true)]
#[case::other_class(tenant_gateway_write(json!({"gatewayClassName": "internal-lb"}), None), false)]
#[case::no_class(tenant_gateway_write(json!({}), None), false)]
#[case::other_class_by_admin(gateway_as("tenant-test", json!({"gatewayClassName": "internal-lb"}), None, "admin", ADMIN_GROUPS), true)]
#[case::other_class_by_flux(gateway_as("tenant-test", json!({"gatewayClassName": "internal-lb"}), None, FLUX_SA, FLUX_GROUPS), true)]
#[case::other_class_kept(tenant_gateway_write(json!({"gatewayClassName": "internal-lb"}), Some(json!({"gatewayClassName": "internal-lb"}))), true)]
#[case::other_class_switched_to(tenant_gateway_write(json!({"gatewayClassName": "internal-lb"}), Some(json!({"gatewayClassName": "cilium"}))), false)]
#[case::other_class_platform_ns(gateway_as("cozy-system", json!({"gatewayClassName": "internal-lb"}), None, TENANT_SA, SA_GROUPS), true)]
#[case::addresses_set(tenant_gateway_write(json!({"gatewayClassName": "cilium", "addresses": [{"value": IP}]}), None), false)]
#[case::addresses_empty(tenant_gateway_write(json!({"gatewayClassName": "cilium", "addresses": []}), None), true)]
#[case::addresses_null(tenant_gateway_write(json!({"gatewayClassName": "cilium", "addresses": null}), None), true)]
#[case::addresses_by_admin(gateway_as("tenant-test", json!({"gatewayClassName": "cilium", "addresses": [{"value": IP}]}), None, "admin", ADMIN_GROUPS), true)]
#[case::addresses_kept(tenant_gateway_write(json!({"gatewayClassName": "cilium", "addresses": [{"value": IP}]}), Some(json!({"gatewayClassName": "cilium", "addresses": [{"value": IP}]}))), true)]
#[case::addresses_changed(tenant_gateway_write(json!({"gatewayClassName": "cilium", "addresses": [{"value": "10.0.0.11"}]}), Some(json!({"gatewayClassName": "cilium", "addresses": [{"value": IP}]}))), false)]
#[case::addresses_extended(tenant_gateway_write(json!({"gatewayClassName": "cilium", "addresses": [{"value": IP}, {"value": "10.0.0.11"}]}), Some(json!({"gatewayClassName": "cilium", "addresses": [{"value": IP}]}))), false)]
#[case::addresses_cleared(tenant_gateway_write(json!({"gatewayClassName": "cilium"}), Some(json!({"gatewayClassName": "cilium", "addresses": [{"value": IP}]}))), true)]
#[case::addresses_platform_ns(gateway_as("cozy-system", json!({"gatewayClassName": "cilium", "addresses": [{"value": IP}]}), None, TENANT_SA, SA_GROUPS), true)]
#[case::infrastructure_set(tenant_gateway_write(json!({"gatewayClassName": "cilium", "infrastructure": {"labels": {"a": "b"}}}), None), false)]
#[case::infrastructure_empty(tenant_gateway_write(json!({"gatewayClassName": "cilium", "infrastructure": {}}), None), true)]
#[case::infrastructure_kept(tenant_gateway_write(json!({"gatewayClassName": "cilium", "infrastructure": {"labels": {"a": "b"}}}), Some(json!({"gatewayClassName": "cilium", "infrastructure": {"labels": {"a": "b"}}}))), true)]
#[case::infrastructure_changed(tenant_gateway_write(json!({"gatewayClassName": "cilium", "infrastructure": {"parametersRef": {"group": "", "kind": "ConfigMap", "name": "lb"}}}), Some(json!({"gatewayClassName": "cilium", "infrastructure": {"labels": {"a": "b"}}}))), false)]
#[case::infrastructure_by_flux(gateway_as("tenant-test", json!({"gatewayClassName": "cilium", "infrastructure": {"annotations": {"x": "y"}}}), None, FLUX_SA, FLUX_GROUPS), true)]
fn gateway_identity_fields(#[case] v: Verdict, #[case] allowed: bool) {
    assert_eq!(v == Verdict::Allow, allowed, "{v:?}");
}

#[test]
fn gateway_identity_denials_name_the_gateway_the_field_and_who_may() {
    assert_eq!(
        message(tenant_gateway_write(json!({"gatewayClassName": "internal-lb"}), None)),
        Some(format!(
            "Gateway tenant-test/obj: spec.gatewayClassName \"internal-lb\" is not in allowedGatewayClasses (cilium); \
             other GatewayClasses can only be chosen by trusted callers ({TRUSTED}). Request user: \
             system:serviceaccount:tenant-test:default"
        ))
    );
    assert_eq!(
        message(tenant_gateway_write(
            json!({"gatewayClassName": "cilium", "addresses": [{"value": IP}]}),
            None
        )),
        Some(format!(
            "Gateway tenant-test/obj: spec.addresses can only be set or changed by trusted callers ({TRUSTED}) in \
             tenant namespaces; request user is system:serviceaccount:tenant-test:default. The data plane assigns the \
             requested addresses from pools every Gateway shares (another tenant's or the platform's IP)"
        ))
    );
    assert_eq!(
        message(tenant_gateway_write(
            json!({"gatewayClassName": "cilium", "infrastructure": {"labels": {"a": "b"}}}),
            None
        )),
        Some(format!(
            "Gateway tenant-test/obj: spec.infrastructure can only be set or changed by trusted callers ({TRUSTED}) in \
             tenant namespaces; request user is system:serviceaccount:tenant-test:default. Its labels, annotations \
             and parametersRef reach the load balancer Service and the data plane's own resources"
        ))
    );
}

#[test]
fn gateway_identity_rules_need_no_lookup_and_hostname_rules_still_apply_to_trusted_callers() {
    let req = mk_request(
        "gateway.networking.k8s.io",
        "v1beta1",
        "Gateway",
        "CREATE",
        "tenant-test",
        json!({"spec": {"gatewayClassName": "internal-lb", "listeners": [{"name": "l", "hostname": "a.test.example.org"}]}}),
        None,
    );
    assert!(
        message(decide(&req, &Settings::default(), no_lookup))
            .is_some_and(|m| m.contains("is not in allowedGatewayClasses"))
    );
    let admin = gateway_as(
        "tenant-test",
        json!({"gatewayClassName": "internal-lb", "listeners": []}),
        None,
        "admin",
        ADMIN_GROUPS,
    );
    assert_eq!(admin, Verdict::Allow);
    let req = mk_request_as(
        "gateway.networking.k8s.io",
        "v1",
        "Gateway",
        "CREATE",
        "tenant-test",
        json!({"spec": {"gatewayClassName": "internal-lb", "listeners": [{"name": "l", "hostname": "evil.example.org"}]}}),
        None,
        "admin",
        ADMIN_GROUPS,
    );
    assert!(
        message(decide(&req, &Settings::default(), ns_labels(Some("test.example.org"))))
            .is_some_and(|m| m.contains("must equal test.example.org"))
    );
}

// --- cert-manager Issuers in tenant namespaces (issue 18, item 4) ----------------------------------

const LE: &str = "https://acme-v02.api.letsencrypt.org/directory";

fn issuer_as(ns: &str, spec: Value, old: Option<Value>, user: &str, groups: &[&str], settings: &Settings) -> Verdict {
    let req = mk_request_as(
        "cert-manager.io",
        "v1",
        "Issuer",
        if old.is_some() { "UPDATE" } else { "CREATE" },
        ns,
        json!({"metadata": {"name": "obj"}, "spec": spec}),
        old.map(|o| json!({"metadata": {"name": "obj"}, "spec": o})),
        user,
        groups,
    );
    decide(&req, settings, no_lookup)
}

fn tenant_issuer(spec: Value, old: Option<Value>) -> Verdict {
    issuer_as("tenant-test", spec, old, TENANT_SA, SA_GROUPS, &Settings::default())
}

fn acme(server: &str, solvers: Value) -> Value {
    json!({"acme": {"server": server, "privateKeySecretRef": {"name": "k"}, "solvers": solvers}})
}

fn dns01(provider: &str, config: Value) -> Value {
    json!({"dns01": {provider: config}})
}

fn ns(nameserver: &str) -> Value {
    dns01("rfc2136", json!({"nameserver": nameserver, "tsigKeyName": "k"}))
}

#[rstest]
#[case::letsencrypt_http01(tenant_issuer(acme(LE, json!([{"http01": {"ingress": {}}}])), None), true)]
#[case::letsencrypt_staging(tenant_issuer(acme("https://acme-staging-v02.api.letsencrypt.org/directory", json!([])), None), true)]
#[case::cloudflare(tenant_issuer(acme(LE, json!([dns01("cloudflare", json!({"apiTokenSecretRef": {"name": "cf", "key": "t"}}))])), None), true)]
#[case::route53_region(tenant_issuer(acme(LE, json!([dns01("route53", json!({"region": "eu-west-1"}))])), None), true)]
#[case::self_signed(tenant_issuer(json!({"selfSigned": {}}), None), true)]
#[case::ca_with_urls(tenant_issuer(json!({"ca": {"secretName": "ca", "ocspServers": ["http://10.0.0.1"], "crlDistributionPoints": ["http://10.0.0.1/crl"]}}), None), true)]
#[case::other_acme_server(tenant_issuer(acme("https://10.0.0.1:14000/dir", json!([])), None), false)]
#[case::acme_server_kept(tenant_issuer(acme("https://10.0.0.1:14000/dir", json!([])), Some(acme("https://10.0.0.1:14000/dir", json!([])))), true)]
#[case::acme_server_changed(tenant_issuer(acme("https://10.0.0.2/dir", json!([])), Some(acme("https://10.0.0.1/dir", json!([])))), false)]
#[case::nameserver(tenant_issuer(acme(LE, json!([ns("10.96.0.10:53")])), None), false)]
#[case::nameserver_kept_and_reordered(tenant_issuer(acme(LE, json!([{"http01": {}}, ns("ns1.example.net:53")])), Some(acme(LE, json!([ns("ns1.example.net:53")])))), true)]
#[case::nameserver_changed(tenant_issuer(acme(LE, json!([ns("10.96.0.10:53")])), Some(acme(LE, json!([ns("ns1.example.net:53")])))), false)]
#[case::nameserver_added(tenant_issuer(acme(LE, json!([ns("ns1.example.net:53"), ns("10.96.0.10:53")])), Some(acme(LE, json!([ns("ns1.example.net:53")])))), false)]
#[case::nameserver_cleared(tenant_issuer(acme(LE, json!([])), Some(acme(LE, json!([ns("ns1.example.net:53")])))), true)]
#[case::nameserver_empty(tenant_issuer(acme(LE, json!([ns("")])), None), true)]
#[case::acme_dns(tenant_issuer(acme(LE, json!([dns01("acmeDNS", json!({"host": "http://10.0.0.5"}))])), None), false)]
#[case::akamai(tenant_issuer(acme(LE, json!([dns01("akamai", json!({"serviceConsumerDomain": "10.0.0.6"}))])), None), false)]
#[case::webhook(tenant_issuer(acme(LE, json!([dns01("webhook", json!({"groupName": "acme.example.com", "solverName": "x"}))])), None), false)]
#[case::webhook_kept(tenant_issuer(acme(LE, json!([dns01("webhook", json!({"groupName": "g", "solverName": "x"}))])), Some(acme(LE, json!([dns01("webhook", json!({"groupName": "g", "solverName": "x"}))])))), true)]
#[case::webhook_config_changed(tenant_issuer(acme(LE, json!([dns01("webhook", json!({"groupName": "g", "solverName": "x", "config": {"endpoint": "http://10.0.0.6"}}))])), Some(acme(LE, json!([dns01("webhook", json!({"groupName": "g", "solverName": "x"}))])))), false)]
#[case::vault(tenant_issuer(json!({"vault": {"server": "http://10.0.0.7:8200", "path": "pki/sign/x"}}), None), false)]
#[case::venafi_tpp(tenant_issuer(json!({"venafi": {"zone": "z", "tpp": {"url": "https://10.0.0.8/vedsdk"}}}), None), false)]
#[case::venafi_cloud_url(tenant_issuer(json!({"venafi": {"zone": "z", "cloud": {"url": "https://10.0.0.9/"}}}), None), false)]
#[case::venafi_cloud_default(tenant_issuer(json!({"venafi": {"zone": "z", "cloud": {"apiTokenSecretRef": {"name": "t", "key": "k"}}}}), None), true)]
#[case::ngts_token_endpoint(tenant_issuer(json!({"venafi": {"zone": "z", "ngts": {"tokenEndpoint": "https://10.0.0.9/token"}}}), None), false)]
#[case::by_admin(issuer_as("tenant-test", acme("https://10.0.0.1/dir", json!([ns("10.96.0.10:53")])), None, "admin", ADMIN_GROUPS, &Settings::default()), true)]
#[case::by_cert_manager(issuer_as("tenant-test", json!({"vault": {"server": "http://10.0.0.7:8200"}}), None, "system:serviceaccount:cozy-cert-manager:cert-manager", &["system:serviceaccounts:cozy-cert-manager"], &Settings::default()), true)]
#[case::platform_ns(issuer_as("cozy-cert-manager", acme(LE, json!([ns("10.96.0.10:53")])), None, TENANT_SA, SA_GROUPS, &Settings::default()), true)]
fn issuer_addresses(#[case] v: Verdict, #[case] allowed: bool) {
    assert_eq!(v == Verdict::Allow, allowed, "{v:?}");
}

#[test]
fn acme_servers_follow_the_setting() {
    let zerossl = Settings {
        allowed_acme_servers: vec!["https://acme.zerossl.com/v2/DV90".into()],
        ..Settings::default()
    };
    let decide_with =
        |server: &str, s: &Settings| issuer_as("tenant-test", acme(server, json!([])), None, TENANT_SA, SA_GROUPS, s);
    assert_eq!(
        decide_with("https://acme.zerossl.com/v2/DV90", &zerossl),
        Verdict::Allow
    );
    assert!(
        message(decide_with(LE, &zerossl))
            .is_some_and(|m| m.contains("is not in allowedAcmeServers (https://acme.zerossl.com/v2/DV90)"))
    );
    let none = Settings {
        allowed_acme_servers: vec![],
        ..Settings::default()
    };
    assert!(message(decide_with(LE, &none)).is_some_and(|m| m.contains("is not in allowedAcmeServers (none)")));
}

#[test]
fn issuer_denials_name_the_issuer_the_field_the_value_and_why() {
    assert_eq!(
        message(tenant_issuer(
            acme(LE, json!([{"http01": {}}, ns("10.96.0.10:53")])),
            None
        )),
        Some(format!(
            "Issuer tenant-test/obj: spec.acme.solvers[1].dns01.rfc2136.nameserver can only be set or changed by \
             trusted callers ({TRUSTED}) in tenant namespaces; request user is system:serviceaccount:tenant-test:default, \
             who sets \"10.96.0.10:53\". cert-manager sends DNS updates to this address from inside the cluster"
        ))
    );
    assert_eq!(
        message(tenant_issuer(acme("https://10.0.0.1:14000/dir", json!([])), None)),
        Some(format!(
            "Issuer tenant-test/obj: spec.acme.server \"https://10.0.0.1:14000/dir\" is not in allowedAcmeServers \
             (https://acme-v02.api.letsencrypt.org/directory, https://acme-staging-v02.api.letsencrypt.org/directory); \
             other ACME servers can only be set or changed by trusted callers ({TRUSTED}) in tenant namespaces; \
             request user is system:serviceaccount:tenant-test:default. cert-manager registers an account and orders \
             certificates at this URL from inside the cluster, and shows the server's answers in the Issuer's status"
        ))
    );
    assert_eq!(
        message(tenant_issuer(
            json!({"vault": {"server": "http://10.0.0.7:8200"}}),
            None
        )),
        Some(format!(
            "Issuer tenant-test/obj: spec.vault.server can only be set or changed by trusted callers ({TRUSTED}) in \
             tenant namespaces; request user is system:serviceaccount:tenant-test:default, who sets \
             \"http://10.0.0.7:8200\". cert-manager sends its Vault credentials (for example a ServiceAccount token) \
             to this address from inside the cluster"
        ))
    );
    let big = "x".repeat(400);
    let webhook = message(tenant_issuer(
        acme(
            LE,
            json!([dns01("webhook", json!({"groupName": "g", "config": {"k": big}}))]),
        ),
        None,
    ))
    .unwrap_or_default();
    assert!(
        webhook.contains(
            "spec.acme.solvers[0].dns01.webhook can only be set or changed by trusted callers (groups system:masters"
        ),
        "{webhook}"
    );
    assert!(
        webhook.contains("who sets {\"config\":{\"k\":\"xxx") && webhook.len() < 900,
        "the value is quoted and capped: {webhook}"
    );
}

#[test]
fn issuer_outside_the_table_or_malformed() {
    let cluster_issuer = mk_request(
        "cert-manager.io",
        "v1",
        "ClusterIssuer",
        "CREATE",
        "",
        json!({"spec": {"vault": {"server": "http://10.0.0.7"}}}),
        None,
    );
    assert_eq!(decide(&cluster_issuer, &Settings::default(), no_lookup), Verdict::Allow);
    let malformed = mk_request(
        "cert-manager.io",
        "v1",
        "Issuer",
        "CREATE",
        "tenant-test",
        json!({"spec": {"acme": {"solvers": {"dns01": {}}}}}),
        None,
    );
    assert_eq!(
        message(decide(&malformed, &Settings::default(), no_lookup)).as_deref(),
        Some("Issuer tenant-test/obj could not be parsed: spec.acme.solvers: invalid type: map, expected a sequence")
    );
}

// --- Robustness ----------------------------------------------------------------------------------

#[test]
fn malformed_object_is_denied_with_the_path() {
    let obj = json!({"spec": {"hostnames": ["a.test.example.org", 5]}});
    let req = mk_request(
        "gateway.networking.k8s.io",
        "v1",
        "HTTPRoute",
        "CREATE",
        "tenant-test",
        obj,
        None,
    );
    assert_eq!(
        message(decide(&req, &Settings::default(), ns_labels(Some("test.example.org")))).as_deref(),
        Some(
            "HTTPRoute tenant-test/obj could not be parsed: spec.hostnames[1]: invalid type: integer `5`, expected a string"
        )
    );
}

#[test]
fn unrelated_kinds_and_deletes_are_allowed() {
    let pod = mk_request("", "v1", "Pod", "CREATE", "tenant-test", json!({"spec": 1}), None);
    assert_eq!(decide(&pod, &Settings::default(), no_lookup), Verdict::Allow);
    let del = mk_request(
        "gateway.networking.k8s.io",
        "v1",
        "HTTPRoute",
        "DELETE",
        "tenant-test",
        json!(null),
        None,
    );
    assert_eq!(decide(&del, &Settings::default(), no_lookup), Verdict::Allow);
}

#[test]
fn malformed_request_is_an_error_naming_the_field() {
    let wire = json!({"uid": "1", "kind": {"group": "", "version": "v1", "kind": "Namespace"}, "operation": "CREATE", "userInfo": {"groups": "system:masters"}});
    assert_eq!(
        Request::from_json(&wire).map_err(|e| e.to_string()),
        Err("the admission request could not be parsed: userInfo.groups: invalid type: string \"system:masters\", expected a sequence".into())
    );
}

#[rstest]
#[case::gateway_v1alpha2("gateway.networking.k8s.io", "v1alpha2", "Gateway")]
#[case::httproute_v1alpha2("gateway.networking.k8s.io", "v1alpha2", "HTTPRoute")]
#[case::grpcroute_v1alpha2("gateway.networking.k8s.io", "v1alpha2", "GRPCRoute")]
#[case::ingress_v1beta1("networking.k8s.io", "v1beta1", "Ingress")]
#[case::tenant_v1beta1("apps.cozystack.io", "v1beta1", "Tenant")]
fn versions_outside_the_table_are_accepted(#[case] group: &str, #[case] version: &str, #[case] kind: &str) {
    let obj = json!({"spec": {"hostnames": ["evil.com"], "host": "evil.com", "listeners": [{"hostname": "evil.com"}]}});
    let req = mk_request(group, version, kind, "CREATE", "tenant-test", obj, None);
    assert_eq!(decide(&req, &Settings::default(), no_lookup), Verdict::Allow);
}

#[test]
fn tenant_invalid_host_message_keeps_the_tenant_phrase() {
    let v = tenant("CREATE", Some("*.example.org"), None, "admin", &["system:masters"]);
    assert_eq!(
        message(v).as_deref(),
        Some(
            "Tenant tenant-root/obj: spec.host can only be set to a valid lowercase DNS name; \"*.example.org\" is not: \
             a wildcard cannot be a tenant apex"
        )
    );
}

#[test]
fn tenant_gateway_invalid_apex_names_the_namespace_apex() {
    assert_eq!(
        message(tgw(
            "tenant-test",
            json!({"apex": "*.test.example.org"}),
            Some("test.example.org")
        ))
        .as_deref(),
        Some(
            "TenantGateway tenant-test/obj: spec.apex \"*.test.example.org\" is not a valid DNS name (an apex cannot be a \
             wildcard); a TenantGateway's spec.apex must equal test.example.org or be a subdomain of it"
        )
    );
}
