//! Which ACME directory each `spec.issuerName` points at (Cozystack gap 3: only Let's Encrypt
//! production and staging). Cozystack's CRD keeps its two names; a platform maps either to its
//! own directory (Pebble, step-ca, an internal CA, another public CA) with the CA bundle that
//! signs it, by controller settings. Defaults are Let's Encrypt's.

use crate::keys::{ACME_PROD_URL, ACME_STAGING_URL};
use crate::tenantgateway::IssuerName;

/// One ACME directory: its URL and, for a private CA, the PEM bundle cert-manager trusts for it
/// (rendered as `spec.acme.caBundle`, base64).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directory {
    pub url: String,
    pub ca_bundle: Option<String>,
}

/// The directory of each issuer name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directories {
    pub prod: Directory,
    pub stage: Directory,
}

impl Default for Directories {
    fn default() -> Self {
        let le = |url: &str| Directory {
            url: url.to_owned(),
            ca_bundle: None,
        };
        Directories {
            prod: le(ACME_PROD_URL),
            stage: le(ACME_STAGING_URL),
        }
    }
}

impl Directories {
    pub fn of(&self, name: IssuerName) -> &Directory {
        match name {
            IssuerName::LetsencryptProd => &self.prod,
            IssuerName::LetsencryptStage => &self.stage,
        }
    }
}

/// Why a directory setting is refused (the text is the startup error).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    #[error(
        "ACME directory {entry:?}: expected <issuer name>=<https URL> with issuer name letsencrypt-prod or letsencrypt-stage"
    )]
    Malformed { entry: String },
    #[error("ACME directory {entry:?}: unknown issuer name {name:?} (letsencrypt-prod or letsencrypt-stage)")]
    UnknownName { entry: String, name: String },
    #[error("ACME directory {entry:?}: {url:?} is not an https:// URL with a host")]
    NotHttps { entry: String, url: String },
}

/// Parses `<issuer name>=<https URL>` entries over the defaults; `ca_bundle` (PEM) goes with every
/// overridden directory.
pub fn parse(entries: &[String], ca_bundle: Option<&str>) -> Result<Directories, DirectoryError> {
    let mut d = Directories::default();
    for entry in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
        let Some((name, url)) = entry.split_once('=') else {
            return Err(DirectoryError::Malformed {
                entry: entry.to_owned(),
            });
        };
        let (name, url) = (name.trim(), url.trim());
        let host = url
            .strip_prefix("https://")
            .map(|rest| rest.split(['/', ':']).next().unwrap_or(""));
        if host.is_none_or(str::is_empty) || url.chars().any(char::is_whitespace) {
            return Err(DirectoryError::NotHttps {
                entry: entry.to_owned(),
                url: url.to_owned(),
            });
        }
        let dir = Directory {
            url: url.to_owned(),
            ca_bundle: ca_bundle.map(str::to_owned),
        };
        match name {
            "letsencrypt-prod" => d.prod = dir,
            "letsencrypt-stage" => d.stage = dir,
            other => {
                return Err(DirectoryError::UnknownName {
                    entry: entry.to_owned(),
                    name: other.to_owned(),
                });
            }
        }
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn dir(url: &str, ca: Option<&str>) -> Directory {
        Directory {
            url: url.into(),
            ca_bundle: ca.map(Into::into),
        }
    }

    #[rstest]
    #[case::defaults(&[], None, Ok(Directories::default()))]
    #[case::pebble_for_staging(
        &["letsencrypt-stage=https://10.0.0.2:14000/dir"],
        Some("PEM"),
        Ok(Directories { prod: dir(ACME_PROD_URL, None), stage: dir("https://10.0.0.2:14000/dir", Some("PEM")) })
    )]
    #[case::both(
        &["letsencrypt-prod=https://ca.internal/acme/directory", " letsencrypt-stage = https://ca.internal/acme/staging "],
        None,
        Ok(Directories { prod: dir("https://ca.internal/acme/directory", None), stage: dir("https://ca.internal/acme/staging", None) })
    )]
    #[case::plain_http(&["letsencrypt-prod=http://ca.internal/dir"], None, Err(DirectoryError::NotHttps { entry: "letsencrypt-prod=http://ca.internal/dir".into(), url: "http://ca.internal/dir".into() }))]
    #[case::no_host(&["letsencrypt-prod=https:///dir"], None, Err(DirectoryError::NotHttps { entry: "letsencrypt-prod=https:///dir".into(), url: "https:///dir".into() }))]
    #[case::unknown_name(&["zerossl=https://acme.zerossl.com/v2/DV90"], None, Err(DirectoryError::UnknownName { entry: "zerossl=https://acme.zerossl.com/v2/DV90".into(), name: "zerossl".into() }))]
    #[case::malformed(&["https://ca.internal"], None, Err(DirectoryError::Malformed { entry: "https://ca.internal".into() }))]
    fn directory_settings(
        #[case] entries: &[&str],
        #[case] ca: Option<&str>,
        #[case] want: Result<Directories, DirectoryError>,
    ) {
        let entries: Vec<String> = entries.iter().map(|e| (*e).to_owned()).collect();
        assert_eq!(parse(&entries, ca), want);
    }
}
