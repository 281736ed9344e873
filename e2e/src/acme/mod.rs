//! Real certificate issuance for the issuance e2e: Pebble as the ACME server (with challtestsrv as
//! its DNS), cert-manager's controller built from the root module's packages, a kubelet for its
//! HTTP-01 solver Pods only, and (until the controller can name another ACME directory) a front
//! that stands in for the Let's Encrypt host the rendered Issuer names. Everything runs inside the
//! data plane's network namespace (see [`crate::dataplane::netns`]) next to Traefik.
//! See e2e/CONTROL-PLANE.md ("cert-manager and Pebble").

pub mod ca;
pub mod certmanager;
pub mod front;
pub mod https;
pub mod kubelet;
pub mod pebble;

pub use ca::LocalCa;
pub use certmanager::{AcmeTransport, CertManager};
pub use front::AcmeFront;
pub use kubelet::SolverKubelet;
pub use pebble::{Pebble, PebbleConfig};
