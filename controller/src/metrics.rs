//! Prometheus metrics (text exposition format 0.0.4, written by hand) and the reconcile wrapper
//! that records them and puts the reconciled object into every log line of a reconcile.
//!
//! | metric | type | meaning |
//! | --- | --- | --- |
//! | `tgw_reconciles_total` | counter | reconciles started |
//! | `tgw_reconcile_errors_total{reason}` | counter | failed reconciles by [`Error::metric_label`], and failed steps by condition type (`GatewayApplied`, …) |
//! | `tgw_reconcile_duration_seconds` | histogram | wall time of one reconcile |
//! | `tgw_reconciles_in_flight` | gauge | reconciles running now |
//! | `tgw_writes_total` | counter | API writes issued (apply, patch, delete) |
//! | `tgw_tenantgateways` | gauge | TenantGateways in the cache |
//! | `tgw_tenantgateways_pending` | gauge | of those, not yet reconciled at their generation (status.observedGeneration behind): the queue-depth proxy, as kube-runtime's queue is not observable |
//! | `tgw_hostname_conflicts` | gauge | route parentRefs currently rejected with `HostnameConflict` (the losers), over all TenantGateways |
//! | `tgw_caches_synced` | gauge | 1 once every cache has its initial list |
//! | `tgw_watch_events_total{source}` | counter | watch events applied to the caches (`tenantgateway`, `route`, `namespace`, `owned`) |
//! | `tgw_enqueues_total{source}` | counter | reconciles requested, by the kind of event that passed its filter |
//! | `tgw_own_write_echoes_total` | counter | watch events recognised as the echo of our own write (they enqueue nothing for the writer) |
//! | `tgw_leader_election_enabled`, `tgw_leader`, `tgw_leader_acquisitions_total` | gauge, gauge, counter | leader election |

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::ResourceExt;
use kube::core::DynamicObject;
use kube::runtime::controller::Action;
use kube::runtime::reflector::Store;
use tgw_core::conditions::reasons::HOSTNAME_CONFLICT;
use tgw_core::decide::Decision;
use tgw_core::tenantgateway::TenantGateway;
use tracing::Instrument;

use crate::context::{Context, Metrics};
use crate::leader::LeaderState;
use crate::{Error, Result};

/// Upper bounds (seconds) of the reconcile duration histogram.
pub const DURATION_BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

impl Error {
    /// Low-cardinality label for `tgw_reconcile_errors_total{reason}`.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::Foreign { .. } => "foreign_object",
            Error::Kube { .. } => "kube_api",
            Error::Render(..) => "render",
            Error::Steps(_) => "steps",
            Error::Discovery(_) => "discovery",
            Error::Other(_) => "other",
            Error::MissingMeta => "missing_metadata",
        }
    }
}

#[derive(Debug, Default)]
struct Histogram {
    /// Per-bucket counts (non-cumulative), last entry is +Inf.
    buckets: [u64; DURATION_BUCKETS.len() + 1],
    sum: f64,
    count: u64,
}

/// Observations beyond the plain counters of [`Metrics`].
#[derive(Debug, Default)]
pub struct Observed {
    errors: Mutex<BTreeMap<String, u64>>,
    duration: Mutex<Histogram>,
    in_flight: AtomicI64,
    conflicts: Mutex<BTreeMap<String, u64>>,
    synced: AtomicBool,
    tenantgateways: Mutex<Option<Store<DynamicObject>>>,
    watch_events: Mutex<BTreeMap<&'static str, u64>>,
    enqueues: Mutex<BTreeMap<&'static str, u64>>,
    own_write_echoes: AtomicU64,
}

impl Observed {
    pub fn error(&self, reason: &str) {
        if let Ok(mut m) = self.errors.lock() {
            *m.entry(reason.to_owned()).or_default() += 1;
        }
    }
    /// A reconcile step failed (reason: its condition type).
    pub fn step_failed(&self, step: &str) {
        self.error(step);
    }
    pub fn errors(&self, reason: &str) -> u64 {
        self.errors
            .lock()
            .ok()
            .and_then(|m| m.get(reason).copied())
            .unwrap_or(0)
    }
    pub fn observe_duration(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Ok(mut h) = self.duration.lock() {
            let i = DURATION_BUCKETS
                .iter()
                .position(|b| secs <= *b)
                .unwrap_or(DURATION_BUCKETS.len());
            h.buckets[i] += 1;
            h.sum += secs;
            h.count += 1;
        }
    }
    /// Sets the number of HostnameConflict losers found by the last reconcile of `tgw`.
    pub fn set_conflicts(&self, tgw: &str, n: u64) {
        if let Ok(mut m) = self.conflicts.lock() {
            if n == 0 {
                m.remove(tgw);
            } else {
                m.insert(tgw.to_owned(), n);
            }
        }
    }
    pub fn conflicts(&self) -> u64 {
        self.conflicts.lock().map(|m| m.values().sum()).unwrap_or(0)
    }
    pub fn watch_event(&self, source: &'static str) {
        if let Ok(mut m) = self.watch_events.lock() {
            *m.entry(source).or_default() += 1;
        }
    }
    pub fn enqueued(&self, source: &'static str) {
        if let Ok(mut m) = self.enqueues.lock() {
            *m.entry(source).or_default() += 1;
        }
    }
    /// Reconciles requested by events of `source` so far.
    pub fn enqueues(&self, source: &str) -> u64 {
        self.enqueues
            .lock()
            .ok()
            .and_then(|m| m.get(source).copied())
            .unwrap_or(0)
    }
    pub fn own_write_echo(&self) {
        self.own_write_echoes.fetch_add(1, Ordering::Relaxed);
    }
    pub fn own_write_echoes(&self) -> u64 {
        self.own_write_echoes.load(Ordering::Relaxed)
    }
    pub fn set_synced(&self, v: bool) {
        self.synced.store(v, Ordering::Relaxed);
    }
    pub fn synced(&self) -> bool {
        self.synced.load(Ordering::Relaxed)
    }
    /// The TenantGateway cache of the running controller (None when not running).
    pub fn set_store(&self, store: Option<Store<DynamicObject>>) {
        if let Ok(mut s) = self.tenantgateways.lock() {
            *s = store;
        }
    }
    /// (cached, pending) TenantGateways.
    pub fn tenantgateways(&self) -> (usize, usize) {
        let Some(store) = self.tenantgateways.lock().ok().and_then(|s| s.clone()) else {
            return (0, 0);
        };
        let all = store.state();
        let pending = all
            .iter()
            .filter(|t| t.data["status"]["observedGeneration"].as_i64() != t.metadata.generation)
            .count();
        (all.len(), pending)
    }
}

/// Route parentRefs of this decision rejected as HostnameConflict losers.
pub fn hostname_conflicts(d: &Decision) -> u64 {
    d.routes
        .iter()
        .flat_map(|(_, parents)| parents.iter())
        .filter(|(_, v)| !v.accepted && v.reason == HOSTNAME_CONFLICT)
        .count() as u64
}

/// Decrements the in-flight gauge also when a reconcile future is dropped (shutdown).
struct InFlight<'a>(&'a AtomicI64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Runs one reconcile `f` inside a span naming the object (so every log line of it carries the
/// object) and records count, duration, in-flight and errors.
pub async fn observe<F, Fut>(tgw: Arc<TenantGateway>, ctx: Arc<Context>, f: F) -> Result<Action>
where
    F: FnOnce(Arc<TenantGateway>, Arc<Context>) -> Fut,
    Fut: Future<Output = Result<Action>>,
{
    let ns = tgw.namespace().unwrap_or_default();
    let name = tgw.name_any();
    let key = format!("{ns}/{name}");
    let span = tracing::info_span!(
        "reconcile",
        object = %key,
        namespace = %ns,
        name = %name,
        generation = tgw.metadata.generation.unwrap_or(0),
        resource_version = %tgw.resource_version().unwrap_or_default(),
    );
    let metrics = ctx.metrics.clone();
    let deleting = tgw.metadata.deletion_timestamp.is_some();
    metrics.reconciles.fetch_add(1, Ordering::Relaxed);
    metrics.obs.in_flight.fetch_add(1, Ordering::Relaxed);
    let guard = InFlight(&metrics.obs.in_flight);
    let started = Instant::now();
    let result = f(tgw, ctx).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    drop(guard);
    metrics.obs.observe_duration(elapsed);
    if deleting {
        metrics.obs.set_conflicts(&key, 0);
    }
    match &result {
        Ok(_) => tracing::debug!(parent: &span, elapsed_ms = elapsed.as_millis() as u64, "reconciled"),
        Err(e) => {
            metrics.obs.error(e.metric_label());
            tracing::debug!(parent: &span, elapsed_ms = elapsed.as_millis() as u64, reason = e.metric_label(), "reconcile failed");
        }
    }
    result
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The Prometheus text exposition of `m` and, with leader election, of `leader`.
pub fn render(m: &Metrics, leader: Option<&LeaderState>) -> String {
    let mut out = String::new();
    let o = &m.obs;
    header(
        &mut out,
        "tgw_reconciles_total",
        "counter",
        "TenantGateway reconciles started.",
    );
    let _ = writeln!(out, "tgw_reconciles_total {}", m.reconciles.load(Ordering::Relaxed));
    header(
        &mut out,
        "tgw_reconcile_errors_total",
        "counter",
        "Failed reconciles by error kind, and failed reconcile steps by condition type.",
    );
    if let Ok(errors) = o.errors.lock() {
        for (reason, n) in errors.iter() {
            let _ = writeln!(out, "tgw_reconcile_errors_total{{reason=\"{}\"}} {n}", escape(reason));
        }
    }
    header(
        &mut out,
        "tgw_reconcile_failures_total",
        "counter",
        "Reconciles that ended in an error or with failed steps.",
    );
    let _ = writeln!(
        out,
        "tgw_reconcile_failures_total {}",
        m.failures.load(Ordering::Relaxed)
    );
    header(
        &mut out,
        "tgw_reconcile_duration_seconds",
        "histogram",
        "Wall time of one reconcile.",
    );
    if let Ok(h) = o.duration.lock() {
        let mut cumulative = 0;
        for (i, b) in DURATION_BUCKETS.iter().enumerate() {
            cumulative += h.buckets[i];
            let _ = writeln!(out, "tgw_reconcile_duration_seconds_bucket{{le=\"{b}\"}} {cumulative}");
        }
        cumulative += h.buckets[DURATION_BUCKETS.len()];
        let _ = writeln!(out, "tgw_reconcile_duration_seconds_bucket{{le=\"+Inf\"}} {cumulative}");
        let _ = writeln!(out, "tgw_reconcile_duration_seconds_sum {}", h.sum);
        let _ = writeln!(out, "tgw_reconcile_duration_seconds_count {}", h.count);
    }
    header(&mut out, "tgw_reconciles_in_flight", "gauge", "Reconciles running now.");
    let _ = writeln!(out, "tgw_reconciles_in_flight {}", o.in_flight.load(Ordering::Relaxed));
    header(
        &mut out,
        "tgw_writes_total",
        "counter",
        "API writes issued (server-side apply, patch, delete).",
    );
    let _ = writeln!(out, "tgw_writes_total {}", m.writes());
    let (total, pending) = o.tenantgateways();
    header(&mut out, "tgw_tenantgateways", "gauge", "TenantGateways in the cache.");
    let _ = writeln!(out, "tgw_tenantgateways {total}");
    header(
        &mut out,
        "tgw_tenantgateways_pending",
        "gauge",
        "TenantGateways whose status.observedGeneration is behind metadata.generation (work queued).",
    );
    let _ = writeln!(out, "tgw_tenantgateways_pending {pending}");
    header(
        &mut out,
        "tgw_hostname_conflicts",
        "gauge",
        "Route parentRefs currently rejected with HostnameConflict.",
    );
    let _ = writeln!(out, "tgw_hostname_conflicts {}", o.conflicts());
    header(
        &mut out,
        "tgw_caches_synced",
        "gauge",
        "1 when every cache has its initial list.",
    );
    let _ = writeln!(out, "tgw_caches_synced {}", u8::from(o.synced()));
    for (name, help, map) in [
        (
            "tgw_watch_events_total",
            "Watch events applied to the caches, by source.",
            &o.watch_events,
        ),
        (
            "tgw_enqueues_total",
            "Reconciles requested, by the kind of event that passed its filter.",
            &o.enqueues,
        ),
    ] {
        header(&mut out, name, "counter", help);
        if let Ok(m) = map.lock() {
            for (source, n) in m.iter() {
                let _ = writeln!(out, "{name}{{source=\"{source}\"}} {n}");
            }
        }
    }
    header(
        &mut out,
        "tgw_own_write_echoes_total",
        "counter",
        "Watch events recognised as the echo of the controller's own write.",
    );
    let _ = writeln!(out, "tgw_own_write_echoes_total {}", o.own_write_echoes());
    header(
        &mut out,
        "tgw_leader_election_enabled",
        "gauge",
        "1 when leader election is on.",
    );
    let _ = writeln!(out, "tgw_leader_election_enabled {}", u8::from(leader.is_some()));
    header(
        &mut out,
        "tgw_leader",
        "gauge",
        "1 while this replica runs the reconciler (always 1 without leader election once started).",
    );
    let is_leader = leader.map_or(o.synced(), LeaderState::is_leader);
    let _ = writeln!(out, "tgw_leader {}", u8::from(is_leader));
    header(
        &mut out,
        "tgw_leader_acquisitions_total",
        "counter",
        "Times this replica acquired the Lease.",
    );
    let _ = writeln!(
        out,
        "tgw_leader_acquisitions_total {}",
        leader.map_or(0, LeaderState::acquisitions)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition() {
        let m = Metrics::default();
        m.reconciles.fetch_add(3, Ordering::Relaxed);
        m.write();
        m.obs.observe_duration(Duration::from_millis(3));
        m.obs.observe_duration(Duration::from_millis(200));
        m.obs.observe_duration(Duration::from_secs(60));
        m.obs.error("kube_api");
        m.obs.step_failed("GatewayApplied");
        m.obs.error("kube_api");
        m.obs.set_conflicts("a/x", 2);
        m.obs.set_conflicts("b/x", 1);
        m.obs.set_conflicts("b/x", 0);
        m.obs.enqueued("route");
        m.obs.enqueued("route");
        m.obs.watch_event("namespace");
        m.obs.own_write_echo();
        let text = render(&m, None);
        for line in [
            "tgw_reconciles_total 3",
            "tgw_writes_total 1",
            "tgw_reconcile_errors_total{reason=\"kube_api\"} 2",
            "tgw_reconcile_errors_total{reason=\"GatewayApplied\"} 1",
            "tgw_reconcile_duration_seconds_bucket{le=\"0.005\"} 1",
            "tgw_reconcile_duration_seconds_bucket{le=\"0.25\"} 2",
            "tgw_reconcile_duration_seconds_bucket{le=\"30\"} 2",
            "tgw_reconcile_duration_seconds_bucket{le=\"+Inf\"} 3",
            "tgw_reconcile_duration_seconds_count 3",
            "tgw_hostname_conflicts 2",
            "tgw_caches_synced 0",
            "tgw_leader_election_enabled 0",
            "tgw_enqueues_total{source=\"route\"} 2",
            "tgw_watch_events_total{source=\"namespace\"} 1",
            "tgw_own_write_echoes_total 1",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
        // Every sample belongs to a declared metric family.
        let families: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split(' ').next())
            .collect();
        for l in text.lines().filter(|l| !l.starts_with('#')) {
            let name = l.split(['{', ' ']).next().unwrap_or_default();
            assert!(
                families.iter().any(|f| name == *f
                    || name
                        .strip_prefix(f)
                        .is_some_and(|s| ["_bucket", "_sum", "_count"].contains(&s))),
                "{l}"
            );
        }
    }

    #[test]
    fn labels() {
        assert_eq!(Error::MissingMeta.metric_label(), "missing_metadata");
        assert_eq!(Error::Steps(2).metric_label(), "steps");
        assert_eq!(escape("a\"b\\c"), "a\\\"b\\\\c");
    }
}
