//! Operator settings reach the API server: with `--watch-namespace` only that namespace's
//! TenantGateway is reconciled, and the configured controller name and field manager are the ones
//! written into route status and managedFields.

mod controller_support;

use anyhow::{Context, bail};
use controller_support::*;
use tgw_core::decide::Settings;

const CONTROLLER: &str = "example.com/tenant-gateway-test";
const MANAGER: &str = "tgw-watch-test";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_namespace_controller_name_and_field_manager() -> anyhow::Result<()> {
    let (_cluster, admin) = cluster().await?;
    let watched = namespace(&admin, "tenant-w", &[]).await?;
    let ignored = namespace(&admin, "tenant-i", &[]).await?;
    for ns in [&watched, &ignored] {
        apply_tgw(
            &admin,
            ns,
            serde_json::json!({"apex": format!("{ns}.example.org"), "certMode": "http01"}),
        )
        .await?;
        apply(
            &admin,
            GW,
            http_route(ns, "www", &[&format!("www.{ns}.example.org")], ns),
        )
        .await?;
    }
    let settings = Settings {
        controller_name: CONTROLLER.into(),
        field_manager: MANAGER.into(),
        watch_namespace: Some(watched.clone()),
        ..Settings::default()
    };
    let controller = start_controller_with(admin.clone(), settings).await;

    await_tgw(&admin, &watched, "GatewayApplied", "True", "Applied")
        .await
        .context("watched namespace")?;
    let gw = get_gateway(&admin, &watched, "cozystack")
        .await?
        .context("Gateway not created")?;
    let managers: Vec<String> = gw
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter_map(|m| m.manager.clone())
        .collect();
    if !managers.iter().any(|m| m == MANAGER) {
        bail!("Gateway managed by {managers:?}, expected {MANAGER}");
    }
    eventually("route status under the configured controller name", || async {
        let route = get_route(&admin, &watched, "www").await?.context("route")?;
        let names: Vec<String> = route
            .status
            .into_iter()
            .flat_map(|s| s.parents)
            .map(|p| p.controller_name)
            .collect();
        if names != [CONTROLLER.to_owned()] {
            bail!("controllerName entries {names:?}");
        }
        Ok(true)
    })
    .await?;

    // The other namespace's TenantGateway is never touched.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    if get_gateway(&admin, &ignored, "cozystack").await?.is_some() {
        bail!("a Gateway was created outside the watched namespace");
    }
    if get_tgw(&admin, &ignored).await?.status.is_some() {
        bail!("the unwatched TenantGateway got a status");
    }
    controller.stop().await?;
    Ok(())
}
