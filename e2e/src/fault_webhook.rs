//! cert-manager's admission webhook, misbehaving on purpose (issue 21, dependency faults): a real
//! HTTPS server the test (or the controller bench) runs and registers as a
//! `ValidatingWebhookConfiguration` for `cert-manager.io` Issuers and Certificates with
//! `failurePolicy: Fail`, as cert-manager's own webhook is. It answers every AdmissionReview
//! according to its [`Mode`] — refuse, hang past `timeoutSeconds`, fail, or allow — and records each
//! request (when, kind, namespace/name, operation), so a test can count the failed writes per
//! second the API server sent it and see how each object's retries are spaced.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use kube::Client;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

use crate::dataplane::pki::TestCa;

/// The name the webhook is registered under (cert-manager's own is `webhook.cert-manager.io`).
pub const WEBHOOK_NAME: &str = "webhook.cert-manager.io";
/// The message of a refusal, so a test can find it in the TenantGateway's conditions.
pub const REFUSAL: &str = "e2e: cert-manager's webhook refuses every write";

/// How the webhook answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `allowed: false` (a webhook that rejects, e.g. a broken cert-manager release).
    Refuse,
    /// Answers only after [`HANG`], well past the registration's `timeoutSeconds` (a webhook
    /// whose pod is up but stuck: the API server times out).
    Hang,
    /// Answers HTTP 503 instead of an AdmissionReview (a webhook whose pod fails behind its
    /// Service): the API server cannot call it and fails the write with a 500.
    Fail,
    /// `allowed: true` (recovered).
    Allow,
}

/// How long [`Mode::Hang`] sleeps before answering.
pub const HANG: Duration = Duration::from_secs(4);

impl Mode {
    fn code(self) -> u8 {
        match self {
            Mode::Refuse => 0,
            Mode::Hang => 1,
            Mode::Allow => 2,
            Mode::Fail => 3,
        }
    }
    fn from_code(c: u8) -> Mode {
        match c {
            0 => Mode::Refuse,
            1 => Mode::Hang,
            3 => Mode::Fail,
            _ => Mode::Allow,
        }
    }
}

/// One AdmissionReview the webhook received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub at: Instant,
    /// `Issuer` or `Certificate`.
    pub kind: String,
    /// `namespace/name`.
    pub object: String,
    /// `CREATE` or `UPDATE`.
    pub operation: String,
    /// The mode it was answered in.
    pub mode: Mode,
}

struct Shared {
    mode: AtomicU8,
    seen: Mutex<Vec<Seen>>,
}

/// A running fault webhook; stops serving when dropped (the registration stays: with nothing
/// listening every cert-manager write then fails to connect).
pub struct FaultWebhook {
    url: String,
    ca_pem: String,
    shared: Arc<Shared>,
    _stop: oneshot::Sender<()>,
}

impl FaultWebhook {
    /// Binds a free loopback port with a serving certificate from a fresh [`TestCa`] and serves
    /// in `mode` until dropped.
    pub async fn start(mode: Mode) -> Result<FaultWebhook> {
        let ca = TestCa::new()?;
        let serving = ca.issue(
            "cert-manager webhook",
            &["127.0.0.1".to_owned(), "localhost".to_owned()],
        )?;
        let mut config = serving.server_config()?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the fault webhook's port")?;
        let url = format!("https://{}/validate", listener.local_addr()?);
        let shared = Arc::new(Shared {
            mode: AtomicU8::new(mode.code()),
            seen: Mutex::new(Vec::new()),
        });
        let stop = crate::tls_server::serve(listener, Some(acceptor), Arc::clone(&shared), handle);
        Ok(FaultWebhook {
            url,
            ca_pem: ca.pem(),
            shared,
            _stop: stop,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn set_mode(&self, mode: Mode) {
        self.shared.mode.store(mode.code(), Ordering::SeqCst);
    }

    pub fn mode(&self) -> Mode {
        Mode::from_code(self.shared.mode.load(Ordering::SeqCst))
    }

    /// Every request so far, in arrival order.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Requests that arrived in `[from, to)` and were not allowed (failed writes).
    pub fn failed_between(&self, from: Instant, to: Instant) -> usize {
        self.seen()
            .iter()
            .filter(|s| s.mode != Mode::Allow && s.at >= from && s.at < to)
            .count()
    }

    /// Registers this server as `name`, a ValidatingWebhookConfiguration for CREATE and UPDATE of
    /// `cert-manager.io` issuers and certificates with `failurePolicy: Fail` and `timeout_seconds`
    /// (1-30; [`Mode::Hang`] answers after [`HANG`]).
    pub async fn register(&self, admin: &Client, name: &str, timeout_seconds: i32) -> Result<()> {
        let rules = json!([{"apiGroups": ["cert-manager.io"], "apiVersions": ["*"], "operations": ["CREATE", "UPDATE"],
                            "resources": ["issuers", "certificates"]}]);
        self.register_for(admin, name, WEBHOOK_NAME, timeout_seconds, rules)
            .await
    }

    /// Registers this server as `name`, a webhook named `webhook` for `rules` (a webhook's `rules`
    /// list), otherwise as [`FaultWebhook::register`] does.
    pub async fn register_for(
        &self,
        admin: &Client,
        name: &str,
        webhook: &str,
        timeout_seconds: i32,
        rules: Value,
    ) -> Result<()> {
        let hook: ValidatingWebhookConfiguration = serde_json::from_value(json!({
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": name},
            "webhooks": [{
                "name": webhook,
                "clientConfig": {"url": self.url, "caBundle": base64_encode(self.ca_pem.as_bytes())},
                "rules": rules,
                "failurePolicy": "Fail", "sideEffects": "None", "admissionReviewVersions": ["v1"],
                "timeoutSeconds": timeout_seconds,
            }],
        }))?;
        Api::<ValidatingWebhookConfiguration>::all(admin.clone())
            .patch(
                name,
                &PatchParams::apply("tgw-e2e-faults").force(),
                &Patch::Apply(&hook),
            )
            .await
            .with_context(|| format!("registering ValidatingWebhookConfiguration {name}"))?;
        Ok(())
    }

    /// Waits until the API server calls this webhook (its configuration is picked up
    /// asynchronously): dry-run creates of a probe Issuer in `default` until one reaches it.
    pub async fn await_active(&self, admin: &Client) -> Result<()> {
        let ar =
            ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("cert-manager.io", "v1", "Issuer"), "issuers");
        let api: Api<DynamicObject> = Api::namespaced_with(admin.clone(), "default", &ar);
        let probe: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "cert-manager.io/v1", "kind": "Issuer",
            "metadata": {"name": "fault-webhook-probe", "namespace": "default"},
            "spec": {"selfSigned": {}},
        }))?;
        let dry_run = PostParams {
            dry_run: true,
            ..Default::default()
        };
        self.await_called(|| async {
            let _ = api.create(&dry_run, &probe).await;
        })
        .await
    }

    /// Waits until the API server calls this webhook: `probe` (a dry-run write the registration
    /// covers) every 100 ms until one reaches it, for at most 30 s; then forgets what it saw.
    pub async fn await_called<F, Fut>(&self, probe: F) -> Result<()>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let before = self.seen().len();
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.seen().len() == before {
            anyhow::ensure!(
                Instant::now() < deadline,
                "the API server never called the fault webhook"
            );
            probe().await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // The probe's own (possibly hanging) request is not one of the controller's.
        self.shared.seen.lock().map(|mut s| s.clear()).ok();
        Ok(())
    }

    /// Removes the registration `name`.
    pub async fn unregister(admin: &Client, name: &str) -> Result<()> {
        Api::<ValidatingWebhookConfiguration>::all(admin.clone())
            .delete(name, &DeleteParams::default())
            .await
            .with_context(|| format!("deleting ValidatingWebhookConfiguration {name}"))?;
        Ok(())
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let at = Instant::now();
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return Ok(reply(StatusCode::BAD_REQUEST, &json!({"error": e.to_string()}))),
    };
    let review: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let request = &review["request"];
    let mode = Mode::from_code(shared.mode.load(Ordering::SeqCst));
    let text = |v: &Value| v.as_str().unwrap_or("-").to_owned();
    let seen = Seen {
        at,
        kind: text(&request["kind"]["kind"]),
        object: format!("{}/{}", text(&request["namespace"]), text(&request["name"])),
        operation: text(&request["operation"]),
        mode,
    };
    if let Ok(mut s) = shared.seen.lock() {
        s.push(seen);
    }
    let uid = request["uid"].clone();
    let response = match mode {
        Mode::Fail => {
            return Ok(reply(
                StatusCode::SERVICE_UNAVAILABLE,
                &json!({"error": "e2e: cert-manager's webhook is failing"}),
            ));
        }
        Mode::Refuse => json!({"uid": uid, "allowed": false, "status": {"code": 403, "message": REFUSAL}}),
        Mode::Hang => {
            tokio::time::sleep(HANG).await;
            json!({"uid": uid, "allowed": true})
        }
        Mode::Allow => json!({"uid": uid, "allowed": true}),
    };
    Ok(reply(
        StatusCode::OK,
        &json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response}),
    ))
}

fn reply(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}
