//! The policy behind the real API server: an HTTPS admission webhook that evaluates the annotated
//! module with the same waPC runtime as `tgw-kwctl` (a fresh instance per request, like
//! policy-server), answering the policy's Namespace lookups from the live cluster. Registered
//! through a ValidatingWebhookConfiguration derived from the ClusterAdmissionPolicy rules.

mod cluster_host;
mod config;
mod server;
mod tls;

pub use config::{load_policy_rules, register, webhook_configuration};
pub use server::PolicyWebhook;
