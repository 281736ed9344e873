//! The identities a test can act as, authenticated by bearer tokens from the API server's
//! `--token-auth-file`.

use std::io::Read;
use std::path::Path;

use anyhow::Context;

/// Who a client authenticates as. Each has a kubeconfig context of the same (lower-case) name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Identity {
    /// User `admin` in `system:masters`: bypasses RBAC.
    Admin,
    /// The `default` service account of namespace `tenant-test` (no RBAC grants by default).
    Tenant,
    /// Flux's service account `cozy-fluxcd/flux`.
    Flux,
    /// The tenant-gateway controller's service account `cozy-system/tenant-gateway-controller`.
    Controller,
}

impl Identity {
    pub const ALL: [Identity; 4] = [Identity::Admin, Identity::Tenant, Identity::Flux, Identity::Controller];

    /// The kubeconfig context (and user entry) name.
    pub fn context(self) -> &'static str {
        match self {
            Identity::Admin => "admin",
            Identity::Tenant => "tenant",
            Identity::Flux => "flux",
            Identity::Controller => "controller",
        }
    }

    /// The authenticated user name.
    pub fn username(self) -> &'static str {
        match self {
            Identity::Admin => "admin",
            Identity::Tenant => "system:serviceaccount:tenant-test:default",
            Identity::Flux => "system:serviceaccount:cozy-fluxcd:flux",
            Identity::Controller => "system:serviceaccount:cozy-system:tenant-gateway-controller",
        }
    }

    /// The groups the token file grants.
    pub fn groups(self) -> &'static [&'static str] {
        match self {
            Identity::Admin => &["system:masters"],
            Identity::Tenant => &[
                "system:serviceaccounts",
                "system:serviceaccounts:tenant-test",
                "system:authenticated",
            ],
            Identity::Flux => &[
                "system:serviceaccounts",
                "system:serviceaccounts:cozy-fluxcd",
                "system:authenticated",
            ],
            Identity::Controller => &[
                "system:serviceaccounts",
                "system:serviceaccounts:cozy-system",
                "system:authenticated",
            ],
        }
    }
}

/// A fresh random bearer token per identity, in `Identity::ALL` order.
pub fn new_tokens() -> anyhow::Result<Vec<(Identity, String)>> {
    let mut urandom = std::fs::File::open("/dev/urandom").context("opening /dev/urandom")?;
    Identity::ALL
        .iter()
        .map(|id| {
            let mut bytes = [0u8; 24];
            urandom.read_exact(&mut bytes).context("reading /dev/urandom")?;
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            Ok((*id, hex))
        })
        .collect()
}

/// Writes the static token file (`token,user,uid,"group1,group2"`) for `--token-auth-file`.
pub fn write_token_file(path: &Path, tokens: &[(Identity, String)]) -> anyhow::Result<()> {
    let text: String = tokens
        .iter()
        .map(|(id, token)| {
            format!(
                "{token},{},{}-uid,\"{}\"\n",
                id.username(),
                id.context(),
                id.groups().join(",")
            )
        })
        .collect();
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_file_lists_every_identity() -> anyhow::Result<()> {
        let tokens = new_tokens()?;
        assert_eq!(tokens.len(), 4);
        let dir = crate::process::TempDir::new("tgw-e2e-test-")?;
        let path = dir.path().join("tokens.csv");
        write_token_file(&path, &tokens)?;
        let text = std::fs::read_to_string(&path)?;
        assert!(text.contains(",admin,admin-uid,\"system:masters\"\n"));
        assert!(text.contains(
            ",system:serviceaccount:tenant-test:default,tenant-uid,\"system:serviceaccounts,system:serviceaccounts:tenant-test,system:authenticated\""
        ));
        Ok(())
    }
}
