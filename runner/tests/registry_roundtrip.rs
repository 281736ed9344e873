//! Push/pull round trip against Debian's `docker-registry` on loopback.
//! Skipped (with a message) when /usr/bin/docker-registry is missing.

mod registry;

use std::process::Command;

use registry::{Registry, annotated_module};
use tgw_runner::push::{RegistryOptions, pull, push};

#[test]
fn push_then_pull_by_tag_and_digest() {
    let Some(registry) = Registry::start() else { return };
    let wasm = annotated_module();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let opts = RegistryOptions::default();
    let tag_ref = format!("registry://{}/policies/tgw:v0.1.0", registry.addr);

    let immutable = rt.block_on(push(&wasm, &tag_ref, false, &opts)).expect("push");
    let prefix = format!("{}/policies/tgw@sha256:", registry.addr);
    assert!(immutable.starts_with(&prefix), "{immutable}");

    let by_tag = rt.block_on(pull(&tag_ref, &opts)).expect("pull by tag");
    assert_eq!(by_tag.wasm, wasm);
    assert_eq!(by_tag.config, b"{}");
    assert_eq!(by_tag.config_media_type, "application/vnd.wasm.config.v1+json");
    let manifest = by_tag.manifest.expect("manifest");
    assert_eq!(manifest.schema_version, 2);
    // Like kwctl: no top-level mediaType (the Content-Type header carries it).
    assert_eq!(manifest.media_type, None);
    assert_eq!(manifest.config.media_type, "application/vnd.wasm.config.v1+json");
    assert_eq!(manifest.layers.len(), 1);
    assert_eq!(
        manifest.layers[0].media_type,
        "application/vnd.wasm.content.layer.v1+wasm"
    );
    let metadata = tgw_runner::read_metadata(&wasm).expect("metadata").expect("annotated");
    assert_eq!(
        manifest.annotations,
        Some(tgw_runner::push::manifest_annotations(&metadata))
    );
    if std::env::var_os("TGW_POLICY_WASM").is_none() {
        let annotations = manifest.annotations.expect("annotations");
        assert_eq!(
            serde_json::to_string(&annotations).expect("json"),
            r#"{"io.kubewarden.policy.description":"padded","io.kubewarden.policy.source":"https://github.com/tenant-gateway/tenant-gateway","io.kubewarden.policy.title":"tgw-test","org.opencontainers.image.source":"https://github.com/tenant-gateway/tenant-gateway"}"#
        );
    }

    // The registry stores exactly the manifest kwctl would have written for this module.
    let expected = tgw_runner::push::policy_manifest(&wasm, Some(tgw_runner::push::manifest_annotations(&metadata)));
    assert_eq!(
        immutable.split('@').nth(1),
        Some(tgw_runner::push::sha256_digest(&tgw_runner::push::manifest_bytes(&expected)).as_str())
    );

    let digest_ref = format!("registry://{immutable}");
    let by_digest = rt.block_on(pull(&digest_ref, &opts)).expect("pull by digest");
    assert_eq!(by_digest.wasm, wasm);
    assert_eq!(by_digest.digest.as_deref(), immutable.split('@').nth(1));

    // Unannotated modules need --force.
    let bare = b"\0asm\x01\0\0\0".to_vec();
    let bare_ref = format!("registry://{}/policies/bare:v1", registry.addr);
    let err = rt.block_on(push(&bare, &bare_ref, false, &opts)).expect_err("refused");
    assert!(err.to_string().contains("not annotated"), "{err}");
    rt.block_on(push(&bare, &bare_ref, true, &opts)).expect("forced push");
}

#[test]
fn cli_push_json_and_pull() {
    let Some(registry) = Registry::start() else { return };
    let wasm = annotated_module();
    let dir = registry.dir.clone();
    let input = dir.join("in.wasm");
    std::fs::write(&input, &wasm).expect("write");
    let reference = format!("registry://{}/policies/cli:latest", registry.addr);
    let out = Command::new(env!("CARGO_BIN_EXE_tgw-kwctl"))
        .args(["push", "-o", "json"])
        .arg(&input)
        .arg(&reference)
        .output()
        .expect("push");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json output");
    let immutable = json["immutable_ref"].as_str().expect("immutable_ref");
    assert!(
        immutable.starts_with(&format!("{}/policies/cli@sha256:", registry.addr)),
        "{immutable}"
    );
    assert_eq!(json.as_object().map(|o| o.len()), Some(1));

    let pulled = dir.join("pulled.wasm");
    let out = Command::new(env!("CARGO_BIN_EXE_tgw-kwctl"))
        .args(["pull", &format!("registry://{immutable}"), "-o"])
        .arg(&pulled)
        .output()
        .expect("pull");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read(&pulled).expect("read"), wasm);
}
