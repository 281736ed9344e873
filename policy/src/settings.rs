//! `validate_settings`: the host sends the settings object; core parses and validates it, and
//! the answer carries core's message (which names the offending key) when they are unusable.

use kubewarden_policy_sdk::settings::SettingsValidationResponse;
use kubewarden_policy_sdk::wapc_guest::CallResult;
use tgw_core::settings::Settings;

pub fn validate_settings(payload: &[u8]) -> CallResult {
    Ok(validate_settings_payload(payload))
}

/// The JSON answer for a settings payload: `{"valid": bool, "message": string|null}`.
pub fn validate_settings_payload(payload: &[u8]) -> Vec<u8> {
    let response = match Settings::from_slice(payload) {
        Ok(_) => SettingsValidationResponse {
            valid: true,
            message: None,
        },
        Err(e) => SettingsValidationResponse {
            valid: false,
            message: Some(e.to_string()),
        },
    };
    serde_json::to_vec(&response).unwrap_or_else(|_| br#"{"valid":false,"message":"internal error"}"#.to_vec())
}
