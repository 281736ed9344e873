//! Which ACME directory each `spec.issuerName` points at (Cozystack gap 3: only Let's Encrypt
//! production and staging). Cozystack's CRD keeps its two names; a platform maps either to its
//! own directory (Pebble, step-ca, an internal CA, another public CA) with the CA bundle that
//! signs it, by controller settings. Defaults are Let's Encrypt's.

use crate::keys::{ACME_PROD_URL, ACME_STAGING_URL};
use crate::tenantgateway::IssuerName;

/// One ACME directory: its URL; for a private CA, the PEM bundle cert-manager trusts for it
/// (rendered as `spec.acme.caBundle`, base64); and the certificate profile to order from it, if
/// any (rendered as `spec.acme.profile`: Let's Encrypt's `shortlived`, `tlsserver`; the server's
/// directory lists what it offers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directory {
    pub url: String,
    pub ca_bundle: Option<String>,
    pub profile: Option<String>,
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
            profile: None,
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

    fn named(&mut self, entry: &str, name: &str) -> Result<&mut Directory, DirectoryError> {
        match name {
            "letsencrypt-prod" => Ok(&mut self.prod),
            "letsencrypt-stage" => Ok(&mut self.stage),
            other => Err(DirectoryError::UnknownName {
                entry: entry.to_owned(),
                name: other.to_owned(),
            }),
        }
    }

    /// Sets the profile of the directories named by `<issuer name>=<profile>` entries (profiles
    /// are ACME tokens: 1 to 64 of `A-Z a-z 0-9 . _ -`).
    pub fn with_profiles(mut self, entries: &[String]) -> Result<Directories, DirectoryError> {
        for entry in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
            let Some((name, profile)) = entry.split_once('=') else {
                return Err(DirectoryError::MalformedProfile {
                    entry: entry.to_owned(),
                });
            };
            let profile = profile.trim();
            let token = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
            if profile.is_empty() || profile.len() > MAX_PROFILE_LEN || !profile.chars().all(token) {
                return Err(DirectoryError::BadProfile {
                    entry: entry.to_owned(),
                    profile: profile.to_owned(),
                });
            }
            self.named(entry, name.trim())?.profile = Some(profile.to_owned());
        }
        Ok(self)
    }
}

/// Longest profile name accepted.
pub const MAX_PROFILE_LEN: usize = 64;

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
    #[error(
        "ACME profile {entry:?}: expected <issuer name>=<profile> with issuer name letsencrypt-prod or letsencrypt-stage"
    )]
    MalformedProfile { entry: String },
    #[error("ACME profile {entry:?}: {profile:?} is not a profile name (1 to 64 of A-Z a-z 0-9 . _ -)")]
    BadProfile { entry: String, profile: String },
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
        *d.named(entry, name)? = Directory {
            url: url.to_owned(),
            ca_bundle: ca_bundle.map(str::to_owned),
            profile: None,
        };
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
            profile: None,
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

    fn profiled(url: &str, profile: &str) -> Directory {
        Directory {
            profile: Some(profile.into()),
            ..dir(url, None)
        }
    }

    #[rstest]
    #[case::none(&[], Ok(Directories::default()))]
    #[case::short_lived_production(
        &["letsencrypt-prod=shortlived"],
        Ok(Directories { prod: profiled(ACME_PROD_URL, "shortlived"), stage: dir(ACME_STAGING_URL, None) })
    )]
    #[case::both_trimmed(
        &[" letsencrypt-prod = tlsserver", "letsencrypt-stage=shortlived"],
        Ok(Directories { prod: profiled(ACME_PROD_URL, "tlsserver"), stage: profiled(ACME_STAGING_URL, "shortlived") })
    )]
    #[case::unknown_name(&["zerossl=shortlived"], Err(DirectoryError::UnknownName { entry: "zerossl=shortlived".into(), name: "zerossl".into() }))]
    #[case::malformed(&["shortlived"], Err(DirectoryError::MalformedProfile { entry: "shortlived".into() }))]
    #[case::empty_profile(&["letsencrypt-prod="], Err(DirectoryError::BadProfile { entry: "letsencrypt-prod=".into(), profile: "".into() }))]
    #[case::not_a_token(&["letsencrypt-prod=short lived"], Err(DirectoryError::BadProfile { entry: "letsencrypt-prod=short lived".into(), profile: "short lived".into() }))]
    fn profile_settings(#[case] entries: &[&str], #[case] want: Result<Directories, DirectoryError>) {
        let entries: Vec<String> = entries.iter().map(|e| (*e).to_owned()).collect();
        assert_eq!(Directories::default().with_profiles(&entries), want);
    }

    #[test]
    fn a_profile_outlives_a_directory_override() {
        let d = parse(&["letsencrypt-prod=https://ca.internal/dir".to_owned()], None)
            .and_then(|d| d.with_profiles(&["letsencrypt-prod=shortlived".to_owned()]));
        assert_eq!(d.map(|d| d.prod), Ok(profiled("https://ca.internal/dir", "shortlived")));
    }

    #[test]
    fn the_longest_profile_name_is_accepted_and_one_more_is_not() {
        let at = |n: usize| vec![format!("letsencrypt-stage={}", "p".repeat(n))];
        assert!(Directories::default().with_profiles(&at(MAX_PROFILE_LEN)).is_ok());
        assert!(matches!(
            Directories::default().with_profiles(&at(MAX_PROFILE_LEN + 1)),
            Err(DirectoryError::BadProfile { .. })
        ));
    }
}
