//! Keyed cosign signatures against Debian's `docker-registry` on loopback, through the CLI as
//! `make publish` uses it: `tgw-kwctl sign --key` writes the standard `sha256-<digest>.sig`
//! artefact and `tgw-kwctl verify -k` (kwctl's flags) accepts it. The artefact's format is checked
//! independently of our verifier: manifest and media types read with oci-client, the signature
//! checked with `openssl dgst -verify` over the payload bytes. Tampering and wrong keys fail with
//! a message saying why. Skipped (with a message) when docker-registry or openssl is missing.

mod registry;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine as _;
use oci_client::Reference;
use oci_client::client::{Config, ImageLayer};
use oci_client::manifest::OciImageManifest;
use oci_client::secrets::RegistryAuth;
use registry::{Registry, annotated_module};
use serde_json::Value;

const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
const SIGNATURE: &str = "dev.cosignproject.cosign/signature";

fn kwctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tgw-kwctl"))
        .args(args)
        .output()
        .expect("run tgw-kwctl")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn openssl(args: &[&str]) -> Output {
    Command::new("openssl").args(args).output().expect("run openssl")
}

/// An unencrypted PKCS#8 P-256 key pair as openssl writes it: (private, public) paths.
fn key_pair(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let key = dir.join(format!("{name}.key"));
    let public = dir.join(format!("{name}.pub"));
    let sec1 = dir.join(format!("{name}.sec1"));
    let s = |p: &Path| p.to_str().expect("utf8 path").to_owned();
    for args in [
        vec!["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", &s(&sec1)],
        vec!["pkcs8", "-topk8", "-nocrypt", "-in", &s(&sec1), "-out", &s(&key)],
        vec!["ec", "-in", &s(&key), "-pubout", "-out", &s(&public)],
    ] {
        let o = openssl(&args);
        assert!(o.status.success(), "openssl {args:?}: {}", stderr(&o));
    }
    (key, public)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn client() -> oci_client::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    oci_client::Client::new(oci_client::client::ClientConfig {
        protocol: oci_client::client::ClientProtocol::Http,
        ..Default::default()
    })
}

/// The signature manifest and its layers' (payload, base64 signature).
fn signature_artefact(sig_ref: &str) -> (OciImageManifest, Vec<(Vec<u8>, String)>) {
    let reference: Reference = sig_ref.parse().expect("signature reference");
    let client = client();
    runtime().block_on(async {
        let (manifest, _) = client
            .pull_image_manifest(&reference, &RegistryAuth::Anonymous)
            .await
            .expect("signature manifest");
        let mut layers = Vec::new();
        for desc in &manifest.layers {
            let mut data = Vec::new();
            client
                .pull_blob(&reference, desc, &mut data)
                .await
                .expect("payload blob");
            let sig = desc
                .annotations
                .as_ref()
                .and_then(|a| a.get(SIGNATURE))
                .cloned()
                .expect("signature annotation");
            layers.push((data, sig));
        }
        (manifest, layers)
    })
}

#[test]
fn sign_verify_and_refuse_tampering() {
    let Some(registry) = Registry::start() else { return };
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("skipping: openssl not installed");
        return;
    }
    let dir = registry.dir.clone();
    let (key, public) = key_pair(&dir, "cosign");
    let (other_key, other_public) = key_pair(&dir, "other");
    let [key, public, other_key, other_public] =
        [&key, &public, &other_key, &other_public].map(|p| p.to_str().expect("utf8").to_owned());
    let wasm_path = dir.join("policy.wasm");
    std::fs::write(&wasm_path, annotated_module()).expect("write module");
    let repo = format!("{}/policies/signed", registry.addr);
    let tag_ref = format!("registry://{repo}:v1");

    let o = kwctl(&["push", "-o", "json", wasm_path.to_str().expect("utf8"), &tag_ref]);
    assert!(o.status.success(), "{}", stderr(&o));
    let pushed: Value = serde_json::from_slice(&o.stdout).expect("push json");
    let immutable = pushed["immutable_ref"].as_str().expect("immutable_ref").to_owned();
    let digest = immutable.split_once('@').expect("digest").1.to_owned();

    // Unsigned: verification fails and says so.
    let o = kwctl(&["verify", "-k", &public, &tag_ref]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("no signatures found"), "{}", stderr(&o));

    // Sign by tag; the signature lands on sha256-<hex>.sig next to the policy.
    let o = kwctl(&["sign", "--key", &key, "-a", "env=test", "-o", "json", &tag_ref]);
    assert!(o.status.success(), "{}", stderr(&o));
    let signed: Value = serde_json::from_slice(&o.stdout).expect("sign json");
    let sig_ref = format!("{repo}:{}.sig", digest.replace(':', "-"));
    assert_eq!(signed["image"], immutable);
    assert_eq!(signed["signature"], sig_ref);

    // kwctl verify's flags: -k (all keys must match), -a KEY=VALUE; by tag and by digest.
    for uri in [tag_ref.clone(), format!("registry://{immutable}")] {
        let o = kwctl(&["verify", "-k", &public, &uri]);
        assert!(o.status.success(), "{uri}: {}", stderr(&o));
        assert!(String::from_utf8_lossy(&o.stdout).starts_with("Policy successfully verified"));
    }
    let o = kwctl(&[
        "verify",
        "--verification-key",
        &public,
        "--verification-annotation",
        "env=test",
        &tag_ref,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = kwctl(&["verify", "-k", &public, "-a", "env=prod", &tag_ref]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("lacks the annotation env=prod"), "{}", stderr(&o));
    let o = kwctl(&["verify", "-k", &other_public, &tag_ref]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains(&format!(
            "no signature of {immutable} verifies with the key {other_public}"
        )) && stderr(&o).contains("the signature does not match the payload and key"),
        "{}",
        stderr(&o)
    );
    let o = kwctl(&["verify", "-k", &public, "-k", &other_public, &tag_ref]);
    assert!(!o.status.success(), "every -k must match");

    // The artefact is cosign's, independently of our verifier.
    let (manifest, layers) = signature_artefact(&sig_ref);
    assert_eq!(
        manifest.media_type.as_deref(),
        Some("application/vnd.oci.image.manifest.v1+json")
    );
    assert_eq!(manifest.config.media_type, "application/vnd.oci.image.config.v1+json");
    assert_eq!(manifest.layers.len(), 1);
    assert_eq!(manifest.layers[0].media_type, SIMPLE_SIGNING);
    let (payload, sig_b64) = &layers[0];
    let p: Value = serde_json::from_slice(payload).expect("payload json");
    assert_eq!(
        p,
        serde_json::json!({
            "critical": {
                "identity": {"docker-reference": repo},
                "image": {"docker-manifest-digest": digest},
                "type": "cosign container image signature",
            },
            "optional": {"env": "test"},
        })
    );
    let der = base64::engine::general_purpose::STANDARD
        .decode(sig_b64)
        .expect("base64");
    std::fs::write(dir.join("payload.json"), payload).expect("payload");
    std::fs::write(dir.join("sig.der"), der).expect("sig");
    let s = |n: &str| dir.join(n).to_str().expect("utf8").to_owned();
    let o = openssl(&[
        "dgst",
        "-sha256",
        "-verify",
        &public,
        "-signature",
        &s("sig.der"),
        &s("payload.json"),
    ]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("Verified OK"),
        "openssl: {} {}",
        String::from_utf8_lossy(&o.stdout),
        stderr(&o)
    );

    // A second key adds a layer; then both keys verify together.
    let o = kwctl(&["sign", "--key", &other_key, &tag_ref]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(signature_artefact(&sig_ref).0.layers.len(), 2);
    let o = kwctl(&["verify", "-k", &public, "-k", &other_public, &tag_ref]);
    assert!(o.status.success(), "{}", stderr(&o));

    // Tampered payload (same signature annotation, payload changed): refused.
    let tampered = String::from_utf8(payload.clone())
        .expect("utf8")
        .replace("\"env\":\"test\"", "\"env\":\"prod\"");
    let layer = ImageLayer::new(
        tampered.into_bytes(),
        SIMPLE_SIGNING.to_owned(),
        Some([(SIGNATURE.to_owned(), sig_b64.clone())].into()),
    );
    let config = Config::new(
        b"{}".to_vec(),
        "application/vnd.oci.image.config.v1+json".to_owned(),
        None,
    );
    let reference: Reference = sig_ref.parse().expect("ref");
    runtime()
        .block_on(client().push(&reference, &[layer], config, &RegistryAuth::Anonymous, None))
        .expect("push tampered signature");
    let o = kwctl(&["verify", "-k", &public, &tag_ref]);
    assert!(!o.status.success(), "a tampered payload verified");
    assert!(
        stderr(&o).contains("signature 1: the signature does not match the payload and key"),
        "{}",
        stderr(&o)
    );

    // Keys: encrypted cosign keys and non-keys are refused with a clear message.
    let enc = dir.join("enc.key");
    std::fs::write(
        &enc,
        "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAA==\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n",
    )
    .expect("write");
    let o = kwctl(&["sign", "--key", enc.to_str().expect("utf8"), &tag_ref]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("encrypted private keys are not supported"),
        "{}",
        stderr(&o)
    );
    let o = kwctl(&["verify", "-k", &key, &tag_ref]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("BEGIN PUBLIC KEY"), "{}", stderr(&o));
}
