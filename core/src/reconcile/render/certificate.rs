//! Certificates: http01 — one per planned per-host listener, `dnsNames: [h]`; dns01 — one
//! wildcard certificate for the apex and every planned child apex; existingSecret — none.

use serde_json::{Value, json};

use super::object;
use crate::keys;
use crate::listeners::{ListenerPlan, Role};
use crate::naming;
use crate::tenantgateway::{CertMode, TgwInput};

pub fn certificates(tgw: &TgwInput, plan: &ListenerPlan) -> Vec<Value> {
    let name = &tgw.meta.name;
    let cert = |cert_name: &str, dns: Vec<String>, labels: &[(&str, &str)]| {
        object(
            keys::CERT_MANAGER_API_VERSION,
            "Certificate",
            cert_name,
            tgw,
            labels,
            json!({
                "secretName": cert_name,
                "issuerRef": {"kind": "Issuer", "name": naming::issuer(name)},
                "dnsNames": dns,
            }),
        )
    };
    match tgw.spec.cert_mode {
        CertMode::ExistingSecret => vec![],
        CertMode::Dns01 => {
            let apex = &tgw.spec.apex;
            let mut dns = vec![apex.clone(), format!("*.{apex}")];
            for l in &plan.listeners {
                if let Role::Child { apex: c } = &l.role {
                    for n in [c.clone(), format!("*.{c}")] {
                        if !dns.contains(&n) {
                            dns.push(n);
                        }
                    }
                }
            }
            vec![cert(
                &naming::wildcard_certificate(name),
                dns,
                &[(keys::LABEL_MANAGED_BY, keys::MANAGED_BY_VALUE)],
            )]
        }
        CertMode::Http01 => plan
            .listeners
            .iter()
            .filter_map(|l| match (&l.role, &l.certificate) {
                (Role::Host { hostname }, Some(c)) => Some(cert(
                    c,
                    vec![hostname.clone()],
                    &[
                        (keys::LABEL_MANAGED_BY, keys::MANAGED_BY_VALUE),
                        (keys::LABEL_OBJ_TENANTGATEWAY, name),
                        (keys::LABEL_PER_LISTENER_CERT, "true"),
                    ],
                )),
                _ => None,
            })
            .collect(),
    }
}
