//! `tgw-runner`: a small waPC host that runs Kubewarden policies the way
//! `kwctl run` / policy-server do, plus the `annotate`, `push` and `pull`
//! helpers the project needs (and `inspect`). The `tgw-kwctl` binary is a thin wrapper over
//! this library so benchmarks can reuse [`PolicyHost`] directly.

pub mod annotate;
pub mod cli;
pub mod error;
pub mod host;
pub mod inspect;
pub mod metadata;
pub mod policy;
pub mod push;
pub mod replay;
pub mod request;
pub mod response;
pub mod settings;
pub mod sign;
pub mod wasm;

pub use error::{Error, Result};
pub use host::{AccessControl, FnHost, HostCapabilities, HostRequest, InMemoryHost, NoClusterHost};
pub use metadata::{ContextAwareResource, Metadata, read_metadata};
pub use policy::{PolicyHost, PolicyInstance, SettingsValidation};
pub use replay::ReplayHost;
pub use response::AdmissionResponse;

/// Version string embedded by `annotate` (`io.kubewarden.kwctl`).
pub const TOOL_VERSION: &str = concat!("tgw-kwctl ", env!("CARGO_PKG_VERSION"));
