//! tenantgateway-controller: reconciles TenantGateways. Runs in or out of cluster (KUBECONFIG).
//!
//! Every flag has an environment variable of the same meaning (`--help`, `controller/README.md`):
//! `TGW_PLATFORM_PREFIXES`, `TGW_ACME_CHALLENGE_NAMESPACE`, `TGW_LEADER_ELECTION*`,
//! `TGW_POD_NAME`, `TGW_METRICS_ADDR`, `TGW_LOG_FORMAT`, … and `RUST_LOG` for the log filter.
//! `tgw-controller release-finalizers` removes our finalizer from every TenantGateway and exits
//! (the chart's uninstall hook, `controller/src/uninstall.rs`).

use std::process::ExitCode;

use clap::Parser;
use tgw_controller::app::{self, App};
use tgw_controller::config::{Config, Mode};

#[tokio::main]
async fn main() -> ExitCode {
    let cfg = Config::parse();
    if let Err(e) = app::init_logging(cfg.log_format) {
        eprintln!("{e:#}");
        return ExitCode::FAILURE;
    }
    if cfg.mode == Some(Mode::ReleaseFinalizers) {
        // One-shot: no metrics listener, no leader election (controller/src/uninstall.rs).
        return tgw_controller::uninstall::run_mode(&cfg.watch_namespace).await;
    }
    let app = match App::bind(&cfg).await {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "invalid configuration");
            return ExitCode::from(2);
        }
    };
    tracing::info!(
        metrics_addr = %cfg.metrics_addr,
        leader_election = cfg.leader_election,
        platform_prefixes = ?cfg.platform_prefixes().0,
        acme_challenge_namespace = %cfg.acme_challenge_namespace,
        "starting tenantgateway-controller"
    );
    let client = match kube::Client::try_default().await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "no Kubernetes client configuration");
            return ExitCode::FAILURE;
        }
    };
    match app.run(client, app::shutdown_signal()).await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "controller failed");
            ExitCode::FAILURE
        }
    }
}
