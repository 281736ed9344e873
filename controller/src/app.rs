//! The production controller process: configuration, logging, the metrics/health server, leader
//! election and the reconciler ([`crate::run::run`]). `main.rs` is a thin wrapper; tests start
//! several [`App`]s in one process.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use kube::Client;
use tgw_core::decide::Settings;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, LogFormat};
use crate::context::Metrics;
use crate::http::{self, Health};
use crate::leader::{self, LeaderConfig, LeaderState};

/// Installs the global tracing subscriber: `RUST_LOG` filter (default `info`), JSON or text.
/// JSON lines carry the current span's fields, so every line of a reconcile names its object.
pub fn init_logging(format: LogFormat) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let result = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("installing the log subscriber: {e}"))
}

/// A configured controller with its metrics listener bound.
pub struct App {
    settings: Settings,
    leader_cfg: Option<LeaderConfig>,
    listener: TcpListener,
    metrics: Arc<Metrics>,
    leader: Arc<LeaderState>,
}

impl App {
    /// Validates `cfg` and binds the metrics address (port 0 picks a free port: see [`Self::local_addr`]).
    pub async fn bind(cfg: &Config) -> anyhow::Result<App> {
        cfg.validate()?;
        let leader_cfg = cfg.leader()?;
        let listener = TcpListener::bind(cfg.metrics_addr)
            .await
            .with_context(|| format!("binding the metrics address {}", cfg.metrics_addr))?;
        let metrics = Arc::<Metrics>::default();
        let leader = Arc::<LeaderState>::default();
        if leader_cfg.is_some() {
            metrics.obs.set_election(Some(leader.clone()));
        }
        Ok(App {
            settings: cfg.settings(),
            leader_cfg,
            listener,
            metrics,
            leader,
        })
    }

    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    pub fn leader_state(&self) -> Arc<LeaderState> {
        self.leader.clone()
    }

    /// Runs until `shutdown` resolves: serves /metrics, /healthz, /readyz, and runs the
    /// reconciler (only while leader when leader election is on). On shutdown the reconciler
    /// finishes in-flight reconciles, then the Lease is released.
    pub async fn run(self, client: Client, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let App {
            settings,
            leader_cfg,
            listener,
            metrics,
            leader,
        } = self;
        let stop = CancellationToken::new();
        let trigger = {
            let stop = stop.clone();
            tokio::spawn(async move {
                shutdown.await;
                tracing::info!("shutdown requested");
                stop.cancel();
            })
        };
        let http_stop = CancellationToken::new();
        let health = Health {
            metrics: metrics.clone(),
            leader: leader.clone(),
            election: leader_cfg.as_ref().map(|l| l.lease_duration),
        };
        let server = tokio::spawn(http::serve(listener, health, http_stop.clone()));
        // If this future is dropped, the server and the reconciler (through `stop`) end too.
        let _guards = (http_stop.clone().drop_guard(), stop.clone().drop_guard());

        let result = match leader_cfg {
            None => {
                let r = reconciler(client, settings, metrics.clone(), stop.clone()).await;
                match r {
                    Ok(()) if !stop.is_cancelled() => Err(anyhow::anyhow!("the reconciler stopped unexpectedly")),
                    r => r,
                }
            }
            Some(cfg) => {
                leader::run_elected(client.clone(), cfg, leader.clone(), stop.clone(), move |stop| {
                    reconciler(client.clone(), settings.clone(), metrics.clone(), stop)
                })
                .await
            }
        };
        trigger.abort();
        http_stop.cancel();
        let _ = server.await;
        result
    }
}

/// One run of the reconciler until `stop` is cancelled.
async fn reconciler(
    client: Client,
    settings: Settings,
    metrics: Arc<Metrics>,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let r = crate::run::run(client, settings, metrics.clone(), stop.cancelled_owned()).await;
    metrics.obs.set_synced(false);
    metrics.obs.set_store(None);
    r
}

/// Resolves on SIGTERM (Kubernetes stopping the pod) or Ctrl-C.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
