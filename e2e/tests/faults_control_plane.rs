//! Faults survived (issue 21), the control plane's: kube-apiserver killed and restarted (mid
//! convergence and at steady state), etcd killed and restarted, and a watch expiry (410 Gone)
//! forcing a relist. Each fault runs at a few seeded moments (printed); after each, the tree must
//! converge to exactly the state a fault-free run reaches ([`converged_state`], compared whole:
//! every owned object, label, annotation, route-status entry and condition, so a duplicated or
//! orphaned object is a difference too), and the controller must then write nothing for 3 s.
//! Damage to what it owns must then be repaired too (its watches work again): at steady state the
//! damage is done right at the restart.
//!
//! Every seed prints `fault=... seed=... reconverged_s=...`: the time from the end of the fault
//! (the restarted process ready, the partition healed) to the fault-free state; at steady state,
//! to the damage done at the restart being repaired. These are the README's figures.
//!
//! How the tests fail (each checked against a broken controller): a watch feed that gives up on
//! its first error fails the kube-apiserver and watch-expiry tests (damage or the change made
//! during the partition never reflected); failed reconciles never retried fail both
//! mid-convergence tests (the tree stays half-written); a controller ignoring relists fails the
//! watch-expiry test. An etcd outage breaks no watch of the controller's (kube-apiserver keeps
//! them open): what the etcd test checks is the write failures' retries and the repair after.

mod controller_support;
mod faults_support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use controller_support::*;
use faults_support::*;
use k8s_openapi::api::core::v1::Namespace;
use kube::Client;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::{Value, json};
use tgw_controller::context::Metrics;
use tgw_core::keys::{ANNOTATION_ATTACHED_BY, LABEL_GATEWAY};
use tgw_e2e::{Identity, TestCluster};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

type State = BTreeMap<String, Value>;

/// How long a fault may take to heal before the test fails: the watchers' and the per-object
/// backoffs both cap well below this.
const RECONVERGE_TIMEOUT: Duration = Duration::from_secs(90);

// ---- what every test shares -------------------------------------------------------------------

/// The keys where two converged states differ.
fn differing(reference: &State, state: &State) -> Vec<String> {
    let keys: std::collections::BTreeSet<&String> = reference
        .keys()
        .chain(state.keys())
        .filter(|k| reference.get(*k) != state.get(*k))
        .collect();
    keys.into_iter().cloned().collect()
}

/// A fault-free run: the fault tree converged by a fresh controller. Returns the cluster (still
/// running), its admin client, the controller and the converged state.
async fn converged_cluster() -> anyhow::Result<(TestCluster, Client, Running, State)> {
    let (cluster, admin) = cluster().await?;
    fault_tree(&admin).await?;
    let c = start_controller(admin.clone()).await;
    await_converged(&admin, &c.metrics).await?;
    let state = converged_state(&admin).await?;
    Ok((cluster, admin, c, state))
}

/// Polls until the cluster is in `reference` state; returns how long that took. API errors (the
/// API server just restarted, a pooled connection dead) count as "not yet".
async fn await_state(admin: &Client, reference: &State, what: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    loop {
        let last = match converged_state(admin).await {
            Ok(s) if s == *reference => return Ok(started.elapsed()),
            Ok(s) => format!("differs in {:?}", differing(reference, &s)),
            Err(e) => format!("{e:#}"),
        };
        anyhow::ensure!(
            started.elapsed() < RECONVERGE_TIMEOUT,
            "{what}: not back to the fault-free state in {RECONVERGE_TIMEOUT:?}; last: {last}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The current state, retried while the API server, just restarted, does not serve it yet.
async fn readable_state(admin: &Client) -> anyhow::Result<State> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match converged_state(admin).await {
            Ok(s) => return Ok(s),
            Err(e) if Instant::now() > deadline => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// After re-convergence: quiet (every TenantGateway at its generation, no write for 2 s), still
/// exactly the fault-free state, and no write at all for 3 more seconds.
async fn settled(admin: &Client, m: &Metrics, reference: &State, what: &str) -> anyhow::Result<()> {
    await_converged(admin, m).await.with_context(|| what.to_owned())?;
    let state = converged_state(admin).await?;
    let diff = differing(reference, &state);
    anyhow::ensure!(diff.is_empty(), "{what}: differs from the fault-free run in {diff:?}");
    let steady = m.writes();
    tokio::time::sleep(Duration::from_secs(3)).await;
    anyhow::ensure!(
        m.writes() == steady,
        "{what}: {} writes in the 3 s after convergence",
        m.writes() - steady
    );
    Ok(())
}

/// Damage to what the controller owns, which it must repair back to the fault-free state: proof
/// that it works again after a fault (its watches in particular: once converged it requeues
/// nothing by itself). One kind per seed, each seen through a different watch: a deleted
/// Certificate (owned objects), a namespace stripped of the attach label and annotation we wrote
/// (namespaces), a deleted Gateway (owned objects). Retried while the API server, just restarted,
/// does not serve the CRDs yet.
async fn damage(admin: &Client, seed: u32, what: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let api = |group: &'static str, kind: &'static str, ns: &'static str| async move {
        loop {
            match dynapi(admin, group, kind, ns).await {
                Ok(api) => return Ok(api),
                Err(e) if Instant::now() > deadline => return Err(e),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    };
    match seed % 3 {
        1 => {
            let api: Api<_> = api(CM, "Certificate", "tenant-d").await?;
            let certs = api.list(&Default::default()).await?.items;
            anyhow::ensure!(!certs.is_empty(), "{what}: tenant-d has no Certificate to delete");
            for c in certs {
                api.delete(&c.metadata.name.unwrap_or_default(), &DeleteParams::default())
                    .await?;
            }
        }
        2 => {
            let (labels, annotations) = ns_labels(admin, "cozy-dash").await?;
            anyhow::ensure!(
                labels.contains_key(LABEL_GATEWAY) && annotations.contains_key(ANNOTATION_ATTACHED_BY),
                "{what}: cozy-dash carries no attach label/annotation of ours"
            );
            Api::<Namespace>::all(admin.clone())
                .patch(
                    "cozy-dash",
                    &PatchParams::default(),
                    &Patch::Merge(json!({"metadata": {"labels": {LABEL_GATEWAY: null},
                        "annotations": {ANNOTATION_ATTACHED_BY: null}}})),
                )
                .await?;
        }
        _ => {
            api(GW, "Gateway", "tenant-root")
                .await?
                .delete("cozystack", &DeleteParams::default())
                .await?;
        }
    }
    Ok(())
}

/// [`damage`] on a converged tree, repaired: how long the repair took, and the writes it needed.
async fn damage_is_repaired(
    admin: &Client,
    m: &Metrics,
    reference: &State,
    seed: u32,
    what: &str,
) -> anyhow::Result<(Duration, u64)> {
    let (started, w) = (Instant::now(), m.writes());
    damage(admin, seed, what).await?;
    await_state(admin, reference, &format!("{what}, repairing damage")).await?;
    let took = started.elapsed();
    await_converged(admin, m).await?;
    let diff = differing(reference, &converged_state(admin).await?);
    anyhow::ensure!(diff.is_empty(), "{what}: after the repair, differs in {diff:?}");
    Ok((took, m.writes() - w))
}

/// Waits until the controller has issued `n` writes (the seeded moment of a mid-convergence fault).
async fn after_writes(m: &Metrics, n: u64, what: &str) -> anyhow::Result<u64> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while m.writes() < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let w = m.writes();
    anyhow::ensure!(w >= n, "{what}: the controller never wrote {n} times");
    Ok(w)
}

/// The line each seed prints; the README's figures come from these.
/// `repaired`: how long the repair of damage made after re-convergence took
/// ([`damage_is_repaired`]).
fn report(
    fault: &str,
    seed: u32,
    moment: &str,
    down: Duration,
    reconverged: Duration,
    (writes, watch_errors): (u64, u64),
    repaired: Option<Duration>,
) {
    let repaired = repaired.map_or_else(String::new, |r| format!(" damage_repaired_s={:.1}", r.as_secs_f64()));
    eprintln!(
        "fault={fault} seed={seed} moment=\"{moment}\" down_s={:.1} reconverged_s={:.1} writes_during={writes} watch_errors={watch_errors}{repaired}",
        down.as_secs_f64(),
        reconverged.as_secs_f64(),
    );
}

// ---- kube-apiserver and etcd killed ------------------------------------------------------------

#[derive(Clone, Copy)]
enum Target {
    Apiserver,
    Etcd,
}

/// When a fault strikes.
#[derive(Clone, Copy)]
enum Moment {
    /// During the first convergence.
    MidConvergence,
    /// At steady state; the fault-free repair of this seed's [`damage`] takes `repair_writes`.
    SteadyState { repair_writes: u64 },
}

/// One seeded fault and what must follow: `target` SIGKILLed, kept down `down_ms`, restarted
/// (ready again); the tree in the fault-free state (the time from the restart to that state is
/// the figure), settled with no writes, and [`damage`] repaired. At steady state the damage is
/// done right after the restart, so the figure is the time until the controller, watches and
/// all, repairs again; and the whole fault costs no write beyond the repair's. Mid-convergence,
/// the damage follows the re-convergence. `w`: the controller's writes before the fault. Prints
/// the report line.
#[allow(clippy::too_many_arguments)]
async fn fault_and_recover(
    cluster: &mut TestCluster,
    admin: &Client,
    m: &Metrics,
    reference: &State,
    target: Target,
    when: Moment,
    (fault, seed, moment): (&str, u32, String),
    down_ms: u64,
    w: u64,
) -> anyhow::Result<()> {
    let what = format!("{fault}, seed {seed}");
    let errors_before = watcher_errors(m);
    let killed = Instant::now();
    match target {
        Target::Apiserver => cluster.kill_apiserver().await?,
        Target::Etcd => cluster.kill_etcd().await?,
    }
    tokio::time::sleep(Duration::from_millis(down_ms)).await;
    match target {
        Target::Apiserver => cluster.start_apiserver().await?,
        Target::Etcd => cluster.start_etcd().await?,
    }
    let back = Instant::now();
    let down = killed.elapsed();
    if let Moment::SteadyState { .. } = when {
        damage(admin, seed, &what).await?;
    }
    await_state(admin, reference, &what).await?;
    let reconverged = back.elapsed();
    settled(admin, m, reference, &what).await?;
    let writes = m.writes() - w;
    let errors = watcher_errors(m) - errors_before;
    let moment = format!("{moment}, down {down_ms} ms + restart");
    match when {
        Moment::SteadyState { repair_writes } => {
            report(fault, seed, &moment, down, reconverged, (writes, errors), None);
            anyhow::ensure!(
                writes <= repair_writes,
                "{what}: {writes} writes, where repairing the damage without a fault takes {repair_writes}"
            );
        }
        Moment::MidConvergence => {
            let (repaired, _) = damage_is_repaired(admin, m, reference, seed, &what).await?;
            report(
                fault,
                seed,
                &moment,
                down,
                reconverged,
                (writes, errors),
                Some(repaired),
            );
        }
    }
    Ok(())
}

/// Mid-convergence faults: a fresh cluster per seed, the fault after the controller's
/// `kill_after`-th write of its first convergence.
async fn mid_convergence(
    target: Target,
    fault: &str,
    reference: &State,
    total_writes: u64,
    seeds: &[(u32, u64, u64)],
) -> anyhow::Result<()> {
    for &(seed, kill_after, down_ms) in seeds {
        let (mut cluster, admin) = cluster().await?;
        fault_tree(&admin).await?;
        let c = start_controller(admin.clone()).await;
        let w = after_writes(&c.metrics, kill_after, &format!("{fault}, seed {seed}")).await?;
        let moment = format!("after {w} of the {total_writes} writes of a fault-free convergence");
        fault_and_recover(
            &mut cluster,
            &admin,
            &c.metrics,
            reference,
            target,
            Moment::MidConvergence,
            (fault, seed, moment),
            down_ms,
            w,
        )
        .await?;
        c.stop().await?;
    }
    Ok(())
}

/// kube-apiserver SIGKILLed at seeded moments of the first convergence (after the controller's
/// N-th write), down for a seeded time, then restarted on the same port with the same
/// certificates: the controller's failed writes back off, its watchers retry, and the tree
/// converges to the fault-free state. Fails if the controller gives up (its Controller stream
/// ends, a failed reconcile is never retried: the tree stays half-written) or its watches never
/// come back (the damage made afterwards is never repaired).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_apiserver_killed_mid_convergence_and_restarted() -> anyhow::Result<()> {
    let (reference, total_writes) = {
        let (_cluster, _admin, c, state) = converged_cluster().await?;
        let w = c.metrics.writes();
        c.stop().await?;
        (state, w)
    };
    mid_convergence(
        Target::Apiserver,
        "kube-apiserver-killed-mid-convergence",
        &reference,
        total_writes,
        &[(1, 3, 0), (2, 9, 1500), (3, 16, 500)],
    )
    .await
}

/// kube-apiserver SIGKILLed at a seeded moment of steady state and restarted, and damage done to
/// the tree right after the restart: the controller's watchers reconnect (relisting where their
/// resourceVersion is no longer served) and it repairs the damage, ending exactly in the
/// fault-free state with no write beyond what the repair takes without a fault (a restart is no
/// reason to write). Fails if a watch never comes back (the damage stays).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_apiserver_restarted_at_steady_state() -> anyhow::Result<()> {
    let (mut cluster, admin, c, reference) = converged_cluster().await?;
    let seeds = [(1, 0u64, 0u64), (2, 700, 2000), (3, 2500, 500)];
    let mut repair_writes = BTreeMap::new();
    for (seed, _, _) in seeds {
        let (_, writes) = damage_is_repaired(&admin, &c.metrics, &reference, seed, "fault-free repair").await?;
        repair_writes.insert(seed, writes);
    }
    eprintln!("fault-free repairs of the damage take {repair_writes:?} writes (by seed)");
    for (seed, wait_ms, down_ms) in seeds {
        let fault = "kube-apiserver-restarted-at-steady-state";
        tokio::time::sleep(Duration::from_millis(wait_ms)).await;
        let w = c.metrics.writes();
        let errors = watcher_errors(&c.metrics);
        let moment = format!("{wait_ms} ms into steady state");
        let when = Moment::SteadyState {
            repair_writes: repair_writes[&seed],
        };
        let seeded = (fault, seed, moment);
        fault_and_recover(
            &mut cluster,
            &admin,
            &c.metrics,
            &reference,
            Target::Apiserver,
            when,
            seeded,
            down_ms,
            w,
        )
        .await?;
        // The watchers did see the outage (else nothing was injected).
        anyhow::ensure!(
            watcher_errors(&c.metrics) > errors,
            "seed {seed}: no watcher noticed the outage"
        );
    }
    c.stop().await?;
    Ok(())
}

fn watcher_errors(m: &Metrics) -> u64 {
    ["namespace", "route", "owned", "tenantgateway"]
        .iter()
        .map(|s| m.obs.watcher_errors(s))
        .sum()
}

/// etcd SIGKILLed and restarted on the same data directory: once at steady state (on the
/// fault-free run's cluster, damage done right after the restart), twice at seeded moments of the
/// first convergence. kube-apiserver
/// stays up and fails while etcd is down; the controller backs off and converges to the
/// fault-free state. Fails like the kube-apiserver tests if the controller gives up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_killed_and_restarted() -> anyhow::Result<()> {
    let (reference, total_writes) = {
        let (mut cluster, admin, c, reference) = converged_cluster().await?;
        let total = c.metrics.writes();
        let (seed, wait_ms, down_ms) = (1, 1200u64, 1500u64);
        let (_, repair_writes) = damage_is_repaired(&admin, &c.metrics, &reference, seed, "fault-free repair").await?;
        tokio::time::sleep(Duration::from_millis(wait_ms)).await;
        let w = c.metrics.writes();
        let moment = format!("{wait_ms} ms into steady state");
        let seeded = ("etcd-killed-at-steady-state", seed, moment);
        let when = Moment::SteadyState { repair_writes };
        fault_and_recover(
            &mut cluster,
            &admin,
            &c.metrics,
            &reference,
            Target::Etcd,
            when,
            seeded,
            down_ms,
            w,
        )
        .await?;
        c.stop().await?;
        (reference, total)
    };
    mid_convergence(
        Target::Etcd,
        "etcd-killed-mid-convergence",
        &reference,
        total_writes,
        &[(2, 5, 2500), (3, 13, 800)],
    )
    .await
}

// ---- watch expiry (410 Gone) ------------------------------------------------------------------

/// A change the controller has to notice: seed 1 adds a route, seed 2 deletes one and takes a
/// namespace out of tenant-d's attach set (so the relist must also drop what it no longer lists).
async fn change(admin: &Client, step: u32) -> anyhow::Result<()> {
    match step {
        1 => {
            apply(
                admin,
                GW,
                http_route("tenant-a", "promo", &["promo.a.example.org"], "tenant-root"),
            )
            .await?;
        }
        2 => {
            dynapi(admin, GW, "HTTPRoute", "tenant-a")
                .await?
                .delete("blog", &DeleteParams::default())
                .await?;
            Api::<Namespace>::all(admin.clone())
                .patch(
                    "tenant-d-kid",
                    &PatchParams::default(),
                    &Patch::Merge(json!({"metadata": {"labels": {LABEL_GATEWAY: null}}})),
                )
                .await?;
        }
        _ => anyhow::bail!("no change {step}"),
    }
    Ok(())
}

/// The controller's connection to the API server is cut (its watches break), a change is made
/// meanwhile, etcd is compacted to its current revision and kube-apiserver restarted (a fresh
/// watch cache): every resourceVersion the controller's watchers hold is now too old. When the
/// connection comes back their watches fail with 410 Gone (checked in the controller's log), they
/// relist, and the controller reconciles the change it never saw as an event. The tree must reach
/// the state a fault-free run reaches with the same changes. Fails if the controller does not
/// relist (the change made during the cut is never reflected) or does not prune what the relist
/// no longer returns (the deleted route's listener and certificate stay).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_expiry_forces_a_relist() -> anyhow::Result<()> {
    capture_logs();
    // Fault-free: the same changes, each converged.
    let references = {
        let (_cluster, admin, c, _) = converged_cluster().await?;
        let mut out = Vec::new();
        for step in [1, 2] {
            change(&admin, step).await?;
            await_converged(&admin, &c.metrics).await?;
            out.push(converged_state(&admin).await?);
        }
        c.stop().await?;
        out
    };
    let (mut cluster, admin) = cluster().await?;
    fault_tree(&admin).await?;
    let proxy = Proxy::start(api_addr(&cluster)?).await?;
    let c = start_controller(client_via(&cluster, proxy.addr).await?).await;
    await_converged(&admin, &c.metrics).await?;
    for (seed, cut_ms) in [(1u32, 300u64), (2, 1500)] {
        let reference = &references[seed as usize - 1];
        let what = format!("watch expiry, seed {seed}");
        let w = c.metrics.writes();
        let log_mark = log_len();
        let errors = watcher_errors(&c.metrics);
        let cut = Instant::now();
        proxy.cut();
        tokio::time::sleep(Duration::from_millis(cut_ms)).await;
        change(&admin, seed).await?;
        let revision = cluster.compact_etcd().await?;
        cluster.kill_apiserver().await?;
        cluster.start_apiserver().await?;
        // The change is made and the controller has not seen it: without a relist, this stays.
        let before = readable_state(&admin).await?;
        anyhow::ensure!(
            before != *reference,
            "{what}: the change needs no controller action, so it proves nothing"
        );
        proxy.heal();
        let down = cut.elapsed();
        let reconverged = await_state(&admin, reference, &what).await?;
        settled(&admin, &c.metrics, reference, &what).await?;
        let log = log_since(log_mark);
        let gone = log.lines().filter(|l| l.contains("too old resource version")).count();
        report(
            "watch-expiry-410",
            seed,
            &format!(
                "connection cut {cut_ms} ms before the change, etcd compacted at revision {revision}, kube-apiserver restarted"
            ),
            down,
            reconverged,
            (c.metrics.writes() - w, watcher_errors(&c.metrics) - errors),
            None,
        );
        eprintln!("  {gone} watch failures with 410 Gone (too old resource version) in the controller's log");
        anyhow::ensure!(
            gone > 0,
            "{what}: no watch failed with 410 Gone; the controller's log since the cut:\n{log}"
        );
    }
    c.stop().await?;
    Ok(())
}

fn api_addr(cluster: &TestCluster) -> anyhow::Result<SocketAddr> {
    let url = cluster.server_url();
    url.strip_prefix("https://")
        .context("server URL is not https://")?
        .parse()
        .with_context(|| format!("server address of {url}"))
}

/// An admin client that reaches the API server through `proxy` (the serving certificate names
/// 127.0.0.1, so only the port differs).
async fn client_via(cluster: &TestCluster, proxy: SocketAddr) -> anyhow::Result<Client> {
    use kube::config::{KubeConfigOptions, Kubeconfig};
    let kubeconfig = Kubeconfig::read_from(cluster.kubeconfig_path())?;
    let options = KubeConfigOptions {
        context: Some(Identity::Admin.context().to_owned()),
        ..Default::default()
    };
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options).await?;
    config.cluster_url = format!("https://{proxy}").parse()?;
    Ok(Client::try_from(config)?)
}

/// A TCP proxy to the API server that can cut every connection through it and refuse new ones
/// (a network partition between the controller and the API server), then heal.
struct Proxy {
    addr: SocketAddr,
    open: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> anyhow::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (open, rx) = watch::channel(true);
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                let Ok((mut down, _)) = listener.accept().await else {
                    continue;
                };
                if !*rx.borrow() {
                    drop(down);
                    continue;
                }
                let mut rx = rx.clone();
                conns.spawn(async move {
                    let Ok(mut up) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut down, &mut up) => {}
                        _ = rx.wait_for(|open| !*open) => {}
                    }
                });
                while conns.try_join_next().is_some() {}
            }
        });
        Ok(Proxy { addr, open, task })
    }

    fn cut(&self) {
        self.open.send_replace(false);
    }

    fn heal(&self) {
        self.open.send_replace(true);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every connection.
        self.task.abort();
    }
}

// ---- the controller's log ---------------------------------------------------------------------

static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

/// Captures the controller's warnings (watch failures name their cause) for the whole test binary.
fn capture_logs() {
    let buf = LOG.get_or_init(Arc::default).clone();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("tgw_controller=warn"))
        .with_ansi(false)
        .with_writer(move || Capture(buf.clone()))
        .try_init();
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn log_len() -> usize {
    LOG.get()
        .map_or(0, |l| l.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len())
}

fn log_since(mark: usize) -> String {
    LOG.get().map_or_else(String::new, |l| {
        let l = l.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        String::from_utf8_lossy(&l[mark.min(l.len())..]).into_owned()
    })
}
