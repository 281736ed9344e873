//! Policy settings given on the command line.

use serde_json::Value;

use crate::error::{Error, Result};

/// Parses settings text (YAML is a superset of JSON) and normalises it: an
/// object is kept, null/empty becomes `{}`, anything else is rejected.
pub fn parse_settings(text: &str) -> Result<Value> {
    if text.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    let value: Value =
        serde_yaml::from_str(text).map_err(|e| Error::Settings(format!("cannot parse settings: {e}")))?;
    normalize_settings(value)
}

/// Settings must be an object or null (null means `{}`).
pub fn normalize_settings(value: Value) -> Result<Value> {
    match value {
        Value::Null => Ok(Value::Object(Default::default())),
        Value::Object(_) => Ok(value),
        other => Err(Error::Settings(format!(
            "settings must be a JSON object or null, got {}",
            kind_of(&other)
        ))),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_forms() {
        assert_eq!(parse_settings("").expect("empty").to_string(), "{}");
        assert_eq!(parse_settings("null").expect("null").to_string(), "{}");
        assert_eq!(parse_settings("~").expect("yaml null").to_string(), "{}");
        assert_eq!(
            parse_settings(r#"{"a": [1, "x"], "b": {"c": true}}"#)
                .expect("json")
                .to_string(),
            r#"{"a":[1,"x"],"b":{"c":true}}"#
        );
        assert_eq!(
            parse_settings("a:\n  - 1\n  - x\nb: {c: true}\n")
                .expect("yaml")
                .to_string(),
            r#"{"a":[1,"x"],"b":{"c":true}}"#
        );
        assert_eq!(
            parse_settings("[1]").expect_err("array").to_string(),
            "invalid settings: settings must be a JSON object or null, got an array"
        );
        assert_eq!(
            parse_settings("\"x\"").expect_err("string").to_string(),
            "invalid settings: settings must be a JSON object or null, got a string"
        );
        assert!(parse_settings("{").is_err());
    }
}
