//! The policy's ValidationResponse and the AdmissionResponse `kwctl run`
//! prints.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What the guest's `validate` returns (snake_case, like the SDK).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ValidationResponse {
    pub accepted: bool,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub code: Option<u16>,
    #[serde(default)]
    pub mutated_object: Option<Value>,
    #[serde(default)]
    pub audit_annotations: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub warnings: Option<Vec<String>>,
}

/// kwctl's output line. Field order is the serialisation order.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionResponse {
    pub uid: String,
    pub allowed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    pub audit_annotations: Option<BTreeMap<String, String>>,
    pub warnings: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Status {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
}

impl AdmissionResponse {
    /// A guest error, trap or unparsable answer.
    pub fn internal_error(uid: &str, text: &str) -> Self {
        Self {
            uid: uid.to_owned(),
            allowed: false,
            patch_type: None,
            patch: None,
            status: Some(Status {
                message: Some(format!("internal server error: {text}")),
                code: Some(500),
            }),
            audit_annotations: None,
            warnings: None,
        }
    }

    /// The evaluation exceeded its deadline (500, policy-server's wording).
    pub fn timeout(uid: &str, message: &str) -> Self {
        let mut out = Self::internal_error(uid, "");
        out.status = Some(Status {
            message: Some(message.to_owned()),
            code: Some(500),
        });
        out
    }

    /// Turns the guest's answer into the admission response, computing the
    /// JSONPatch between `request.object` and `mutated_object`.
    pub fn from_validation(uid: &str, request_object: Option<&Value>, resp: ValidationResponse) -> Self {
        let status = (resp.message.is_some() || resp.code.is_some()).then(|| Status {
            message: resp.message.clone(),
            code: resp.code,
        });
        let mut out = Self {
            uid: uid.to_owned(),
            allowed: resp.accepted,
            patch_type: None,
            patch: None,
            status,
            audit_annotations: resp.audit_annotations,
            warnings: resp.warnings,
        };
        if let (true, Some(mutated)) = (resp.accepted, resp.mutated_object.as_ref()) {
            let original = request_object.filter(|o| !o.is_null());
            let Some(original) = original else {
                out.allowed = false;
                out.status = Some(Status {
                    message: Some(
                        "the policy attempted to mutate a request that has no object (e.g. DELETE)".to_owned(),
                    ),
                    code: Some(500),
                });
                return out;
            };
            let patch = json_patch::diff(original, mutated);
            if !patch.0.is_empty() {
                match serde_json::to_vec(&patch) {
                    Ok(bytes) => {
                        out.patch_type = Some("JSONPatch".to_owned());
                        out.patch = Some(base64::engine::general_purpose::STANDARD.encode(bytes));
                    }
                    Err(e) => return Self::internal_error(uid, &format!("cannot encode the patch: {e}")),
                }
            }
        }
        out
    }

    /// Parses the raw bytes of `validate` and shapes the response.
    pub fn from_guest_bytes(uid: &str, request_object: Option<&Value>, bytes: &[u8]) -> Self {
        match serde_json::from_slice::<ValidationResponse>(bytes) {
            Ok(resp) => Self::from_validation(uid, request_object, resp),
            Err(e) => Self::internal_error(uid, &format!("cannot decode the policy response: {e}")),
        }
    }

    /// The single stdout line.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| {
            format!(r#"{{"uid":"{}","allowed":false,"status":{{"message":"internal server error: {e}","code":500}},"auditAnnotations":null,"warnings":null}}"#, self.uid)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(object: Option<Value>, guest: &str) -> String {
        AdmissionResponse::from_guest_bytes("u1", object.as_ref(), guest.as_bytes()).to_line()
    }

    #[test]
    fn accept() {
        assert_eq!(
            shape(
                None,
                r#"{"accepted":true,"message":null,"code":null,"mutated_object":null,"audit_annotations":null,"warnings":null}"#
            ),
            r#"{"uid":"u1","allowed":true,"auditAnnotations":null,"warnings":null}"#
        );
    }

    #[test]
    fn reject_with_and_without_code() {
        assert_eq!(
            shape(
                None,
                r#"{"accepted":false,"message":"hostname a.example.com is not allowed"}"#
            ),
            r#"{"uid":"u1","allowed":false,"status":{"message":"hostname a.example.com is not allowed"},"auditAnnotations":null,"warnings":null}"#
        );
        assert_eq!(
            shape(
                None,
                r#"{"accepted":false,"message":"taken","code":409,"mutated_object":null,"audit_annotations":{"b":"2","a":"1"},"warnings":["w1"]}"#
            ),
            r#"{"uid":"u1","allowed":false,"status":{"message":"taken","code":409},"auditAnnotations":{"a":"1","b":"2"},"warnings":["w1"]}"#
        );
    }

    #[test]
    fn mutation_produces_base64_jsonpatch() {
        let object = serde_json::json!({"metadata": {"name": "r", "labels": {"a": "1"}}});
        let line = shape(
            Some(object),
            r#"{"accepted":true,"mutated_object":{"metadata":{"name":"r","labels":{"a":"1","tenant":"t"}}}}"#,
        );
        let patch = base64::engine::general_purpose::STANDARD
            .encode(r#"[{"op":"add","path":"/metadata/labels/tenant","value":"t"}]"#);
        assert_eq!(
            line,
            format!(
                r#"{{"uid":"u1","allowed":true,"patchType":"JSONPatch","patch":"{patch}","auditAnnotations":null,"warnings":null}}"#
            )
        );
    }

    #[test]
    fn identical_mutation_has_no_patch() {
        let object = serde_json::json!({"a": 1});
        assert_eq!(
            shape(Some(object), r#"{"accepted":true,"mutated_object":{"a":1}}"#),
            r#"{"uid":"u1","allowed":true,"auditAnnotations":null,"warnings":null}"#
        );
    }

    #[test]
    fn mutation_without_object_is_rejected() {
        assert_eq!(
            shape(None, r#"{"accepted":true,"mutated_object":{"a":1}}"#),
            r#"{"uid":"u1","allowed":false,"status":{"message":"the policy attempted to mutate a request that has no object (e.g. DELETE)","code":500},"auditAnnotations":null,"warnings":null}"#
        );
    }

    #[test]
    fn bad_guest_answer_is_500() {
        assert_eq!(
            shape(None, "not json"),
            r#"{"uid":"u1","allowed":false,"status":{"message":"internal server error: cannot decode the policy response: expected ident at line 1 column 2","code":500},"auditAnnotations":null,"warnings":null}"#
        );
    }
}
