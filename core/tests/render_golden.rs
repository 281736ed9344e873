//! Golden tests: the rendered objects per cert mode, compared with `tests/golden/*.yaml`.
//! Regenerate with `UPDATE_GOLDEN=1 cargo test -p tgw-core --test render_golden` and review the diff.

mod common;

use common::*;
use rstest::rstest;
use serde_json::Value;
use tgw_core::decide::{Settings, decide};
use tgw_core::snapshot::{NamespaceView, RouteView};
use tgw_core::tenantgateway::{
    CertMode, CloudflareConfig, DigitalOceanConfig, Dns01Config, Dns01Provider, IssuerName, LocalObjectReference,
    Rfc2136Config, Route53Config, SecretKeySelector, TenantGatewaySpec,
};

fn sel(name: &str, key: &str) -> SecretKeySelector {
    SecretKeySelector {
        name: name.into(),
        key: key.into(),
        optional: None,
    }
}

fn base(mode: CertMode) -> TenantGatewaySpec {
    let mut s = TenantGatewaySpec::with_apex("example.org");
    s.cert_mode = mode;
    s.attached_namespaces = Some(vec!["cozy-dashboard".into(), "".into()]);
    s.tls_passthrough_services = Some(vec!["api".into()]);
    s
}

fn dns01(provider: Dns01Provider) -> TenantGatewaySpec {
    let mut s = base(CertMode::Dns01);
    s.issuer_name = IssuerName::LetsencryptStage;
    s.dns01 = Some(Dns01Config {
        provider,
        cloudflare: Some(CloudflareConfig {
            api_token_secret_ref: sel("cf-token", "api-token"),
        }),
        route53: Some(Route53Config {
            region: "eu-west-1".into(),
            access_key_id: Some("AKIAEXAMPLE".into()),
            secret_access_key_secret_ref: Some(sel("r53", "secret-access-key")),
        }),
        digitalocean: Some(DigitalOceanConfig {
            token_secret_ref: sel("do-token", "access-token"),
        }),
        rfc2136: Some(Rfc2136Config {
            nameserver: "ns1.example.org:53".into(),
            tsig_key_name: "tgw-key".into(),
            tsig_algorithm: String::new(),
            tsig_secret_secret_ref: sel("tsig", "tsig-secret-key"),
        }),
    });
    s
}

fn cluster() -> (Vec<NamespaceView>, Vec<RouteView>) {
    let namespaces = vec![
        ns("tenant-root", Some("tenant-root"), Some("example.org")),
        ns("cozy-dashboard", Some("tenant-root"), None),
        ns("tenant-alice", Some("tenant-root"), Some("alice.example.org")),
        ns("tenant-bob", Some("tenant-root"), Some("bob.example.org")),
        ns("tenant-evil", Some("tenant-root"), Some("victim.com")),
        ns("tenant-other", Some("tenant-other"), Some("other.example.org")),
    ];
    let routes = vec![
        http(
            "cozy-dashboard",
            "dashboard",
            T0,
            &["dashboard.example.org"],
            "tenant-root",
        ),
        http(
            "tenant-alice",
            "harbor",
            T1,
            &["harbor.alice.example.org"],
            "tenant-root",
        ),
        http("tenant-root", "wild", T1, &["*.x.example.org"], "tenant-root"),
        http("tenant-root", "outside", T1, &["shop.victim.com"], "tenant-root"),
        http("tenant-root", "api-http", T1, &["api.example.org"], "tenant-root"),
        http("tenant-other", "notattached", T1, &["x.example.org"], "tenant-root"),
    ];
    (namespaces, routes)
}

fn render_all(spec: TenantGatewaySpec) -> String {
    render_with(spec, &Settings::default())
}

fn render_with(spec: TenantGatewaySpec, settings: &Settings) -> String {
    let (namespaces, routes) = cluster();
    let d = decide(&tgw("tenant-root", spec), &namespaces, &routes, settings);
    let mut docs: Vec<Value> = Vec::new();
    // Typed objects go through JSON, as on the wire (and so keys sort like the untyped ones).
    docs.push(match &d.desired.gateway {
        Ok(gw) => serde_json::to_value(gw).expect("Gateway serialises"),
        Err(e) => Value::String(format!("error: {e}")),
    });
    match &d.desired.issuer {
        Ok(Some(i)) => docs.push(i.clone()),
        Ok(None) => {}
        Err(e) => docs.push(Value::String(format!("error: {e}"))),
    }
    docs.extend(d.desired.certificates.iter().cloned());
    docs.extend(
        d.desired
            .redirect
            .iter()
            .map(|r| serde_json::to_value(r).expect("HTTPRoute serialises")),
    );
    docs.iter()
        .map(|v| format!("---\n{}", serde_yaml::to_string(v).expect("yaml")))
        .collect()
}

#[rstest]
#[case::http01("http01", base(CertMode::Http01))]
#[case::dns01_cloudflare("dns01-cloudflare", dns01(Dns01Provider::Cloudflare))]
#[case::dns01_route53("dns01-route53", dns01(Dns01Provider::Route53))]
#[case::dns01_digitalocean("dns01-digitalocean", dns01(Dns01Provider::Digitalocean))]
#[case::dns01_rfc2136("dns01-rfc2136", dns01(Dns01Provider::Rfc2136))]
#[case::existing_secret("existing-secret", {
    let mut s = base(CertMode::ExistingSecret);
    s.wildcard_secret_ref = Some(LocalObjectReference { name: "operator-wildcard".into() });
    s
})]
fn golden(#[case] name: &str, #[case] spec: TenantGatewaySpec) {
    assert_golden(name, &render_all(spec));
}

/// A platform's own ACME server for `letsencrypt-prod` (`--acme-directories`), its CA bundle
/// (`--acme-ca-bundle-file`) and a profile (`--acme-profiles`): the Issuer carries all three.
#[test]
fn golden_private_acme_directory_with_a_profile() {
    let acme = tgw_core::acme::parse(
        &["letsencrypt-prod=https://ca.internal/acme/directory".to_owned()],
        Some("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"),
    )
    .and_then(|d| d.with_profiles(&["letsencrypt-prod=shortlived".to_owned()]))
    .expect("valid settings");
    let settings = Settings {
        acme,
        ..Settings::default()
    };
    assert_golden("http01-private-acme", &render_with(base(CertMode::Http01), &settings));
}

fn assert_golden(name: &str, got: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/{name}.yaml"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, got).expect("write golden");
    }
    let want = std::fs::read_to_string(&path).expect("golden file exists");
    assert_eq!(got, want, "golden {name} differs");
}
