//! Controller benchmark (`make bench-controller`): for each N in `BENCH_TGWS` (default
//! `50,200,1000`), a fresh local control plane gets N tenant namespaces (each labelled with its
//! apex), each with a TenantGateway in `BENCH_CERT_MODE` (`http01`, default, or `dns01`) and
//! `BENCH_ROUTES` (default 10) HTTPRoutes. Then the controller binary
//! (`TGW_CONTROLLER_BIN`, default `target/release/tgw-controller`) starts as its own process, so
//! the /proc figures are its own.
//!
//! Converged means: the controller's write counter has not moved for `QUIET_CONFIRM`, and a full
//! read shows every TenantGateway with `status.observedGeneration` current and a Ready condition
//! of that generation (False/GatewayNotProgrammed is expected: no Gateway implementation runs),
//! every Gateway with its listeners (http01: `http` and one per hostname; dns01: `http`, `https`,
//! `https-apex`), and every route with our Accepted=True entry. The
//! converge time is the moment of the last write before that.
//!
//! Printed per N: converge time, writes (API server `apiserver_request_total` for
//! POST/PUT/PATCH/APPLY/DELETE without leases, and the controller's `tgw_writes_total`), controller
//! CPU seconds (utime+stime from /proc/<pid>/stat), CPU per TenantGateway, the controller's share
//! of machine CPU while converging, peak RSS (VmHWM), writes in the 30 s after convergence,
//! reconciles and reconcile duration p50/p99 (from `tgw_reconcile_duration_seconds`), log bytes;
//! on stderr also the reconcile-queue wait p50/p99 (`tgw_reconcile_queue_wait_seconds`).
//!
//! `BENCH_FAULT=cert-manager-webhook` measures a cert-manager outage instead (issue 21): before
//! the controller starts, a webhook that refuses every write (`tgw_e2e::fault_webhook`, counting
//! what it is sent) is registered for Issuers and Certificates, as cert-manager's own is, with
//! `failurePolicy: Fail`. `BENCH_FAULT=cert-manager-webhook-failing` registers one that answers
//! HTTP 503 instead (the API server cannot call it: an outage, which stops a pass's Certificates
//! at the first, where a refusal of one object lets the pass try the others). For `BENCH_FAULT_SECONDS` (default 180) from the controller's start the
//! failed Issuer/Certificate writes per second are counted in windows of `BENCH_FAULT_WINDOW`
//! seconds (default 60), once per retry policy in `BENCH_FAULT_RETRIES` (default
//! `fixed,backoff`): `backoff` is the controller's defaults (1 s doubling to 5 min, per object,
//! with jitter; at most 20 reconcile starts per second); `fixed` emulates the requeue before issue
//! 21 (a fixed 15 s after a failed step, no cap on starts) with the flags the controller has:
//! `--retry-base 20s --retry-max 20s --reconciles-per-second 0`, i.e. every retry after 10-20 s
//! (the jitter is not optional), 15 s on average. Also printed: when the other steps (Gateways,
//! route status, TenantGateway status) had converged, reconciles, controller CPU.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::{StreamExt, TryStreamExt, stream};
use gateway_api::gateways::Gateway;
use gateway_api::httproutes::{
    HttpRoute, HttpRouteParentRefs, HttpRouteRules, HttpRouteRulesBackendRefs, HttpRouteSpec,
};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DynamicObject, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::json;
use tgw_core::keys::{CONTROLLER_NAME, LABEL_HOST};
use tgw_core::tenantgateway::TenantGateway;
use tgw_e2e::TestCluster;

const MANAGER: &str = "tgw-bench";
const QUIET_CONFIRM: Duration = Duration::from_secs(3);
const STEADY: Duration = Duration::from_secs(30);
const DEADLINE: Duration = Duration::from_secs(1800);

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[derive(Debug, Default)]
struct Row {
    mode: String,
    tgws: usize,
    routes: usize,
    converge: f64,
    api_writes: u64,
    ctl_writes: u64,
    cpu: f64,
    share: f64,
    rss_mib: f64,
    steady_api: u64,
    steady_ctl: u64,
    reconciles: u64,
    p50: f64,
    p99: f64,
    log_bytes: u64,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let ns: Vec<usize> = env_or("BENCH_TGWS", "50,200,1000")
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let routes: usize = env_or("BENCH_ROUTES", "10").parse().context("BENCH_ROUTES")?;
    let mode = env_or("BENCH_CERT_MODE", "http01");
    anyhow::ensure!(
        ["http01", "dns01"].contains(&mode.as_str()),
        "BENCH_CERT_MODE={mode} (http01 or dns01)"
    );
    let bin = PathBuf::from(env_or("TGW_CONTROLLER_BIN", "target/release/tgw-controller"));
    anyhow::ensure!(
        bin.exists(),
        "controller binary {} not found (cargo build --release -p tgw-controller)",
        bin.display()
    );
    if let Ok(fault) = std::env::var("BENCH_FAULT") {
        let fault = match fault.as_str() {
            "cert-manager-webhook" => Fault::Refusing,
            "cert-manager-webhook-failing" => Fault::Failing,
            _ => anyhow::bail!("BENCH_FAULT={fault} (cert-manager-webhook or cert-manager-webhook-failing)"),
        };
        let seconds: u64 = env_or("BENCH_FAULT_SECONDS", "180")
            .parse()
            .context("BENCH_FAULT_SECONDS")?;
        let window: u64 = env_or("BENCH_FAULT_WINDOW", "60")
            .parse()
            .context("BENCH_FAULT_WINDOW")?;
        anyhow::ensure!(
            window > 0 && seconds >= window,
            "BENCH_FAULT_WINDOW must be in 1..=BENCH_FAULT_SECONDS"
        );
        let retries: Vec<String> = env_or("BENCH_FAULT_RETRIES", "fixed,backoff")
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        let mut rows = Vec::new();
        for n in ns {
            for retry in &retries {
                let row = run_fault(&bin, fault, n, routes, &mode, retry, seconds, window).await?;
                eprintln!("{}", fault_row(&row));
                rows.push(row);
            }
        }
        let windows: Vec<String> = (0..seconds / window)
            .map(|k| format!("{}-{} s", k * window, (k + 1) * window))
            .collect();
        println!(
            "| fault | mode | N × routes | retries | failed Issuer/Certificate writes/s ({}) | failed writes | reconciles | other steps converged | controller CPU |",
            windows.join(" / ")
        );
        println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        for r in &rows {
            println!("{}", fault_row(r));
        }
        return Ok(());
    }
    let mut rows = Vec::new();
    for n in ns {
        let row = run_one(&bin, n, routes, &mode).await?;
        eprintln!("{}", table_row(&row));
        rows.push(row);
    }
    println!(
        "| mode | N × routes | converge | API writes (apiserver) | controller writes | writes/TGW | controller CPU | CPU/TGW | machine CPU share | peak RSS | writes in 30 s after | reconciles | reconcile p50 / p99 | log bytes |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for r in &rows {
        println!("{}", table_row(r));
    }
    Ok(())
}

fn table_row(r: &Row) -> String {
    format!(
        "| {} | {} × {} | {:.1} s | {} | {} | {:.1} | {:.2} s | {:.1} ms | {:.0} % | {:.0} MiB | {} (controller {}) | {} | {} / {} | {} |",
        r.mode,
        r.tgws,
        r.routes,
        r.converge,
        r.api_writes,
        r.ctl_writes,
        r.ctl_writes as f64 / r.tgws as f64,
        r.cpu,
        r.cpu * 1000.0 / r.tgws as f64,
        r.share * 100.0,
        r.rss_mib,
        r.steady_api,
        r.steady_ctl,
        r.reconciles,
        fmt_secs(r.p50),
        fmt_secs(r.p99),
        r.log_bytes,
    )
}

fn fmt_secs(s: f64) -> String {
    if s.is_infinite() {
        "> 30 s".to_owned()
    } else if s < 1.0 {
        format!("≤ {:.0} ms", s * 1000.0)
    } else {
        format!("≤ {s:.1} s")
    }
}

async fn install_crd(admin: &Client) -> anyhow::Result<()> {
    let crds: Api<CustomResourceDefinition> = Api::all(admin.clone());
    let crd = tgw_controller::crd::crd();
    let name = crd.name_any();
    crds.patch(&name, &PatchParams::apply(MANAGER).force(), &Patch::Apply(&crd))
        .await?;
    for _ in 0..300 {
        let c = crds.get(&name).await?;
        if c.status
            .and_then(|s| s.conditions)
            .unwrap_or_default()
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True")
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("CRD not established")
}

async fn resource(client: &Client, group: &str, kind: &str) -> anyhow::Result<ApiResource> {
    let g = kube::discovery::oneshot::group(client, group).await?;
    Ok(g.recommended_kind(kind)
        .with_context(|| format!("{group} {kind} not served"))?
        .0)
}

/// A tenant's route `r<r>` for `app<r>.<apex>` on the TenantGateway's Gateway, typed.
fn tenant_route(ns: &str, r: usize, apex: &str) -> HttpRoute {
    HttpRoute {
        metadata: ObjectMeta {
            name: Some(format!("r{r}")),
            namespace: Some(ns.to_owned()),
            ..Default::default()
        },
        spec: HttpRouteSpec {
            parent_refs: Some(vec![HttpRouteParentRefs {
                name: "cozystack".to_owned(),
                namespace: Some(ns.to_owned()),
                ..Default::default()
            }]),
            hostnames: Some(vec![format!("app{r}.{apex}")]),
            rules: Some(vec![HttpRouteRules {
                backend_refs: Some(vec![HttpRouteRulesBackendRefs {
                    name: "svc".to_owned(),
                    port: Some(80),
                    ..Default::default()
                }]),
                ..Default::default()
            }]),
        },
        status: None,
    }
}

async fn create_workload(admin: &Client, n: usize, routes: usize, mode: &str) -> anyhow::Result<()> {
    let tgw_ar = resource(admin, "gateway.cozystack.io", "TenantGateway").await?;
    let names: Vec<String> = (0..n).map(|i| format!("tenant-b{i:05}")).collect();
    stream::iter(names.clone())
        .map(|name| {
            let api: Api<Namespace> = Api::all(admin.clone());
            async move {
                let labels = [(LABEL_HOST.to_owned(), format!("{name}.example.org"))].into();
                let ns = Namespace {
                    metadata: ObjectMeta {
                        name: Some(name),
                        labels: Some(labels),
                        ..Default::default()
                    },
                    ..Default::default()
                };
                api.create(&PostParams::default(), &ns).await.map(|_| ())
            }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<()>>()
        .await?;
    let mut jobs: Vec<(String, Option<usize>)> = Vec::new();
    for ns in &names {
        jobs.push((ns.clone(), None));
        jobs.extend((0..routes).map(|r| (ns.clone(), Some(r))));
    }
    stream::iter(jobs)
        .map(|(ns, r)| {
            let tgw_ar = tgw_ar.clone();
            async move {
                let apex = format!("{ns}.example.org");
                let apply = PatchParams::apply(MANAGER).force();
                match r {
                    None => {
                        let tgw = json!({
                            "apiVersion": "gateway.cozystack.io/v1alpha1", "kind": "TenantGateway",
                            "metadata": {"name": "cozystack", "namespace": ns},
                            "spec": if mode == "dns01" {
                                json!({"apex": apex, "certMode": "dns01", "dns01": {"provider": "cloudflare",
                                    "cloudflare": {"apiTokenSecretRef": {"name": "cf", "key": "token"}}}})
                            } else {
                                json!({"apex": apex, "certMode": "http01"})
                            },
                        });
                        let api: Api<DynamicObject> = Api::namespaced_with(admin.clone(), &ns, &tgw_ar);
                        api.patch("cozystack", &apply, &Patch::Apply(&tgw)).await.map(|_| ())
                    }
                    Some(r) => {
                        let route = tenant_route(&ns, r, &apex);
                        let name = route.name_any();
                        let api: Api<HttpRoute> = Api::namespaced(admin.clone(), &ns);
                        api.patch(&name, &apply, &Patch::Apply(&route)).await.map(|_| ())
                    }
                }
            }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

/// Sum of `apiserver_request_total` for write verbs, leases excluded (the API server renews its
/// own identity lease).
async fn apiserver_writes(admin: &Client) -> anyhow::Result<u64> {
    let req = http::Request::get("/metrics").body(Vec::new())?;
    let text = admin.request_text(req).await?;
    let mut total = 0.0;
    for l in text.lines().filter(|l| l.starts_with("apiserver_request_total{")) {
        let write = ["POST", "PUT", "PATCH", "APPLY", "DELETE"]
            .iter()
            .any(|v| l.contains(&format!("verb=\"{v}\"")));
        if write && !l.contains("resource=\"leases\"") {
            total += l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        }
    }
    Ok(total as u64)
}

/// Histogram families read from the controller's /metrics.
const DURATION: &str = "tgw_reconcile_duration_seconds";
const QUEUE_WAIT: &str = "tgw_reconcile_queue_wait_seconds";

/// The controller's /metrics as name{labels} → value.
async fn controller_metrics(addr: &str) -> anyhow::Result<BTreeMap<String, f64>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").await?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).await?;
    Ok(buf
        .lines()
        .filter(|l| l.starts_with("tgw_"))
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_owned(), v.parse().ok()?))
        })
        .collect())
}

/// Upper bound of the histogram bucket holding quantile `q` of `family`.
fn quantile(m: &BTreeMap<String, f64>, family: &str, q: f64) -> f64 {
    let count = m.get(&format!("{family}_count")).copied().unwrap_or(0.0);
    let bucket = format!("{family}_bucket{{le=\"");
    let mut buckets: Vec<(f64, f64)> = m
        .iter()
        .filter_map(|(k, v)| {
            let le = k.strip_prefix(bucket.as_str())?.strip_suffix("\"}")?;
            let le = if le == "+Inf" { f64::INFINITY } else { le.parse().ok()? };
            Some((le, *v))
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    buckets
        .iter()
        .find(|(_, c)| *c >= q * count)
        .map_or(f64::NAN, |(le, _)| *le)
}

fn proc_cpu(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command: state is field 3; utime, stime are 14, 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let hz = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .unwrap_or(100.0);
    (ticks(11) + ticks(12)) / hz
}

fn peak_rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn cpus() -> f64 {
    std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64)
}

/// Whether the cluster shows the converged state (see the module docs).
async fn state_converged(admin: &Client, n: usize, routes: usize, mode: &str) -> anyhow::Result<bool> {
    let tgws = Api::<TenantGateway>::all(admin.clone())
        .list(&ListParams::default())
        .await?;
    let current = tgws
        .items
        .iter()
        .filter(|t| {
            let g = t.metadata.generation;
            t.status.as_ref().is_some_and(|s| {
                s.observed_generation == g
                    && s.conditions
                        .iter()
                        .flatten()
                        .any(|c| c.type_ == "Ready" && c.observed_generation == g)
            })
        })
        .count();
    if current < n {
        eprintln!("  {current}/{n} TenantGateways current");
        return Ok(false);
    }
    let gws = Api::<Gateway>::all(admin.clone()).list(&ListParams::default()).await?;
    let full = gws
        .items
        .iter()
        .filter(|g| g.spec.listeners.len() == if mode == "dns01" { 3 } else { routes + 1 })
        .count();
    if full < n {
        eprintln!("  {full}/{n} Gateways complete");
        return Ok(false);
    }
    let rs = Api::<HttpRoute>::all(admin.clone())
        .list(&ListParams::default().labels("!cozystack.io/managed-by"))
        .await?;
    let accepted = rs
        .items
        .iter()
        .filter(|r| {
            r.status.iter().flat_map(|s| &s.parents).any(|p| {
                p.controller_name == CONTROLLER_NAME
                    && p.conditions.iter().any(|c| c.type_ == "Accepted" && c.status == "True")
            })
        })
        .count();
    if accepted < n * routes {
        eprintln!("  {accepted}/{} routes accepted", n * routes);
        return Ok(false);
    }
    Ok(true)
}

struct Controller {
    child: Child,
    log: PathBuf,
}

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the controller binary against `cluster` with `extra` flags; returns it and its
/// metrics address.
fn start_controller(
    bin: &std::path::Path,
    cluster: &TestCluster,
    extra: &[&str],
) -> anyhow::Result<(Controller, String)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let addr = format!("127.0.0.1:{port}");
    let log = cluster.state_dir().join("controller.log");
    let log_file = std::fs::File::create(&log)?;
    let child = Command::new(bin)
        .env("KUBECONFIG", cluster.kubeconfig_path())
        .env("RUST_LOG", env_or("BENCH_RUST_LOG", "info"))
        .args(["--metrics-addr", &addr, "--log-format", "json"])
        .args(extra)
        .stdout(Stdio::from(log_file.try_clone()?))
        .stderr(Stdio::from(log_file))
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    Ok((Controller { child, log }, addr))
}

async fn run_one(bin: &std::path::Path, n: usize, routes: usize, mode: &str) -> anyhow::Result<Row> {
    eprintln!("== {n} TenantGateways × {routes} routes");
    let cluster = TestCluster::start().await?;
    let admin = cluster.admin().await?;
    install_crd(&admin).await?;
    let t0 = Instant::now();
    create_workload(&admin, n, routes, mode).await?;
    eprintln!("  created in {:.1}s", t0.elapsed().as_secs_f64());
    let api_before = apiserver_writes(&admin).await?;

    let started = Instant::now();
    let (ctl, addr) = start_controller(bin, &cluster, &[])?;
    let pid = ctl.child.id();

    let mut last_writes = -1.0;
    let mut last_change = started;
    let converged_at = loop {
        anyhow::ensure!(started.elapsed() < DEADLINE, "not converged within {DEADLINE:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
        let Ok(m) = controller_metrics(&addr).await else {
            continue;
        };
        let w = m.get("tgw_writes_total").copied().unwrap_or(0.0);
        if w != last_writes {
            last_writes = w;
            last_change = Instant::now();
            continue;
        }
        if w > 0.0 && last_change.elapsed() >= QUIET_CONFIRM && state_converged(&admin, n, routes, mode).await? {
            break last_change;
        }
        if last_change.elapsed() >= QUIET_CONFIRM {
            // Not yet: reset the quiet window so the full read is not repeated every tick.
            last_change = Instant::now() - QUIET_CONFIRM / 2;
        }
    };
    let converge = converged_at.duration_since(started).as_secs_f64();
    let cpu = proc_cpu(pid);
    let rss_mib = peak_rss_mib(pid);
    let api_after = apiserver_writes(&admin).await?;
    let m = controller_metrics(&addr).await?;
    let ctl_writes = m.get("tgw_writes_total").copied().unwrap_or(0.0) as u64;
    tokio::time::sleep(STEADY).await;
    let api_steady = apiserver_writes(&admin).await?;
    let m2 = controller_metrics(&addr).await?;
    let row = Row {
        mode: mode.to_owned(),
        tgws: n,
        routes,
        converge,
        api_writes: api_after - api_before,
        ctl_writes,
        cpu,
        share: cpu / (converge.max(0.001) * cpus()),
        rss_mib,
        steady_api: api_steady - api_after,
        steady_ctl: m2.get("tgw_writes_total").copied().unwrap_or(0.0) as u64 - ctl_writes,
        reconciles: m2.get("tgw_reconciles_total").copied().unwrap_or(0.0) as u64,
        p50: quantile(&m2, DURATION, 0.5),
        p99: quantile(&m2, DURATION, 0.99),
        log_bytes: std::fs::metadata(&ctl.log).map_or(0, |m| m.len()),
    };
    eprintln!(
        "  enqueues: {:?}; own-write echoes {}; reconcile queue wait p50 ≤ {} s / p99 ≤ {} s",
        m2.iter()
            .filter(|(k, _)| k.starts_with("tgw_enqueues_total"))
            .collect::<Vec<_>>(),
        m2.get("tgw_own_write_echoes_total").copied().unwrap_or(0.0),
        quantile(&m2, QUEUE_WAIT, 0.5),
        quantile(&m2, QUEUE_WAIT, 0.99),
    );
    drop(ctl);
    drop(cluster);
    Ok(row)
}

/// How the cert-manager webhook misbehaves (`BENCH_FAULT`).
#[derive(Clone, Copy, Debug, Default)]
enum Fault {
    /// Denies every write (`cert-manager-webhook`).
    #[default]
    Refusing,
    /// Answers HTTP 503 (`cert-manager-webhook-failing`).
    Failing,
}

impl Fault {
    fn label(self) -> &'static str {
        match self {
            Fault::Refusing => "cert-manager webhook refusing",
            Fault::Failing => "cert-manager webhook failing (503)",
        }
    }
}

/// One cert-manager outage measurement (`BENCH_FAULT`).
#[derive(Debug, Default)]
struct FaultRow {
    fault: Fault,
    mode: String,
    tgws: usize,
    routes: usize,
    retry: String,
    /// Failed writes per second in each window.
    rates: Vec<f64>,
    failed: usize,
    reconciles: u64,
    /// Seconds from the controller's start until everything but cert-manager's objects was in
    /// place (`None`: not within the measurement).
    others: Option<f64>,
    cpu: f64,
}

fn fault_row(r: &FaultRow) -> String {
    format!(
        "| {} | {} | {} × {} | {} | {} | {} | {} | {} | {:.1} s |",
        r.fault.label(),
        r.mode,
        r.tgws,
        r.routes,
        r.retry,
        r.rates
            .iter()
            .map(|x| format!("{x:.1}"))
            .collect::<Vec<_>>()
            .join(" / "),
        r.failed,
        r.reconciles,
        r.others
            .map_or("not within the run".to_owned(), |s| format!("{s:.0} s")),
        r.cpu,
    )
}

/// The controller flags of a `BENCH_FAULT_RETRIES` entry.
fn retry_flags(retry: &str) -> anyhow::Result<(&'static [&'static str], &'static str)> {
    Ok(match retry {
        "backoff" => (&[], "backoff (defaults: 1 s doubling to 5 min, 20 starts/s)"),
        "fixed" => (
            &[
                "--retry-base",
                "20s",
                "--retry-max",
                "20s",
                "--reconciles-per-second",
                "0",
            ],
            "fixed ~15 s, no cap (emulated: --retry-base 20s --retry-max 20s --reconciles-per-second 0)",
        ),
        other => anyhow::bail!("BENCH_FAULT_RETRIES entry {other:?} (fixed or backoff)"),
    })
}

#[allow(clippy::too_many_arguments)]
async fn run_fault(
    bin: &std::path::Path,
    fault: Fault,
    n: usize,
    routes: usize,
    mode: &str,
    retry: &str,
    seconds: u64,
    window: u64,
) -> anyhow::Result<FaultRow> {
    use tgw_e2e::fault_webhook::{FaultWebhook, Mode};
    let (flags, label) = retry_flags(retry)?;
    eprintln!(
        "== {}: {n} TenantGateways × {routes} routes, retries {label}",
        fault.label()
    );
    let cluster = TestCluster::start().await?;
    let admin = cluster.admin().await?;
    install_crd(&admin).await?;
    let hook = FaultWebhook::start(match fault {
        Fault::Refusing => Mode::Refuse,
        Fault::Failing => Mode::Fail,
    })
    .await?;
    hook.register(&admin, "cert-manager-webhook", 10).await?;
    hook.await_active(&admin).await?;
    let t0 = Instant::now();
    create_workload(&admin, n, routes, mode).await?;
    eprintln!("  created in {:.1}s", t0.elapsed().as_secs_f64());

    let started = Instant::now();
    let (ctl, addr) = start_controller(bin, &cluster, flags)?;
    let pid = ctl.child.id();
    let end = started + Duration::from_secs(seconds);
    let poll = Duration::from_secs((n as u64 / 100).max(10));
    let mut others = None;
    while Instant::now() < end {
        tokio::time::sleep(poll.min(end.saturating_duration_since(Instant::now()))).await;
        let done = hook.failed_between(started, Instant::now());
        eprintln!(
            "  {:.0} s: {done} failed writes so far ({:.1}/s)",
            started.elapsed().as_secs_f64(),
            done as f64 / started.elapsed().as_secs_f64()
        );
        if others.is_none() && Instant::now() < end && state_converged(&admin, n, routes, mode).await? {
            others = Some(started.elapsed().as_secs_f64());
        }
    }
    let rates = (0..seconds / window)
        .map(|k| {
            let from = started + Duration::from_secs(k * window);
            hook.failed_between(from, from + Duration::from_secs(window)) as f64 / window as f64
        })
        .collect();
    let m = controller_metrics(&addr).await?;
    let row = FaultRow {
        fault,
        mode: mode.to_owned(),
        tgws: n,
        routes,
        retry: label.to_owned(),
        rates,
        failed: hook.failed_between(started, end),
        reconciles: m.get("tgw_reconciles_total").copied().unwrap_or(0.0) as u64,
        others,
        cpu: proc_cpu(pid),
    };
    eprintln!(
        "  objects in backoff at the end: {:?}",
        m.iter()
            .filter(|(k, _)| k.starts_with("tgw_backoff"))
            .collect::<Vec<_>>()
    );
    drop(ctl);
    drop(hook);
    drop(cluster);
    Ok(row)
}
