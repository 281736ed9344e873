//! Prometheus metrics: one OpenMetrics registry of the official `prometheus-client` crate, served
//! on `/metrics` ([`crate::http`], content type [`CONTENT_TYPE`]), and the reconcile wrapper that
//! records them and puts the reconciled object into every log line of a reconcile.
//!
//! | metric | type | labels | meaning |
//! | --- | --- | --- | --- |
//! | `tgw_reconciles_total` | counter | | reconciles started (of TenantGateways that parse) |
//! | `tgw_reconcile_errors_total` | counter | `reason` | failed reconciles by [`Error::metric_label`] or `invalid_spec` (each pre-set to 0), and failed steps by condition type (`GatewayApplied`, …) |
//! | `tgw_reconcile_failures_total` | counter | | reconciles that ended in an error or with failed steps |
//! | `tgw_reconcile_duration_seconds` | histogram | `le` | wall time of one reconcile ([`DURATION_BUCKETS`]) |
//! | `tgw_reconciles_in_flight` | gauge | | reconciles running now |
//! | `tgw_reconcile_results_total` | counter | `result` | outcomes kube-runtime's Controller reports: `await_change`, `requeue`, `error` (retried by `error_policy`), `object_not_found` (requested object left the cache; no reconcile ran), `queue_error`, `runner_error` |
//! | `tgw_reconcile_queue_depth` | gauge | | TenantGateways with a reconcile requested by a watch event and not started yet (see [`queue`]) |
//! | `tgw_reconcile_queue_wait_seconds` | histogram | `le` | time from the oldest waiting request of a TenantGateway to the start of the reconcile that serves it ([`queue::WAIT_BUCKETS`]) |
//! | `tgw_writes_total` | counter | | API writes issued (apply, patch, delete) |
//! | `tgw_caches_synced` | gauge | | 1 once every cache has its initial list |
//! | `tgw_watch_events_total` | counter | `source` | watch events applied to the caches (`tenantgateway`, `route`, `namespace`, `owned`) |
//! | `tgw_watcher_errors_total` | counter | `source` | errors of the watch streams (each retried with backoff), same sources |
//! | `tgw_enqueues_total` | counter | `source` | reconciles requested, by the kind of event that passed its filter |
//! | `tgw_own_write_echoes_total` | counter | | watch events recognised as the echo of our own write (they enqueue nothing for the writer) |
//! | `tgw_tenantgateways` | gauge | | TenantGateways in the cache (computed at scrape) |
//! | `tgw_tenantgateways_pending` | gauge | | of those, not yet reconciled at their generation (status.observedGeneration behind; computed at scrape) |
//! | `tgw_hostname_conflicts` | gauge | | route parentRefs currently rejected with `HostnameConflict` (the losers), over all TenantGateways |
//! | `tgw_backoff_objects` | gauge | | TenantGateways whose last reconcile failed, waiting for a retry with exponential backoff (computed at scrape) |
//! | `tgw_backoff_next_retry_seconds` | gauge | | seconds until the soonest of those retries, 0 when none (computed at scrape) |
//! | `tgw_leader_election_enabled` | gauge | | 1 when leader election is on |
//! | `tgw_leader` | gauge | | 1 while this replica runs the reconciler (without election: once its caches are synced) |
//! | `tgw_leader_acquisitions_total` | counter | | times this replica acquired the Lease |
//!
//! Counters are registered without `_total` (OpenMetrics adds it to the sample), so their
//! `# TYPE` lines name the family: `# TYPE tgw_writes counter`, sample `tgw_writes_total`. The
//! two histograms carry `# UNIT … seconds`, and bucket bounds are written as floats
//! (`le="1.0"`). Every `source`, `result` and known `reason` series exists from the start at 0.

pub mod labels;
pub mod queue;
mod scrape;

use std::future::Future;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use kube::ResourceExt;
use kube::runtime::controller::{self, Action};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use tgw_core::conditions::reasons::HOSTNAME_CONFLICT;
use tgw_core::decide::Decision;
use tgw_core::tenantgateway::TenantGateway;
use tracing::Instrument;

use crate::context::Context;
use crate::index::TgwKey;
use crate::leader::LeaderState;
use crate::{Error, Result};
use labels::{ControllerResult, ERROR_REASONS, Outcome, RESULTS, Reason, SOURCES, Source};
use queue::RequestQueue;
use scrape::{ScrapeTime, Shared};

/// The `Content-Type` of the exposition (OpenMetrics text 1.0.0).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Prefix of every metric name.
pub const PREFIX: &str = "tgw";

/// Upper bounds (seconds) of the reconcile duration histogram.
pub const DURATION_BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

impl Error {
    /// Low-cardinality label for `tgw_reconcile_errors_total{reason}` (listed in
    /// [`labels::ERROR_REASONS`]).
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::Foreign { .. } => "foreign_object",
            Error::Kube { .. } => "kube_api",
            Error::Stopped { first, .. } => first.metric_label(),
            Error::Render(..) => "render",
            Error::Steps(_) => "steps",
            Error::Discovery(_) => "discovery",
            Error::Other(_) => "other",
            Error::MissingMeta => "missing_metadata",
        }
    }
}

/// Every metric of the controller and the registry that exposes them; shared with the metrics
/// server, tests and benchmarks.
#[derive(Debug)]
pub struct Metrics {
    reconciles: Counter,
    failures: Counter,
    writes: Counter,
    /// Error reasons, durations, the reconcile queue, watch streams, cache state.
    pub obs: Observed,
    registry: Registry,
}

/// Observations beyond the three plain counters of [`Metrics`].
#[derive(Debug)]
pub struct Observed {
    errors: Family<Reason, Counter>,
    duration: Histogram,
    in_flight: Gauge,
    results: Family<Outcome, Counter>,
    /// Reconcile requests waiting for their reconcile.
    pub queue: RequestQueue,
    watch_events: Family<Source, Counter>,
    watcher_errors: Family<Source, Counter>,
    enqueues: Family<Source, Counter>,
    own_write_echoes: Counter,
    shared: Arc<Shared>,
}

impl Default for Metrics {
    fn default() -> Self {
        let obs = Observed {
            errors: Family::default(),
            duration: Histogram::new(DURATION_BUCKETS),
            in_flight: Gauge::default(),
            results: Family::default(),
            queue: RequestQueue::default(),
            watch_events: Family::default(),
            watcher_errors: Family::default(),
            enqueues: Family::default(),
            own_write_echoes: Counter::default(),
            shared: Arc::default(),
        };
        // Known label values start at 0, so rates and alerts work before the first event.
        for source in SOURCES {
            for family in [&obs.watch_events, &obs.watcher_errors, &obs.enqueues] {
                family.get_or_create_owned(&Source { source });
            }
        }
        for reason in ERROR_REASONS {
            obs.errors.get_or_create_owned(&Reason {
                reason: reason.to_owned(),
            });
        }
        for result in RESULTS {
            obs.results.get_or_create_owned(&Outcome { result });
        }
        let m = Metrics {
            reconciles: Counter::default(),
            failures: Counter::default(),
            writes: Counter::default(),
            obs,
            registry: Registry::with_prefix(PREFIX),
        };
        m.registered()
    }
}

impl Metrics {
    /// Registers every family (the order of the exposition); help texts get a full stop appended.
    fn registered(mut self) -> Self {
        let o = &self.obs;
        let r = &mut self.registry;
        r.register(
            "reconciles",
            "TenantGateway reconciles started",
            self.reconciles.clone(),
        );
        r.register(
            "reconcile_errors",
            "Failed reconciles by error kind, and failed reconcile steps by condition type",
            o.errors.clone(),
        );
        r.register(
            "reconcile_failures",
            "Reconciles that ended in an error or with failed steps",
            self.failures.clone(),
        );
        r.register_with_unit(
            "reconcile_duration",
            "Wall time of one reconcile",
            Unit::Seconds,
            o.duration.clone(),
        );
        r.register("reconciles_in_flight", "Reconciles running now", o.in_flight.clone());
        r.register(
            "reconcile_results",
            "Reconcile outcomes as kube-runtime's Controller reports them: await_change or requeue (the reconciler's Action), error (retried by error_policy), object_not_found (the requested object left the cache; no reconcile ran), queue_error, runner_error",
            o.results.clone(),
        );
        r.register(
            "reconcile_queue_depth",
            "TenantGateways with a reconcile requested by a watch event that has not started yet (requests for one object merge; timed requeues are not counted)",
            o.queue.depth.clone(),
        );
        r.register_with_unit(
            "reconcile_queue_wait",
            "Time from the oldest waiting reconcile request of a TenantGateway to the start of the reconcile that serves it",
            Unit::Seconds,
            o.queue.wait.clone(),
        );
        r.register(
            "writes",
            "API writes issued (server-side apply, patch, delete)",
            self.writes.clone(),
        );
        r.register(
            "caches_synced",
            "1 when every cache has its initial list",
            o.shared.synced.clone(),
        );
        r.register(
            "watch_events",
            "Watch events applied to the caches, by source",
            o.watch_events.clone(),
        );
        r.register(
            "watcher_errors",
            "Errors of the watch streams, by source (each stream retries with backoff)",
            o.watcher_errors.clone(),
        );
        r.register(
            "enqueues",
            "Reconciles requested, by the kind of event that passed its filter",
            o.enqueues.clone(),
        );
        r.register(
            "own_write_echoes",
            "Watch events recognised as the echo of the controller's own write",
            o.own_write_echoes.clone(),
        );
        r.register_collector(Box::new(ScrapeTime(o.shared.clone())));
        self
    }

    /// An API write is about to be sent.
    pub fn write(&self) {
        self.writes.inc();
    }
    pub fn writes(&self) -> u64 {
        self.writes.get()
    }
    /// Reconciles started so far.
    pub fn reconciles(&self) -> u64 {
        self.reconciles.get()
    }
    /// A reconcile ended in an error or with failed steps.
    pub fn failed(&self) {
        self.failures.inc();
    }
    pub fn failures(&self) -> u64 {
        self.failures.get()
    }
}

impl Observed {
    pub fn error(&self, reason: &str) {
        self.errors
            .get_or_create(&Reason {
                reason: reason.to_owned(),
            })
            .inc();
    }
    /// A reconcile step failed (reason: its condition type).
    pub fn step_failed(&self, step: &str) {
        self.error(step);
    }
    pub fn errors(&self, reason: &str) -> u64 {
        self.errors
            .get(&Reason {
                reason: reason.to_owned(),
            })
            .map_or(0, |c| c.get())
    }
    pub fn observe_duration(&self, d: Duration) {
        self.duration.observe(d.as_secs_f64());
    }
    /// Sets the number of HostnameConflict losers found by the last reconcile of `tgw`.
    pub fn set_conflicts(&self, tgw: &str, n: u64) {
        let mut m = self.shared.conflicts.lock().unwrap_or_else(PoisonError::into_inner);
        if n == 0 {
            m.remove(tgw);
        } else {
            m.insert(tgw.to_owned(), n);
        }
    }
    pub fn conflicts(&self) -> u64 {
        self.shared.conflicts()
    }
    pub fn watch_event(&self, source: &'static str) {
        self.watch_events.get_or_create(&Source { source }).inc();
    }
    /// A watch stream of `source` returned an error (it retries with backoff).
    pub fn watcher_error(&self, source: &'static str) {
        self.watcher_errors.get_or_create(&Source { source }).inc();
    }
    pub fn watcher_errors(&self, source: &'static str) -> u64 {
        self.watcher_errors.get(&Source { source }).map_or(0, |c| c.get())
    }
    /// An event of `source` requested a reconcile of `tgw` now.
    pub fn enqueued(&self, source: &'static str, tgw: TgwKey) {
        self.enqueues.get_or_create(&Source { source }).inc();
        self.queue.requested(tgw, Instant::now());
    }
    /// Reconciles requested by events of `source` so far.
    pub fn enqueues(&self, source: &'static str) -> u64 {
        self.enqueues.get(&Source { source }).map_or(0, |c| c.get())
    }
    pub fn own_write_echo(&self) {
        self.own_write_echoes.inc();
    }
    pub fn own_write_echoes(&self) -> u64 {
        self.own_write_echoes.get()
    }
    /// Counts one item of the Controller's output stream; a request for an object that left the
    /// cache leaves the queue.
    pub fn controller_result<QE>(&self, r: &ControllerResult<Error, QE>) {
        let result = labels::result_label(r);
        self.results.get_or_create(&Outcome { result }).inc();
        if let Err(controller::Error::ObjectNotFound(obj)) = r {
            self.queue
                .dropped(&(obj.namespace.clone().unwrap_or_default(), obj.name.clone()));
        }
    }
    /// Controller outputs with `result` so far.
    pub fn results(&self, result: &'static str) -> u64 {
        self.results.get(&Outcome { result }).map_or(0, |c| c.get())
    }
    pub fn set_synced(&self, v: bool) {
        self.shared.synced.set(i64::from(v));
    }
    pub fn synced(&self) -> bool {
        self.shared.synced.get() == 1
    }
    /// The TenantGateway cache of the running controller (None when not running).
    pub fn set_store(&self, store: Option<kube::runtime::reflector::Store<kube::core::DynamicObject>>) {
        *self.shared.store.lock().unwrap_or_else(PoisonError::into_inner) = store;
    }
    /// The backoff state of the running controller (`tgw_backoff_*`).
    pub fn set_retries(&self, retries: Option<Arc<crate::retries::Retries>>) {
        *self.shared.retries.lock().unwrap_or_else(PoisonError::into_inner) = retries;
    }
    /// The election state, when leader election is on (`tgw_leader*`).
    pub fn set_election(&self, leader: Option<Arc<LeaderState>>) {
        *self.shared.election.lock().unwrap_or_else(PoisonError::into_inner) = leader;
    }
    /// (cached, pending) TenantGateways.
    pub fn tenantgateways(&self) -> (usize, usize) {
        self.shared.tenantgateways()
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
struct InFlight<'a>(&'a Gauge);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
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
    metrics.reconciles.inc();
    metrics.obs.in_flight.inc();
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

/// The OpenMetrics text exposition of `m`, ending in `# EOF`.
pub fn render(m: &Metrics) -> Result<String, std::fmt::Error> {
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &m.registry)?;
    Ok(out)
}

#[cfg(test)]
mod tests;
