//! A real Gateway API data plane for the e2e suites and the demo: Traefik v3 out of cluster (built
//! from the Go module proxy by `e2e/scripts/build-traefik.sh`), tiny backends that answer with
//! their identity, a test CA that stands in for cert-manager's issuance, and a client that records
//! which certificate was served and which backend answered.
//!
//! Everything runs inside a private network namespace ([`netns`]): the API server refuses loopback
//! addresses in EndpointSlices, so backends listen on [`netns::ADDRESS`], a private address on the
//! namespace's own `lo`, and no traffic can leave. See e2e/CONTROL-PLANE.md ("Data plane").

pub mod backend;
pub mod client;
pub mod issuance;
pub mod netns;
pub mod pki;
pub mod traefik;

pub use backend::{BACKEND_HEADER, Backend};
pub use client::{Outcome, Probe, Scheme};
pub use pki::{CertBook, TestCa};
pub use traefik::Traefik;
