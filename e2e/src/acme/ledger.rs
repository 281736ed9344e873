//! Pebble's own record of ACME accounts and orders, read back the way an account holder reads
//! it: RFC 8555 POST-as-GET requests, each a JWS signed (RS256) with the account's key as
//! cert-manager keeps it in the Issuer's Secret, the key identified by the account URL from the
//! Issuer's status. Which orders exist comes from Pebble's log (`Added order "<id>"` per order):
//! Pebble's per-account order list leaves out invalid orders, and failed ones must be counted too.
//! An order read with a key that does not own it is refused by Pebble (403), so each order is
//! attributed to the one account whose key reads it.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rustls::SignatureScheme;
use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject;
use rustls::sign::SigningKey;
use serde_json::{Value, json};

use super::https;
use super::pebble::{Pebble, TLS_NAME};

/// An ACME account as its holder knows it: its URL and its private key.
pub struct AccountKey {
    /// Who holds it (for reports), e.g. the Issuer's namespace.
    pub holder: String,
    pub url: String,
    key: Arc<dyn SigningKey>,
}

impl AccountKey {
    /// `pem`: the account's RSA key (cert-manager writes PKCS#1 `RSA PRIVATE KEY` to `tls.key`).
    pub fn from_pem(holder: &str, url: &str, pem: &[u8]) -> Result<AccountKey> {
        let der = PrivateKeyDer::from_pem_slice(pem).with_context(|| format!("account key of {holder}"))?;
        let key = rustls::crypto::ring::sign::any_supported_type(&der)
            .map_err(|e| anyhow::anyhow!("account key of {holder}: {e}"))?;
        Ok(AccountKey {
            holder: holder.to_owned(),
            url: url.to_owned(),
            key,
        })
    }

    /// The flattened JWS of a POST-as-GET to `url` (empty payload, RFC 8555 §6.3).
    fn post_as_get(&self, url: &str, nonce: &str) -> Result<String> {
        let protected = json!({"alg": "RS256", "kid": self.url, "nonce": nonce, "url": url}).to_string();
        let protected = URL_SAFE_NO_PAD.encode(protected);
        let signer = self
            .key
            .choose_scheme(&[SignatureScheme::RSA_PKCS1_SHA256])
            .with_context(|| format!("the account key of {} is not an RSA key", self.holder))?;
        let signature = signer
            .sign(format!("{protected}.").as_bytes())
            .map_err(|e| anyhow::anyhow!("signing: {e}"))?;
        Ok(json!({"protected": protected, "payload": "", "signature": URL_SAFE_NO_PAD.encode(signature)}).to_string())
    }
}

/// One order as Pebble holds it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LedgerOrder {
    /// The [`AccountKey::holder`] of the account that placed it.
    pub account: String,
    /// Its DNS identifiers.
    pub identifiers: Vec<String>,
    /// `valid`, `invalid`, `pending`, `ready` or `processing`.
    pub status: String,
    /// The problem of each failed challenge of its authorizations: (ACME error type, detail).
    pub problems: Vec<(String, String)>,
    pub id: String,
}

impl Pebble {
    /// POST-as-GET of `path` on Pebble's ACME API with `account`'s key: (HTTP status, JSON body).
    async fn read_as(&self, account: &AccountKey, path: &str) -> Result<(u16, Value)> {
        let roots = self.listener_roots();
        let nonce = https::get(self.acme, TLS_NAME, "/nonce-plz", &roots).await?;
        let nonce = nonce
            .header("replay-nonce")
            .context("Pebble sent no Replay-Nonce")?
            .to_owned();
        let host = self.acme.to_string();
        let url = format!("https://{host}{path}");
        let body = account.post_as_get(&url, &nonce)?;
        let got = https::post_jose(self.acme, TLS_NAME, &host, path, &body, &roots).await?;
        let json = serde_json::from_slice(&got.body).unwrap_or(Value::Null);
        Ok((got.status, json))
    }

    /// The path of one of Pebble's ACME URLs.
    fn path_of<'u>(&self, url: &'u str) -> Result<&'u str> {
        let prefix = format!("https://{}", self.acme);
        url.strip_prefix(&prefix)
            .with_context(|| format!("{url} is not on Pebble ({prefix})"))
    }

    /// The account object at `account.url`, read with its own key (so the key is that account's).
    pub async fn account(&self, account: &AccountKey) -> Result<Value> {
        match self.read_as(account, self.path_of(&account.url)?).await? {
            (200, v) => Ok(v),
            (status, v) => bail!("Pebble answered {status} for account {}: {v}", account.url),
        }
    }

    /// The problems of the failed challenges of `order`'s authorizations, read as `account`.
    async fn problems(&self, account: &AccountKey, order: &Value) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        for authz in order["authorizations"].as_array().into_iter().flatten() {
            let url = authz.as_str().context("an authorization URL")?;
            let (status, authz) = self.read_as(account, self.path_of(url)?).await?;
            if status != 200 {
                bail!("Pebble answered {status} for authorization {url}: {authz}");
            }
            for ch in authz["challenges"].as_array().into_iter().flatten() {
                if let Some(e) = ch.get("error") {
                    let s = |k: &str| e[k].as_str().unwrap_or("").to_owned();
                    out.push((s("type"), s("detail")));
                }
            }
        }
        Ok(out)
    }

    /// Every order Pebble has accepted, each read (with its authorizations) with the key of the
    /// account that owns it. Fails when an order is readable by none of `accounts`.
    pub async fn orders(&self, accounts: &[AccountKey]) -> Result<Vec<LedgerOrder>> {
        let mut out = Vec::new();
        for id in self.order_ids() {
            let path = format!("/my-order/{id}");
            let mut found = None;
            let mut refusals = Vec::new();
            for a in accounts {
                match self.read_as(a, &path).await? {
                    (200, v) => {
                        found = Some((a, v));
                        break;
                    }
                    (status, v) => refusals.push(format!("{}: {status} {}", a.holder, v["detail"])),
                }
            }
            let Some((a, order)) = found else {
                bail!("order {id} is readable by none of the known accounts: {refusals:?}");
            };
            let problems = self.problems(a, &order).await?;
            out.push(LedgerOrder {
                account: a.holder.clone(),
                identifiers: order["identifiers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|i| i["value"].as_str().map(str::to_owned))
                    .collect(),
                status: order["status"].as_str().unwrap_or("").to_owned(),
                problems,
                id,
            });
        }
        Ok(out)
    }
}
