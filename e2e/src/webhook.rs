//! The policy behind the real API server: an HTTPS admission webhook that evaluates the annotated
//! module with the same waPC runtime as `tgw-kwctl` (a fresh instance per request, like
//! policy-server), answering the policy's Namespace lookups from the live cluster. Registered
//! through a ValidatingWebhookConfiguration derived from the ClusterAdmissionPolicies (rules and
//! matchConditions); the server counts the calls it gets per policy.

mod cluster_host;
mod config;
mod server;
mod tls;

pub use config::{
    Conditions, WebhookPolicy, load_match_conditions, load_policies, load_policy_rules, register, register_with,
    webhook_configuration,
};
pub use server::{PolicyWebhook, WRITE_ANNOTATION};
