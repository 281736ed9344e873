//! Real certificate issuance for the issuance e2e: Pebble as the ACME server, reached at its own
//! directory URL with its own CA bundle (the controller's ACME directory setting), challtestsrv as
//! the public and the cluster DNS, cert-manager's controller built from the root module's
//! packages, a kubelet for its HTTP-01 solver Pods only, and Pebble's record of accounts and
//! orders read back through its ACME API. Everything runs inside the data plane's network
//! namespace (see [`crate::dataplane::netns`]) next to Traefik.
//! See e2e/CONTROL-PLANE.md ("cert-manager and Pebble").

pub mod bind;
pub mod certmanager;
pub mod dns;
pub mod https;
pub mod kubelet;
pub mod ledger;
pub mod pebble;
pub mod stack;

pub use bind::{Bind, TsigKey, Zone};
pub use certmanager::CertManager;
pub use dns::Dns;
pub use kubelet::SolverKubelet;
pub use ledger::{AccountKey, LedgerOrder};
pub use pebble::{Pebble, PebbleConfig};
pub use stack::{AcmePaths, AcmeStack};
