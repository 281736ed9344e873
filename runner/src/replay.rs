//! Replays a `kwctl run --record-host-capabilities-interactions` session:
//! strictly FIFO, exact request match.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::host::{HostCapabilities, HostRequest};

/// One session item. Not an internally tagged enum: serde would buffer the
/// request and lose an inline YAML tag.
#[derive(Debug, Deserialize)]
struct Interaction {
    #[serde(rename = "type")]
    kind: String,
    request: serde_yaml::Value,
    response: RecordedResponse,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "type")]
pub enum RecordedResponse {
    Success { payload: String },
    Error { message: String },
}

/// A request in kwctl's session form: the `CallbackRequestType` variant name
/// (YAML tag) plus its fields, with null fields dropped so an omitted
/// optional (e.g. `field_masks`) equals an explicit null.
#[derive(Debug, Clone, PartialEq)]
pub struct TaggedRequest {
    pub tag: String,
    pub fields: Value,
}

impl std::fmt::Display for TaggedRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "!{} {}", self.tag, self.fields)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    pub request: TaggedRequest,
    pub response: RecordedResponse,
}

/// Host capability provider answering from a recorded session.
#[derive(Debug)]
pub struct ReplayHost {
    exchanges: Mutex<VecDeque<Exchange>>,
}

impl ReplayHost {
    pub fn from_yaml(text: &str) -> Result<Self> {
        let interactions: Vec<Interaction> = serde_yaml::from_str(text).map_err(|e| Error::Session(e.to_string()))?;
        let exchanges = interactions
            .into_iter()
            .enumerate()
            .map(
                |(
                    i,
                    Interaction {
                        kind,
                        request,
                        response,
                    },
                )| {
                    if kind != "Exchange" {
                        return Err(Error::Session(format!("exchange #{i}: unknown type {kind:?}")));
                    }
                    let request =
                        parse_recorded_request(request).map_err(|e| Error::Session(format!("exchange #{i}: {e}")))?;
                    Ok(Exchange { request, response })
                },
            )
            .collect::<Result<VecDeque<_>>>()?;
        Ok(Self {
            exchanges: Mutex::new(exchanges),
        })
    }

    /// Exchanges not consumed yet (kwctl only warns about leftovers).
    pub fn remaining(&self) -> usize {
        self.exchanges.lock().map_or(0, |q| q.len())
    }
}

impl HostCapabilities for ReplayHost {
    fn call(&self, request: &HostRequest) -> std::result::Result<Vec<u8>, String> {
        let live = tagged_form(request)?;
        let mut queue = self
            .exchanges
            .lock()
            .map_err(|_| "replay session state poisoned".to_owned())?;
        let Some(next) = queue.front() else {
            return Err("the list of recorded responses is empty".to_owned());
        };
        if next.request != live {
            return Err(format!(
                "Replay error: unexpected request. Was expecting {}, got {}",
                next.request, live
            ));
        }
        let Some(exchange) = queue.pop_front() else {
            return Err("the list of recorded responses is empty".to_owned());
        };
        match exchange.response {
            RecordedResponse::Success { payload } => Ok(payload.into_bytes()),
            RecordedResponse::Error { message } => Err(message),
        }
    }
}

fn parse_recorded_request(value: serde_yaml::Value) -> std::result::Result<TaggedRequest, String> {
    let value = match value {
        serde_yaml::Value::String(text) => {
            serde_yaml::from_str::<serde_yaml::Value>(&text).map_err(|e| e.to_string())?
        }
        other => other,
    };
    let serde_yaml::Value::Tagged(tagged) = value else {
        return Err("the request must carry a YAML tag such as !KubernetesGetResource".to_owned());
    };
    let tag = tagged.tag.to_string().trim_start_matches('!').to_owned();
    let fields = serde_json::to_value(&tagged.value).map_err(|e| e.to_string())?;
    Ok(TaggedRequest {
        tag,
        fields: without_nulls(fields),
    })
}

/// Maps a live host call onto kwctl's `CallbackRequestType` variant.
pub fn tagged_form(request: &HostRequest) -> std::result::Result<TaggedRequest, String> {
    let p = &request.payload;
    let image = || serde_json::json!({ "image": p });
    let (tag, fields): (String, Value) = match (request.namespace.as_str(), request.operation.as_str()) {
        ("kubernetes", "get_resource") => ("KubernetesGetResource".into(), p.clone()),
        ("kubernetes", "list_resources_by_namespace") => ("KubernetesListResourceNamespace".into(), p.clone()),
        ("kubernetes", "list_resources_all") => ("KubernetesListResourceAll".into(), p.clone()),
        ("kubernetes", "can_i") => {
            let mut fields = p.clone();
            if let Some(obj) = fields.as_object_mut()
                && let Some(sar) = obj.remove("subject_access_review")
            {
                obj.insert("request".into(), sar);
            }
            ("KubernetesCanI".into(), fields)
        }
        ("oci", "v1/manifest_digest") => ("OciManifestDigest".into(), image()),
        ("oci", "v1/oci_manifest") => ("OciManifest".into(), image()),
        ("oci", "v1/oci_manifest_config") => ("OciManifestAndConfig".into(), image()),
        ("net", "v1/dns_lookup_host") => ("DNSLookupHost".into(), serde_json::json!({ "host": p })),
        ("oci", "v1/verify" | "v2/verify") => {
            let mut fields = p.clone();
            let tag = fields
                .as_object_mut()
                .and_then(|o| o.remove("type"))
                .and_then(|t| t.as_str().map(str::to_owned))
                .ok_or_else(|| "verification request without a `type` field".to_owned())?;
            (tag, fields)
        }
        ("crypto", "v1/is_certificate_trusted") => ("CryptoV1IsCertificateTrusted".into(), p.clone()),
        (ns, op) => return Err(format!("unknown host capability: {ns}/{op}")),
    };
    Ok(TaggedRequest {
        tag,
        fields: without_nulls(fields),
    })
}

fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SESSION: &str = r#"
- type: Exchange
  request: |
    !KubernetesGetResource
    api_version: v1
    kind: Namespace
    name: team-a
    namespace: null
    disable_cache: false
  response:
    type: Success
    payload: '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team-a"}}'
- type: Exchange
  request: |
    !KubernetesGetResource
    api_version: v1
    kind: Namespace
    name: ghost
    disable_cache: false
  response:
    type: Error
    message: Cannot find v1/Namespace named 'ghost'
"#;

    fn get_ns(name: &str) -> HostRequest {
        HostRequest {
            namespace: "kubernetes".into(),
            operation: "get_resource".into(),
            payload: serde_json::json!({
                "api_version": "v1", "kind": "Namespace", "name": name,
                "namespace": null, "disable_cache": false, "field_masks": null
            }),
        }
    }

    #[test]
    fn fifo_exact_match() {
        let host = ReplayHost::from_yaml(SESSION).expect("session");
        assert_eq!(host.remaining(), 2);
        let first = host.call(&get_ns("team-a")).expect("first");
        assert_eq!(
            String::from_utf8(first).expect("utf8"),
            r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team-a"}}"#
        );
        assert_eq!(
            host.call(&get_ns("ghost")),
            Err("Cannot find v1/Namespace named 'ghost'".into())
        );
        assert_eq!(
            host.call(&get_ns("team-a")),
            Err("the list of recorded responses is empty".into())
        );
    }

    #[test]
    fn mismatch_is_reported_and_not_consumed() {
        let host = ReplayHost::from_yaml(SESSION).expect("session");
        assert_eq!(
            host.call(&get_ns("other")),
            Err(r#"Replay error: unexpected request. Was expecting !KubernetesGetResource {"api_version":"v1","disable_cache":false,"kind":"Namespace","name":"team-a"}, got !KubernetesGetResource {"api_version":"v1","disable_cache":false,"kind":"Namespace","name":"other"}"#.into())
        );
        assert_eq!(host.remaining(), 2);
    }

    #[test]
    fn inline_tagged_request_and_list() {
        let session = r#"
- type: Exchange
  request: !KubernetesListResourceAll
    api_version: v1
    kind: Namespace
    label_selector: tenant=a
    field_selector: null
  response:
    type: Success
    payload: '{"items":[]}'
"#;
        let host = ReplayHost::from_yaml(session).expect("session");
        let req = HostRequest {
            namespace: "kubernetes".into(),
            operation: "list_resources_all".into(),
            payload: serde_json::json!({"api_version":"v1","kind":"Namespace","label_selector":"tenant=a","field_selector":null,"field_masks":null}),
        };
        assert_eq!(host.call(&req), Ok(br#"{"items":[]}"#.to_vec()));
    }

    #[test]
    fn bad_sessions() {
        let e = ReplayHost::from_yaml(
            "- type: Exchange\n  request: 'api_version: v1'\n  response: {type: Success, payload: ''}\n",
        )
        .expect_err("untagged");
        assert_eq!(
            e.to_string(),
            "invalid replay session: exchange #0: the request must carry a YAML tag such as !KubernetesGetResource"
        );
        assert!(ReplayHost::from_yaml("- type: Other\n").is_err());
    }

    #[test]
    fn oci_and_dns_forms() {
        let req = HostRequest {
            namespace: "oci".into(),
            operation: "v1/manifest_digest".into(),
            payload: serde_json::json!("ghcr.io/a/b:1"),
        };
        assert_eq!(
            tagged_form(&req).expect("form").to_string(),
            r#"!OciManifestDigest {"image":"ghcr.io/a/b:1"}"#
        );
        let req = HostRequest {
            namespace: "oci".into(),
            operation: "v2/verify".into(),
            payload: serde_json::json!({"type": "SigstorePubKeyVerify", "image": "i", "pub_keys": ["k"], "annotations": null}),
        };
        assert_eq!(
            tagged_form(&req).expect("form").to_string(),
            r#"!SigstorePubKeyVerify {"image":"i","pub_keys":["k"]}"#
        );
    }
}
