//! `inspect`: what `kwctl inspect` shows of an annotated module, as plain text (kwctl colours the
//! headings and renders the usage Markdown for a terminal; the content and its order are the same):
//! the details (title, description, author, url, source, license, mutating, protocol version), the
//! other annotations, the rules as YAML and the usage text. `-o yaml` prints the metadata as YAML.

use crate::error::{Error, Result};
use crate::metadata::{ANNOTATION_USAGE, Metadata};

/// The annotations shown under "Details", in this order, as `<suffix>:`.
const DETAILS: [&str; 6] = [
    "io.kubewarden.policy.title",
    "io.kubewarden.policy.description",
    "io.kubewarden.policy.author",
    "io.kubewarden.policy.url",
    "io.kubewarden.policy.source",
    "io.kubewarden.policy.license",
];

/// Output formats of `inspect -o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pretty,
    Yaml,
}

/// Renders the metadata of `uri` (for messages) as `format`; a module without metadata is an error,
/// as for kwctl.
pub fn inspect(uri: &str, metadata: Option<&Metadata>, format: Format) -> Result<String> {
    let metadata = metadata.ok_or_else(|| {
        Error::Unsupported(format!(
            "No Kubewarden metadata found inside of '{uri}'. Policies can be annotated with the `annotate` command."
        ))
    })?;
    match format {
        Format::Yaml => serde_yaml::to_string(metadata).map_err(|e| Error::Metadata(e.to_string())),
        Format::Pretty => pretty(metadata),
    }
}

fn pretty(metadata: &Metadata) -> Result<String> {
    let protocol = metadata
        .protocol_version
        .clone()
        .filter(|v| v != "Unknown")
        .ok_or_else(|| Error::Metadata("Invalid policy: protocol_version not defined".into()))?;
    let mut annotations = metadata.annotations.clone().unwrap_or_default();
    let usage = annotations.remove(ANNOTATION_USAGE);
    let mut details: Vec<(String, String)> = DETAILS
        .iter()
        .filter_map(|key| {
            let value = annotations.remove(*key)?;
            Some((format!("{}:", key.trim_start_matches("io.kubewarden.policy.")), value))
        })
        .collect();
    details.push(("mutating:".into(), metadata.mutating.to_string()));
    details.push(("protocol version:".into(), protocol));

    let mut out = String::from("Details\n");
    push_rows(&mut out, &details);
    if !annotations.is_empty() {
        out.push_str("\nAnnotations\n");
        let rows: Vec<(String, String)> = annotations.into_iter().collect();
        push_rows(&mut out, &rows);
    }
    out.push_str("\nRules\n");
    out.push_str(&serde_yaml::to_string(&metadata.rules).map_err(|e| Error::Metadata(e.to_string()))?);
    if let Some(usage) = usage {
        out.push_str("\nUsage\n");
        out.push_str(usage.trim_end());
        out.push('\n');
    }
    Ok(out)
}

/// `key value` rows with the values aligned; a multi-line value continues under its first line.
fn push_rows(out: &mut String, rows: &[(String, String)]) {
    let width = rows.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
    for (key, value) in rows {
        let mut lines = value.trim_end().lines();
        let first = lines.next().unwrap_or("");
        out.push_str(format!("{key:<width$} {first}").trim_end());
        out.push('\n');
        for line in lines {
            out.push_str(format!("{:width$} {line}", "").trim_end());
            out.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(annotations: &str) -> Metadata {
        serde_json::from_str(&format!(
            r#"{{"protocolVersion":"v1","rules":[{{"apiGroups":[""],"apiVersions":["v1"],"resources":["namespaces"],"operations":["CREATE","UPDATE"]}}],"mutating":false,"annotations":{annotations}}}"#
        ))
        .expect("metadata")
    }

    #[test]
    fn pretty_output_shows_details_annotations_rules_and_usage() {
        let m = metadata(
            r##"{"io.kubewarden.policy.title":"tgw","io.kubewarden.policy.license":"Apache-2.0","io.kubewarden.kwctl":"tgw-kwctl 0.1.0","io.kubewarden.policy.usage":"# Usage\n\nGuards hostnames.\n"}"##,
        );
        assert_eq!(
            inspect("policy.wasm", Some(&m), Format::Pretty).expect("inspect"),
            "Details\n\
             title:            tgw\n\
             license:          Apache-2.0\n\
             mutating:         false\n\
             protocol version: v1\n\
             \n\
             Annotations\n\
             io.kubewarden.kwctl tgw-kwctl 0.1.0\n\
             \n\
             Rules\n\
             - apiGroups:\n  - ''\n  apiVersions:\n  - v1\n  resources:\n  - namespaces\n  operations:\n  - CREATE\n  - UPDATE\n\
             \n\
             Usage\n\
             # Usage\n\
             \n\
             Guards hostnames.\n"
        );
    }

    #[test]
    fn unannotated_and_unknown_protocol_are_errors() {
        let e = inspect("x.wasm", None, Format::Pretty).expect_err("no metadata");
        assert!(
            e.to_string()
                .contains("No Kubewarden metadata found inside of 'x.wasm'"),
            "{e}"
        );
        let mut m = metadata("{}");
        m.protocol_version = None;
        let e = inspect("x.wasm", Some(&m), Format::Pretty).expect_err("no protocol");
        assert!(e.to_string().contains("protocol_version not defined"), "{e}");
        assert!(inspect("x.wasm", Some(&m), Format::Yaml).is_ok());
    }
}
