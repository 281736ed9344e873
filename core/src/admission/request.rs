//! The admission request as the policy sees it: converted once from the AdmissionRequest JSON
//! the Kubewarden host sends (camelCase, with snake_case accepted too), with typed errors that
//! say which field could not be read.

use serde::Deserialize;
use serde_json::Value;

use crate::settings::describe_path_error;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupVersionKind {
    pub group: String,
    pub version: String,
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Delete,
    Connect,
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserInfo {
    pub username: String,
    pub groups: Vec<String>,
}

/// What the decision functions need from an AdmissionRequest.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub kind: GroupVersionKind,
    pub operation: Operation,
    /// The request namespace (empty for cluster-scoped objects).
    pub namespace: String,
    /// The object name (the request's, else the object's, else its generateName + `*`).
    pub name: String,
    pub user: UserInfo,
    pub object: Option<Value>,
    pub old_object: Option<Value>,
}

/// The request itself could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the admission request could not be parsed: {0}")]
pub struct RequestError(pub String);

#[derive(Deserialize)]
struct WireRequest {
    kind: WireGvk,
    operation: String,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default, rename = "userInfo", alias = "user_info")]
    user_info: Option<WireUser>,
}

#[derive(Deserialize)]
struct WireGvk {
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    version: Option<String>,
    kind: String,
}

#[derive(Deserialize, Default)]
struct WireUser {
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    groups: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
struct WireMetaInner {
    #[serde(default)]
    name: Option<String>,
    #[serde(default, rename = "generateName")]
    generate_name: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
}

impl Request {
    /// Converts the AdmissionRequest JSON (`request` of the validation payload).
    pub fn from_json(value: &Value) -> Result<Request, RequestError> {
        Request::from_owned(value.clone())
    }

    /// Like `from_json`, taking the objects out of `value` instead of copying them.
    pub fn from_owned(mut value: Value) -> Result<Request, RequestError> {
        let fields = value
            .as_object_mut()
            .ok_or_else(|| RequestError("it is not a JSON object".to_string()))?;
        let object = take(fields, &["object"]);
        let old_object = take(fields, &["oldObject", "old_object"]);
        let wire = WireRequest::deserialize(&value)
            .or_else(|_| serde_path_to_error::deserialize(&value).map_err(|e| RequestError(describe_path_error(&e))))?;
        let meta = object
            .as_ref()
            .or(old_object.as_ref())
            .map(object_meta)
            .unwrap_or_default();
        let user = wire.user_info.unwrap_or_default();
        Ok(Request {
            kind: GroupVersionKind {
                group: wire.kind.group.unwrap_or_default(),
                version: wire.kind.version.unwrap_or_default(),
                kind: wire.kind.kind,
            },
            operation: Operation::parse(&wire.operation),
            namespace: non_empty(wire.namespace).or(meta.namespace).unwrap_or_default(),
            name: non_empty(wire.name)
                .or(meta.name)
                .or(meta.generate_name.map(|g| format!("{g}*")))
                .unwrap_or_default(),
            user: UserInfo {
                username: user.username.unwrap_or_default(),
                groups: user.groups.unwrap_or_default(),
            },
            object,
            old_object,
        })
    }

    /// `Kind namespace/name` (or `Kind name` for cluster-scoped objects), for messages.
    pub fn subject(&self) -> String {
        if self.namespace.is_empty() || self.kind.kind == "Namespace" {
            format!("{} {}", self.kind.kind, self.name)
        } else {
            format!("{} {}/{}", self.kind.kind, self.namespace, self.name)
        }
    }
}

impl Operation {
    fn parse(raw: &str) -> Operation {
        match raw.to_ascii_uppercase().as_str() {
            "CREATE" => Operation::Create,
            "UPDATE" => Operation::Update,
            "DELETE" => Operation::Delete,
            "CONNECT" => Operation::Connect,
            _ => Operation::Unknown(raw.to_string()),
        }
    }
}

/// Removes the first present key of `keys`; `null` counts as absent.
fn take(fields: &mut serde_json::Map<String, Value>, keys: &[&str]) -> Option<Value> {
    keys.iter().filter_map(|k| fields.remove(*k)).find(|v| !v.is_null())
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

/// Name and namespace from the object's metadata; a malformed metadata block yields nothing here
/// (the kind-specific parse reports it).
fn object_meta(object: &Value) -> WireMetaInner {
    let inner = object
        .get("metadata")
        .and_then(|m| WireMetaInner::deserialize(m).ok())
        .unwrap_or_default();
    WireMetaInner {
        name: non_empty(inner.name),
        generate_name: non_empty(inner.generate_name),
        namespace: non_empty(inner.namespace),
    }
}
