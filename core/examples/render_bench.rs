//! Render-time benchmark: `decide` (claims → conflicts → listeners → render → route verdicts)
//! per TenantGateway, for a snapshot of M routes per TenantGateway. Run with
//! `make bench-render` (release). Prints mean and p99 per TenantGateway.

use std::collections::BTreeMap;
use std::time::Instant;

use tgw_core::decide::{Settings, decide};
use tgw_core::keys::{LABEL_GATEWAY, LABEL_HOST};
use tgw_core::snapshot::{NamespaceView, ParentRef, RouteId, RouteKind, RouteView};
use tgw_core::tenantgateway::{TenantGatewaySpec, TgwInput, TgwMeta};

fn main() {
    let routes_per_tgw: usize = std::env::var("BENCH_ROUTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let tgws: usize = std::env::var("BENCH_TGWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let iterations = 50;
    let mut namespaces = Vec::new();
    let mut routes = Vec::new();
    for t in 0..tgws {
        let ns = format!("tenant-{t}");
        namespaces.push(NamespaceView {
            name: ns.clone(),
            labels: BTreeMap::from([
                (LABEL_GATEWAY.to_owned(), ns.clone()),
                (LABEL_HOST.to_owned(), format!("t{t}.example.org")),
            ]),
            annotations: BTreeMap::new(),
        });
        for r in 0..routes_per_tgw {
            routes.push(RouteView {
                id: RouteId {
                    kind: RouteKind::Http,
                    namespace: ns.clone(),
                    name: format!("r{r}"),
                },
                created: Some("2026-01-01T00:00:00Z".into()),
                generation: Some(1),
                hostnames: vec![format!("app{r}.t{t}.example.org")],
                parent_refs: vec![ParentRef {
                    name: "cozystack".into(),
                    ..Default::default()
                }],
            });
        }
    }
    let inputs: Vec<TgwInput> = (0..tgws)
        .map(|t| {
            let mut spec = TenantGatewaySpec::with_apex(&format!("t{t}.example.org"));
            spec.tls_passthrough_services = Some(vec!["api".into()]);
            TgwInput {
                meta: TgwMeta {
                    namespace: format!("tenant-{t}"),
                    name: "cozystack".into(),
                    uid: format!("u{t}"),
                    generation: 1,
                },
                spec,
            }
        })
        .collect();
    let settings = Settings::default();
    let mut samples = Vec::new();
    let mut listeners = 0;
    for _ in 0..iterations {
        for tgw in &inputs {
            let start = Instant::now();
            let d = decide(tgw, &namespaces, &routes, &settings);
            samples.push(start.elapsed());
            listeners += d.plan.listeners.len();
        }
    }
    samples.sort();
    let mean = samples.iter().sum::<std::time::Duration>() / u32::try_from(samples.len()).unwrap_or(1);
    let p99 = samples[samples.len() * 99 / 100];
    println!(
        "decide+render per TenantGateway: mean {mean:?}, p99 {p99:?} ({tgws} TGWs x {routes_per_tgw} routes in the snapshot, {} samples, {} listeners/TGW)",
        samples.len(),
        listeners / samples.len()
    );
}
