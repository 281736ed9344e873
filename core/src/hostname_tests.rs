//! Hostname rules as tables. Intersection vectors follow the Gateway API hostnames concept page
//! (anchors.md §4.4) and the conformance hostname-matching cases it lists.

use rstest::rstest;

use super::*;

fn h(s: &str) -> Hostname {
    match Hostname::parse(s) {
        Ok(h) => h,
        Err(e) => panic!("test hostname {s:?} is invalid: {e}"),
    }
}

#[rstest]
#[case::simple("example.org")]
#[case::single_label("localhost")]
#[case::wildcard("*.example.org")]
#[case::wildcard_tld("*.com")]
#[case::digits_inside("a1.b2-c.example.org")]
#[case::numeric_label_not_last("123.example.org")]
#[case::numeric_last_label("alice.123")]
#[case::uppercase_is_normalised("Test.Example.ORG")]
#[case::max_label(&format!("{}.org", "a".repeat(63)))]
fn valid_hostnames(#[case] raw: &str) {
    let parsed = h(raw);
    assert_eq!(parsed.as_str(), raw.to_ascii_lowercase());
    assert_eq!(parsed.original(), raw);
}

#[rstest]
#[case::empty("", HostnameError::Empty)]
#[case::bare_wildcard("*", HostnameError::BareWildcard)]
#[case::trailing_dot("example.org.", HostnameError::TrailingDot)]
#[case::leading_dot(".example.org", HostnameError::EmptyLabel)]
#[case::double_dot("a..org", HostnameError::EmptyLabel)]
#[case::wildcard_not_first("a.*.org", HostnameError::MisplacedWildcard)]
#[case::two_wildcards("*.*.org", HostnameError::MisplacedWildcard)]
#[case::partial_wildcard("a*.org", HostnameError::MisplacedWildcard)]
#[case::underscore("a_b.org", HostnameError::InvalidCharacter { label: "a_b".into(), ch: '_' })]
#[case::space("a b.org", HostnameError::InvalidCharacter { label: "a b".into(), ch: ' ' })]
#[case::ipv6("::1", HostnameError::InvalidCharacter { label: "::1".into(), ch: ':' })]
#[case::leading_hyphen("-a.org", HostnameError::HyphenAtEdge { label: "-a".into() })]
#[case::trailing_hyphen("a-.org", HostnameError::HyphenAtEdge { label: "a-".into() })]
#[case::ipv4("10.0.0.1", HostnameError::IpAddress)]
#[case::dotted_triple("1.2.3", HostnameError::IpAddress)]
#[case::single_number("123", HostnameError::IpAddress)]
#[case::long_label(&format!("{}.org", "a".repeat(64)), HostnameError::LabelTooLong { label: "a".repeat(64) })]
#[case::too_long(&format!("{}.org", ["a"; 126].join(".")), HostnameError::TooLong { len: 255 })]
fn invalid_hostnames(#[case] raw: &str, #[case] expected: HostnameError) {
    assert_eq!(Hostname::parse(raw), Err(expected));
}

#[test]
fn invalid_character_message_names_label_and_char() {
    let err = Hostname::parse("a_b.org").err().map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some("label \"a_b\" contains '_' (allowed: a-z, 0-9, '-')")
    );
}

// cozystack-behaviour.md §3.1 / §3.4 decision vectors, apex test.example.org
#[rstest]
#[case::equal("test.example.org", "test.example.org", true)]
#[case::subdomain("harbor.test.example.org", "test.example.org", true)]
#[case::deep_subdomain("a.b.test.example.org", "test.example.org", true)]
#[case::wildcard_of_apex("*.test.example.org", "test.example.org", true)]
#[case::wildcard_below_apex("*.a.test.example.org", "test.example.org", true)]
#[case::sibling("dashboard.example.org", "test.example.org", false)]
#[case::no_dot_boundary("eviltest.example.org", "test.example.org", false)]
#[case::parent("example.org", "test.example.org", false)]
#[case::wildcard_of_parent("*.example.org", "test.example.org", false)]
#[case::unrelated("attacker.com", "test.example.org", false)]
#[case::case_insensitive_apex("a.test.example.org", "Test.Example.ORG", true)]
#[case::case_insensitive_name("Probe.Case-Probe.route.invalid", "case-probe.route.invalid", true)]
#[case::dot_boundary_mixed_case("evilcase-probe.route.invalid", "Case-Probe.route.invalid", false)]
fn apex_membership(#[case] name: &str, #[case] apex: &str, #[case] within: bool) {
    assert_eq!(h(name).within_apex(&h(apex)), within, "{name} within {apex}");
}

// anchors.md §4.4: Gateway API wildcards cover one or more labels; Ingress/TLS exactly one.
#[rstest]
#[case::equal_names("a.example.com", "a.example.com", Some("a.example.com"), Some("a.example.com"))]
#[case::different_names("a.example.com", "b.example.com", None, None)]
#[case::wildcard_one_label("*.example.com", "a.example.com", Some("a.example.com"), Some("a.example.com"))]
#[case::wildcard_two_labels("*.example.com", "a.b.example.com", Some("a.b.example.com"), None)]
#[case::wildcard_not_its_base("*.example.com", "example.com", None, None)]
#[case::wildcard_no_dot_boundary("*.example.com", "badexample.com", None, None)]
#[case::name_then_wildcard("foo.bar.wildcard.io", "*.wildcard.io", Some("foo.bar.wildcard.io"), None)]
#[case::nested_wildcards("*.com", "*.example.com", Some("*.example.com"), None)]
#[case::nested_wildcards_reversed("*.example.com", "*.com", Some("*.example.com"), None)]
#[case::same_wildcard("*.example.com", "*.Example.com", Some("*.example.com"), Some("*.example.com"))]
#[case::disjoint_wildcards("*.a.com", "*.b.com", None, None)]
fn intersection_in_both_modes(
    #[case] left: &str,
    #[case] right: &str,
    #[case] gateway_api: Option<&str>,
    #[case] single_label: Option<&str>,
) {
    let got = |mode| h(left).intersection(&h(right), mode).map(|x| x.as_str().to_string());
    assert_eq!(
        got(WildcardMode::GatewayApi).as_deref(),
        gateway_api,
        "GatewayApi {left} ∩ {right}"
    );
    assert_eq!(
        got(WildcardMode::SingleLabel).as_deref(),
        single_label,
        "SingleLabel {left} ∩ {right}"
    );
    let symmetric = |mode| h(right).intersects(&h(left), mode);
    assert_eq!(symmetric(WildcardMode::GatewayApi), gateway_api.is_some());
    assert_eq!(symmetric(WildcardMode::SingleLabel), single_label.is_some());
}

#[rstest]
#[case::cert_covers_one_label("*.example.com", "a.example.com", true, true)]
#[case::cert_not_two_labels("*.example.com", "a.b.example.com", true, false)]
#[case::wildcard_covers_deeper_wildcard("*.example.com", "*.a.example.com", true, false)]
#[case::name_covers_itself("a.example.com", "a.example.com", true, true)]
#[case::name_does_not_cover_wildcard("a.example.com", "*.example.com", false, false)]
fn coverage(#[case] pattern: &str, #[case] name: &str, #[case] gateway_api: bool, #[case] single_label: bool) {
    assert_eq!(h(pattern).covers(&h(name), WildcardMode::GatewayApi), gateway_api);
    assert_eq!(h(pattern).covers(&h(name), WildcardMode::SingleLabel), single_label);
}

#[test]
fn parts_of_a_wildcard() {
    let w = h("*.Apps.Example.org");
    assert!(w.is_wildcard());
    assert_eq!(
        (w.base(), w.first_label(), w.to_string()),
        ("apps.example.org", "*", "*.Apps.Example.org".to_string())
    );
}
