//! Converge benchmark: N TenantGateways x M HTTPRoutes on the local control plane (defaults
//! 200 x 10; `BENCH_TGWS`, `BENCH_ROUTES`). Objects are created first, then the controller is
//! started; reported: time until every Gateway has its listeners and every route its Accepted
//! status, writes issued, writes during a quiet period afterwards, and peak RSS of the test
//! process (controller in-process). Run with `make bench-controller`.

mod controller_support;

use std::time::{Duration, Instant};

use anyhow::Context;
use controller_support::*;
use futures::{StreamExt, TryStreamExt, stream};
use kube::api::{Api, DynamicObject, ListParams};
use serde_json::json;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with `make bench-controller`"]
async fn converge_benchmark() -> anyhow::Result<()> {
    let (tgws, routes) = (env("BENCH_TGWS", 200), env("BENCH_ROUTES", 10));
    let (cluster, admin) = cluster().await?;
    let created = Instant::now();
    let namespaces: Vec<String> = stream::iter(0..tgws)
        .map(|_| namespace(&admin, "tenant-b", &[]))
        .buffer_unordered(16)
        .try_collect()
        .await?;
    let mut jobs = Vec::new();
    for ns in &namespaces {
        jobs.push((ns.clone(), None));
        for r in 0..routes {
            jobs.push((ns.clone(), Some(r)));
        }
    }
    stream::iter(jobs)
        .map(|(ns, r)| {
            let admin = admin.clone();
            async move {
                let apex = format!("{ns}.example.org");
                match r {
                    None => apply_tgw(&admin, &ns, json!({"apex": apex, "tlsPassthroughServices": ["api"]})).await,
                    Some(r) => apply(
                        &admin,
                        GW,
                        http_route(&ns, &format!("r{r}"), &[&format!("app{r}.{apex}")], &ns),
                    )
                    .await
                    .map(|_| ()),
                }
            }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<()>>()
        .await?;
    eprintln!(
        "created {tgws} TenantGateways and {} routes in {:.1}s",
        tgws * routes,
        created.elapsed().as_secs_f64()
    );

    let start = Instant::now();
    let controller = start_controller(cluster.admin().await?).await;
    let gw_api: Api<DynamicObject> = Api::all_with(admin.clone(), &resource(&admin, GW, "Gateway").await?);
    let route_api: Api<DynamicObject> = Api::all_with(admin.clone(), &resource(&admin, GW, "HTTPRoute").await?);
    let want_listeners = routes + 2;
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        let gws = gw_api.list(&ListParams::default()).await?;
        let done_gw = gws
            .items
            .iter()
            .filter(|g| listener_names(g).len() == want_listeners)
            .count();
        let rs = route_api.list(&ListParams::default()).await?;
        let done_routes = rs
            .items
            .iter()
            .filter(|r| our_parents(r).iter().any(|p| p.1 == "True"))
            .count();
        if done_gw == tgws && done_routes >= tgws * routes {
            break;
        }
        if std::env::var_os("BENCH_DEBUG").is_some() {
            eprintln!(
                "{done_gw}/{tgws} gateways, {done_routes} routes, writes {}",
                controller.metrics.writes()
            );
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "not converged: {done_gw}/{tgws} gateways, {done_routes} routes"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let converge = start.elapsed();
    // Let status writes settle, then measure a quiet period.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let writes = controller.metrics.writes();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let quiet = controller.metrics.writes() - writes;
    let reconciles = controller.metrics.reconciles.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!(
        "BENCH converge {tgws} TGWs x {routes} routes: {:.1}s to converge, {writes} writes ({:.1}/TGW), {reconciles} reconciles, {quiet} writes in the 10s quiet period, peak RSS {:.0} MiB",
        converge.as_secs_f64(),
        writes as f64 / tgws as f64,
        peak_rss_mib()
    );
    anyhow::ensure!(quiet == 0, "controller kept writing after convergence");
    controller.stop().await.context("stop")?;
    Ok(())
}
