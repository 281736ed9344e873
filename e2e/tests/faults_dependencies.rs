//! Faults survived (issue 21, item 2): what the controller depends on misbehaves while it
//! converges the fault tree (`faults_support::fault_tree`) on a real kube-apiserver + etcd.
//!
//! - cert-manager's admission webhook (a real HTTPS server, `tgw_e2e::fault_webhook`) refuses,
//!   hangs past `timeoutSeconds`, or fails (HTTP 503), every Issuer/Certificate write: the other
//!   steps converge anyway, the conditions name the failing step and object, the failed writes
//!   the webhook sees stay within what the per-object backoff allows (printed per second), an
//!   outage (hanging, failing) stops each pass's Certificates at the first while a refusal tries
//!   every one, and once the webhook answers again the tree converges to the fault-free state;
//! - every route-status write failing (a 503 webhook on `httproutes/status`): the rest converges,
//!   each pass stops its route-status writes at the second consecutive failure, the condition
//!   names them;
//! - a Conflict storm: another writer bumps its own label on the same namespaces the controller
//!   labels, tens of times per second, with updates carrying a resourceVersion and merge patches:
//!   no label of either writer is lost;
//! - leadership moves: two replicas with leader election (`tgw_controller::app::App`, each on its
//!   own tokio runtime so the leader can be killed outright, as SIGKILL would), the leader killed
//!   at seeded points of its first reconciles: the standby takes over and the tree converges.
//!
//! Every test ends with the fault-free comparison: `converged_state` equal to a reference run's
//! (computed once per test binary) and nothing written for 3 s.
//!
//! Timing is seeded: `TGW_FAULT_SEED` (default 21) replays a run; each test prints its seed.

mod controller_support;
mod faults_support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use controller_support::*;
use faults_support::*;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use tgw_controller::context::Metrics;
use tgw_controller::leader::LeaderState;
use tgw_e2e::fault_webhook::{FaultWebhook, Mode, REFUSAL, Seen, WEBHOOK_NAME};

type State = BTreeMap<String, Value>;

/// A small deterministic generator (SplitMix64) for the seeded timings.
struct Rng(u64);

impl Rng {
    fn seeded(test: &str) -> Rng {
        let seed = std::env::var("TGW_FAULT_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(21u64);
        eprintln!("{test}: seed {seed} (TGW_FAULT_SEED={seed} replays it)");
        // Each test draws its own sequence from the one seed.
        let salt = test
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
        Rng(seed ^ salt)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// The fault-free run every test compares with: its converged state and how many writes it took.
struct Reference {
    state: State,
    writes: u64,
}

static REFERENCE: tokio::sync::OnceCell<Reference> = tokio::sync::OnceCell::const_new();

async fn reference() -> anyhow::Result<&'static Reference> {
    REFERENCE
        .get_or_try_init(|| async {
            let (_cluster, admin) = cluster().await?;
            fault_tree(&admin).await?;
            let c = start_controller(admin.clone()).await;
            await_converged(&admin, &c.metrics).await?;
            let state = converged_state(&admin).await?;
            let writes = c.metrics.writes();
            c.stop().await?;
            eprintln!("reference: fault-free run converged in {writes} writes");
            Ok(Reference { state, writes })
        })
        .await
}

/// Keys whose values differ (or that only one side has), each with both values.
fn differences(want: &State, got: &State) -> Vec<String> {
    want.keys()
        .chain(got.keys().filter(|k| !want.contains_key(*k)))
        .filter(|k| want.get(*k) != got.get(*k))
        .map(|k| {
            format!(
                "{k}: fault-free {} / here {}",
                want.get(k).map_or("absent".to_owned(), Value::to_string),
                got.get(k).map_or("absent".to_owned(), Value::to_string)
            )
        })
        .collect()
}

/// `state` without the entries `drop` names.
fn without(state: &State, drop: impl Fn(&str) -> bool) -> State {
    state
        .iter()
        .filter(|(k, _)| !drop(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// cert-manager's objects and the TenantGateways' conditions (which report them).
fn cert_manager_or_conditions(key: &str) -> bool {
    key.starts_with("Issuer ") || key.starts_with("Certificate ") || key.starts_with("TenantGateway ")
}

/// Polls until `converged_state` (through `view`) equals `want` (through `view`); returns how
/// long it took, or fails after `within` with the differences.
async fn await_state(
    admin: &Client,
    want: &State,
    view: impl Fn(State) -> State,
    within: Duration,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let want = view(want.clone());
    loop {
        let got = view(converged_state(admin).await?);
        let diff = differences(&want, &got);
        if diff.is_empty() {
            return Ok(started.elapsed());
        }
        anyhow::ensure!(
            started.elapsed() < within,
            "not the fault-free state after {within:?}:\n  {}",
            diff.join("\n  ")
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The end of every test: the state equals the reference's (through `view`), and the controller
/// writes nothing for 3 s, after which the state is still the same.
async fn fault_free_and_quiet(
    admin: &Client,
    metrics: &Metrics,
    want: &State,
    view: impl Fn(State) -> State,
) -> anyhow::Result<()> {
    let want = view(want.clone());
    let diff = differences(&want, &view(converged_state(admin).await?));
    anyhow::ensure!(
        diff.is_empty(),
        "differs from the fault-free run:\n  {}",
        diff.join("\n  ")
    );
    let writes = metrics.writes();
    tokio::time::sleep(Duration::from_secs(3)).await;
    anyhow::ensure!(
        metrics.writes() == writes,
        "{} writes in the 3 s after convergence",
        metrics.writes() - writes
    );
    let diff = differences(&want, &view(converged_state(admin).await?));
    anyhow::ensure!(diff.is_empty(), "changed after convergence:\n  {}", diff.join("\n  "));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// cert-manager's webhook refusing or timing out

/// Reconciles one failing TenantGateway may start within `window` under the default backoff
/// (1 s doubling, jitter never below half): the n-th retry waits at least 0.5·2^(n-1) s.
fn backoff_reconciles(window: Duration) -> u64 {
    let mut at = 0.0;
    let mut n = 1u64;
    while at + 0.5 * 2f64.powi(i32::try_from(n - 1).unwrap_or(30)) <= window.as_secs_f64() {
        at += 0.5 * 2f64.powi(i32::try_from(n - 1).unwrap_or(30));
        n += 1;
    }
    n
}

/// A dependency outage under way: the controller was started into it at `started`; it lasts
/// `length`.
struct Outage {
    test: &'static str,
    started: Instant,
    length: Duration,
    controller: Running,
}

impl Outage {
    /// Starts the controller into an outage of `length` and waits until every entry `affected`
    /// does not name has converged to the reference (`unaffected` says what those are).
    async fn begin(
        test: &'static str,
        admin: &Client,
        reference: &Reference,
        length: Duration,
        affected: fn(&str) -> bool,
        unaffected: &str,
    ) -> anyhow::Result<Outage> {
        let controller = start_controller(admin.clone()).await;
        let started = Instant::now();
        let others = await_state(admin, &reference.state, |s| without(&s, affected), length)
            .await
            .with_context(|| format!("{unaffected} during the outage"))?;
        eprintln!(
            "{test}: {unaffected} converged {:.1} s into the outage",
            others.as_secs_f64()
        );
        Ok(Outage {
            test,
            started,
            length,
            controller,
        })
    }

    /// Waits until the outage is over; the requests `hook` saw during it.
    async fn wait_out(&self, hook: &FaultWebhook) -> Vec<Seen> {
        if let Some(rest) = self.length.checked_sub(self.started.elapsed()) {
            tokio::time::sleep(rest).await;
        }
        let end = self.started + self.length;
        hook.seen()
            .into_iter()
            .filter(|s| s.at >= self.started && s.at < end)
            .collect()
    }

    /// Once the fault is gone: the tree converges to the fault-free state within 60 s and stays
    /// quiet; the controller stops.
    async fn recover(self, admin: &Client, reference: &Reference, after: &str) -> anyhow::Result<()> {
        let took = await_state(admin, &reference.state, |s| s, Duration::from_secs(60))
            .await
            .with_context(|| format!("after {after}"))?;
        eprintln!(
            "{}: re-converged to the fault-free state {:.1} s after {after}",
            self.test,
            took.as_secs_f64()
        );
        fault_free_and_quiet(admin, &self.controller.metrics, &reference.state, |s| s).await?;
        self.controller.stop().await?;
        Ok(())
    }
}

async fn webhook_outage(mode: Mode, test: &'static str) -> anyhow::Result<()> {
    let mut rng = Rng::seeded(test);
    let reference = reference().await?;
    let (_cluster, admin) = cluster().await?;
    let hook = FaultWebhook::start(mode).await?;
    hook.register(&admin, "cert-manager-webhook", 1).await?;
    hook.await_active(&admin).await?;
    fault_tree(&admin).await?;

    // Outage length: seeded, long enough for four retries of the slowest TenantGateway.
    let outage = Duration::from_secs(match mode {
        Mode::Hang => rng.range(30, 36),
        _ => rng.range(22, 28),
    });
    // Everything but cert-manager's objects converges during the outage.
    let run = Outage::begin(
        test,
        &admin,
        reference,
        outage,
        cert_manager_or_conditions,
        "Gateway, redirect, namespace labels and route status",
    )
    .await?;

    // The conditions name the failing step (IssuerReady, CertificatesReady) and the object.
    let expected_cause = match mode {
        Mode::Refuse => REFUSAL,
        _ => WEBHOOK_NAME,
    };
    for ns in ["tenant-root", "tenant-d"] {
        let issuer = format!("issuer {ns}/{}", tgw_core::naming::issuer("cozystack"));
        eventually(&format!("{ns}'s conditions name the failing steps"), || async {
            let t = get_tgw(&admin, ns).await?;
            let c = |ty: &str| {
                condition(&t, ty).map(|c| (c.status.as_str().to_owned(), c.reason.clone(), c.message.clone()))
            };
            let (is, ir, im) = c("IssuerReady").context("no IssuerReady")?;
            let (cs, cr, cm) = c("CertificatesReady").context("no CertificatesReady")?;
            let (gs, _, gm) = c("GatewayApplied").context("no GatewayApplied")?;
            let (rs, _, rm) = c("Ready").context("no Ready")?;
            anyhow::ensure!(
                is == "False" && ir == "ReconcileError" && im.contains(&issuer) && im.contains(expected_cause),
                "IssuerReady {is}/{ir}: {im}"
            );
            anyhow::ensure!(
                cs == "False"
                    && cr == "ReconcileError"
                    && cm.contains(&format!("certificate {ns}/"))
                    && cm.contains(expected_cause),
                "CertificatesReady {cs}/{cr}: {cm}"
            );
            anyhow::ensure!(gs == "True", "GatewayApplied {gs}: {gm}");
            anyhow::ensure!(rs == "False" && rm.contains(&issuer), "Ready {rs}: {rm}");
            Ok(true)
        })
        .await?;
    }
    let t = get_tgw(&admin, "tenant-d").await?;
    eprintln!(
        "{test}: tenant-d IssuerReady: {}",
        condition(&t, "IssuerReady")
            .map(|c| c.message.clone())
            .unwrap_or_default()
    );

    let seen = run.wait_out(&hook).await;
    let started = run.started;
    hook.set_mode(Mode::Allow);
    let recovered = Instant::now();

    // What backoff allows: per cert-manager object of the fault-free tree, the reconciles its
    // TenantGateway may start in the window, plus 3 for reconciles triggered by watch events
    // while the tree is first built.
    let objects: Vec<String> = reference
        .state
        .keys()
        .filter_map(|k| {
            k.strip_prefix("Issuer ")
                .or_else(|| k.strip_prefix("Certificate "))
                .map(str::to_owned)
        })
        .collect();
    let per_object = backoff_reconciles(outage) + 3;
    let bound = objects.len() as u64 * per_object;
    let secs = outage.as_secs_f64();
    let mut by_object: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for s in &seen {
        by_object
            .entry(format!("{} {}", s.kind, s.object))
            .or_default()
            .push((s.at - started).as_secs_f64());
    }
    eprintln!(
        "{test}: {} failed Issuer/Certificate writes reached the webhook in {secs:.0} s ({:.2}/s) for {} objects of 2 TenantGateways; backoff allows at most {bound} ({per_object} per object); a retry every second would be {}",
        seen.len(),
        seen.len() as f64 / secs,
        objects.len(),
        objects.len() as u64 * outage.as_secs()
    );
    for (o, times) in &by_object {
        eprintln!(
            "  {o}: {:?}",
            times.iter().map(|t| format!("{t:.1}s")).collect::<Vec<_>>()
        );
    }
    anyhow::ensure!(!seen.is_empty(), "the webhook saw no write: is it registered?");
    anyhow::ensure!(
        seen.iter()
            .all(|s| ["Issuer", "Certificate"].contains(&s.kind.as_str())),
        "the webhook saw something else: {seen:?}"
    );
    anyhow::ensure!(
        seen.len() as u64 <= bound,
        "{} failed writes in {secs:.0} s, more than backoff allows ({bound})",
        seen.len()
    );
    // An outage (the webhook cannot be called) stops a pass's Certificates step at its first
    // write: per TenantGateway no more Certificate writes than Issuer writes, one of each per
    // pass. A refusal is about one object: every Certificate is still tried.
    for ns in ["tenant-root", "tenant-d"] {
        let count = |kind: &str| {
            seen.iter()
                .filter(|s| s.kind == kind && s.object.starts_with(&format!("{ns}/")))
                .count()
        };
        let (issuers, certificates) = (count("Issuer"), count("Certificate"));
        let wanted = objects.iter().filter(|o| o.starts_with(&format!("{ns}/"))).count() - 1;
        eprintln!(
            "{test}: {ns}: {issuers} Issuer and {certificates} Certificate writes ({wanted} Certificates wanted)"
        );
        if mode == Mode::Refuse {
            anyhow::ensure!(
                certificates + wanted >= issuers * wanted, // the last pass may end past the window
                "{ns}: {certificates} Certificate writes for {issuers} passes: a refusal stopped the step"
            );
        } else {
            anyhow::ensure!(
                issuers > 0 && certificates <= issuers,
                "{ns}: {certificates} Certificate writes for {issuers} passes: the outage did not stop the step"
            );
        }
    }
    // The retries of one object spread out: the last gap is at least 2 s longer than the first
    // (equal gaps under a fixed requeue, of any length).
    let issuer_d = format!("Issuer tenant-d/{}", tgw_core::naming::issuer("cozystack"));
    let times = by_object.get(&issuer_d).cloned().unwrap_or_default();
    let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    anyhow::ensure!(
        gaps.len() >= 4,
        "{issuer_d} was retried only {} times in {secs:.0} s: {times:?}",
        gaps.len()
    );
    anyhow::ensure!(
        gaps[gaps.len() - 1] >= gaps[0] + 2.0,
        "{issuer_d}'s retries do not spread out: gaps {gaps:?}"
    );

    // Recovery: the webhook allows again, and the next retries complete the tree.
    run.recover(&admin, reference, "the webhook recovered").await?;
    let allowed = hook.seen().iter().filter(|s| s.at >= recovered).count();
    eprintln!("{test}: {allowed} writes allowed after recovery");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cert_manager_webhook_refusing_keeps_the_other_steps_converging() -> anyhow::Result<()> {
    webhook_outage(
        Mode::Refuse,
        "cert_manager_webhook_refusing_keeps_the_other_steps_converging",
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cert_manager_webhook_timing_out_keeps_the_other_steps_converging() -> anyhow::Result<()> {
    webhook_outage(
        Mode::Hang,
        "cert_manager_webhook_timing_out_keeps_the_other_steps_converging",
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cert_manager_webhook_failing_stops_each_pass_at_the_first_certificate() -> anyhow::Result<()> {
    webhook_outage(
        Mode::Fail,
        "cert_manager_webhook_failing_stops_each_pass_at_the_first_certificate",
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Route status writes failing

/// Route-status entries and the TenantGateways' conditions (which report them).
fn route_status_or_conditions(key: &str) -> bool {
    key.starts_with("HTTPRoute ") || key.starts_with("TenantGateway ")
}

/// The API server fails every route-status write (a webhook on `httproutes/status` answering 503):
/// everything else converges, each pass stops its route-status writes at the second consecutive
/// failure (so only the first two routes of each TenantGateway are ever tried), the condition
/// names them, and the tree converges once writes succeed again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_status_writes_failing_stop_each_pass_at_the_second_route() -> anyhow::Result<()> {
    let test = "route_status_writes_failing_stop_each_pass_at_the_second_route";
    let mut rng = Rng::seeded(test);
    let reference = reference().await?;
    let (_cluster, admin) = cluster().await?;
    fault_tree(&admin).await?;
    let hook = FaultWebhook::start(Mode::Fail).await?;
    let rules = json!([{"apiGroups": [GW], "apiVersions": ["*"], "operations": ["UPDATE"],
                        "resources": ["httproutes/status"]}]);
    hook.register_for(
        &admin,
        "route-status-failing",
        "route-status.e2e.tenant-gateway.io",
        1,
        rules,
    )
    .await?;
    let probe_api = dynapi(&admin, GW, "HTTPRoute", "tenant-root").await?;
    let probe = Patch::Merge(json!({"status": {"parents": [{
        "parentRef": {"name": "probe"}, "controllerName": "e2e.example.com/probe",
        "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted", "message": "probe",
                        "lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": 1}],
    }]}}));
    let dry_run = PatchParams {
        dry_run: true,
        ..Default::default()
    };
    hook.await_called(|| async {
        let _ = probe_api.patch_status("www", &dry_run, &probe).await;
    })
    .await?;

    let outage = Duration::from_secs(rng.range(14, 20));
    let run = Outage::begin(
        test,
        &admin,
        reference,
        outage,
        route_status_or_conditions,
        "Gateways, cert-manager objects and namespace labels",
    )
    .await?;
    // Its own platform route's failure counts against the TenantGateway (RouteStatusUpdated).
    eventually("tenant-root's conditions name the failed writes", || async {
        let t = get_tgw(&admin, "tenant-root").await?;
        let c = |ty: &str| {
            condition(&t, ty)
                .map(|c| (c.status.as_str().to_owned(), c.message.clone()))
                .with_context(|| format!("no {ty}"))
        };
        let routes = c("RouteStatusUpdated")?;
        anyhow::ensure!(
            routes.0 == "False"
                && routes
                    .1
                    .contains("update status of HTTPRoute cozy-dash/dash: Internal error occurred"),
            "RouteStatusUpdated {routes:?}"
        );
        Ok(true)
    })
    .await?;
    let seen = run.wait_out(&hook).await;
    hook.set_mode(Mode::Allow);

    // Each TenantGateway's routes (by namespace): only its first two routes were ever tried.
    for (tgw, namespaces) in [
        ("tenant-root", &["cozy-dash", "tenant-a", "tenant-root"][..]),
        ("tenant-d", &["tenant-d", "tenant-d-kid"][..]),
    ] {
        let tried: Vec<&str> = seen
            .iter()
            .filter(|s| namespaces.iter().any(|ns| s.object.starts_with(&format!("{ns}/"))))
            .map(|s| s.object.as_str())
            .collect();
        let distinct: std::collections::BTreeSet<&str> = tried.iter().copied().collect();
        let routes = reference
            .state
            .keys()
            .filter(|k| namespaces.iter().any(|ns| k.starts_with(&format!("HTTPRoute {ns}/"))))
            .count();
        eprintln!(
            "{test}: {tgw}: {} failed route-status writes in {:.0} s, to {distinct:?} of its {routes} routes",
            tried.len(),
            outage.as_secs_f64()
        );
        anyhow::ensure!(
            tried.len() >= 6 && distinct.len() == 2,
            "{tgw}: route-status writes {tried:?}: each pass should stop at its second route"
        );
    }

    run.recover(&admin, reference, "the writes succeed again").await
}

// ---------------------------------------------------------------------------------------------
// A Conflict storm on namespace labels

const FOREIGN: &str = "e2e.example.com/foreign-counter";

/// One foreign writer on namespace `ns`: bumps [`FOREIGN`] to 1, 2, 3, … until `until` or `max`
/// writes, alternating an update carrying the resourceVersion it read (re-read and retried on
/// 409) and a merge patch; pauses `pauses[i]` between writes and `think` ms between its read and
/// its update. Returns (last value written, 409s).
async fn foreign_writer(
    admin: Client,
    ns: &'static str,
    until: Instant,
    max: u64,
    pauses: Vec<u64>,
    think: u64,
) -> anyhow::Result<(u64, u64)> {
    let api: Api<Namespace> = Api::all(admin);
    let mut last = 0;
    let mut conflicts = 0;
    for i in 1..=max {
        if Instant::now() >= until {
            break;
        }
        if i % 2 == 0 {
            loop {
                let mut n = api.get(ns).await?;
                // A read-modify-write writer that thinks a little: the controller may write between.
                tokio::time::sleep(Duration::from_millis(think)).await;
                n.labels_mut().insert(FOREIGN.to_owned(), i.to_string());
                match api.replace(ns, &PostParams::default(), &n).await {
                    Ok(_) => break,
                    Err(kube::Error::Api(s)) if s.code == 409 => conflicts += 1,
                    Err(e) => return Err(e.into()),
                }
            }
        } else {
            api.patch(
                ns,
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"labels": {FOREIGN: i.to_string()}}})),
            )
            .await?;
        }
        last = i;
        tokio::time::sleep(Duration::from_millis(
            pauses[usize::try_from(i).unwrap_or(0) % pauses.len()],
        ))
        .await;
    }
    Ok((last, conflicts))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_storm_on_namespace_labels_loses_no_labels() -> anyhow::Result<()> {
    let test = "a_conflict_storm_on_namespace_labels_loses_no_labels";
    let mut rng = Rng::seeded(test);
    let reference = reference().await?;
    let (_cluster, admin) = cluster().await?;
    fault_tree(&admin).await?;

    // The storm starts with the controller, so it overlaps the controller's own label writes:
    // 5 namespaces, each written every 20-100 ms (seeded), for 5 s, at most 100 writes each.
    // Meanwhile tenant-root's attachedNamespaces drops and regains cozy-dash every 200-400 ms
    // (seeded), so the controller keeps unlabelling and relabelling a namespace under the storm;
    // the last spec applied is the fault-free tree's.
    let storm = Duration::from_secs(5);
    let c = start_controller(admin.clone()).await;
    let started = Instant::now();
    let writers: Vec<_> = FAULT_NAMESPACES
        .iter()
        .map(|ns| {
            let pauses: Vec<u64> = (0..16).map(|_| rng.range(20, 100)).collect();
            let think = rng.range(5, 40);
            tokio::spawn(foreign_writer(admin.clone(), ns, started + storm, 100, pauses, think))
        })
        .collect();
    let toggles: Vec<u64> = (0..32).map(|_| rng.range(200, 400)).collect();
    let mut flips = 0;
    for pause in toggles {
        tokio::time::sleep(Duration::from_millis(pause)).await;
        if started.elapsed() >= storm {
            break;
        }
        flips += 1;
        let attached: &[&str] = if flips % 2 == 1 {
            &["tenant-a"]
        } else {
            &["tenant-a", "cozy-dash"]
        };
        apply_tgw(
            &admin,
            "tenant-root",
            json!({"apex": "example.org", "attachedNamespaces": attached}),
        )
        .await?;
    }
    if flips % 2 == 1 {
        flips += 1;
        apply_tgw(
            &admin,
            "tenant-root",
            json!({"apex": "example.org", "attachedNamespaces": ["tenant-a", "cozy-dash"]}),
        )
        .await?;
    }
    let mut last: BTreeMap<&str, u64> = BTreeMap::new();
    let mut foreign_conflicts = 0;
    for (ns, w) in FAULT_NAMESPACES.iter().zip(writers) {
        let (l, conflicts) = w.await??;
        last.insert(ns, l);
        foreign_conflicts += conflicts;
    }
    let stopped = Instant::now();
    let total: u64 = last.values().sum();
    eprintln!(
        "{test}: {total} foreign label writes in {:.1} s ({:.0}/s), {foreign_conflicts} of its updates got 409 and were retried; cozy-dash detached and reattached {} times; the controller's label step failed {} times meanwhile",
        (stopped - started).as_secs_f64(),
        total as f64 / (stopped - started).as_secs_f64(),
        flips / 2,
        c.metrics.obs.errors("NamespacesAttached")
    );
    anyhow::ensure!(total >= 50, "the storm wrote only {total} times");

    // Our labels are right and nothing else differs from the fault-free run (the foreign label aside).
    let no_foreign = |mut s: State| {
        for (k, v) in &mut s {
            if k.starts_with("Namespace ")
                && let Some(labels) = v["labels"].as_object_mut()
            {
                labels.remove(FOREIGN);
            }
        }
        s
    };
    let took = await_state(&admin, &reference.state, no_foreign, Duration::from_secs(60)).await?;
    eprintln!(
        "{test}: converged to the fault-free state {:.1} s after the storm stopped ({:.1} s after start)",
        took.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    fault_free_and_quiet(&admin, &c.metrics, &reference.state, no_foreign).await?;

    // Every foreign write survived: each namespace carries the last value written.
    for (ns, want) in &last {
        let (labels, _) = ns_labels(&admin, ns).await?;
        anyhow::ensure!(
            labels.get(FOREIGN).map(String::as_str) == Some(want.to_string().as_str()),
            "namespace {ns}: {FOREIGN}={:?}, the last write set {want}",
            labels.get(FOREIGN)
        );
    }
    // Our labels and annotations: exactly the fault-free run's.
    for ns in FAULT_NAMESPACES {
        let (labels, annotations) = ns_labels(&admin, ns).await?;
        let want = &reference.state[&format!("Namespace {ns}")];
        let ours = |m: &BTreeMap<String, String>| -> Vec<(String, String)> {
            m.iter()
                .filter(|(k, _)| k.contains("cozystack.io/"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        let want_labels: BTreeMap<String, String> = serde_json::from_value(want["labels"].clone()).unwrap_or_default();
        let want_annotations: BTreeMap<String, String> =
            serde_json::from_value(want["annotations"].clone()).unwrap_or_default();
        anyhow::ensure!(
            ours(&labels) == ours(&want_labels) && ours(&annotations) == ours(&want_annotations),
            "namespace {ns}: labels {labels:?} annotations {annotations:?}, fault-free {want}"
        );
        eprintln!("  namespace {ns}: {:?} {:?}", ours(&labels), ours(&annotations));
    }
    let text = tgw_controller::metrics::render(&c.metrics)?;
    for l in text
        .lines()
        .filter(|l| l.starts_with("tgw_reconcile_errors_total") || l.contains("step"))
    {
        eprintln!("  {l}");
    }
    c.stop().await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Leadership moving mid-convergence

const LEASE_NS: &str = "kube-system";
const LEASE: &str = "tgw-faults-leader";

/// One controller replica with leader election, on its own tokio runtime in its own thread, so
/// it can be killed outright: every task (reconciles mid-write, lease renewal) is dropped where
/// it stands and the Lease is not released, as after SIGKILL or an OOM kill.
struct Replica {
    name: &'static str,
    metrics: Arc<Metrics>,
    leader: Arc<LeaderState>,
    exit: std::sync::mpsc::Sender<bool>,
    thread: std::thread::JoinHandle<anyhow::Result<()>>,
}

impl Replica {
    async fn start(kubeconfig: PathBuf, name: &'static str) -> anyhow::Result<Replica> {
        let cfg = tgw_controller::config::Config::try_from_args([
            "tgw",
            "--leader-election=true",
            "--leader-election-namespace",
            LEASE_NS,
            "--leader-election-lease-name",
            LEASE,
            "--leader-election-lease-duration",
            "3s",
            "--leader-election-renew-deadline",
            "2s",
            "--leader-election-retry-period",
            "250ms",
            "--pod-name",
            name,
            "--metrics-addr",
            "127.0.0.1:0",
            // Explicit values, so TGW_* variables of the environment do not change the test.
            "--controller-name",
            tgw_core::keys::CONTROLLER_NAME,
            "--field-manager",
            tgw_core::keys::FIELD_MANAGER,
            "--watch-namespace",
            "",
            "--platform-prefixes",
            "cozy-",
            "--acme-challenge-namespace",
            tgw_core::keys::ACME_CHALLENGE_NAMESPACE,
        ])?;
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let (exit, exit_rx) = std::sync::mpsc::channel::<bool>();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || -> anyhow::Result<()> {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build()?;
                let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
                let app = rt.spawn(async move {
                    let kc = kube::config::Kubeconfig::read_from(&kubeconfig)?;
                    let opts = kube::config::KubeConfigOptions {
                        context: Some(tgw_e2e::Identity::Admin.context().to_owned()),
                        ..Default::default()
                    };
                    let client = Client::try_from(kube::Config::from_custom_kubeconfig(kc, &opts).await?)?;
                    let app = tgw_controller::app::App::bind(&cfg).await?;
                    let _ = ready_tx.send((app.metrics(), app.leader_state()));
                    app.run(client, async move {
                        let _ = stop_rx.await;
                    })
                    .await
                });
                // true: kill (drop every task at its next await, as a SIGKILL stops a process;
                // waiting up to 1 s for the worker to leave the poll it is in, so nothing the
                // killed replica does is counted after `kill` returns); false or the handle
                // dropped: graceful stop.
                if exit_rx.recv().unwrap_or(false) {
                    rt.shutdown_timeout(Duration::from_secs(1));
                    return Ok(());
                }
                let _ = stop_tx.send(());
                rt.block_on(app)?
            })?;
        let (metrics, leader) = tokio::time::timeout(Duration::from_secs(20), ready_rx)
            .await
            .context("replica start")?
            .context("replica failed to start")?;
        Ok(Replica {
            name,
            metrics,
            leader,
            exit,
            thread,
        })
    }

    async fn kill(self) -> anyhow::Result<()> {
        let _ = self.exit.send(true);
        tokio::task::spawn_blocking(move || self.thread.join())
            .await?
            .map_err(|_| anyhow::anyhow!("replica thread panicked"))?
    }

    async fn stop(self) -> anyhow::Result<()> {
        let _ = self.exit.send(false);
        let name = self.name;
        tokio::time::timeout(
            Duration::from_secs(30),
            tokio::task::spawn_blocking(move || self.thread.join()),
        )
        .await
        .with_context(|| format!("{name} did not stop"))??
        .map_err(|_| anyhow::anyhow!("replica thread panicked"))?
    }
}

async fn await_leader(r: &Replica, within: Duration) -> anyhow::Result<Duration> {
    let started = Instant::now();
    while !r.leader.is_leader() {
        anyhow::ensure!(started.elapsed() < within, "{} did not lead within {within:?}", r.name);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(started.elapsed())
}

/// No owned object has two controllers, and no route carries two entries of ours for one parent.
async fn no_duplicates(admin: &Client) -> anyhow::Result<()> {
    for ns in FAULT_NAMESPACES {
        for (group, kind) in [(GW, "Gateway"), (GW, "HTTPRoute"), (CM, "Issuer"), (CM, "Certificate")] {
            for o in dynapi(admin, group, kind, ns)
                .await?
                .list(&Default::default())
                .await?
                .items
            {
                let controllers = o
                    .metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .filter(|r| r.controller == Some(true))
                    .count();
                anyhow::ensure!(
                    controllers <= 1,
                    "{kind} {ns}/{} has {controllers} controllers",
                    o.name_any()
                );
                let mut parents: Vec<String> = o.data["status"]["parents"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| p["controllerName"] == tgw_core::keys::CONTROLLER_NAME)
                    .map(|p| p["parentRef"].to_string())
                    .collect();
                let n = parents.len();
                parents.sort();
                parents.dedup();
                anyhow::ensure!(
                    parents.len() == n,
                    "{kind} {ns}/{} has duplicate entries of ours",
                    o.name_any()
                );
            }
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leadership_moves_mid_convergence() -> anyhow::Result<()> {
    let test = "leadership_moves_mid_convergence";
    let mut rng = Rng::seeded(test);
    let reference = reference().await?;
    // Seeded kill points: after the leader issued this many writes, one in each third of the
    // fault-free run's writes.
    let w = reference.writes.max(6);
    let points = [
        rng.range(1, w / 3),
        rng.range(w / 3 + 1, 2 * w / 3),
        rng.range(2 * w / 3 + 1, w - 1),
    ];
    eprintln!("{test}: the leader is killed after {points:?} of the fault-free run's {w} writes");
    for kill_at in points {
        let (cluster, admin) = cluster().await?;
        if Api::<Namespace>::all(admin.clone()).get_opt(LEASE_NS).await?.is_none() {
            named_namespace(&admin, LEASE_NS, &[]).await?;
        }
        fault_tree(&admin).await?;
        let kubeconfig = cluster.kubeconfig_path().to_owned();
        let a = Replica::start(kubeconfig.clone(), "tgw-a").await?;
        await_leader(&a, Duration::from_secs(20)).await?;
        let b = Replica::start(kubeconfig, "tgw-b").await?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while a.metrics.writes() < kill_at && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        anyhow::ensure!(a.metrics.writes() >= kill_at, "the leader never wrote {kill_at} times");
        anyhow::ensure!(
            !b.leader.is_leader() && b.metrics.writes() == 0,
            "the standby led or wrote"
        );
        let a_metrics = a.metrics.clone();
        a.kill().await?;
        let killed = Instant::now();
        let written = a_metrics.writes();
        let takeover = await_leader(&b, Duration::from_secs(20)).await?;
        await_state(&admin, &reference.state, |s| s, Duration::from_secs(60)).await?;
        let reconverged = killed.elapsed();
        eprintln!(
            "{test}: leader killed after {written} writes (seeded {kill_at}); the standby led {:.1} s later, and the tree was in the fault-free state {:.1} s after the kill",
            takeover.as_secs_f64(),
            reconverged.as_secs_f64()
        );
        await_converged(&admin, &b.metrics).await?;
        fault_free_and_quiet(&admin, &b.metrics, &reference.state, |s| s).await?;
        no_duplicates(&admin).await?;
        anyhow::ensure!(
            a_metrics.writes() == written,
            "the killed leader went on writing ({} writes after the kill)",
            a_metrics.writes() - written
        );
        anyhow::ensure!(
            b.leader.acquisitions() == 1,
            "the standby became leader {} times",
            b.leader.acquisitions()
        );
        b.stop().await?;
        drop(cluster);
    }
    Ok(())
}
