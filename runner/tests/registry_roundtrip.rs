//! Push/pull round trip against Debian's `docker-registry` on loopback.
//! Skipped (with a message) when /usr/bin/docker-registry is missing.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tgw_runner::push::{RegistryOptions, pull, push};

const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

struct Registry {
    child: Child,
    dir: PathBuf,
    addr: String,
}

impl Registry {
    fn start() -> Option<Self> {
        if !std::path::Path::new(REGISTRY_BIN).exists() {
            eprintln!("skipping: {REGISTRY_BIN} not installed");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let addr = format!("127.0.0.1:{port}");
        let dir = std::env::temp_dir().join(format!("tgw-registry-{}-{port}", std::process::id()));
        std::fs::create_dir_all(dir.join("storage")).expect("storage dir");
        let config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n",
            dir.join("storage").display()
        );
        let config_path = dir.join("config.yml");
        std::fs::write(&config_path, config).expect("config");
        let child = Command::new(REGISTRY_BIN)
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start docker-registry");
        let registry = Self { child, dir, addr };
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(&registry.addr).is_err() {
            assert!(Instant::now() < deadline, "registry did not start on {}", registry.addr);
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(registry)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An annotated module: `TGW_POLICY_WASM` if set, else an empty module plus
/// a metadata section.
fn annotated_module() -> Vec<u8> {
    if let Ok(path) = std::env::var("TGW_POLICY_WASM") {
        return std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    }
    let metadata = serde_json::json!({
        "protocolVersion": "v1",
        "rules": [],
        "mutating": false,
        "annotations": {
            "io.kubewarden.policy.title": "tgw-test",
            "io.kubewarden.policy.source": "https://github.com/tenant-gateway/tenant-gateway",
            "io.kubewarden.policy.usage": "# Usage\n\nmulti-line\n",
            "io.kubewarden.policy.description": "  padded  ",
        },
    });
    let mut wasm = b"\0asm\x01\0\0\0".to_vec();
    tgw_runner::wasm::append_custom_section(&mut wasm, "io.kubewarden.metadata", metadata.to_string().as_bytes());
    wasm
}

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
    assert_eq!(
        manifest.media_type.as_deref(),
        Some("application/vnd.oci.image.manifest.v1+json")
    );
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
