//! Typed errors for everything that makes the CLI exit non-zero.

use std::path::PathBuf;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("cannot load the WebAssembly module: {0}")]
    Load(String),
    #[error("cannot instantiate the policy: {0}")]
    Instantiate(String),
    #[error("invalid request: {0}")]
    Request(String),
    #[error("invalid settings: {0}")]
    Settings(String),
    /// The policy answered `validate_settings` with `valid: false`.
    #[error("Provided settings are not valid: {0}")]
    SettingsRejected(String),
    #[error("invalid metadata: {0}")]
    Metadata(String),
    #[error("invalid replay session: {0}")]
    Session(String),
    #[error("cannot determine the protocol version: {0}")]
    ProtocolVersion(String),
    #[error("invalid wasm module: {0}")]
    Wasm(String),
    #[error("{0}")]
    Registry(String),
    #[error("{0}")]
    Unsupported(String),
    /// Signing or verification failed (the text says which signature and why).
    #[error("signature verification failed: {0}")]
    Signature(String),
    #[error("invalid key: {0}")]
    Key(String),
}
