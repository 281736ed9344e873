//! Library-level tests of the waPC host against generated guests.

mod common;

use std::sync::{Arc, Mutex};

use common::{Guest, Payload, REQUEST, Then, Validate};
use serde_json::Value;
use tgw_runner::{AccessControl, ContextAwareResource, FnHost, HostRequest, InMemoryHost, PolicyHost, ReplayHost};

fn request() -> Value {
    tgw_runner::request::parse_request(REQUEST).expect("fixture")
}

fn settings() -> Value {
    serde_json::json!({"allowed": ["example.com"]})
}

#[test]
fn accept_and_protocol_version() {
    let policy = PolicyHost::new(&Guest::accepting().wasm()).expect("load");
    assert_eq!(policy.protocol_version().expect("pv"), "v1");
    let host = Arc::new(tgw_runner::NoClusterHost);
    let verdict = policy.validate_settings(&settings(), host.clone());
    assert!(verdict.valid);
    assert_eq!(
        policy.validate(&request(), &settings(), host).to_line(),
        r#"{"uid":"req-1","allowed":true,"auditAnnotations":null,"warnings":null}"#
    );
}

#[test]
fn validate_payload_is_request_plus_settings() {
    let guest = Guest::accepting().with_validate(Validate::HostCall {
        namespace: "capture".into(),
        operation: "payload".into(),
        payload: Payload::Request,
        then: Then::Respond(r#"{"accepted":true}"#.into()),
    });
    let policy = PolicyHost::new(&guest.wasm()).expect("load");
    let seen = Arc::new(Mutex::new(Vec::<HostRequest>::new()));
    let sink = seen.clone();
    let host = Arc::new(FnHost(move |r: &HostRequest| {
        sink.lock().expect("lock").push(r.clone());
        Ok(Vec::new())
    }));
    let out = policy.validate(&request(), &settings(), host);
    assert!(out.allowed, "{out:?}");
    let seen = seen.lock().expect("lock");
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].payload,
        serde_json::json!({"request": request(), "settings": settings()})
    );
}

#[test]
fn trap_is_an_internal_error() {
    let policy = PolicyHost::new(&Guest::accepting().with_validate(Validate::Trap).wasm()).expect("load");
    let out = policy.validate(&request(), &settings(), Arc::new(tgw_runner::NoClusterHost));
    let status = out.status.expect("status");
    assert_eq!(status.code, Some(500));
    let message = status.message.expect("message");
    assert!(message.starts_with("internal server error: "), "{message}");
    assert!(!out.allowed);
}

fn namespace_lookup_guest() -> Guest {
    Guest::accepting().with_validate(Validate::HostCall {
        namespace: "kubernetes".into(),
        operation: "get_resource".into(),
        payload: Payload::Fixed(
            r#"{"api_version":"v1","kind":"Namespace","name":"team-a","namespace":null,"disable_cache":false,"field_masks":null}"#.into(),
        ),
        then: Then::EchoHostResponse,
    })
}

fn allow_namespaces() -> AccessControl {
    AccessControl {
        context_aware_resources: [ContextAwareResource {
            api_version: "v1".into(),
            kind: "Namespace".into(),
        }]
        .into_iter()
        .collect(),
        ..AccessControl::default()
    }
}

#[test]
fn kubernetes_reads_need_the_allow_list() {
    let policy = PolicyHost::new(&namespace_lookup_guest().wasm()).expect("load");
    let out = policy.validate(&request(), &settings(), Arc::new(InMemoryHost::new()));
    let message = out.status.and_then(|s| s.message).expect("message");
    assert!(
        message.starts_with("internal server error: ")
            && message.ends_with("Policy has not been granted access to Kubernetes v1/Namespace resources. The violation has been reported."),
        "{message}"
    );
}

#[test]
fn replayed_answer_reaches_the_guest() {
    let session = r#"
- type: Exchange
  request: |
    !KubernetesGetResource
    api_version: v1
    kind: Namespace
    name: team-a
    namespace: null
    disable_cache: false
  response:
    type: Success
    payload: '{"accepted":false,"message":"from the session","code":403}'
"#;
    let mut policy = PolicyHost::new(&namespace_lookup_guest().wasm()).expect("load");
    policy.set_access_control(allow_namespaces());
    let host = Arc::new(ReplayHost::from_yaml(session).expect("session"));
    assert_eq!(
        policy.validate(&request(), &settings(), host.clone()).to_line(),
        r#"{"uid":"req-1","allowed":false,"status":{"message":"from the session","code":403},"auditAnnotations":null,"warnings":null}"#
    );
    // Second evaluation: the session is exhausted.
    let out = policy.validate(&request(), &settings(), host);
    let message = out.status.and_then(|s| s.message).expect("message");
    assert!(
        message.ends_with("the list of recorded responses is empty"),
        "{message}"
    );
}

#[test]
fn in_memory_host_and_warm_instance() {
    let mut policy = PolicyHost::new(&namespace_lookup_guest().wasm()).expect("load");
    policy.set_access_control(allow_namespaces());
    let host = Arc::new(InMemoryHost::new().with_namespace("team-a", &Default::default()));
    let instance = policy.instantiate(host).expect("instance");
    // The guest echoes the Namespace object, which is not a ValidationResponse.
    for _ in 0..3 {
        let out = instance.validate(&request(), &settings());
        let message = out.status.and_then(|s| s.message).expect("message");
        assert!(message.contains("cannot decode the policy response"), "{message}");
    }
}

#[test]
fn settings_rejection_and_logs() {
    let mut guest = Guest::accepting();
    guest.settings_response = r#"{"valid":false,"message":"allowed must not be empty"}"#.into();
    guest.log = Some(r#"{"level":"info","message":"hello from the guest"}"#.into());
    let mut policy = PolicyHost::new(&guest.wasm()).expect("load");
    let logs = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = logs.clone();
    policy.set_log_sink(Arc::new(move |p: &[u8]| {
        sink.lock().expect("lock").push(String::from_utf8_lossy(p).into_owned());
    }));
    let verdict = policy.validate_settings(&settings(), Arc::new(tgw_runner::NoClusterHost));
    assert_eq!(verdict.message.as_deref(), Some("allowed must not be empty"));
    assert!(!verdict.valid);
    policy.validate(&request(), &settings(), Arc::new(tgw_runner::NoClusterHost));
    assert_eq!(
        *logs.lock().expect("lock"),
        [r#"{"level":"info","message":"hello from the guest"}"#]
    );
}

#[test]
fn annotate_embeds_metadata_and_is_readable() {
    let wasm = Guest::accepting().wasm();
    let metadata = "rules:\n- apiGroups: [gateway.networking.k8s.io]\n  apiVersions: [v1]\n  resources: [httproutes]\n  operations: [CREATE, UPDATE]\nmutating: false\ncontextAwareResources:\n- apiVersion: v1\n  kind: Namespace\nannotations:\n  io.kubewarden.policy.title: tenant-gateway\n";
    let (annotated, embedded) =
        tgw_runner::annotate::annotate(&wasm, metadata, Some("# Usage\n\ntext\n")).expect("annotate");
    assert_eq!(embedded.protocol_version.as_deref(), Some("v1"));
    let read = tgw_runner::read_metadata(&annotated).expect("parse").expect("present");
    assert_eq!(read, embedded);
    let annotations = read.annotations.expect("annotations");
    assert_eq!(annotations["io.kubewarden.policy.usage"], "# Usage\n\ntext\n");
    assert_eq!(annotations["io.kubewarden.kwctl"], tgw_runner::TOOL_VERSION);
    // Re-annotating replaces the section and the module still runs.
    let (again, _) = tgw_runner::annotate::annotate(&annotated, metadata, None).expect("re-annotate");
    let policy = PolicyHost::new(&again).expect("load");
    assert!(
        policy
            .metadata()
            .expect("metadata")
            .annotations
            .as_ref()
            .expect("a")
            .get("io.kubewarden.policy.usage")
            .is_none()
    );
}

#[test]
fn annotate_refuses_wrong_protocol_version() {
    let mut guest = Guest::accepting();
    guest.protocol_version = "\"v2\"".into();
    let e = tgw_runner::annotate::annotate(&guest.wasm(), "mutating: false\n", None).expect_err("v2");
    assert_eq!(
        e.to_string(),
        "cannot determine the protocol version: the policy reports protocol version \"v2\", expected \"v1\""
    );
}

#[test]
fn policy_host_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PolicyHost>();
    assert_send_sync::<ReplayHost>();
    assert_send_sync::<InMemoryHost>();
    let policy = Arc::new(PolicyHost::new(&Guest::accepting().wasm()).expect("load"));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let policy = Arc::clone(&policy);
            std::thread::spawn(move || {
                policy
                    .validate(&request(), &settings(), Arc::new(tgw_runner::NoClusterHost))
                    .allowed
            })
        })
        .collect();
    for h in handles {
        assert!(h.join().expect("thread"));
    }
}

#[test]
fn endless_guest_is_interrupted_with_a_timeout() {
    let wasm = Guest::accepting().with_validate(Validate::Loop).wasm();
    let policy = PolicyHost::with_timeout(&wasm, std::time::Duration::from_millis(200)).expect("load");
    // Initialisation and settings are fast, so they still work under the deadline.
    assert!(
        policy
            .validate_settings(&settings(), Arc::new(tgw_runner::NoClusterHost))
            .valid
    );
    let started = std::time::Instant::now();
    let out = policy.validate(&request(), &settings(), Arc::new(tgw_runner::NoClusterHost));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(
        out.to_line(),
        r#"{"uid":"req-1","allowed":false,"status":{"message":"Policy execution interrupted because it exceeded the allowed execution time","code":500},"auditAnnotations":null,"warnings":null}"#
    );
    // A well-behaved module under a deadline behaves as without one.
    let ok = PolicyHost::with_timeout(&Guest::accepting().wasm(), std::time::Duration::from_secs(2)).expect("load");
    assert!(
        ok.validate(&request(), &settings(), Arc::new(tgw_runner::NoClusterHost))
            .allowed
    );
}
