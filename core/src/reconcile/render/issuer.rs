//! The per-tenant ACME Issuer (http01, dns01); none in existingSecret.

use serde_json::{Value, json};

use super::{RenderError, object};
use crate::acme::Directories;
use crate::keys;
use crate::naming;
use crate::tenantgateway::{CertMode, Dns01Config, Dns01Provider, SecretKeySelector, TgwInput};

pub fn issuer(tgw: &TgwInput, directories: &Directories) -> Result<Option<Value>, RenderError> {
    let solver = match tgw.spec.cert_mode {
        CertMode::ExistingSecret => return Ok(None),
        CertMode::Http01 => json!({"http01": {"gatewayHTTPRoute": {"parentRefs": [{
            "group": keys::GATEWAY_GROUP,
            "kind": "Gateway",
            "name": naming::gateway(&tgw.meta.name),
            "namespace": tgw.meta.namespace,
            "sectionName": naming::HTTP_LISTENER,
        }]}}}),
        CertMode::Dns01 => {
            json!({"dns01": dns01(tgw.spec.dns01.as_ref().ok_or(RenderError::MissingDns01)?)?})
        }
    };
    let directory = directories.of(tgw.spec.issuer_name);
    let mut acme = json!({
        "server": directory.url,
        "privateKeySecretRef": {"name": naming::acme_account_key(&tgw.meta.name)},
        "solvers": [solver],
    });
    if let Some(pem) = &directory.ca_bundle {
        acme["caBundle"] = json!(base64(pem.as_bytes()));
    }
    if let Some(profile) = &directory.profile {
        acme["profile"] = json!(profile);
    }
    Ok(Some(object(
        keys::CERT_MANAGER_API_VERSION,
        "Issuer",
        &naming::issuer(&tgw.meta.name),
        tgw,
        &[(keys::LABEL_MANAGED_BY, keys::MANAGED_BY_VALUE)],
        json!({"acme": acme}),
    )))
}

/// Standard base64 with padding (RFC 4648), as Kubernetes `[]byte` fields are written.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn secret_ref(s: &SecretKeySelector) -> Value {
    json!({"name": s.name, "key": s.key})
}

fn dns01(cfg: &Dns01Config) -> Result<Value, RenderError> {
    let missing = || RenderError::MissingProviderBlock(cfg.provider.as_str());
    Ok(match cfg.provider {
        Dns01Provider::Cloudflare => {
            let c = cfg.cloudflare.as_ref().ok_or_else(missing)?;
            json!({"cloudflare": {"apiTokenSecretRef": secret_ref(&c.api_token_secret_ref)}})
        }
        Dns01Provider::Route53 => {
            let r = cfg.route53.as_ref().ok_or_else(missing)?;
            let mut v = json!({"region": r.region});
            if let Some(id) = r.access_key_id.as_deref().filter(|s| !s.is_empty()) {
                v["accessKeyID"] = json!(id);
            }
            if let Some(s) = r.secret_access_key_secret_ref.as_ref().filter(|s| !s.name.is_empty()) {
                v["secretAccessKeySecretRef"] = secret_ref(s);
            }
            json!({"route53": v})
        }
        Dns01Provider::Digitalocean => {
            let d = cfg.digitalocean.as_ref().ok_or_else(missing)?;
            json!({"digitalocean": {"tokenSecretRef": secret_ref(&d.token_secret_ref)}})
        }
        Dns01Provider::Rfc2136 => {
            let r = cfg.rfc2136.as_ref().ok_or_else(missing)?;
            let alg = if r.tsig_algorithm.is_empty() {
                keys::DEFAULT_TSIG_ALGORITHM
            } else {
                &r.tsig_algorithm
            };
            json!({"rfc2136": {
                "nameserver": r.nameserver,
                "tsigKeyName": r.tsig_key_name,
                "tsigAlgorithm": alg,
                "tsigSecretSecretRef": secret_ref(&r.tsig_secret_secret_ref),
            }})
        }
    })
}

#[cfg(test)]
mod tests {
    use super::base64;

    #[test]
    fn base64_as_kubernetes_writes_bytes() {
        assert_eq!(
            ["", "f", "fo", "foo", "foob", "fooba", "foobar"].map(|s| base64(s.as_bytes())),
            ["", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"]
        );
    }
}
