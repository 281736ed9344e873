//! The accept loop of the suites' HTTPS servers (the policy webhook, the fault webhook): each
//! connection's TLS handshake, then HTTP/1.1 with `handle` over the server's shared state, until
//! the returned sender is dropped or sent to.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

/// Serves `listener` through `acceptor` with `handle(shared, request)` on a spawned task; a
/// failed accept or handshake drops that connection only.
pub fn serve<S, F, Fut>(listener: TcpListener, acceptor: TlsAcceptor, shared: Arc<S>, handle: F) -> oneshot::Sender<()>
where
    S: Send + Sync + 'static,
    F: Fn(Arc<S>, Request<Incoming>) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send + 'static,
{
    let (stop, mut stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                _ = &mut stopped => return,
                accepted = listener.accept() => accepted,
            };
            let Ok((tcp, _)) = accepted else { continue };
            let (acceptor, shared) = (acceptor.clone(), Arc::clone(&shared));
            tokio::spawn(async move {
                let Ok(stream) = acceptor.accept(tcp).await else { return };
                let service = hyper::service::service_fn(move |req| handle(Arc::clone(&shared), req));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    stop
}
