//! Hostname helpers of the TenantGateway logic, on top of [`crate::hostname`]: Gateway API
//! wildcard semantics, and lowercase-only input (Gateway API hostnames are lowercase; an
//! upper-case spelling is reported as invalid rather than silently normalised).

use crate::hostname::{Hostname, WildcardMode, name_within};

/// A valid, lowercase route or listener hostname, exact or `*.<suffix>`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostPattern(Hostname);

/// Whether `s` is a lowercase RFC 1123 label (1-63 chars).
pub fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Whether `s` is a lowercase RFC 1123 subdomain (no wildcard, ≤253 chars).
pub fn is_dns_name(s: &str) -> bool {
    HostPattern::parse(s).is_some_and(|h| !h.is_wildcard())
}

impl HostPattern {
    /// Parses a route or listener hostname; `None` when invalid (including upper case).
    pub fn parse(s: &str) -> Option<HostPattern> {
        Hostname::parse(s)
            .ok()
            .filter(|h| h.original() == h.as_str())
            .map(HostPattern)
    }

    pub fn is_wildcard(&self) -> bool {
        self.0.is_wildcard()
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Gateway API hostname intersection (a listener wildcard matches any number of labels).
    pub fn intersects(&self, other: &HostPattern) -> bool {
        self.0.intersects(&other.0, WildcardMode::GatewayApi)
    }
}

/// `h` is a strict subdomain of `parent` (`a.b.parent`, not `parent`, not `xparent`).
pub fn is_strict_subdomain(h: &str, parent: &str) -> bool {
    h != parent && name_within(h, parent)
}

/// `h` equals `apex` or lies under it.
pub fn within_apex(h: &str, apex: &str) -> bool {
    name_within(h, apex)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::exact("a.example.org", Some((false, "a.example.org")))]
    #[case::wildcard("*.example.org", Some((true, "*.example.org")))]
    #[case::upper("A.example.org", None)]
    #[case::inner_star("a.*.org", None)]
    #[case::bare_star("*", None)]
    #[case::trailing_dot("a.org.", None)]
    #[case::underscore("a_b.org", None)]
    #[case::long_label(&format!("{}.org", "a".repeat(64)), None)]
    fn parse(#[case] input: &str, #[case] want: Option<(bool, &str)>) {
        let got = HostPattern::parse(input);
        assert_eq!(got.as_ref().map(|h| (h.is_wildcard(), h.as_str())), want);
    }

    #[rstest]
    #[case::same_exact("a.x.org", "a.x.org", true)]
    #[case::diff_exact("a.x.org", "b.x.org", false)]
    #[case::wild_one_label("*.x.org", "a.x.org", true)]
    #[case::wild_two_labels("*.x.org", "a.b.x.org", true)]
    #[case::wild_not_apex("*.x.org", "x.org", false)]
    #[case::wild_suffix_trick("*.x.org", "ax.org", false)]
    #[case::route_wild_listener_exact("a.x.org", "*.x.org", true)]
    #[case::nested_wilds("*.x.org", "*.a.x.org", true)]
    #[case::disjoint_wilds("*.x.org", "*.y.org", false)]
    fn intersects(#[case] listener: &str, #[case] route: &str, #[case] want: bool) {
        let (l, r) = (
            HostPattern::parse(listener).expect("listener"),
            HostPattern::parse(route).expect("route"),
        );
        assert_eq!(l.intersects(&r), want);
    }

    #[rstest]
    #[case::apex("x.org", true, false)]
    #[case::child("a.x.org", true, true)]
    #[case::grandchild("a.b.x.org", true, true)]
    #[case::suffix_trick("ax.org", false, false)]
    #[case::other("y.org", false, false)]
    fn apex(#[case] h: &str, #[case] within: bool, #[case] strict: bool) {
        assert_eq!(
            (within_apex(h, "x.org"), is_strict_subdomain(h, "x.org")),
            (within, strict)
        );
    }
}
