//! Tiny hand-written waPC guests (WAT) standing in for real policies.
#![allow(dead_code)]

/// Where `validate` gets the host-call payload from.
pub enum Payload {
    Fixed(String),
    /// Forward the whole `validate` payload (request + settings).
    Request,
}

/// What `validate` does after an optional host call.
pub enum Then {
    Respond(String),
    /// Answer with the host call's response bytes.
    EchoHostResponse,
}

pub enum Validate {
    Respond(String),
    Trap,
    /// Spins forever.
    Loop,
    HostCall {
        namespace: String,
        operation: String,
        payload: Payload,
        then: Then,
    },
}

pub struct Guest {
    pub protocol_version: String,
    pub settings_response: String,
    pub log: Option<String>,
    pub validate: Validate,
}

impl Guest {
    pub fn accepting() -> Self {
        Self {
            protocol_version: "\"v1\"".into(),
            settings_response: r#"{"valid":true,"message":null}"#.into(),
            log: None,
            validate: Validate::Respond(
                r#"{"accepted":true,"message":null,"code":null,"mutated_object":null,"audit_annotations":null,"warnings":null}"#.into(),
            ),
        }
    }

    pub fn with_validate(mut self, v: Validate) -> Self {
        self.validate = v;
        self
    }

    pub fn wasm(&self) -> Vec<u8> {
        wat::parse_str(self.wat()).expect("generated WAT must compile")
    }

    pub fn wat(&self) -> String {
        let mut data = Data::default();
        let pv = data.add(&self.protocol_version);
        let vs = data.add(&self.settings_response);
        let binding = data.add("kubewarden");
        let log = self
            .log
            .as_ref()
            .map(|l| (data.add("tracing"), data.add("log"), data.add(l)));
        let body = match &self.validate {
            Validate::Respond(r) => {
                let (o, l) = data.add(r);
                format!("(call $guest_response (i32.const {o}) (i32.const {l})) (i32.const 1)")
            }
            Validate::Trap => "unreachable".to_owned(),
            Validate::Loop => "(loop $spin (br $spin)) (i32.const 0)".to_owned(),
            Validate::HostCall {
                namespace,
                operation,
                payload,
                then,
            } => {
                let (no, nl) = data.add(namespace);
                let (oo, ol) = data.add(operation);
                let (po, pl) = match payload {
                    Payload::Fixed(p) => {
                        let (o, l) = data.add(p);
                        (format!("(i32.const {o})"), format!("(i32.const {l})"))
                    }
                    Payload::Request => ("(i32.const 131072)".to_owned(), "(local.get $req_len)".to_owned()),
                };
                let respond = match then {
                    Then::Respond(r) => {
                        let (o, l) = data.add(r);
                        format!("(call $guest_response (i32.const {o}) (i32.const {l}))")
                    }
                    Then::EchoHostResponse => "(call $host_response (i32.const 65536)) \
                         (call $guest_response (i32.const 65536) (call $host_response_len))"
                        .to_owned(),
                };
                format!(
                    "(if (i32.eqz (call $host_call (i32.const {bo}) (i32.const {bl}) (i32.const {no}) (i32.const {nl}) \
                        (i32.const {oo}) (i32.const {ol}) {po} {pl}))
                       (then (call $host_error (i32.const 65536))
                             (call $guest_error (i32.const 65536) (call $host_error_len))
                             (return (i32.const 0))))
                     {respond} (i32.const 1)",
                    bo = binding.0,
                    bl = binding.1,
                )
            }
        };
        let log_call = log
            .map(|((no, nl), (oo, ol), (po, pl))| {
                format!(
                    "(drop (call $host_call (i32.const {}) (i32.const {}) (i32.const {no}) (i32.const {nl}) (i32.const {oo}) (i32.const {ol}) (i32.const {po}) (i32.const {pl})))",
                    binding.0, binding.1
                )
            })
            .unwrap_or_default();
        format!(
            r#"(module
  (import "wapc" "__guest_request" (func $guest_request (param i32 i32)))
  (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
  (import "wapc" "__guest_error" (func $guest_error (param i32 i32)))
  (import "wapc" "__host_call" (func $host_call (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wapc" "__host_response_len" (func $host_response_len (result i32)))
  (import "wapc" "__host_response" (func $host_response (param i32)))
  (import "wapc" "__host_error_len" (func $host_error_len (result i32)))
  (import "wapc" "__host_error" (func $host_error (param i32)))
  (memory (export "memory") 4)
  {segments}
  (func (export "wapc_init"))
  (func (export "__guest_call") (param $op_len i32) (param $req_len i32) (result i32)
    (call $guest_request (i32.const 0) (i32.const 131072))
    (if (i32.eq (local.get $op_len) (i32.const 16))
      (then (call $guest_response (i32.const {pvo}) (i32.const {pvl})) (return (i32.const 1))))
    (if (i32.eq (local.get $op_len) (i32.const 17))
      (then (call $guest_response (i32.const {vso}) (i32.const {vsl})) (return (i32.const 1))))
    {log_call}
    {body}))"#,
            segments = data.segments,
            pvo = pv.0,
            pvl = pv.1,
            vso = vs.0,
            vsl = vs.1,
        )
    }
}

/// Static strings laid out from offset 256 (the op name goes at 0).
struct Data {
    next: usize,
    segments: String,
}

impl Default for Data {
    fn default() -> Self {
        Self {
            next: 256,
            segments: String::new(),
        }
    }
}

impl Data {
    fn add(&mut self, s: &str) -> (usize, usize) {
        let offset = self.next;
        let escaped: String = s.bytes().map(|b| format!("\\{b:02x}")).collect();
        self.segments
            .push_str(&format!("(data (i32.const {offset}) \"{escaped}\")\n  "));
        self.next += s.len();
        assert!(self.next < 65536, "test strings too large");
        (offset, s.len())
    }
}

/// A request fixture shaped like the template's.
pub const REQUEST: &str = r#"{"uid":"req-1","kind":{"group":"gateway.networking.k8s.io","version":"v1","kind":"HTTPRoute"},"resource":{"group":"gateway.networking.k8s.io","version":"v1","resource":"httproutes"},"operation":"CREATE","namespace":"team-a","userInfo":{"username":"alice"},"object":{"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute","metadata":{"name":"r","namespace":"team-a"},"spec":{"hostnames":["a.example.com"]}}}"#;
