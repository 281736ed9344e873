//! Hostnames as the policy and the controller see them: validated (RFC 1123, at most one leading
//! `*.` label), ASCII-lowercased for comparison, with the original spelling kept for messages.
//!
//! Two wildcard semantics exist side by side (see `WildcardMode`): Gateway API, where `*.x`
//! covers one or more labels in front of `x`, and single-label (Ingress rules, TLS certificates,
//! RFC 2818 SNI), where `*.x` covers exactly one label in front of `x`.

use std::fmt;

use thiserror::Error;

/// Longest hostname accepted (RFC 1123 §2.1 / Kubernetes DNS-1123 subdomain).
pub const MAX_HOSTNAME_LEN: usize = 253;
/// Longest single label (RFC 1123).
pub const MAX_LABEL_LEN: usize = 63;

/// Why a string is not a valid hostname. The text completes "... is not a valid hostname: ".
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HostnameError {
    #[error("it is empty")]
    Empty,
    #[error("it is {len} characters long (at most {MAX_HOSTNAME_LEN})")]
    TooLong { len: usize },
    #[error("it ends with a dot")]
    TrailingDot,
    #[error("it has an empty label")]
    EmptyLabel,
    #[error("a bare \"*\" matches every hostname")]
    BareWildcard,
    #[error("\"*\" is only allowed as the whole first label (\"*.\")")]
    MisplacedWildcard,
    #[error("label \"{label}\" is longer than {MAX_LABEL_LEN} characters")]
    LabelTooLong { label: String },
    #[error("label \"{label}\" contains {ch:?} (allowed: a-z, 0-9, '-')")]
    InvalidCharacter { label: String, ch: char },
    #[error("label \"{label}\" starts or ends with '-'")]
    HyphenAtEdge { label: String },
    #[error("it is an IP address (every label is numeric), not a DNS name")]
    IpAddress,
}

/// How far a leading `*` reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WildcardMode {
    /// Gateway API listener/route hostnames: `*.x` matches one or more labels before `x`.
    GatewayApi,
    /// Ingress rules and TLS certificates/SNI: `*.x` matches exactly one label before `x`.
    SingleLabel,
}

/// A validated hostname. Equality and ordering use the normalised (lowercase) form.
#[derive(Debug, Clone)]
pub struct Hostname {
    original: String,
    normalized: String,
}

impl PartialEq for Hostname {
    fn eq(&self, other: &Self) -> bool {
        self.normalized == other.normalized
    }
}
impl Eq for Hostname {}
impl PartialOrd for Hostname {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Hostname {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.normalized.cmp(&other.normalized)
    }
}
impl std::hash::Hash for Hostname {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.normalized.hash(state);
    }
}

impl fmt::Display for Hostname {
    /// Displays the spelling the user wrote.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

impl std::str::FromStr for Hostname {
    type Err = HostnameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Hostname::parse(s)
    }
}

impl Hostname {
    /// Validates and normalises `raw`. Upper-case letters are accepted and lowercased.
    pub fn parse(raw: &str) -> Result<Hostname, HostnameError> {
        let normalized = raw.to_ascii_lowercase();
        validate(&normalized)?;
        Ok(Hostname {
            original: raw.to_string(),
            normalized,
        })
    }

    /// The lowercase form used for every comparison.
    pub fn as_str(&self) -> &str {
        &self.normalized
    }

    /// The spelling as written, for messages.
    pub fn original(&self) -> &str {
        &self.original
    }

    pub fn is_wildcard(&self) -> bool {
        self.normalized.starts_with("*.")
    }

    /// The name without its wildcard label (`*.a.b` -> `a.b`; `a.b` -> `a.b`).
    pub fn base(&self) -> &str {
        self.normalized.strip_prefix("*.").unwrap_or(&self.normalized)
    }

    /// The first label (`*` for a wildcard).
    pub fn first_label(&self) -> &str {
        self.normalized.split('.').next().unwrap_or(&self.normalized)
    }

    /// Apex membership with a dot boundary: `h` is within `apex` iff `h == apex` or `h` ends with
    /// `.` + `apex`; `*.x` is within `apex` iff `x` is. The apex itself is taken without its
    /// wildcard label if it has one.
    pub fn within_apex(&self, apex: &Hostname) -> bool {
        name_within(self.base(), apex.base())
    }

    /// Whether some concrete name is matched by both `self` and `other`.
    pub fn intersects(&self, other: &Hostname, mode: WildcardMode) -> bool {
        self.intersection(other, mode).is_some()
    }

    /// The most specific hostname matched by both, if any (Gateway API hostname intersection:
    /// equal names; a wildcard and a name it covers give the name; two overlapping wildcards
    /// give the more specific one).
    pub fn intersection(&self, other: &Hostname, mode: WildcardMode) -> Option<Hostname> {
        match (self.is_wildcard(), other.is_wildcard()) {
            (false, false) => (self == other).then(|| self.clone()),
            (true, false) => self.covers(other, mode).then(|| other.clone()),
            (false, true) => other.covers(self, mode).then(|| self.clone()),
            (true, true) => match mode {
                WildcardMode::SingleLabel => (self == other).then(|| self.clone()),
                WildcardMode::GatewayApi => {
                    if name_within(self.base(), other.base()) {
                        Some(self.clone())
                    } else if name_within(other.base(), self.base()) {
                        Some(other.clone())
                    } else {
                        None
                    }
                }
            },
        }
    }

    /// Whether every name matched by `other` is also matched by `self`.
    pub fn covers(&self, other: &Hostname, mode: WildcardMode) -> bool {
        if !self.is_wildcard() {
            return self == other;
        }
        let base = self.base();
        match mode {
            WildcardMode::GatewayApi => {
                // *.b covers x.b, x.y.b and *.b, *.y.b (all strictly below b).
                strictly_below(other.base(), base) || (other.is_wildcard() && other.base() == base)
            }
            WildcardMode::SingleLabel => {
                if other.is_wildcard() {
                    other.base() == base
                } else {
                    other
                        .as_str()
                        .strip_suffix(base)
                        .and_then(|head| head.strip_suffix('.'))
                        .is_some_and(|label| !label.is_empty() && !label.contains('.'))
                }
            }
        }
    }
}

/// `name == apex` or `name` ends with `.apex`.
pub fn name_within(name: &str, apex: &str) -> bool {
    name == apex || strictly_below(name, apex)
}

fn strictly_below(name: &str, apex: &str) -> bool {
    name.strip_suffix(apex)
        .is_some_and(|head| head.len() > 1 && head.ends_with('.'))
}

fn validate(name: &str) -> Result<(), HostnameError> {
    if name.is_empty() {
        return Err(HostnameError::Empty);
    }
    if name == "*" {
        return Err(HostnameError::BareWildcard);
    }
    if name.len() > MAX_HOSTNAME_LEN {
        return Err(HostnameError::TooLong { len: name.len() });
    }
    if name.ends_with('.') {
        return Err(HostnameError::TrailingDot);
    }
    let rest = name.strip_prefix("*.").unwrap_or(name);
    let mut all_numeric = true;
    for label in rest.split('.') {
        validate_label(label)?;
        all_numeric &= label.bytes().all(|b| b.is_ascii_digit());
    }
    if all_numeric {
        // `10.0.0.1`, `1.2.3`, `123`: an address (or a typo of one), never a DNS name.
        return Err(HostnameError::IpAddress);
    }
    Ok(())
}

fn validate_label(label: &str) -> Result<(), HostnameError> {
    if label.is_empty() {
        return Err(HostnameError::EmptyLabel);
    }
    if label.len() > MAX_LABEL_LEN {
        return Err(HostnameError::LabelTooLong {
            label: label.to_string(),
        });
    }
    if label.contains('*') {
        return Err(HostnameError::MisplacedWildcard);
    }
    if let Some(ch) = label
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(HostnameError::InvalidCharacter {
            label: label.to_string(),
            ch,
        });
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(HostnameError::HyphenAtEdge {
            label: label.to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
#[path = "hostname_tests.rs"]
mod tests;
