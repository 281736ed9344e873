//! tenant-gateway admission policy: a thin Kubewarden (waPC) adapter over `tgw_core::admission`.
//!
//! `validate` parses the request and settings, lets core decide (reading the request's Namespace
//! through the `kubernetes/get_resource` host capability only when a hostname rule needs the
//! apex, and listing the Namespaces that carry the host label through
//! `kubernetes/list_resources_all` only for an Ingress host outside the platform apex), and maps
//! the verdict onto the Kubewarden response.

use kubewarden_policy_sdk::wapc_guest::{self as guest, CallResult};
use kubewarden_policy_sdk::{accept_request, protocol_version_guest, reject_request};
use serde_json::Value;
use tgw_core::admission::{Cluster, Request, Verdict, decide};
use tgw_core::settings::Settings;

mod context;
mod settings;
pub use settings::validate_settings_payload;

/// Registers the three operations every Kubewarden waPC policy exposes.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    guest::register_function("validate", validate);
    guest::register_function("validate_settings", settings::validate_settings);
    guest::register_function("protocol_version", protocol_version_guest);
}

/// The policy: parse, gather context, decide, respond. Every failure becomes a rejection whose
/// message says what could not be read; nothing on this path panics on user input.
pub fn validate(payload: &[u8]) -> CallResult {
    match evaluate(payload, context::HostCluster) {
        Ok(()) => accept_request(),
        Err(message) => reject_request(Some(message), None, None, None),
    }
}

/// `Ok` to accept, `Err(message)` to reject. `cluster` answers the Namespace questions.
pub fn evaluate(payload: &[u8], cluster: impl Cluster) -> Result<(), String> {
    let payload: Value =
        serde_json::from_slice(payload).map_err(|e| format!("the validation request is not valid JSON: {e}"))?;
    let settings = Settings::from_json(payload.get("settings").unwrap_or(&Value::Null)).map_err(|e| e.to_string())?;
    let request = payload
        .get("request")
        .ok_or("the validation request has no \"request\" field")?;
    let request = Request::from_json(request).map_err(|e| e.to_string())?;
    match decide(&request, &settings, cluster) {
        Verdict::Allow => Ok(()),
        Verdict::Deny(denial) => Err(denial.to_string()),
    }
}
