//! `push` / `pull` of Kubewarden policy OCI artifacts.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::manifest::{OCI_IMAGE_MEDIA_TYPE, OciImageManifest, WASM_CONFIG_MEDIA_TYPE, WASM_LAYER_MEDIA_TYPE};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

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

/// Manifest annotations kwctl derives from the metadata: single-line values
/// only (trimmed), plus the OCI source copied from the policy source.
pub fn manifest_annotations(metadata: &Metadata) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, v) in metadata.annotations.iter().flatten() {
        let v = v.trim();
        if !v.contains('\n') {
            out.insert(k.clone(), v.to_owned());
        }
    }
    if let Some(source) = out.get(ANNOTATION_SOURCE).cloned() {
        out.insert(OCI_SOURCE_ANNOTATION.to_owned(), source);
    }
    out
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
    let layers = [ImageLayer::new(wasm.to_vec(), WASM_LAYER_MEDIA_TYPE.to_owned(), None)];
    let config = Config::new(b"{}".to_vec(), WASM_CONFIG_MEDIA_TYPE.to_owned(), None);
    let mut manifest = OciImageManifest::build(&layers, &config, annotations);
    manifest.media_type = Some(OCI_IMAGE_MEDIA_TYPE.to_owned());
    let client = client_for(&reference, opts);
    let auth = RegistryAuth::Anonymous;
    client
        .push(&reference, &layers, config, &auth, Some(manifest))
        .await
        .map_err(|e| registry_error("push to", &reference, e))?;
    let digest = client
        .fetch_manifest_digest(&reference, &auth)
        .await
        .map_err(|e| registry_error("read the digest of", &reference, e))?;
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
    fn annotations_drop_multiline_and_copy_source() {
        let metadata: Metadata = serde_json::from_str(
            r#"{"mutating":false,"annotations":{"io.kubewarden.policy.usage":"line 1\nline 2\n","io.kubewarden.policy.title":" tgw \n","io.kubewarden.policy.source":"https://github.com/x/y"}}"#,
        )
        .expect("metadata");
        assert_eq!(
            serde_json::to_string(&manifest_annotations(&metadata)).expect("json"),
            r#"{"io.kubewarden.policy.source":"https://github.com/x/y","io.kubewarden.policy.title":"tgw","org.opencontainers.image.source":"https://github.com/x/y"}"#
        );
    }

    #[test]
    fn sources_file() {
        let mut opts = RegistryOptions::default();
        opts.add_sources_file("insecure_sources:\n  - registry.lan:5000\n")
            .expect("sources");
        assert!(matches!(opts.protocol_for("registry.lan:5000"), ClientProtocol::Http));
        assert!(matches!(opts.protocol_for("ghcr.io"), ClientProtocol::Https));
    }
}
