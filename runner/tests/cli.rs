//! End-to-end tests of the `tgw-kwctl` binary (kwctl-compatible surface).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{Guest, Payload, REQUEST, Then, Validate};

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("tgw-kwctl-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self(dir)
    }
    fn write(&self, name: &str, data: impl AsRef<[u8]>) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, data).expect("write");
        path.to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn kwctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tgw-kwctl"))
        .args(args)
        .output()
        .expect("spawn")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const METADATA: &str = "rules:\n- apiGroups: [gateway.networking.k8s.io]\n  apiVersions: [v1]\n  resources: [httproutes]\n  operations: [CREATE]\nmutating: true\ncontextAwareResources:\n- apiVersion: v1\n  kind: Namespace\n";

#[test]
fn reject_accept_and_flag_positions() {
    let dir = TempDir::new("basic");
    let guest = Guest::accepting().with_validate(Validate::Respond(
        r#"{"accepted":false,"message":"hostname a.example.com is taken","code":null,"mutated_object":null,"audit_annotations":null,"warnings":null}"#.into(),
    ));
    let wasm = dir.write("policy.wasm", guest.wasm());
    let req = dir.write("req.json", REQUEST);
    let expected = "{\"uid\":\"req-1\",\"allowed\":false,\"status\":{\"message\":\"hostname a.example.com is taken\"},\"auditAnnotations\":null,\"warnings\":null}\n";
    let out = kwctl(&["run", &wasm, "-r", &req]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), expected);
    let file_uri = format!("file://{wasm}");
    let out = kwctl(&[
        "run",
        "--request-path",
        &req,
        "--disable-wasmtime-cache",
        "--settings-json",
        "{}",
        &file_uri,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), expected);
    // AdmissionReview + stdin
    let review = format!(r#"{{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{REQUEST}}}"#);
    let mut child = Command::new(env!("CARGO_BIN_EXE_tgw-kwctl"))
        .args(["run", &wasm, "-r", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), review.as_bytes()).expect("feed");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(stdout(&out), expected, "{}", stderr(&out));
}

#[test]
fn cli_level_errors_exit_non_zero() {
    let dir = TempDir::new("errors");
    let mut guest = Guest::accepting();
    guest.settings_response = r#"{"valid":false,"message":"allowedHostnames is required"}"#.into();
    let wasm = dir.write("policy.wasm", guest.wasm());
    let req = dir.write("req.json", REQUEST);
    let out = kwctl(&["run", &wasm, "-r", &req]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("Provided settings are not valid: allowedHostnames is required"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());

    let ok = dir.write("ok.wasm", Guest::accepting().wasm());
    let out = kwctl(&["run", &ok, "-r", &req, "--settings-json", "[1]"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let bad_req = dir.write("bad.json", r#"{"uid":"x"}"#);
    let out = kwctl(&["run", &ok, "-r", &bad_req]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("invalid request: missing field `operation`"),
        "{}",
        stderr(&out)
    );
    let out = kwctl(&["run", &ok, "-r", &req, "--what"]);
    assert_eq!(out.status.code(), Some(2));
    let out = kwctl(&["run", "/nonexistent.wasm", "-r", &req]);
    assert_eq!(out.status.code(), Some(1));
    let settings = dir.write("s.yaml", "allowed:\n  - example.com\n");
    let out = kwctl(&["run", &ok, "-r", &req, "-s", &settings]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = kwctl(&["run", &ok, "-r", &req, "-s", &settings, "--settings-json", "{}"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn mutation_prints_a_jsonpatch() {
    let dir = TempDir::new("mutate");
    let mut object: serde_json::Value = serde_json::from_str(REQUEST).expect("fixture");
    let mutated = {
        let o = &mut object["object"];
        o["metadata"]["labels"] = serde_json::json!({"tenant": "team-a"});
        o.clone()
    };
    let guest = Guest::accepting().with_validate(Validate::Respond(
        serde_json::json!({"accepted": true, "mutated_object": mutated}).to_string(),
    ));
    let wasm = dir.write("policy.wasm", guest.wasm());
    let req = dir.write("req.json", REQUEST);
    let out = kwctl(&["run", &wasm, "-r", &req]);
    assert!(out.status.success(), "{}", stderr(&out));
    let line: serde_json::Value = serde_json::from_str(stdout(&out).trim()).expect("json");
    assert_eq!(line["patchType"], "JSONPatch");
    let patch = base64_decode(line["patch"].as_str().expect("patch"));
    assert_eq!(
        patch,
        r#"[{"op":"add","path":"/metadata/labels","value":{"tenant":"team-a"}}]"#
    );
}

fn base64_decode(s: &str) -> String {
    use base64::Engine as _;
    String::from_utf8(base64::engine::general_purpose::STANDARD.decode(s).expect("b64")).expect("utf8")
}

#[test]
fn context_aware_with_replay() {
    let dir = TempDir::new("ctx");
    let guest = Guest::accepting().with_validate(Validate::HostCall {
        namespace: "kubernetes".into(),
        operation: "get_resource".into(),
        payload: Payload::Fixed(
            r#"{"api_version":"v1","kind":"Namespace","name":"team-a","namespace":null,"disable_cache":false,"field_masks":null}"#.into(),
        ),
        then: Then::EchoHostResponse,
    });
    let plain = dir.write("plain.wasm", guest.wasm());
    let meta = dir.write("metadata.yml", METADATA);
    let annotated = dir.0.join("annotated.wasm").to_string_lossy().into_owned();
    let out = kwctl(&["annotate", &plain, "-m", &meta, "-o", &annotated]);
    assert!(out.status.success(), "{}", stderr(&out));
    let req = dir.write("req.json", REQUEST);
    let session = dir.write(
        "session.yml",
        "- type: Exchange\n  request: |\n    !KubernetesGetResource\n    api_version: v1\n    kind: Namespace\n    name: team-a\n    namespace: null\n    disable_cache: false\n  response:\n    type: Success\n    payload: '{\"accepted\":true}'\n",
    );
    let missing = dir.write(
        "missing.yml",
        "- type: Exchange\n  request: |\n    !KubernetesGetResource\n    api_version: v1\n    kind: Namespace\n    name: team-a\n    namespace: null\n    disable_cache: false\n  response:\n    type: Error\n    message: Cannot find v1/Namespace named 'team-a'\n",
    );

    let out = kwctl(&[
        "run",
        &annotated,
        "-r",
        &req,
        "--allow-context-aware",
        "--replay-host-capabilities-interactions",
        &session,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "{\"uid\":\"req-1\",\"allowed\":true,\"auditAnnotations\":null,\"warnings\":null}\n"
    );

    let out = kwctl(&[
        "run",
        &annotated,
        "-r",
        &req,
        "--allow-context-aware",
        "--replay-host-capabilities-interactions",
        &missing,
    ]);
    assert!(out.status.success());
    let line = stdout(&out);
    assert!(
        line.contains(r#""allowed":false"#) && line.contains(r#""code":500"#),
        "{line}"
    );
    assert!(line.contains("Cannot find v1/Namespace named 'team-a'"), "{line}");

    // Without --allow-context-aware: denied by the allow-list, and a warning.
    let out = kwctl(&[
        "run",
        &annotated,
        "-r",
        &req,
        "--replay-host-capabilities-interactions",
        &session,
    ]);
    assert!(out.status.success());
    assert!(stdout(&out).contains(
        "Policy has not been granted access to Kubernetes v1/Namespace resources. The violation has been reported."
    ));
    assert!(stderr(&out).contains("--allow-context-aware"), "{}", stderr(&out));

    // No session at all: a clear failed host call.
    let out = kwctl(&["run", &annotated, "-r", &req, "--allow-context-aware"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("no live Kubernetes/OCI mode"), "{}", stdout(&out));

    // Capability pattern that excludes kubernetes.
    let out = kwctl(&[
        "run",
        &annotated,
        "-r",
        &req,
        "--allow-context-aware",
        "--allowed-host-capabilities",
        "oci/*",
        "--replay-host-capabilities-interactions",
        &session,
    ]);
    assert!(
        stdout(&out).contains("Policy has not been granted access to the 'kubernetes/get_resource' host capability."),
        "{}",
        stdout(&out)
    );

    // Unparsable session: CLI-level error.
    let broken = dir.write("broken.yml", "- type: Exchange\n  request: 3\n");
    let out = kwctl(&[
        "run",
        &annotated,
        "-r",
        &req,
        "--replay-host-capabilities-interactions",
        &broken,
    ]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn annotate_reports_the_bad_field() {
    let dir = TempDir::new("annotate");
    let wasm = dir.write("p.wasm", Guest::accepting().wasm());
    let meta = dir.write(
        "metadata.yml",
        "mutating: false\nrules:\n- apiGroups: ['']\n  apiVersions: [v1]\n  resources: [pods]\n  operations: [PATCH]\n",
    );
    let out_path = dir.0.join("o.wasm");
    let out = kwctl(&["annotate", &wasm, "-m", &meta, "-o", &out_path.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("rules[0].operations: \"PATCH\" is not a valid operation"),
        "{}",
        stderr(&out)
    );
    assert!(!Path::new(&out_path).exists());
}

/// `inspect` shows what `kwctl inspect` shows of the real annotated policy (`make test-runner` sets
/// TGW_POLICY_WASM): the details, the rules and the short usage text from policy/metadata.yml.
#[test]
fn inspect_shows_the_policy_usage() {
    let Ok(path) = std::env::var("TGW_POLICY_WASM") else {
        eprintln!("skipping: TGW_POLICY_WASM is not set");
        return;
    };
    let out = kwctl(&["inspect", &path]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for want in [
        "Details\ntitle:",
        "tenant-gateway-hostnames",
        "protocol version: v1",
        "\nRules\n- apiGroups:",
        "\nUsage\n# tenant-gateway-hostnames\n",
        "| `tenantNamespacePrefix` | `tenant-` |",
        "https://github.com/tenant-gateway/tenant-gateway#the-admission-policy",
    ] {
        assert!(text.contains(want), "inspect output lacks {want:?}:\n{text}");
    }
    let usage = &text[text.find("\nUsage\n").expect("usage section")..];
    assert!(
        usage.len() < 6_000,
        "the usage text is {} bytes; keep it short",
        usage.len()
    );
    let yaml = kwctl(&["inspect", &path, "-o", "yaml"]);
    assert!(yaml.status.success(), "{}", stderr(&yaml));
    assert!(
        stdout(&yaml).contains("io.kubewarden.policy.usage:"),
        "{}",
        stdout(&yaml)
    );

    let dir = TempDir::new("inspect");
    let bare = dir.write("bare.wasm", b"\0asm\x01\0\0\0");
    let out = kwctl(&["inspect", &bare]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("No Kubewarden metadata found inside of"),
        "{}",
        stderr(&out)
    );
    assert_eq!(kwctl(&["inspect", &path, "-o", "json"]).status.code(), Some(2));
}
