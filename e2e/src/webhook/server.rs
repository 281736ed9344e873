//! The HTTPS server: `POST /validate/<policy>` takes an AdmissionReview and answers with the
//! policy's AdmissionResponse, evaluated on a blocking thread with a fresh wasm instance.

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use k8s_openapi::api::core::v1::Namespace;
use kube::{Api, Client};
use serde_json::{Value, json};
use tgw_runner::{AccessControl, ContextAwareResource, PolicyHost};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

use super::cluster_host::ClusterHost;
use super::tls;

/// A running webhook; stops when dropped.
pub struct PolicyWebhook {
    url: String,
    ca_pem: String,
    shared: Arc<Shared>,
    _stop: oneshot::Sender<()>,
}

struct Shared {
    policy: PolicyHost,
    settings: Value,
    namespaces: Api<Namespace>,
    /// Calls by `<policy> <kind> <namespace> <username>` (policy: the path segment after
    /// `/validate/`; `-` for an empty field).
    calls: Mutex<BTreeMap<String, u64>>,
    /// The distinct writes behind those calls, by the same key: the values of the
    /// [`WRITE_ANNOTATION`] the admitted object carries (calls without it are not recorded).
    writes: Mutex<BTreeMap<String, BTreeSet<String>>>,
}

/// A test that needs to tell writes from calls gives each write its own value of this annotation:
/// kube-apiserver re-runs admission, with the same new object, when an update retries against a
/// fresher copy (its watch cache lagging a write just made), so one write can mean two calls.
pub const WRITE_ANNOTATION: &str = "e2e.tenant-gateway.io/write";

impl PolicyWebhook {
    /// Compiles `wasm`, binds a free loopback port and serves until dropped. `client` answers the
    /// policy's Namespace lookups (it needs `get` on namespaces).
    pub async fn start(wasm: &[u8], settings: Value, client: Client) -> Result<PolicyWebhook> {
        let mut policy = PolicyHost::new(wasm).context("loading the policy module")?;
        let access = AccessControl {
            context_aware_resources: BTreeSet::from([ContextAwareResource {
                api_version: "v1".into(),
                kind: "Namespace".into(),
            }]),
            ..AccessControl::default()
        };
        policy.set_access_control(access);
        let shared = Arc::new(Shared {
            policy,
            settings,
            namespaces: Api::all(client),
            calls: Mutex::new(BTreeMap::new()),
            writes: Mutex::new(BTreeMap::new()),
        });

        let cert = tls::generate()?;
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .with_no_client_auth()
            .with_single_cert(cert.chain, cert.key)
            .context("TLS serving certificate")?;
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the webhook port")?;
        let url = format!("https://{}", listener.local_addr()?);
        let stop = crate::tls_server::serve(listener, Some(acceptor), Arc::clone(&shared), handle);
        Ok(PolicyWebhook {
            url,
            ca_pem: cert.ca_pem,
            shared,
            _stop: stop,
        })
    }

    /// `https://127.0.0.1:<port>`
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// How many AdmissionReviews the webhook has received so far, by
    /// `<policy> <kind> <namespace> <username>` (policy: `/validate/<policy>`, `-` for empty fields).
    /// kube-apiserver may call twice for one write (it re-runs admission when an update retries
    /// against a fresher copy of the object).
    pub fn calls(&self) -> BTreeMap<String, u64> {
        self.shared.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// How many distinct writes those calls were for, by the same key: the distinct values of
    /// [`WRITE_ANNOTATION`] seen so far on admitted objects.
    pub fn writes(&self) -> BTreeMap<String, u64> {
        self.shared
            .writes
            .lock()
            .map(|w| w.iter().map(|(k, v)| (k.clone(), v.len() as u64)).collect())
            .unwrap_or_default()
    }
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let policy = req.uri().path().trim_start_matches("/validate/").to_string();
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return Ok(reply(StatusCode::BAD_REQUEST, json!({"error": e.to_string()}))),
    };
    let review: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return Ok(reply(StatusCode::BAD_REQUEST, json!({"error": e.to_string()}))),
    };
    let request = review.get("request").cloned().unwrap_or(Value::Null);
    let field = |v: &Value| v.as_str().filter(|s| !s.is_empty()).unwrap_or("-").to_string();
    let key = format!(
        "{policy} {} {} {}",
        field(&request["kind"]["kind"]),
        field(&request["namespace"]),
        field(&request["userInfo"]["username"])
    );
    if let Some(write) = request["object"]["metadata"]["annotations"][WRITE_ANNOTATION].as_str()
        && let Ok(mut writes) = shared.writes.lock()
    {
        writes.entry(key.clone()).or_default().insert(write.to_string());
    }
    if let Ok(mut calls) = shared.calls.lock() {
        *calls.entry(key).or_default() += 1;
    }
    let runtime = tokio::runtime::Handle::current();
    let evaluated = tokio::task::spawn_blocking(move || {
        let host = Arc::new(ClusterHost {
            namespaces: shared.namespaces.clone(),
            runtime,
        });
        shared.policy.validate(&request, &shared.settings, host)
    })
    .await;
    let response = match evaluated {
        Ok(r) => serde_json::to_value(&r).unwrap_or(Value::Null),
        Err(e) => {
            json!({"uid": review["request"]["uid"], "allowed": false, "status": {"message": e.to_string(), "code": 500}})
        }
    };
    Ok(reply(
        StatusCode::OK,
        json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response}),
    ))
}

fn reply(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}
