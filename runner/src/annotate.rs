//! `annotate`: validate metadata.yml, fill protocolVersion, embed it.

use crate::error::{Error, Result};
use crate::metadata::{
    ANNOTATION_KWCTL, ANNOTATION_USAGE, ExecutionMode, METADATA_SECTION, Metadata, parse_metadata_yaml,
};
use crate::policy::PolicyHost;

/// Returns the annotated module and the metadata that was embedded.
pub fn annotate(wasm: &[u8], metadata_yaml: &str, usage: Option<&str>) -> Result<(Vec<u8>, Metadata)> {
    let mut metadata = parse_metadata_yaml(metadata_yaml)?;
    metadata.validate()?;
    metadata.protocol_version = Some(match metadata.execution_mode {
        ExecutionMode::KubewardenWapc => {
            // Instantiate the module without any previous annotation in the way.
            let bare = crate::wasm::remove_custom_section(wasm, METADATA_SECTION)?;
            let version = PolicyHost::new(&bare)?.protocol_version()?;
            if version != "v1" {
                return Err(Error::ProtocolVersion(format!(
                    "the policy reports protocol version {version:?}, expected \"v1\""
                )));
            }
            version
        }
        _ => "Unknown".to_owned(),
    });
    let annotations = metadata.annotations.get_or_insert_with(Default::default);
    if let Some(usage) = usage {
        annotations.insert(ANNOTATION_USAGE.to_owned(), usage.to_owned());
    }
    annotations.insert(ANNOTATION_KWCTL.to_owned(), crate::TOOL_VERSION.to_owned());
    let json = serde_json::to_vec(&metadata).map_err(|e| Error::Metadata(e.to_string()))?;
    let out = crate::wasm::replace_custom_section(wasm, METADATA_SECTION, &json)?;
    Ok((out, metadata))
}
