//! tenantgateway-controller: reconciles TenantGateways. Runs in or out of cluster (KUBECONFIG).
//!
//! Environment: `TGW_PLATFORM_PREFIXES` (comma-separated, default `cozy-`),
//! `TGW_ACME_CHALLENGE_NAMESPACE` (default `cozy-cert-manager`), `RUST_LOG`.

use std::sync::Arc;

use tgw_core::conflict::PlatformPrefixes;
use tgw_core::decide::Settings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let mut settings = Settings::default();
    if let Ok(p) = std::env::var("TGW_PLATFORM_PREFIXES") {
        settings.platform = PlatformPrefixes(p.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect());
    }
    if let Ok(ns) = std::env::var("TGW_ACME_CHALLENGE_NAMESPACE") {
        settings.challenge_namespace = ns;
    }
    let client = kube::Client::try_default().await?;
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    tgw_controller::run::run(client, settings, Arc::new(Default::default()), shutdown).await
}
