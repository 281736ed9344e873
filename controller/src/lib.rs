//! tgw-controller: reconciles TenantGateways into Gateway, Issuer, Certificates, redirect route,
//! namespace labels and route status. Every decision is made by `tgw-core`
//! (`decide`, `attach::plan`, `route_status::merge_parents`, `tgw_status::compute`); this crate
//! only reads caches, compares desired with observed, and writes.
//!
//! ```text
//! watch TGW / owned / routes / namespaces ─► slim ─► index (+ filters ─► enqueue)
//!   reconcile ─► tolerant::parse ─► snapshot (own routes/namespaces) ─► core::decide ─► apply (SSA)
//! ```

pub mod app;
pub mod apply;
pub mod config;
pub mod context;
pub mod crd;
pub mod filters;
pub mod http;
pub mod index;
pub mod leader;
pub mod metrics;
pub mod reconcile;
pub mod resources;
pub mod retries;
pub mod run;
pub mod slim;
pub mod snapshot;
pub mod tolerant;
pub mod uninstall;

/// Errors of one reconcile step; the text ends up in the matching condition.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "{kind} {namespace}/{name} exists but is not owned by TenantGateway {tgw}; refusing to take over (delete it manually if you want the controller to manage it)"
    )]
    Foreign {
        kind: &'static str,
        namespace: String,
        name: String,
        tgw: String,
    },
    #[error("{action} {kind} {namespace}/{name}: {}", kube_message(source))]
    Kube {
        action: &'static str,
        kind: &'static str,
        namespace: String,
        name: String,
        #[source]
        source: Box<kube::Error>,
    },
    /// A step that stopped at an outage (see [`Error::is_outage`]), leaving `left` writes of the
    /// same kind for the retry.
    #[error("{first} ({left} more {kind} write(s) left for the retry: the same outage would fail them)")]
    Stopped {
        first: Box<Error>,
        left: usize,
        kind: &'static str,
    },
    #[error("render {kind}: {0}", kind = .1)]
    Render(tgw_core::render::RenderError, &'static str),
    #[error("{0} step(s) failed")]
    Steps(usize),
    #[error("discovery: {0}")]
    Discovery(String),
    #[error("{0}")]
    Other(String),
    #[error("TenantGateway has no namespace/uid")]
    MissingMeta,
}

impl Error {
    /// Whether this failure says that something the write depends on is out, not that the object
    /// is wrong: the API server failing, unavailable, throttling or timing out (500, 503, 429,
    /// 504; a 500 is also what it answers when it cannot call an admission webhook with
    /// `failurePolicy: Fail`: unreachable, timing out or answering with an error), or the
    /// connection to it failing. The next write of the same kind in the same pass would fail the
    /// same way, so a step stops at the first one and leaves the rest to the TenantGateway's retry
    /// (with backoff). A refusal of one object (a webhook denying it, 403, 409, 422, ...) is not
    /// an outage: the step goes on with the other objects.
    pub fn is_outage(&self) -> bool {
        match self {
            Error::Kube { source, .. } => kube_outage(source),
            Error::Stopped { .. } => true,
            _ => false,
        }
    }

    pub fn kube(action: &'static str, kind: &'static str, ns: &str, name: &str, source: kube::Error) -> Self {
        Error::Kube {
            action,
            kind,
            namespace: ns.to_owned(),
            name: name.to_owned(),
            source: Box::new(source),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// [`Error::is_outage`] of a kube error.
pub fn kube_outage(e: &kube::Error) -> bool {
    match e {
        // etcd's "request is too large" (a 500 on some versions) is about this object.
        kube::Error::Api(s) => matches!(s.code, 429 | 500 | 503 | 504) && !s.message.contains("too large"),
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

/// A kube error as an operator reads it: for a response from the API server its code, reason and
/// own message (`500 InternalError: Internal error occurred: failed calling webhook …`), where
/// kube-client's Display repeats the message and adds the whole Status in Debug form; any other
/// error (transport, decoding) as kube-client words it.
pub fn kube_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) if s.reason.is_empty() => format!("{}: {}", s.code, s.message),
        kube::Error::Api(s) => format!("{} {}: {}", s.code, s.reason, s.message),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::Error;
    use kube::core::Status;

    fn api(code: u16, reason: &str, message: &str) -> Error {
        let status = Status::failure(message, reason).with_code(code);
        Error::kube(
            "apply",
            "certificate",
            "tenant-a",
            "tenant-a-gateway",
            kube::Error::Api(status.boxed()),
        )
    }

    #[test]
    fn an_outage_is_a_dependency_out_not_a_refusal_of_one_object() {
        let cases = [
            (
                "a webhook the API server cannot call",
                api(
                    500,
                    "InternalError",
                    r#"Internal error occurred: failed calling webhook "webhook.cert-manager.io": failed to call webhook: Post "https://cert-manager-webhook.cert-manager.svc:443/validate": context deadline exceeded"#,
                ),
                true,
            ),
            (
                "etcd timing out",
                api(500, "InternalError", "etcdserver: request timed out"),
                true,
            ),
            (
                "the API server unavailable",
                api(
                    503,
                    "ServiceUnavailable",
                    "the server is currently unable to handle the request",
                ),
                true,
            ),
            (
                "the API server throttling",
                api(429, "TooManyRequests", "too many requests"),
                true,
            ),
            (
                "a gateway timeout",
                api(
                    504,
                    "Timeout",
                    "the server was unable to return a response in the time allotted",
                ),
                true,
            ),
            (
                "a webhook denying the object",
                api(
                    403,
                    "Forbidden",
                    r#"admission webhook "webhook.cert-manager.io" denied the request: spec.dnsNames: invalid"#,
                ),
                false,
            ),
            (
                "an object etcd cannot hold",
                api(500, "InternalError", "etcdserver: request is too large"),
                false,
            ),
            (
                "an invalid object",
                api(422, "Invalid", "spec.dnsNames[0]: Invalid value"),
                false,
            ),
            (
                "a conflict",
                api(409, "Conflict", "the object has been modified"),
                false,
            ),
            (
                "an object owned by someone else",
                Error::Foreign {
                    kind: "certificate",
                    namespace: "tenant-a".into(),
                    name: "tenant-a-gateway".into(),
                    tgw: "cozystack".into(),
                },
                false,
            ),
        ];
        for (name, error, outage) in cases {
            assert_eq!(error.is_outage(), outage, "{name}: {error}");
        }
    }

    #[test]
    fn a_stopped_step_names_the_first_failure_and_what_it_left() {
        let first = api(500, "InternalError", "etcdserver: request timed out");
        let first_text = first.to_string();
        let stopped = Error::Stopped {
            first: Box::new(first),
            left: 3,
            kind: "certificate",
        };
        assert!(stopped.is_outage());
        assert_eq!(
            stopped.to_string(),
            format!("{first_text} (3 more certificate write(s) left for the retry: the same outage would fail them)")
        );
        assert_eq!(
            first_text,
            "apply certificate tenant-a/tenant-a-gateway: 500 InternalError: etcdserver: request timed out"
        );
    }
}
