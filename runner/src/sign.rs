//! Keyed cosign signatures of policy artifacts (`sign`, `verify`), in the format `kwctl verify`
//! and policy-server check (sigstore "simple signing"):
//!
//! * the signature of `<registry>/<repo>@sha256:<hex>` is the tag `sha256-<hex>.sig` in the same
//!   repository: an OCI image manifest with one layer per signature;
//! * each layer (media type [`SIMPLE_SIGNING_MEDIA_TYPE`]) is the JSON payload naming the
//!   signed manifest digest, and carries the annotation [`SIGNATURE_ANNOTATION`]: the base64 of
//!   an ASN.1 DER ECDSA P-256 / SHA-256 signature over the payload bytes;
//! * keys are PEM: the public key `-----BEGIN PUBLIC KEY-----` (what `cosign generate-key-pair`
//!   writes as `cosign.pub`), the private key unencrypted PKCS#8 (`-----BEGIN PRIVATE KEY-----`)
//!   or SEC1 (`-----BEGIN EC PRIVATE KEY-----`), e.g. from openssl. Cosign's own encrypted
//!   `ENCRYPTED SIGSTORE PRIVATE KEY` is not read: sign with cosign itself in that case, the
//!   result is the same artefact.
//!
//! Pure parts (payload, tag, checks) are separate from the registry I/O.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use oci_client::Reference;
use oci_client::client::{Config, ImageLayer};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::manifest::{OCI_IMAGE_MEDIA_TYPE, OciImageManifest};
use oci_client::secrets::RegistryAuth;
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{DerSignature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _};
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};
use crate::push::{RegistryOptions, client_for, parse_reference};

/// Media type of a simple-signing payload layer.
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// Layer annotation holding the base64 signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// The payload's `critical.type`.
pub const PAYLOAD_TYPE: &str = "cosign container image signature";
/// Config media type of the signature manifest (as cosign writes it).
const CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";

/// `sha256:<hex>` → `sha256-<hex>.sig`.
pub fn signature_tag(digest: &str) -> Result<String> {
    let hex = digest
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit()))
        .ok_or_else(|| Error::Signature(format!("not a sha256 manifest digest: {digest:?}")))?;
    Ok(format!("sha256-{hex}.sig"))
}

/// The simple-signing payload for `docker_reference` (`<registry>/<repo>`) at `digest`, with
/// optional annotations (`optional` is `null` without them, as cosign writes it).
pub fn payload(docker_reference: &str, digest: &str, annotations: &BTreeMap<String, String>) -> Vec<u8> {
    let optional = if annotations.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::json!(annotations)
    };
    serde_json::json!({
        "critical": {
            "identity": {"docker-reference": docker_reference},
            "image": {"docker-manifest-digest": digest},
            "type": PAYLOAD_TYPE,
        },
        "optional": optional,
    })
    .to_string()
    .into_bytes()
}

/// Parses `KEY=VALUE` annotation flags.
pub fn parse_annotations(flags: &[String]) -> Result<BTreeMap<String, String>> {
    flags
        .iter()
        .map(|f| match f.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
            _ => Err(Error::Signature(format!(
                "invalid annotation {f:?}: expected KEY=VALUE"
            ))),
        })
        .collect()
}

/// Reads a private key: unencrypted PKCS#8 or SEC1 PEM.
pub fn signing_key(pem: &str) -> Result<SigningKey> {
    if pem.contains("ENCRYPTED") {
        return Err(Error::Key(
            "encrypted private keys are not supported: use an unencrypted PKCS#8 PEM key (`openssl pkcs8 -topk8 -nocrypt`)"
                .into(),
        ));
    }
    SigningKey::from_pkcs8_pem(pem)
        .or_else(|_| p256::SecretKey::from_sec1_pem(pem).map(SigningKey::from))
        .map_err(|_| Error::Key("not an ECDSA P-256 private key in PKCS#8 or SEC1 PEM".into()))
}

/// Reads a public key: `-----BEGIN PUBLIC KEY-----` (SubjectPublicKeyInfo) PEM.
pub fn verifying_key(pem: &str) -> Result<VerifyingKey> {
    VerifyingKey::from_public_key_pem(pem)
        .map_err(|_| Error::Key("not an ECDSA P-256 public key in PEM (-----BEGIN PUBLIC KEY-----)".into()))
}

/// The base64 DER signature of `payload`.
pub fn sign_payload(key: &SigningKey, payload: &[u8]) -> String {
    let sig: DerSignature = key.sign(payload);
    BASE64.encode(sig.as_bytes())
}

/// Why one signature layer does not satisfy a key and the constraints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    MissingSignature,
    BadSignatureEncoding,
    SignatureMismatch,
    BadPayload(String),
    OtherImage(String),
    MissingAnnotation(String),
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejection::MissingSignature => write!(f, "no {SIGNATURE_ANNOTATION} annotation"),
            Rejection::BadSignatureEncoding => write!(f, "the signature is not base64 DER ECDSA"),
            Rejection::SignatureMismatch => write!(f, "the signature does not match the payload and key"),
            Rejection::BadPayload(e) => write!(f, "invalid simple-signing payload: {e}"),
            Rejection::OtherImage(d) => write!(f, "the payload signs {d}, not this manifest"),
            Rejection::MissingAnnotation(a) => write!(f, "the payload lacks the annotation {a}"),
        }
    }
}

/// Checks one signature layer: the signature over `payload` with `key`, then that the payload
/// names `digest` and carries every required annotation.
pub fn check_layer(
    key: &VerifyingKey,
    payload: &[u8],
    signature_b64: Option<&str>,
    digest: &str,
    required: &BTreeMap<String, String>,
) -> std::result::Result<(), Rejection> {
    let sig = signature_b64.ok_or(Rejection::MissingSignature)?;
    let der = BASE64.decode(sig.trim()).map_err(|_| Rejection::BadSignatureEncoding)?;
    let sig = p256::ecdsa::Signature::from_der(&der).map_err(|_| Rejection::BadSignatureEncoding)?;
    key.verify(payload, &sig).map_err(|_| Rejection::SignatureMismatch)?;
    #[derive(serde::Deserialize)]
    struct Payload {
        critical: Critical,
        #[serde(default)]
        optional: Option<BTreeMap<String, serde_json::Value>>,
    }
    #[derive(serde::Deserialize)]
    struct Critical {
        image: Image,
        #[serde(rename = "type")]
        kind: String,
    }
    #[derive(serde::Deserialize)]
    struct Image {
        #[serde(rename = "docker-manifest-digest")]
        digest: String,
    }
    let p: Payload = serde_json::from_slice(payload).map_err(|e| Rejection::BadPayload(e.to_string()))?;
    if p.critical.kind != PAYLOAD_TYPE {
        return Err(Rejection::BadPayload(format!("type {:?}", p.critical.kind)));
    }
    if p.critical.image.digest != digest {
        return Err(Rejection::OtherImage(p.critical.image.digest));
    }
    let optional = p.optional.unwrap_or_default();
    for (k, v) in required {
        if optional.get(k).and_then(|x| x.as_str()) != Some(v.as_str()) {
            return Err(Rejection::MissingAnnotation(format!("{k}={v}")));
        }
    }
    Ok(())
}

/// The config blob of a signature manifest (cosign's shape: one rootfs diff id per layer).
fn signature_config(layers: &[ImageLayer]) -> Vec<u8> {
    let diff_ids: Vec<String> = layers.iter().map(ImageLayer::sha256_digest).collect();
    serde_json::json!({
        "architecture": "",
        "created": "0001-01-01T00:00:00Z",
        "history": [{"created": "0001-01-01T00:00:00Z"}],
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "config": {},
    })
    .to_string()
    .into_bytes()
}

fn sha256_hex(data: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(data))
}

/// Where the artifact and its signature are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// `<registry>/<repo>@sha256:...`
    pub image: String,
    /// `<registry>/<repo>:sha256-<hex>.sig`
    pub signature: String,
}

async fn resolve_digest(client: &oci_client::Client, reference: &Reference) -> Result<String> {
    if let Some(d) = reference.digest() {
        return Ok(d.to_owned());
    }
    client
        .fetch_manifest_digest(reference, &RegistryAuth::Anonymous)
        .await
        .map_err(|e| Error::Registry(format!("cannot read the digest of {reference}: {e}")))
}

/// Whether the registry said the manifest (tag) does not exist.
fn is_not_found(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::ImageManifestNotFoundError(_) => true,
        OciDistributionError::RegistryError { envelope, .. } => envelope.errors.iter().any(|e| {
            matches!(
                e.code,
                OciErrorCode::ManifestUnknown | OciErrorCode::NotFound | OciErrorCode::NameUnknown
            )
        }),
        _ => false,
    }
}

/// Existing signature layers of `sig_ref` (none when the tag does not exist yet). Any other
/// failure stops signing, so existing signatures are never overwritten by mistake.
async fn existing_layers(client: &oci_client::Client, sig_ref: &Reference) -> Result<Vec<ImageLayer>> {
    match client
        .pull(sig_ref, &RegistryAuth::Anonymous, vec![SIMPLE_SIGNING_MEDIA_TYPE])
        .await
    {
        Ok(image) => Ok(image.layers),
        Err(e) if is_not_found(&e) => Ok(Vec::new()),
        Err(e) => Err(Error::Registry(format!(
            "cannot read the existing signatures {sig_ref}: {e}"
        ))),
    }
}

/// What signing and verifying `uri` work on: its registry client, `registry/repository`, the
/// manifest digest and the `sha256-<hex>.sig` tag next to it.
struct Target {
    client: oci_client::Client,
    repo: String,
    digest: String,
    sig_ref: Reference,
}

async fn target(uri: &str, opts: &RegistryOptions) -> Result<Target> {
    let reference = parse_reference(uri)?;
    let client = client_for(&reference, opts);
    let digest = resolve_digest(&client, &reference).await?;
    let repo = format!("{}/{}", reference.registry(), reference.repository());
    let sig_ref = Reference::with_tag(
        reference.registry().to_owned(),
        reference.repository().to_owned(),
        signature_tag(&digest)?,
    );
    Ok(Target {
        client,
        repo,
        digest,
        sig_ref,
    })
}

/// Signs the manifest `uri` points at and pushes (or extends) its `sha256-<hex>.sig` tag.
pub async fn sign(
    uri: &str,
    key: &SigningKey,
    annotations: &BTreeMap<String, String>,
    opts: &RegistryOptions,
) -> Result<Signed> {
    let Target {
        client,
        repo,
        digest,
        sig_ref,
    } = target(uri, opts).await?;
    let body = payload(&repo, &digest, annotations);
    let layer_annotations = BTreeMap::from([(SIGNATURE_ANNOTATION.to_owned(), sign_payload(key, &body))]);
    let ours = ImageLayer::new(body, SIMPLE_SIGNING_MEDIA_TYPE.to_owned(), Some(layer_annotations));
    let mut layers = existing_layers(&client, &sig_ref).await?;
    // Signing again with the same key and payload gives the same layer (RFC 6979): no duplicates.
    if !layers
        .iter()
        .any(|l| l.sha256_digest() == ours.sha256_digest() && l.annotations == ours.annotations)
    {
        layers.push(ours);
    }
    let config = Config::new(signature_config(&layers), CONFIG_MEDIA_TYPE.to_owned(), None);
    let mut manifest = OciImageManifest::build(&layers, &config, None);
    manifest.media_type = Some(OCI_IMAGE_MEDIA_TYPE.to_owned());
    client
        .push(&sig_ref, &layers, config, &RegistryAuth::Anonymous, Some(manifest))
        .await
        .map_err(|e| Error::Registry(format!("cannot push the signature {sig_ref}: {e}")))?;
    Ok(Signed {
        image: format!("{repo}@{digest}"),
        signature: sig_ref.whole(),
    })
}

/// Verifies that, for every key in `keys` (name, key), some signature of `uri` verifies and
/// carries the `required` annotations (kwctl's `-k` semantics: all keys must match).
pub async fn verify(
    uri: &str,
    keys: &[(String, VerifyingKey)],
    required: &BTreeMap<String, String>,
    opts: &RegistryOptions,
) -> Result<Signed> {
    let Target {
        client,
        repo,
        digest,
        sig_ref,
    } = target(uri, opts).await?;
    let (manifest, _) = client
        .pull_image_manifest(&sig_ref, &RegistryAuth::Anonymous)
        .await
        .map_err(|e| {
            if is_not_found(&e) {
                Error::Signature(format!("no signatures found for {repo}@{digest} (no tag {sig_ref})"))
            } else {
                Error::Registry(format!("cannot read the signatures {sig_ref}: {e}"))
            }
        })?;
    let mut layers = Vec::new();
    for desc in manifest
        .layers
        .iter()
        .filter(|d| d.media_type == SIMPLE_SIGNING_MEDIA_TYPE)
    {
        let mut data = Vec::new();
        client
            .pull_blob(&sig_ref, desc, &mut data)
            .await
            .map_err(|e| Error::Registry(format!("cannot pull {sig_ref} layer {}: {e}", desc.digest)))?;
        if sha256_hex(&data) != desc.digest {
            return Err(Error::Signature(format!(
                "layer {} of {sig_ref} does not match its digest",
                desc.digest
            )));
        }
        let sig = desc
            .annotations
            .as_ref()
            .and_then(|a| a.get(SIGNATURE_ANNOTATION))
            .cloned();
        layers.push((data, sig));
    }
    if layers.is_empty() {
        return Err(Error::Signature(format!("no signatures found for {repo}@{digest}")));
    }
    for (name, key) in keys {
        let reasons: Vec<String> = layers
            .iter()
            .enumerate()
            .filter_map(|(i, (data, sig))| {
                check_layer(key, data, sig.as_deref(), &digest, required)
                    .err()
                    .map(|r| format!("signature {}: {r}", i + 1))
            })
            .collect();
        if reasons.len() == layers.len() {
            return Err(Error::Signature(format!(
                "no signature of {repo}@{digest} verifies with the key {name} ({})",
                reasons.join("; ")
            )));
        }
    }
    Ok(Signed {
        image: format!("{repo}@{digest}"),
        signature: sig_ref.whole(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // A fixed test key (generated with openssl for these tests only).
    const KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgrwbQyOHc0vKs/Zh7
jZ9wXlhYzA9dLPaA23ghS5ODCTqhRANCAARXfbsewA5a7CgxvGHm7PFkgTFH3N/l
jhQmmrphrQCUvILcehmTNfMPuC0rRBNj0PteKXU2WgsrVhl3Y3bFLtia
-----END PRIVATE KEY-----
";

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn tag_from_digest() {
        assert_eq!(
            signature_tag(DIGEST).expect("tag"),
            "sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.sig"
        );
        assert!(signature_tag("sha256:xyz").is_err());
        assert!(signature_tag("sha512:00").is_err());
    }

    #[test]
    fn payload_is_cosign_simple_signing() {
        assert_eq!(
            String::from_utf8(payload("127.0.0.1:5000/p/tgw", DIGEST, &BTreeMap::new())).expect("utf8"),
            format!(
                r#"{{"critical":{{"identity":{{"docker-reference":"127.0.0.1:5000/p/tgw"}},"image":{{"docker-manifest-digest":"{DIGEST}"}},"type":"cosign container image signature"}},"optional":null}}"#
            )
        );
        let a = parse_annotations(&["env=prod".into()]).expect("annotations");
        let p = String::from_utf8(payload("r/p", DIGEST, &a)).expect("utf8");
        assert!(p.ends_with(r#""optional":{"env":"prod"}}"#), "{p}");
        assert!(parse_annotations(&["novalue".into()]).is_err());
    }

    #[test]
    fn checks() {
        let key = signing_key(KEY).expect("key");
        let public = *key.verifying_key();
        let other = SigningKey::from_slice(&[7u8; 32]).expect("other key");
        let none = BTreeMap::new();
        let prod = parse_annotations(&["env=prod".into()]).expect("annotations");
        let body = payload("r/p", DIGEST, &prod);
        let sig = sign_payload(&key, &body);
        let other_digest = DIGEST.replace("0123", "3210");
        // (name, payload, signature, digest checked against, required annotations, outcome)
        type Case<'a> = (
            &'a str,
            Vec<u8>,
            Option<String>,
            &'a str,
            &'a BTreeMap<String, String>,
            std::result::Result<(), Rejection>,
        );
        let cases: Vec<Case> = vec![
            ("valid", body.clone(), Some(sig.clone()), DIGEST, &none, Ok(())),
            (
                "valid with annotation",
                body.clone(),
                Some(sig.clone()),
                DIGEST,
                &prod,
                Ok(()),
            ),
            (
                "tampered payload",
                payload("r/p", &other_digest, &prod),
                Some(sig.clone()),
                DIGEST,
                &none,
                Err(Rejection::SignatureMismatch),
            ),
            (
                "wrong key",
                body.clone(),
                Some(sign_payload(&other, &body)),
                DIGEST,
                &none,
                Err(Rejection::SignatureMismatch),
            ),
            (
                "other image",
                body.clone(),
                Some(sig.clone()),
                &other_digest,
                &none,
                Err(Rejection::OtherImage(DIGEST.into())),
            ),
            (
                "missing annotation",
                payload("r/p", DIGEST, &none),
                Some(sign_payload(&key, &payload("r/p", DIGEST, &none))),
                DIGEST,
                &prod,
                Err(Rejection::MissingAnnotation("env=prod".into())),
            ),
            (
                "no signature",
                body.clone(),
                None,
                DIGEST,
                &none,
                Err(Rejection::MissingSignature),
            ),
            (
                "not base64",
                body.clone(),
                Some("!!".into()),
                DIGEST,
                &none,
                Err(Rejection::BadSignatureEncoding),
            ),
        ];
        for (name, body, sig, digest, required, want) in cases {
            assert_eq!(
                check_layer(&public, &body, sig.as_deref(), digest, required),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn keys() {
        assert!(
            signing_key("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n")
                .is_err_and(|e| e.to_string().contains("encrypted"))
        );
        assert!(verifying_key("nope").is_err_and(|e| e.to_string().contains("BEGIN PUBLIC KEY")));
        assert!(signing_key("nope").is_err());
    }
}
