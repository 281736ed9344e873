//! `/metrics`, `/healthz` and `/readyz` over HTTP/1 (hyper).
//!
//! - `/healthz`: 200 while the process serves requests.
//! - `/readyz`: without leader election, 200 once every cache has its initial list; with it,
//!   200 for the leader once its caches are synced and for a standby that read the Lease within
//!   the lease duration (a healthy standby); 503 otherwise.
//! - `/metrics`: OpenMetrics text format 1.0.0 (`prometheus-client`; see [`crate::metrics`]).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::context::Metrics;
use crate::leader::LeaderState;

/// What the endpoints report on.
#[derive(Clone, Debug)]
pub struct Health {
    pub metrics: Arc<Metrics>,
    pub leader: Arc<LeaderState>,
    /// Lease duration when leader election is on.
    pub election: Option<Duration>,
}

impl Health {
    /// (ready, explanation).
    pub fn ready(&self) -> (bool, &'static str) {
        let synced = self.metrics.obs.synced();
        match self.election {
            None if synced => (true, "ok: caches synced"),
            None => (false, "caches not synced yet"),
            Some(_) if self.leader.is_leader() && synced => (true, "ok: leader, caches synced"),
            Some(_) if self.leader.is_leader() => (false, "leader, caches not synced yet"),
            Some(d) if self.leader.in_contact(d) => (true, "ok: standby, lease readable"),
            Some(_) => (false, "standby without a recent lease read"),
        }
    }
}

fn text(status: StatusCode, body: impl Into<Bytes>, content_type: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    r
}

/// The response for one request (no I/O; shared by the server and tests).
pub fn respond(health: &Health, method: &Method, path: &str) -> Response<Full<Bytes>> {
    const PLAIN: &str = "text/plain; charset=utf-8";
    if method != Method::GET && method != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n", PLAIN);
    }
    match path {
        "/healthz" | "/livez" => text(StatusCode::OK, "ok\n", PLAIN),
        "/readyz" => {
            let (ok, why) = health.ready();
            let status = if ok {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            text(status, format!("{why}\n"), PLAIN)
        }
        "/metrics" => match crate::metrics::render(&health.metrics) {
            Ok(body) => text(StatusCode::OK, body, crate::metrics::CONTENT_TYPE),
            Err(_) => text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "encoding the metrics failed\n",
                PLAIN,
            ),
        },
        _ => text(StatusCode::NOT_FOUND, "not found\n", PLAIN),
    }
}

/// Serves on `listener` until `shutdown` is cancelled.
pub async fn serve(listener: TcpListener, health: Health, shutdown: CancellationToken) {
    let health = Arc::new(health);
    loop {
        let (stream, _) = tokio::select! {
            () = shutdown.cancelled() => return,
            r = listener.accept() => match r {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "metrics server: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let health = health.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req: Request<Incoming>| {
                let r = respond(&health, req.method(), req.uri().path());
                async move { Ok::<_, Infallible>(r) }
            });
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), svc);
            tokio::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::debug!(error = %e, "metrics server: connection error");
                    }
                }
                () = shutdown.cancelled() => conn.as_mut().graceful_shutdown(),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health(election: Option<Duration>) -> Health {
        Health {
            metrics: Arc::default(),
            leader: Arc::default(),
            election,
        }
    }

    #[test]
    fn endpoints() {
        let h = health(None);
        assert_eq!(respond(&h, &Method::GET, "/healthz").status(), StatusCode::OK);
        assert_eq!(
            respond(&h, &Method::GET, "/readyz").status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        h.metrics.obs.set_synced(true);
        assert_eq!(respond(&h, &Method::GET, "/readyz").status(), StatusCode::OK);
        let metrics = respond(&h, &Method::GET, "/metrics");
        assert_eq!(metrics.status(), StatusCode::OK);
        assert_eq!(
            metrics.headers()[hyper::header::CONTENT_TYPE],
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        );
        assert_eq!(respond(&h, &Method::GET, "/nope").status(), StatusCode::NOT_FOUND);
        assert_eq!(
            respond(&h, &Method::POST, "/metrics").status(),
            StatusCode::METHOD_NOT_ALLOWED
        );
    }

    #[tokio::test]
    async fn serves_over_tcp() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let stop = CancellationToken::new();
        let server = tokio::spawn(serve(listener, health(None), stop.clone()));
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        s.write_all(b"GET /healthz HTTP/1.0\r\n\r\n").await.expect("write");
        let mut buf = String::new();
        s.read_to_string(&mut buf).await.expect("read");
        assert!(
            buf.starts_with("HTTP/1.0 200") || buf.starts_with("HTTP/1.1 200"),
            "{buf}"
        );
        assert!(buf.ends_with("ok\n"), "{buf}");
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").await.expect("write");
        let mut buf = String::new();
        s.read_to_string(&mut buf).await.expect("read");
        assert!(buf.contains("\r\n# HELP tgw_reconciles "), "{buf}");
        assert!(buf.ends_with("\ntgw_leader_acquisitions_total 0\n# EOF\n"), "{buf}");
        stop.cancel();
        server.await.expect("server stops");
    }

    #[test]
    fn standby_readiness() {
        let h = health(Some(Duration::from_secs(15)));
        assert!(!h.ready().0, "standby that never read the lease");
        h.metrics.obs.set_synced(true);
        assert!(!h.ready().0, "synced but neither leader nor in contact");
    }
}
