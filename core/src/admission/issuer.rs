//! cert-manager Issuers in tenant namespaces: every address cert-manager contacts from inside the
//! cluster on an Issuer's behalf is the trusted callers' choice, like a TenantGateway's RFC 2136
//! nameserver. Setting or changing one is refused for a caller who is not trusted; keeping a value
//! (on UPDATE) and clearing one are allowed for anyone. `spec.acme.server` is allowed for anyone when
//! it is in `allowedAcmeServers` (Let's Encrypt by default).
//!
//! Guarded: `spec.acme.server`, `spec.acme.solvers[].dns01.{rfc2136.nameserver, acmeDNS.host,
//! akamai.serviceConsumerDomain, webhook}`, `spec.vault.server`, `spec.venafi.{tpp.url, cloud.url,
//! ngts.url, ngts.tokenEndpoint}`. Not guarded: the CA issuer's CRL/OCSP/issuer URLs (written into
//! certificates, never contacted by cert-manager), ACME HTTP-01 solvers (the Ingress or HTTPRoute
//! cert-manager creates goes through the hostname rules), credentials (Secrets of the Issuer's own
//! namespace) and the provider fields that only select a public endpoint (Route53 region, Azure
//! environment).

use serde_json::Value;

use super::objects::{Issuer, IssuerSpec};
use super::{Denial, Request, describe_trusted, new_object, old_object};
use crate::bounded;
use crate::settings::Settings;

/// The longest value a message quotes (a webhook solver's configuration can be large).
const QUOTED_BYTES: usize = 160;

/// The families of addresses an Issuer can name, each with why it matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Rfc2136,
    AcmeDns,
    Akamai,
    Webhook,
    Vault,
    VenafiTpp,
    VenafiCloud,
    NgtsUrl,
    NgtsToken,
}

impl Kind {
    fn why(self) -> &'static str {
        match self {
            Kind::Rfc2136 => "cert-manager sends DNS updates to this address from inside the cluster",
            Kind::AcmeDns => "cert-manager sends the challenge records to this acme-dns server from inside the cluster",
            Kind::Akamai => "cert-manager sends the Akamai API requests to this host from inside the cluster",
            Kind::Webhook => {
                "cert-manager hands this configuration to the in-cluster DNS01 webhook solver it names, which contacts \
                 whatever endpoint the configuration gives"
            }
            Kind::Vault => {
                "cert-manager sends its Vault credentials (for example a ServiceAccount token) to this address from \
                 inside the cluster"
            }
            Kind::VenafiTpp | Kind::VenafiCloud | Kind::NgtsUrl | Kind::NgtsToken => {
                "cert-manager sends its API credentials to this address from inside the cluster"
            }
        }
    }
}

/// One address named by an Issuer: its family, the field it sits in, its value.
struct Address {
    kind: Kind,
    field: String,
    value: Value,
}

pub(crate) fn check(req: &Request, settings: &Settings) -> Result<(), Denial> {
    if !settings.is_tenant_namespace(&req.namespace) || settings.is_trusted(&req.user.username, &req.user.groups) {
        return Ok(());
    }
    let new = new_object::<Issuer>(req)?.spec.unwrap_or_default();
    let old = old_object::<Issuer>(req)?.spec.unwrap_or_default();
    check_acme_server(req, &new, &old, settings)?;
    let before = addresses(&old);
    let Some(added) = addresses(&new)
        .into_iter()
        .find(|a| !before.iter().any(|b| b.kind == a.kind && b.value == a.value))
    else {
        return Ok(());
    };
    Err(Denial::IssuerAddressChange {
        subject: req.subject(),
        field: added.field,
        value: describe(&added.value),
        trusted: describe_trusted(settings),
        username: req.user.username.clone(),
        why: added.kind.why().to_string(),
    })
}

/// `spec.acme.server`: any entry of `allowedAcmeServers`, the old value, or empty; anything else is
/// for trusted callers.
fn check_acme_server(req: &Request, new: &IssuerSpec, old: &IssuerSpec, settings: &Settings) -> Result<(), Denial> {
    let server = |s: &IssuerSpec| s.acme.as_ref().and_then(|a| a.server.clone()).unwrap_or_default();
    let (after, before) = (server(new), server(old));
    if after.is_empty() || after == before || settings.allowed_acme_servers.contains(&after) {
        return Ok(());
    }
    let allowed = if settings.allowed_acme_servers.is_empty() {
        "none".to_string()
    } else {
        settings.allowed_acme_servers.join(", ")
    };
    Err(Denial::AcmeServerNotAllowed {
        subject: req.subject(),
        server: after,
        allowed,
        trusted: describe_trusted(settings),
        username: req.user.username.clone(),
    })
}

/// Every non-empty address of `spec`, in field order.
fn addresses(spec: &IssuerSpec) -> Vec<Address> {
    let mut out = Vec::new();
    let mut push = |kind: Kind, field: String, value: Option<Value>| {
        if !super::gateway::is_empty(value.as_ref()) {
            out.push(Address {
                kind,
                field,
                value: value.unwrap_or_default(),
            });
        }
    };
    let text = |s: &Option<String>| s.clone().map(Value::String);
    let solvers = spec
        .acme
        .as_ref()
        .and_then(|a| a.solvers.as_deref())
        .unwrap_or_default();
    for (i, solver) in solvers.iter().enumerate() {
        let Some(dns01) = &solver.dns01 else { continue };
        let at = |rest: &str| format!("spec.acme.solvers[{i}].dns01.{rest}");
        if let Some(r) = &dns01.rfc2136 {
            push(Kind::Rfc2136, at("rfc2136.nameserver"), text(&r.nameserver));
        }
        if let Some(a) = &dns01.acme_dns {
            push(Kind::AcmeDns, at("acmeDNS.host"), text(&a.host));
        }
        if let Some(a) = &dns01.akamai {
            push(
                Kind::Akamai,
                at("akamai.serviceConsumerDomain"),
                text(&a.service_consumer_domain),
            );
        }
        push(Kind::Webhook, at("webhook"), dns01.webhook.clone());
    }
    if let Some(v) = &spec.vault {
        push(Kind::Vault, "spec.vault.server".into(), text(&v.server));
    }
    if let Some(v) = &spec.venafi {
        if let Some(t) = &v.tpp {
            push(Kind::VenafiTpp, "spec.venafi.tpp.url".into(), text(&t.url));
        }
        if let Some(c) = &v.cloud {
            push(Kind::VenafiCloud, "spec.venafi.cloud.url".into(), text(&c.url));
        }
        if let Some(n) = &v.ngts {
            push(Kind::NgtsUrl, "spec.venafi.ngts.url".into(), text(&n.url));
            push(
                Kind::NgtsToken,
                "spec.venafi.ngts.tokenEndpoint".into(),
                text(&n.token_endpoint),
            );
        }
    }
    out
}

/// A string as quoted text; anything else as compact JSON; both capped.
fn describe(value: &Value) -> String {
    let text = match value {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    };
    bounded::cap(&text, QUOTED_BYTES)
}
