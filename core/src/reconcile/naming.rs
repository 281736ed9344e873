//! Object and listener names (Cozystack §2.7): `hash8` is the first 8 hex digits of SHA-256 over
//! the lowercased hostname; `first_label` is the lowercased text before the first dot.

use sha2::{Digest, Sha256};

/// First 8 lowercase hex characters of SHA-256(lowercase(h)).
pub fn hash8(h: &str) -> String {
    let digest = Sha256::digest(h.to_ascii_lowercase().as_bytes());
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// Lowercased text before the first `.` (the whole string when there is none).
pub fn first_label(h: &str) -> String {
    let lower = h.to_ascii_lowercase();
    match lower.split_once('.') {
        Some((first, _)) => first.to_owned(),
        None => lower,
    }
}

/// Per-hostname HTTPS listener (HTTP-01): `https-<first-label>-<hash8>`.
pub fn host_listener(h: &str) -> String {
    format!("https-{}-{}", first_label(h), hash8(h))
}

/// Child-apex HTTPS listener (wildcard modes): `https-child-<first-label>-<hash8>`.
pub fn child_listener(apex: &str) -> String {
    format!("https-child-{}-{}", first_label(apex), hash8(apex))
}

/// Child-apex HTTPS listener for the child apex itself (wildcard modes):
/// `https-child-apex-<first-label>-<hash8>`.
pub fn child_apex_listener(apex: &str) -> String {
    format!("https-child-apex-{}-{}", first_label(apex), hash8(apex))
}

/// Per-hostname Certificate and its Secret: `<tgw>-<first-label>-<hash8>-tls`.
pub fn host_certificate(tgw: &str, h: &str) -> String {
    format!("{tgw}-{}-{}-tls", first_label(h), hash8(h))
}

/// TLS passthrough listener: `tls-<svc>`.
pub fn passthrough_listener(svc: &str) -> String {
    format!("tls-{svc}")
}

pub const HTTP_LISTENER: &str = "http";
pub const WILDCARD_LISTENER: &str = "https";
pub const APEX_LISTENER: &str = "https-apex";

/// The Gateway carries the TenantGateway's name.
pub fn gateway(tgw: &str) -> String {
    tgw.to_owned()
}
pub fn issuer(tgw: &str) -> String {
    format!("{tgw}-gateway")
}
pub fn acme_account_key(tgw: &str) -> String {
    format!("{tgw}-acme-account")
}
pub fn wildcard_certificate(tgw: &str) -> String {
    format!("{tgw}-gateway-tls")
}
pub fn redirect_route(tgw: &str) -> String {
    format!("{tgw}-http-redirect")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    // Vectors from cozystack-behaviour.md §2.7 (TGW name `cozystack`).
    #[rstest]
    #[case::harbor_foo(
        "harbor.foo.example.com",
        "760d5a8a",
        "https-harbor-760d5a8a",
        "cozystack-harbor-760d5a8a-tls"
    )]
    #[case::harbor_upper(
        "HARBOR.foo.example.com",
        "760d5a8a",
        "https-harbor-760d5a8a",
        "cozystack-harbor-760d5a8a-tls"
    )]
    #[case::harbor_alice_com(
        "harbor.alice.example.com",
        "c31cf8bc",
        "https-harbor-c31cf8bc",
        "cozystack-harbor-c31cf8bc-tls"
    )]
    #[case::harbor_alice_org(
        "harbor.alice.example.org",
        "45348fe9",
        "https-harbor-45348fe9",
        "cozystack-harbor-45348fe9-tls"
    )]
    #[case::dashboard(
        "dashboard.example.org",
        "dfe8b0e4",
        "https-dashboard-dfe8b0e4",
        "cozystack-dashboard-dfe8b0e4-tls"
    )]
    #[case::keycloak(
        "keycloak.example.org",
        "c549a96f",
        "https-keycloak-c549a96f",
        "cozystack-keycloak-c549a96f-tls"
    )]
    #[case::grafana(
        "grafana.example.org",
        "ba6dd572",
        "https-grafana-ba6dd572",
        "cozystack-grafana-ba6dd572-tls"
    )]
    #[case::api("api.example.org", "839f41f7", "https-api-839f41f7", "cozystack-api-839f41f7-tls")]
    fn host_names(#[case] h: &str, #[case] hash: &str, #[case] listener: &str, #[case] cert: &str) {
        assert_eq!(
            (hash8(h), host_listener(h), host_certificate("cozystack", h)),
            (hash.to_owned(), listener.to_owned(), cert.to_owned())
        );
    }

    #[rstest]
    #[case::alice_org("alice.example.org", "https-child-alice-cf290f3a", "https-child-apex-alice-cf290f3a")]
    #[case::bob_org("bob.example.org", "https-child-bob-116343d5", "https-child-apex-bob-116343d5")]
    #[case::alice_foo_com(
        "alice.foo.example.com",
        "https-child-alice-f2dcb550",
        "https-child-apex-alice-f2dcb550"
    )]
    fn child_names(#[case] apex: &str, #[case] wildcard: &str, #[case] exact: &str) {
        assert_eq!(
            (child_listener(apex), child_apex_listener(apex)),
            (wildcard.to_owned(), exact.to_owned())
        );
    }

    #[test]
    fn fixed_names() {
        assert_eq!(
            [
                gateway("cozystack"),
                issuer("cozystack"),
                acme_account_key("cozystack"),
                wildcard_certificate("cozystack"),
                redirect_route("cozystack"),
                passthrough_listener("api"),
            ],
            [
                "cozystack",
                "cozystack-gateway",
                "cozystack-acme-account",
                "cozystack-gateway-tls",
                "cozystack-http-redirect",
                "tls-api",
            ]
        );
        assert_eq!(first_label("nodots"), "nodots");
    }
}
