//! `push` / `pull` of Kubewarden policy OCI artifacts.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::manifest::{OciImageManifest, WASM_CONFIG_MEDIA_TYPE, WASM_LAYER_MEDIA_TYPE};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde::Serialize as _;
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};
use crate::metadata::{ANNOTATION_SOURCE, Metadata, read_metadata};

pub const OCI_SOURCE_ANNOTATION: &str = "org.opencontainers.image.source";

/// Registry connection options.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    /// Plain HTTP for every registry.
    pub insecure: bool,
    /// Registries (`host[:port]`) reached over plain HTTP (kwctl's
    /// `insecure_sources` in `--sources-path`).
    pub insecure_sources: BTreeSet<String>,
}

impl RegistryOptions {
    /// Reads kwctl's sources file (`insecure_sources: [host:port, ...]`).
    pub fn add_sources_file(&mut self, text: &str) -> Result<()> {
        #[derive(serde::Deserialize)]
        struct Sources {
            #[serde(default)]
            insecure_sources: Vec<String>,
        }
        let sources: Sources =
            serde_yaml::from_str(text).map_err(|e| Error::Registry(format!("invalid sources file: {e}")))?;
        self.insecure_sources.extend(sources.insecure_sources);
        Ok(())
    }

    fn protocol_for(&self, registry: &str) -> ClientProtocol {
        if self.insecure || self.insecure_sources.contains(registry) || is_loopback(registry) {
            ClientProtocol::Http
        } else {
            ClientProtocol::Https
        }
    }
}

fn is_loopback(registry: &str) -> bool {
    let host = match registry.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => registry,
    };
    host == "localhost" || host.starts_with("127.") || host == "[::1]"
}

/// Parses `registry://host[:port]/repo[:tag|@digest]` (scheme optional).
pub fn parse_reference(uri: &str) -> Result<Reference> {
    let bare = uri.strip_prefix("registry://").unwrap_or(uri);
    if bare.contains("://") {
        return Err(Error::Registry(format!(
            "unsupported scheme in {uri:?}: expected registry://"
        )));
    }
    Reference::from_str(bare).map_err(|e| Error::Registry(format!("invalid reference {uri:?}: {e}")))
}

/// Manifest annotations kwctl derives from the metadata: values of at most one line (as
/// `str::lines` counts them, so a single trailing newline still counts as one line), trimmed; then
/// `org.opencontainers.image.source` from the policy source, unless the metadata sets it itself.
pub fn manifest_annotations(metadata: &Metadata) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = metadata
        .annotations
        .iter()
        .flatten()
        .filter(|(_, v)| v.lines().count() <= 1)
        .map(|(k, v)| (k.clone(), v.trim().to_owned()))
        .collect();
    if let Some(source) = out.get(ANNOTATION_SOURCE).cloned() {
        out.entry(OCI_SOURCE_ANNOTATION.to_owned()).or_insert(source);
    }
    out
}

/// The config blob kwctl pushes: `{}` with the wasm config media type.
pub fn policy_config() -> Config {
    Config::new(b"{}".to_vec(), WASM_CONFIG_MEDIA_TYPE.to_owned(), None)
}

/// The one layer kwctl pushes: the module as is.
pub fn policy_layer(wasm: &[u8]) -> ImageLayer {
    ImageLayer::new(wasm.to_vec(), WASM_LAYER_MEDIA_TYPE.to_owned(), None)
}

/// The image manifest kwctl builds for a module: the layer, the config and the annotations, and
/// no top-level `mediaType` (the registry learns it from the Content-Type header).
pub fn policy_manifest(wasm: &[u8], annotations: Option<BTreeMap<String, String>>) -> OciImageManifest {
    OciImageManifest::build(&[policy_layer(wasm)], &policy_config(), annotations)
}

/// The bytes the registry stores for `manifest`: canonical JSON (sorted keys, no whitespace), as
/// oci-client sends it for kwctl and for us. Their sha256 is the policy's digest.
pub fn manifest_bytes(manifest: &OciImageManifest) -> Vec<u8> {
    let mut body = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut body, olpc_cjson::CanonicalFormatter::new());
    // Serialising strings and numbers into a Vec cannot fail.
    let _ = manifest.serialize(&mut ser);
    body
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

pub(crate) fn client_for(reference: &Reference, opts: &RegistryOptions) -> Client {
    // reqwest is built without a bundled crypto provider; use ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::new(ClientConfig {
        protocol: opts.protocol_for(reference.registry()),
        ..Default::default()
    })
}

fn registry_error(action: &str, reference: &Reference, e: impl std::fmt::Display) -> Error {
    Error::Registry(format!("cannot {action} {reference}: {e}"))
}

/// Pushes an annotated policy; returns the immutable reference
/// `<registry>/<repo>@sha256:...`.
pub async fn push(wasm: &[u8], uri: &str, force: bool, opts: &RegistryOptions) -> Result<String> {
    let reference = parse_reference(uri)?;
    let metadata = read_metadata(wasm)?;
    let annotations = match (&metadata, force) {
        (Some(m), _) => Some(manifest_annotations(m)).filter(|a| !a.is_empty()),
        (None, true) => None,
        (None, false) => {
            return Err(Error::Registry(
                "the policy is not annotated: run `tgw-kwctl annotate` first, or push with --force".into(),
            ));
        }
    };
    let manifest = policy_manifest(wasm, annotations);
    let expected = sha256_digest(&manifest_bytes(&manifest));
    let layers = [policy_layer(wasm)];
    let client = client_for(&reference, opts);
    let auth = RegistryAuth::Anonymous;
    client
        .push(&reference, &layers, policy_config(), &auth, Some(manifest))
        .await
        .map_err(|e| registry_error("push to", &reference, e))?;
    let digest = client
        .fetch_manifest_digest(&reference, &auth)
        .await
        .map_err(|e| registry_error("read the digest of", &reference, e))?;
    // What the registry holds must be the manifest we built (and kwctl would have built).
    if digest != expected {
        return Err(Error::Registry(format!(
            "{reference}: the registry reports digest {digest}, but the pushed manifest is {expected}"
        )));
    }
    Ok(format!("{}/{}@{digest}", reference.registry(), reference.repository()))
}

/// What `pull` returns: the wasm bytes plus the manifest for inspection.
#[derive(Debug)]
pub struct Pulled {
    pub wasm: Vec<u8>,
    pub digest: Option<String>,
    pub manifest: Option<OciImageManifest>,
    pub config_media_type: String,
    pub config: Vec<u8>,
}

/// Pulls a policy by tag or digest.
pub async fn pull(uri: &str, opts: &RegistryOptions) -> Result<Pulled> {
    let reference = parse_reference(uri)?;
    let client = client_for(&reference, opts);
    let image = client
        .pull(&reference, &RegistryAuth::Anonymous, vec![WASM_LAYER_MEDIA_TYPE])
        .await
        .map_err(|e| registry_error("pull", &reference, e))?;
    let mut layers = image.layers.into_iter();
    let (Some(layer), None) = (layers.next(), layers.next()) else {
        return Err(Error::Registry(format!("{reference}: expected exactly one wasm layer")));
    };
    Ok(Pulled {
        wasm: layer.data.to_vec(),
        digest: image.digest,
        manifest: image.manifest,
        config_media_type: image.config.media_type,
        config: image.config.data.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        let r = parse_reference("registry://127.0.0.1:5000/policies/tgw:v1").expect("ref");
        assert_eq!(r.registry(), "127.0.0.1:5000");
        assert_eq!(r.repository(), "policies/tgw");
        assert_eq!(r.tag(), Some("v1"));
        assert!(parse_reference("https://x/y:1").is_err());
        assert!(is_loopback("127.0.0.1:5000"));
        assert!(is_loopback("localhost"));
        assert!(!is_loopback("ghcr.io"));
    }

    #[test]
    fn annotations_keep_one_line_values_trimmed_and_copy_source() {
        let metadata: Metadata = serde_json::from_str(
            r#"{"mutating":false,"annotations":{"io.kubewarden.policy.usage":"line 1\nline 2\n","io.kubewarden.policy.title":" tgw \n","io.kubewarden.policy.description":"\n leading newline","io.kubewarden.policy.url":"","io.kubewarden.policy.source":"https://github.com/x/y"}}"#,
        )
        .expect("metadata");
        assert_eq!(
            serde_json::to_string(&manifest_annotations(&metadata)).expect("json"),
            r#"{"io.kubewarden.policy.source":"https://github.com/x/y","io.kubewarden.policy.title":"tgw","io.kubewarden.policy.url":"","org.opencontainers.image.source":"https://github.com/x/y"}"#
        );
    }

    #[test]
    fn an_explicit_oci_source_is_kept() {
        let metadata: Metadata = serde_json::from_str(
            r#"{"mutating":false,"annotations":{"io.kubewarden.policy.source":"https://github.com/x/y","org.opencontainers.image.source":"https://example.net/src"}}"#,
        )
        .expect("metadata");
        assert_eq!(
            manifest_annotations(&metadata)
                .get(OCI_SOURCE_ANNOTATION)
                .map(String::as_str),
            Some("https://example.net/src")
        );
    }

    /// The manifest `kwctl push` writes for this module (policy-fetcher: `OciImageManifest::build`
    /// with the `{}` config, no top-level mediaType; oci-client: canonical JSON), byte for byte, so
    /// a signature over one push covers the other.
    #[test]
    fn manifest_bytes_and_digest_are_kwctls() {
        let metadata = r#"{"protocolVersion":"v1","rules":[],"mutating":false,"annotations":{"io.kubewarden.policy.title":"tgw-test","io.kubewarden.policy.source":"https://github.com/tenant-gateway/tenant-gateway","io.kubewarden.policy.usage":"Usage\n\nmulti-line\n"}}"#;
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        crate::wasm::append_custom_section(&mut wasm, crate::metadata::METADATA_SECTION, metadata.as_bytes());
        let annotations = read_metadata(&wasm)
            .expect("readable")
            .map(|m| manifest_annotations(&m));
        let manifest = policy_manifest(&wasm, annotations);
        let bytes = String::from_utf8(manifest_bytes(&manifest)).expect("utf-8");
        assert_eq!(bytes, EXPECTED_MANIFEST);
        assert_eq!(sha256_digest(bytes.as_bytes()), EXPECTED_DIGEST);
    }

    /// Computed independently of this crate (sha256 of the 276-byte module and of `{}`; JSON with
    /// sorted keys and no whitespace).
    const EXPECTED_MANIFEST: &str = concat!(
        r#"{"annotations":{"io.kubewarden.policy.source":"https://github.com/tenant-gateway/tenant-gateway","#,
        r#""io.kubewarden.policy.title":"tgw-test","#,
        r#""org.opencontainers.image.source":"https://github.com/tenant-gateway/tenant-gateway"},"#,
        r#""config":{"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","#,
        r#""mediaType":"application/vnd.wasm.config.v1+json","size":2},"#,
        r#""layers":[{"digest":"sha256:8248c96a0320d8410f3a09eda7641c16f43ea1dc33a4ef551927b16a19f3763b","#,
        r#""mediaType":"application/vnd.wasm.content.layer.v1+wasm","size":276}],"schemaVersion":2}"#
    );
    const EXPECTED_DIGEST: &str = "sha256:7c7ca9875418872d9ca6dcad8e52b362657f05a791ad554706ff33da419614cf";

    #[test]
    fn sources_file() {
        let mut opts = RegistryOptions::default();
        opts.add_sources_file("insecure_sources:\n  - registry.lan:5000\n")
            .expect("sources");
        assert!(matches!(opts.protocol_for("registry.lan:5000"), ClientProtocol::Http));
        assert!(matches!(opts.protocol_for("ghcr.io"), ClientProtocol::Https));
    }
}
