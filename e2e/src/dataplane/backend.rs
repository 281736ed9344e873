//! Backends: tiny HTTP(S) servers on [`super::netns::ADDRESS`] that answer every request with their
//! identity, published to the cluster as a Service plus a hand-written EndpointSlice (no
//! kube-controller-manager runs, and no pods).

use std::convert::Infallible;
use std::net::Ipv4Addr;
use std::sync::Arc;

use anyhow::{Context, Result};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

use super::pki::Issued;

/// Response header carrying the backend's identity.
pub const BACKEND_HEADER: &str = "x-tgw-backend";

const FIELD_MANAGER: &str = "tgw-e2e-dataplane";

/// A running backend; stops when dropped.
pub struct Backend {
    identity: String,
    port: u16,
    _stop: oneshot::Sender<()>,
}

impl Backend {
    /// A plain HTTP backend answering as `identity` (e.g. `tenant-alice/shop`).
    pub async fn http(address: Ipv4Addr, identity: &str) -> Result<Backend> {
        Self::start(address, identity, None).await
    }

    /// A backend that terminates TLS itself with `cert` (TLS passthrough), answering HTTP inside.
    pub async fn https(address: Ipv4Addr, identity: &str, cert: &Issued) -> Result<Backend> {
        let acceptor = TlsAcceptor::from(Arc::new(cert.server_config()?));
        Self::start(address, identity, Some(acceptor)).await
    }

    async fn start(address: Ipv4Addr, identity: &str, tls: Option<TlsAcceptor>) -> Result<Backend> {
        let listener = TcpListener::bind((address, 0))
            .await
            .with_context(|| format!("binding a port on {address} for backend {identity}"))?;
        let port = listener.local_addr()?.port();
        let stop = crate::tls_server::serve(listener, tls, Arc::<str>::from(identity), answer);
        Ok(Backend {
            identity: identity.to_owned(),
            port,
            _stop: stop,
        })
    }

    pub fn identity(&self) -> &str {
        &self.identity
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Publishes this backend as Service `ns/name` (port `service_port`, port name `app`) with an
    /// EndpointSlice pointing at `address:<backend port>`.
    pub async fn publish(
        &self,
        client: &kube::Client,
        ns: &str,
        name: &str,
        service_port: u16,
        address: Ipv4Addr,
    ) -> Result<()> {
        let pp = PatchParams::apply(FIELD_MANAGER).force();
        let svc: Service = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"ports": [{"name": "app", "port": service_port, "targetPort": self.port, "protocol": "TCP"}]},
        }))?;
        Api::<Service>::namespaced(client.clone(), ns)
            .patch(name, &pp, &Patch::Apply(&svc))
            .await
            .with_context(|| format!("applying Service {ns}/{name}"))?;
        let slice: EndpointSlice = serde_json::from_value(json!({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name, "namespace": ns, "labels": {"kubernetes.io/service-name": name}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [address.to_string()], "conditions": {"ready": true, "serving": true}}],
            "ports": [{"name": "app", "port": self.port, "protocol": "TCP"}],
        }))?;
        Api::<EndpointSlice>::namespaced(client.clone(), ns)
            .patch(name, &pp, &Patch::Apply(&slice))
            .await
            .with_context(|| format!("applying EndpointSlice {ns}/{name} ({address}:{})", self.port))?;
        Ok(())
    }
}

async fn answer(identity: Arc<str>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let host = req
        .headers()
        .get(hyper::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = format!("backend={identity} host={host} path={}\n", req.uri().path());
    let mut response = Response::new(Full::new(Bytes::from(body)));
    if let Ok(v) = hyper::header::HeaderValue::from_str(&identity) {
        response.headers_mut().insert(BACKEND_HEADER, v);
    }
    Ok(response)
}
