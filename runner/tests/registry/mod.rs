//! A throwaway Debian `docker-registry` on loopback, and an annotated test module; shared by
//! the registry and signature round trips.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

pub struct Registry {
    child: Child,
    pub dir: PathBuf,
    pub addr: String,
}

impl Registry {
    pub fn start() -> Option<Self> {
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
pub fn annotated_module() -> Vec<u8> {
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
