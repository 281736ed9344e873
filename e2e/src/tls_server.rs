//! The accept loop of the suites' servers (the policy webhook, the fault webhook, the data-plane
//! backends): each connection's TLS handshake (for an HTTPS server), then HTTP/1.1 with `handle`
//! over the server's shared state, until the returned sender is dropped or sent to.

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

/// Serves `listener` with `handle(shared, request)` on a spawned task, through `acceptor` (HTTPS)
/// or in plain HTTP (`None`); a failed accept or handshake drops that connection only.
pub fn serve<S, F, Fut>(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    shared: Arc<S>,
    handle: F,
) -> oneshot::Sender<()>
where
    S: Send + Sync + ?Sized + 'static,
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
                let service = hyper::service::service_fn(move |req| handle(Arc::clone(&shared), req));
                let http = hyper::server::conn::http1::Builder::new();
                match acceptor {
                    None => {
                        let _ = http.serve_connection(TokioIo::new(tcp), service).await;
                    }
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(tcp).await {
                            let _ = http.serve_connection(TokioIo::new(stream), service).await;
                        }
                    }
                }
            });
        }
    });
    stop
}
