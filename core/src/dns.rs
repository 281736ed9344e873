//! Small hostname helpers used by the TenantGateway logic until `crate::hostname` is shared:
//! lowercase RFC 1123 validation, optional `*.` wildcard, apex containment and Gateway API
//! hostname intersection (a listener wildcard matches any number of labels).

/// A parsed, valid, lowercase hostname: exact or `*.<suffix>`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HostPattern {
    Exact(String),
    /// The suffix after `*.`.
    Wildcard(String),
}

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
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns_label)
}

impl HostPattern {
    /// Parses a route or listener hostname; `None` when invalid (including upper case).
    pub fn parse(s: &str) -> Option<HostPattern> {
        match s.strip_prefix("*.") {
            Some(rest) if is_dns_name(rest) && s.len() <= 253 => Some(HostPattern::Wildcard(rest.to_owned())),
            Some(_) => None,
            None if is_dns_name(s) => Some(HostPattern::Exact(s.to_owned())),
            None => None,
        }
    }

    pub fn is_wildcard(&self) -> bool {
        matches!(self, HostPattern::Wildcard(_))
    }

    /// Gateway API hostname intersection between a listener and a route hostname.
    pub fn intersects(&self, other: &HostPattern) -> bool {
        use HostPattern::{Exact, Wildcard};
        match (self, other) {
            (Exact(a), Exact(b)) => a == b,
            (Wildcard(s), Exact(h)) | (Exact(h), Wildcard(s)) => is_strict_subdomain(h, s),
            (Wildcard(a), Wildcard(b)) => a == b || is_strict_subdomain(a, b) || is_strict_subdomain(b, a),
        }
    }
}

/// `h` is a strict subdomain of `parent` (`a.b.parent`, not `parent`, not `xparent`).
pub fn is_strict_subdomain(h: &str, parent: &str) -> bool {
    h.len() > parent.len() + 1 && h.ends_with(parent) && h.as_bytes()[h.len() - parent.len() - 1] == b'.'
}

/// `h` equals `apex` or lies under it.
pub fn within_apex(h: &str, apex: &str) -> bool {
    h == apex || is_strict_subdomain(h, apex)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::exact("a.example.org", Some(HostPattern::Exact("a.example.org".into())))]
    #[case::wildcard("*.example.org", Some(HostPattern::Wildcard("example.org".into())))]
    #[case::upper("A.example.org", None)]
    #[case::inner_star("a.*.org", None)]
    #[case::bare_star("*", None)]
    #[case::trailing_dot("a.org.", None)]
    #[case::underscore("a_b.org", None)]
    #[case::long_label(&format!("{}.org", "a".repeat(64)), None)]
    fn parse(#[case] input: &str, #[case] want: Option<HostPattern>) {
        assert_eq!(HostPattern::parse(input), want);
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
    #[case::apex("x.org", true)]
    #[case::child("a.x.org", true)]
    #[case::grandchild("a.b.x.org", true)]
    #[case::suffix_trick("ax.org", false)]
    #[case::other("y.org", false)]
    fn apex(#[case] h: &str, #[case] want: bool) {
        assert_eq!(within_apex(h, "x.org"), want);
    }
}
