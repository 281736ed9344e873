//! Loading the admission request given to `run -r`.

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Optional AdmissionRequest fields the kwctl host drops when absent/null.
const OPTIONAL_FIELDS: [&str; 9] = [
    "subResource",
    "requestKind",
    "requestResource",
    "requestSubResource",
    "name",
    "namespace",
    "object",
    "oldObject",
    "dryRun",
];

/// Parses a bare AdmissionRequest or an AdmissionReview (whose `.request` is
/// used), checks the fields kwctl's strict parser requires, and returns the
/// request as the host forwards it (null optionals dropped).
pub fn parse_request(text: &str) -> Result<Value> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| Error::Request(format!("cannot parse the request JSON: {e}")))?;
    let value = if value.get("kind").and_then(Value::as_str) == Some("AdmissionReview") {
        value
            .get("request")
            .cloned()
            .ok_or_else(|| Error::Request("AdmissionReview without a `request`".into()))?
    } else {
        value
    };
    let Value::Object(mut request) = value else {
        return Err(Error::Request("the request must be a JSON object".into()));
    };
    check_required(&request)?;
    for field in OPTIONAL_FIELDS.iter().chain(&["options"]) {
        if request.get(*field).is_some_and(Value::is_null) {
            request.remove(*field);
        }
    }
    Ok(Value::Object(request))
}

fn check_required(request: &Map<String, Value>) -> Result<()> {
    let string = |field: &str| match request.get(field) {
        Some(Value::String(_)) => Ok(()),
        Some(_) => Err(Error::Request(format!("`{field}` must be a string"))),
        None => Err(Error::Request(format!("missing field `{field}`"))),
    };
    string("uid")?;
    string("operation")?;
    let object_with = |field: &str, keys: &[&str]| {
        let obj = match request.get(field) {
            Some(Value::Object(obj)) => obj,
            Some(_) => return Err(Error::Request(format!("`{field}` must be an object"))),
            None => return Err(Error::Request(format!("missing field `{field}`"))),
        };
        for key in keys {
            match obj.get(*key) {
                Some(Value::String(_)) => {}
                Some(_) => return Err(Error::Request(format!("`{field}.{key}` must be a string"))),
                None => return Err(Error::Request(format!("missing field `{field}.{key}`"))),
            }
        }
        Ok(())
    };
    object_with("kind", &["group", "version", "kind"])?;
    object_with("resource", &["group", "version", "resource"])?;
    object_with("userInfo", &[])?;
    let op = request.get("operation").and_then(Value::as_str).unwrap_or_default();
    if !["CREATE", "UPDATE", "DELETE", "CONNECT"].contains(&op) {
        return Err(Error::Request(format!(
            "`operation` must be one of CREATE, UPDATE, DELETE, CONNECT (got {op:?})"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BARE: &str = r#"{"uid":"u1","kind":{"group":"","version":"v1","kind":"Pod"},
        "resource":{"group":"","version":"v1","resource":"pods"},"operation":"CREATE",
        "userInfo":{"username":"alice"},"namespace":null,"object":{"metadata":{"name":"p"}}}"#;

    #[test]
    fn bare_request_drops_null_optionals() {
        let req = parse_request(BARE).expect("valid");
        assert_eq!(
            req.to_string(),
            r#"{"kind":{"group":"","kind":"Pod","version":"v1"},"object":{"metadata":{"name":"p"}},"operation":"CREATE","resource":{"group":"","resource":"pods","version":"v1"},"uid":"u1","userInfo":{"username":"alice"}}"#
        );
    }

    #[test]
    fn admission_review_is_unwrapped() {
        let review = format!(r#"{{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{BARE}}}"#);
        assert_eq!(parse_request(&review).expect("valid")["uid"], "u1");
    }

    #[test]
    fn missing_fields_are_errors() {
        let e = parse_request(r#"{"uid":"u","operation":"CREATE","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"}}"#)
            .expect_err("no userInfo");
        assert_eq!(e.to_string(), "invalid request: missing field `userInfo`");
        let e = parse_request(r#"{"uid":"u","operation":"CREATE","kind":{"group":"","version":"v1"}}"#)
            .expect_err("no kind.kind");
        assert_eq!(e.to_string(), "invalid request: missing field `kind.kind`");
        assert!(parse_request("[1]").is_err());
        assert!(parse_request("{nope").is_err());
    }
}
