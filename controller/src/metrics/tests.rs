//! The exposition, pinned: the whole text of a fresh controller, the exact families after named
//! events, the sample names of every metric that existed before `prometheus-client`, and the
//! metric tables of the docs.

use std::collections::{BTreeMap, BTreeSet};

use kube::core::{ApiResource, DynamicObject};
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::watcher;
use serde_json::json;

use super::*;

/// `text` with the series of each counter and gauge family sorted: prometheus-client writes a
/// labelled family in hash order, and the order of its series carries no meaning. Histogram
/// samples keep their order.
fn canonical(text: &str) -> String {
    fn flush<'a>(out: &mut Vec<&'a str>, samples: &mut Vec<&'a str>, sortable: bool) {
        if sortable {
            samples.sort_unstable();
        }
        out.append(samples);
    }
    let mut out = Vec::new();
    let mut samples = Vec::new();
    let mut sortable = false;
    for line in text.lines() {
        if line.starts_with('#') {
            flush(&mut out, &mut samples, sortable);
            if let Some(t) = line.strip_prefix("# TYPE ") {
                sortable = t.ends_with(" counter") || t.ends_with(" gauge");
            }
            out.push(line);
        } else {
            samples.push(line);
        }
    }
    flush(&mut out, &mut samples, sortable);
    out.iter().map(|l| format!("{l}\n")).collect()
}

fn exposition(m: &Metrics) -> String {
    canonical(&render(m).expect("a String sink cannot fail"))
}

/// The block of family `name` (HELP, TYPE, UNIT and its samples) in a canonical exposition.
fn family(text: &str, name: &str) -> String {
    let help = format!("# HELP {name} ");
    let mut lines = text.lines().skip_while(|l| !l.starts_with(&help));
    let Some(first) = lines.next() else {
        return String::new();
    };
    std::iter::once(first)
        .chain(lines.take_while(|l| !l.starts_with("# HELP ") && *l != "# EOF"))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn key(ns: &str, name: &str) -> TgwKey {
    (ns.to_owned(), name.to_owned())
}

const FRESH: &str = r#"# HELP tgw_reconciles TenantGateway reconciles started.
# TYPE tgw_reconciles counter
tgw_reconciles_total 0
# HELP tgw_reconcile_errors Failed reconciles by error kind, and failed reconcile steps by condition type.
# TYPE tgw_reconcile_errors counter
tgw_reconcile_errors_total{reason="discovery"} 0
tgw_reconcile_errors_total{reason="foreign_object"} 0
tgw_reconcile_errors_total{reason="invalid_spec"} 0
tgw_reconcile_errors_total{reason="kube_api"} 0
tgw_reconcile_errors_total{reason="missing_metadata"} 0
tgw_reconcile_errors_total{reason="other"} 0
tgw_reconcile_errors_total{reason="render"} 0
tgw_reconcile_errors_total{reason="steps"} 0
# HELP tgw_reconcile_failures Reconciles that ended in an error or with failed steps.
# TYPE tgw_reconcile_failures counter
tgw_reconcile_failures_total 0
# HELP tgw_reconcile_duration_seconds Wall time of one reconcile.
# TYPE tgw_reconcile_duration_seconds histogram
# UNIT tgw_reconcile_duration_seconds seconds
tgw_reconcile_duration_seconds_sum 0.0
tgw_reconcile_duration_seconds_count 0
tgw_reconcile_duration_seconds_bucket{le="0.005"} 0
tgw_reconcile_duration_seconds_bucket{le="0.01"} 0
tgw_reconcile_duration_seconds_bucket{le="0.025"} 0
tgw_reconcile_duration_seconds_bucket{le="0.05"} 0
tgw_reconcile_duration_seconds_bucket{le="0.1"} 0
tgw_reconcile_duration_seconds_bucket{le="0.25"} 0
tgw_reconcile_duration_seconds_bucket{le="0.5"} 0
tgw_reconcile_duration_seconds_bucket{le="1.0"} 0
tgw_reconcile_duration_seconds_bucket{le="2.5"} 0
tgw_reconcile_duration_seconds_bucket{le="5.0"} 0
tgw_reconcile_duration_seconds_bucket{le="10.0"} 0
tgw_reconcile_duration_seconds_bucket{le="30.0"} 0
tgw_reconcile_duration_seconds_bucket{le="+Inf"} 0
# HELP tgw_reconciles_in_flight Reconciles running now.
# TYPE tgw_reconciles_in_flight gauge
tgw_reconciles_in_flight 0
# HELP tgw_reconcile_results Reconcile outcomes as kube-runtime's Controller reports them: await_change or requeue (the reconciler's Action), error (retried by error_policy), object_not_found (the requested object left the cache; no reconcile ran), queue_error, runner_error.
# TYPE tgw_reconcile_results counter
tgw_reconcile_results_total{result="await_change"} 0
tgw_reconcile_results_total{result="error"} 0
tgw_reconcile_results_total{result="object_not_found"} 0
tgw_reconcile_results_total{result="queue_error"} 0
tgw_reconcile_results_total{result="requeue"} 0
tgw_reconcile_results_total{result="runner_error"} 0
# HELP tgw_reconcile_queue_depth TenantGateways with a reconcile requested by a watch event that has not started yet (requests for one object merge; timed requeues are not counted).
# TYPE tgw_reconcile_queue_depth gauge
tgw_reconcile_queue_depth 0
# HELP tgw_reconcile_queue_wait_seconds Time from the oldest waiting reconcile request of a TenantGateway to the start of the reconcile that serves it.
# TYPE tgw_reconcile_queue_wait_seconds histogram
# UNIT tgw_reconcile_queue_wait_seconds seconds
tgw_reconcile_queue_wait_seconds_sum 0.0
tgw_reconcile_queue_wait_seconds_count 0
tgw_reconcile_queue_wait_seconds_bucket{le="0.001"} 0
tgw_reconcile_queue_wait_seconds_bucket{le="0.005"} 0
tgw_reconcile_queue_wait_seconds_bucket{le="0.01"} 0
tgw_reconcile_queue_wait_seconds_bucket{le="0.025"} 0
tgw_reconcile_queue_wait_seconds_bucket{le="0.05"} 0
tgw_reconcile_queue_wait_seconds_bucket{le="0.1"} 0
tgw_reconcile_queue_wait_seconds_bucket{le="0.25"} 0
tgw_reconcile_queue_wait_seconds_bucket{le="0.5"} 0
tgw_reconcile_queue_wait_seconds_bucket{le="1.0"} 0
tgw_reconcile_queue_wait_seconds_bucket{le="2.5"} 0
tgw_reconcile_queue_wait_seconds_bucket{le="5.0"} 0
tgw_reconcile_queue_wait_seconds_bucket{le="10.0"} 0
tgw_reconcile_queue_wait_seconds_bucket{le="30.0"} 0
tgw_reconcile_queue_wait_seconds_bucket{le="60.0"} 0
tgw_reconcile_queue_wait_seconds_bucket{le="300.0"} 0
tgw_reconcile_queue_wait_seconds_bucket{le="+Inf"} 0
# HELP tgw_writes API writes issued (server-side apply, patch, delete).
# TYPE tgw_writes counter
tgw_writes_total 0
# HELP tgw_caches_synced 1 when every cache has its initial list.
# TYPE tgw_caches_synced gauge
tgw_caches_synced 0
# HELP tgw_watch_events Watch events applied to the caches, by source.
# TYPE tgw_watch_events counter
tgw_watch_events_total{source="namespace"} 0
tgw_watch_events_total{source="owned"} 0
tgw_watch_events_total{source="route"} 0
tgw_watch_events_total{source="tenantgateway"} 0
# HELP tgw_watcher_errors Errors of the watch streams, by source (each stream retries with backoff).
# TYPE tgw_watcher_errors counter
tgw_watcher_errors_total{source="namespace"} 0
tgw_watcher_errors_total{source="owned"} 0
tgw_watcher_errors_total{source="route"} 0
tgw_watcher_errors_total{source="tenantgateway"} 0
# HELP tgw_enqueues Reconciles requested, by the kind of event that passed its filter.
# TYPE tgw_enqueues counter
tgw_enqueues_total{source="namespace"} 0
tgw_enqueues_total{source="owned"} 0
tgw_enqueues_total{source="route"} 0
tgw_enqueues_total{source="tenantgateway"} 0
# HELP tgw_own_write_echoes Watch events recognised as the echo of the controller's own write.
# TYPE tgw_own_write_echoes counter
tgw_own_write_echoes_total 0
# HELP tgw_tenantgateways TenantGateways in the cache.
# TYPE tgw_tenantgateways gauge
tgw_tenantgateways 0
# HELP tgw_tenantgateways_pending TenantGateways whose status.observedGeneration is behind metadata.generation (not yet reconciled at their generation).
# TYPE tgw_tenantgateways_pending gauge
tgw_tenantgateways_pending 0
# HELP tgw_hostname_conflicts Route parentRefs currently rejected with HostnameConflict, over all TenantGateways.
# TYPE tgw_hostname_conflicts gauge
tgw_hostname_conflicts 0
# HELP tgw_backoff_objects TenantGateways whose last reconcile failed, waiting for a retry with exponential backoff.
# TYPE tgw_backoff_objects gauge
tgw_backoff_objects 0
# HELP tgw_backoff_next_retry_seconds Seconds until the soonest retry of a failed reconcile, 0 when none.
# TYPE tgw_backoff_next_retry_seconds gauge
tgw_backoff_next_retry_seconds 0
# HELP tgw_leader_election_enabled 1 when leader election is on.
# TYPE tgw_leader_election_enabled gauge
tgw_leader_election_enabled 0
# HELP tgw_leader 1 while this replica runs the reconciler (without leader election: once its caches are synced).
# TYPE tgw_leader gauge
tgw_leader 0
# HELP tgw_leader_acquisitions Times this replica acquired the Lease.
# TYPE tgw_leader_acquisitions counter
tgw_leader_acquisitions_total 0
# EOF
"#;

#[test]
fn a_fresh_controller_exposes_every_family_at_zero() {
    let text = render(&Metrics::default()).expect("encodes");
    assert!(text.ends_with("\n# EOF\n"), "OpenMetrics ends in # EOF");
    assert_eq!(canonical(&text), FRESH);
}

fn tgw(name: &str, generation: i64, observed: Option<i64>) -> DynamicObject {
    let ar = ApiResource::erase::<TenantGateway>(&());
    let mut obj = DynamicObject::new(name, &ar).within("tenant-a");
    obj.metadata.generation = Some(generation);
    obj.data = json!({"status": {"observedGeneration": observed}});
    obj
}

fn object_ref(name: &str) -> ObjectRef<DynamicObject> {
    ObjectRef::new_with(name, ApiResource::erase::<TenantGateway>(&())).within("tenant-a")
}

/// Named cases: what happened, and the exact families it leaves.
#[test]
fn families_after_events() {
    type Setup = fn(&Metrics);
    let cases: [(&str, Setup, &[&str], &str); 8] = [
        (
            "failed reconciles count by error kind and failed steps by condition type",
            |m| {
                m.obs.error("kube_api");
                m.obs.step_failed("GatewayApplied");
                m.obs.error("kube_api");
                m.failed();
                m.failed();
            },
            &["tgw_reconcile_errors", "tgw_reconcile_failures"],
            r#"# HELP tgw_reconcile_errors Failed reconciles by error kind, and failed reconcile steps by condition type.
# TYPE tgw_reconcile_errors counter
tgw_reconcile_errors_total{reason="GatewayApplied"} 1
tgw_reconcile_errors_total{reason="discovery"} 0
tgw_reconcile_errors_total{reason="foreign_object"} 0
tgw_reconcile_errors_total{reason="invalid_spec"} 0
tgw_reconcile_errors_total{reason="kube_api"} 2
tgw_reconcile_errors_total{reason="missing_metadata"} 0
tgw_reconcile_errors_total{reason="other"} 0
tgw_reconcile_errors_total{reason="render"} 0
tgw_reconcile_errors_total{reason="steps"} 0
# HELP tgw_reconcile_failures Reconciles that ended in an error or with failed steps.
# TYPE tgw_reconcile_failures counter
tgw_reconcile_failures_total 2
"#,
        ),
        (
            "reconcile durations fill cumulative buckets; beyond the last bound only +Inf",
            |m| {
                m.obs.observe_duration(Duration::from_nanos(3_906_250));
                m.obs.observe_duration(Duration::from_millis(250));
                m.obs.observe_duration(Duration::from_secs(60));
            },
            &["tgw_reconcile_duration_seconds"],
            r#"# HELP tgw_reconcile_duration_seconds Wall time of one reconcile.
# TYPE tgw_reconcile_duration_seconds histogram
# UNIT tgw_reconcile_duration_seconds seconds
tgw_reconcile_duration_seconds_sum 60.25390625
tgw_reconcile_duration_seconds_count 3
tgw_reconcile_duration_seconds_bucket{le="0.005"} 1
tgw_reconcile_duration_seconds_bucket{le="0.01"} 1
tgw_reconcile_duration_seconds_bucket{le="0.025"} 1
tgw_reconcile_duration_seconds_bucket{le="0.05"} 1
tgw_reconcile_duration_seconds_bucket{le="0.1"} 1
tgw_reconcile_duration_seconds_bucket{le="0.25"} 2
tgw_reconcile_duration_seconds_bucket{le="0.5"} 2
tgw_reconcile_duration_seconds_bucket{le="1.0"} 2
tgw_reconcile_duration_seconds_bucket{le="2.5"} 2
tgw_reconcile_duration_seconds_bucket{le="5.0"} 2
tgw_reconcile_duration_seconds_bucket{le="10.0"} 2
tgw_reconcile_duration_seconds_bucket{le="30.0"} 2
tgw_reconcile_duration_seconds_bucket{le="+Inf"} 3
"#,
        ),
        (
            "a request waits in the queue until a reconcile of its object starts",
            |m| {
                let t0 = Instant::now();
                m.obs.queue.requested(key("tenant-a", "x"), t0);
                m.obs.queue.requested(key("tenant-a", "y"), t0);
                m.obs
                    .queue
                    .requested(key("tenant-a", "x"), t0 + Duration::from_millis(100));
                m.obs
                    .queue
                    .started(&key("tenant-a", "x"), t0 + Duration::from_millis(750));
            },
            &["tgw_reconcile_queue_depth", "tgw_reconcile_queue_wait_seconds"],
            r#"# HELP tgw_reconcile_queue_depth TenantGateways with a reconcile requested by a watch event that has not started yet (requests for one object merge; timed requeues are not counted).
# TYPE tgw_reconcile_queue_depth gauge
tgw_reconcile_queue_depth 1
# HELP tgw_reconcile_queue_wait_seconds Time from the oldest waiting reconcile request of a TenantGateway to the start of the reconcile that serves it.
# TYPE tgw_reconcile_queue_wait_seconds histogram
# UNIT tgw_reconcile_queue_wait_seconds seconds
tgw_reconcile_queue_wait_seconds_sum 0.75
tgw_reconcile_queue_wait_seconds_count 1
tgw_reconcile_queue_wait_seconds_bucket{le="0.001"} 0
tgw_reconcile_queue_wait_seconds_bucket{le="0.005"} 0
tgw_reconcile_queue_wait_seconds_bucket{le="0.01"} 0
tgw_reconcile_queue_wait_seconds_bucket{le="0.025"} 0
tgw_reconcile_queue_wait_seconds_bucket{le="0.05"} 0
tgw_reconcile_queue_wait_seconds_bucket{le="0.1"} 0
tgw_reconcile_queue_wait_seconds_bucket{le="0.25"} 0
tgw_reconcile_queue_wait_seconds_bucket{le="0.5"} 0
tgw_reconcile_queue_wait_seconds_bucket{le="1.0"} 1
tgw_reconcile_queue_wait_seconds_bucket{le="2.5"} 1
tgw_reconcile_queue_wait_seconds_bucket{le="5.0"} 1
tgw_reconcile_queue_wait_seconds_bucket{le="10.0"} 1
tgw_reconcile_queue_wait_seconds_bucket{le="30.0"} 1
tgw_reconcile_queue_wait_seconds_bucket{le="60.0"} 1
tgw_reconcile_queue_wait_seconds_bucket{le="300.0"} 1
tgw_reconcile_queue_wait_seconds_bucket{le="+Inf"} 1
"#,
        ),
        (
            "the Controller's outputs count by result; a vanished object leaves the queue",
            |m| {
                m.obs.enqueued("route", key("tenant-a", "gone"));
                let ok: ControllerResult<Error, std::convert::Infallible> =
                    Ok((object_ref("x"), Action::await_change()));
                m.obs.controller_result(&ok);
                m.obs.controller_result(&ok);
                m.obs.controller_result::<std::convert::Infallible>(&Ok((
                    object_ref("x"),
                    Action::requeue(Duration::from_secs(15)),
                )));
                m.obs
                    .controller_result::<std::convert::Infallible>(&Err(controller::Error::ReconcilerFailed(
                        Error::MissingMeta,
                        Box::new(object_ref("x")),
                    )));
                m.obs
                    .controller_result::<std::convert::Infallible>(&Err(controller::Error::ObjectNotFound(Box::new(
                        object_ref("gone"),
                    ))));
            },
            &["tgw_reconcile_results", "tgw_reconcile_queue_depth"],
            r#"# HELP tgw_reconcile_results Reconcile outcomes as kube-runtime's Controller reports them: await_change or requeue (the reconciler's Action), error (retried by error_policy), object_not_found (the requested object left the cache; no reconcile ran), queue_error, runner_error.
# TYPE tgw_reconcile_results counter
tgw_reconcile_results_total{result="await_change"} 2
tgw_reconcile_results_total{result="error"} 1
tgw_reconcile_results_total{result="object_not_found"} 1
tgw_reconcile_results_total{result="queue_error"} 0
tgw_reconcile_results_total{result="requeue"} 1
tgw_reconcile_results_total{result="runner_error"} 0
# HELP tgw_reconcile_queue_depth TenantGateways with a reconcile requested by a watch event that has not started yet (requests for one object merge; timed requeues are not counted).
# TYPE tgw_reconcile_queue_depth gauge
tgw_reconcile_queue_depth 0
"#,
        ),
        (
            "watch streams count events, errors and requests by source",
            |m| {
                m.obs.watch_event("namespace");
                m.obs.watcher_error("route");
                m.obs.watcher_error("route");
                m.obs.enqueued("route", key("tenant-a", "x"));
                m.obs.enqueued("route", key("tenant-b", "x"));
                m.obs.own_write_echo();
            },
            &[
                "tgw_watch_events",
                "tgw_watcher_errors",
                "tgw_enqueues",
                "tgw_own_write_echoes",
                "tgw_reconcile_queue_depth",
            ],
            r#"# HELP tgw_watch_events Watch events applied to the caches, by source.
# TYPE tgw_watch_events counter
tgw_watch_events_total{source="namespace"} 1
tgw_watch_events_total{source="owned"} 0
tgw_watch_events_total{source="route"} 0
tgw_watch_events_total{source="tenantgateway"} 0
# HELP tgw_watcher_errors Errors of the watch streams, by source (each stream retries with backoff).
# TYPE tgw_watcher_errors counter
tgw_watcher_errors_total{source="namespace"} 0
tgw_watcher_errors_total{source="owned"} 0
tgw_watcher_errors_total{source="route"} 2
tgw_watcher_errors_total{source="tenantgateway"} 0
# HELP tgw_enqueues Reconciles requested, by the kind of event that passed its filter.
# TYPE tgw_enqueues counter
tgw_enqueues_total{source="namespace"} 0
tgw_enqueues_total{source="owned"} 0
tgw_enqueues_total{source="route"} 2
tgw_enqueues_total{source="tenantgateway"} 0
# HELP tgw_own_write_echoes Watch events recognised as the echo of the controller's own write.
# TYPE tgw_own_write_echoes counter
tgw_own_write_echoes_total 1
# HELP tgw_reconcile_queue_depth TenantGateways with a reconcile requested by a watch event that has not started yet (requests for one object merge; timed requeues are not counted).
# TYPE tgw_reconcile_queue_depth gauge
tgw_reconcile_queue_depth 2
"#,
        ),
        (
            "the cache is counted at scrape: pending means observedGeneration behind generation",
            |m| {
                let mut writer =
                    reflector::store::Writer::<DynamicObject>::new(ApiResource::erase::<TenantGateway>(&()));
                for obj in [tgw("done", 2, Some(2)), tgw("edited", 3, Some(2)), tgw("new", 1, None)] {
                    writer.apply_watcher_event(&watcher::Event::Apply(obj));
                }
                m.obs.set_store(Some(writer.as_reader()));
                m.obs.set_conflicts("tenant-a/x", 2);
                m.obs.set_conflicts("tenant-b/x", 1);
                m.obs.set_conflicts("tenant-b/x", 0);
                m.obs.set_synced(true);
            },
            &[
                "tgw_tenantgateways",
                "tgw_tenantgateways_pending",
                "tgw_hostname_conflicts",
                "tgw_caches_synced",
            ],
            r#"# HELP tgw_tenantgateways TenantGateways in the cache.
# TYPE tgw_tenantgateways gauge
tgw_tenantgateways 3
# HELP tgw_tenantgateways_pending TenantGateways whose status.observedGeneration is behind metadata.generation (not yet reconciled at their generation).
# TYPE tgw_tenantgateways_pending gauge
tgw_tenantgateways_pending 2
# HELP tgw_hostname_conflicts Route parentRefs currently rejected with HostnameConflict, over all TenantGateways.
# TYPE tgw_hostname_conflicts gauge
tgw_hostname_conflicts 2
# HELP tgw_caches_synced 1 when every cache has its initial list.
# TYPE tgw_caches_synced gauge
tgw_caches_synced 1
"#,
        ),
        (
            "without leader election the replica leads once its caches are synced",
            |m| m.obs.set_synced(true),
            &["tgw_leader_election_enabled", "tgw_leader", "tgw_leader_acquisitions"],
            r#"# HELP tgw_leader_election_enabled 1 when leader election is on.
# TYPE tgw_leader_election_enabled gauge
tgw_leader_election_enabled 0
# HELP tgw_leader 1 while this replica runs the reconciler (without leader election: once its caches are synced).
# TYPE tgw_leader gauge
tgw_leader 1
# HELP tgw_leader_acquisitions Times this replica acquired the Lease.
# TYPE tgw_leader_acquisitions counter
tgw_leader_acquisitions_total 0
"#,
        ),
        (
            "with leader election a synced standby does not lead",
            |m| {
                m.obs.set_synced(true);
                m.obs.set_election(Some(Arc::default()));
            },
            &["tgw_leader_election_enabled", "tgw_leader", "tgw_leader_acquisitions"],
            r#"# HELP tgw_leader_election_enabled 1 when leader election is on.
# TYPE tgw_leader_election_enabled gauge
tgw_leader_election_enabled 1
# HELP tgw_leader 1 while this replica runs the reconciler (without leader election: once its caches are synced).
# TYPE tgw_leader gauge
tgw_leader 0
# HELP tgw_leader_acquisitions Times this replica acquired the Lease.
# TYPE tgw_leader_acquisitions counter
tgw_leader_acquisitions_total 0
"#,
        ),
    ];
    for (name, setup, families, expected) in cases {
        let m = Metrics::default();
        setup(&m);
        let text = exposition(&m);
        let got: String = families.iter().map(|f| family(&text, f)).collect();
        assert_eq!(got, expected, "case: {name}");
    }
}

/// Sample names, label names and types of every metric exposed before `prometheus-client`
/// (dashboards and alerts depend on them); `le` bounds are compared as numbers.
const PRE_EXISTING: [(&str, &str, &str); 18] = [
    ("tgw_reconciles_total", "", "counter"),
    ("tgw_reconcile_errors_total", "reason", "counter"),
    ("tgw_reconcile_failures_total", "", "counter"),
    ("tgw_reconcile_duration_seconds_bucket", "le", "histogram"),
    ("tgw_reconcile_duration_seconds_sum", "", "histogram"),
    ("tgw_reconcile_duration_seconds_count", "", "histogram"),
    ("tgw_reconciles_in_flight", "", "gauge"),
    ("tgw_writes_total", "", "counter"),
    ("tgw_tenantgateways", "", "gauge"),
    ("tgw_tenantgateways_pending", "", "gauge"),
    ("tgw_hostname_conflicts", "", "gauge"),
    ("tgw_caches_synced", "", "gauge"),
    ("tgw_watch_events_total", "source", "counter"),
    ("tgw_enqueues_total", "source", "counter"),
    ("tgw_own_write_echoes_total", "", "counter"),
    ("tgw_leader_election_enabled", "", "gauge"),
    ("tgw_leader", "", "gauge"),
    ("tgw_leader_acquisitions_total", "", "counter"),
];

/// Per sample name: the declared type of its family and the label-name lists it appears with.
fn samples(text: &str) -> BTreeMap<String, (String, BTreeSet<String>)> {
    let mut types: BTreeMap<&str, &str> = BTreeMap::new();
    let mut out: BTreeMap<String, (String, BTreeSet<String>)> = BTreeMap::new();
    for line in text.lines() {
        if let Some((name, kind)) = line.strip_prefix("# TYPE ").and_then(|t| t.split_once(' ')) {
            types.insert(name, kind);
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let series = line.rsplit_once(' ').map_or(line, |(s, _)| s);
        let (name, labels) = series.split_once('{').unwrap_or((series, ""));
        let label_names: Vec<&str> = labels
            .trim_end_matches('}')
            .split(',')
            .filter_map(|l| l.split_once('=').map(|(k, _)| k))
            .collect();
        let family = types
            .iter()
            .filter(|(f, _)| name.starts_with(*f))
            .max_by_key(|(f, _)| f.len())
            .map_or("", |(_, k)| *k);
        let entry = out
            .entry(name.to_owned())
            .or_insert_with(|| (family.to_owned(), BTreeSet::new()));
        entry.1.insert(label_names.join(","));
    }
    out
}

#[test]
fn every_pre_existing_sample_keeps_its_name_labels_and_type() {
    let text = render(&Metrics::default()).expect("encodes");
    let exposed = samples(&text);
    for (name, labels, kind) in PRE_EXISTING {
        let (got_kind, got_labels) = exposed
            .get(name)
            .unwrap_or_else(|| panic!("{name} is no longer exposed in\n{text}"));
        assert_eq!(got_kind, kind, "{name}");
        assert_eq!(got_labels, &BTreeSet::from([labels.to_owned()]), "{name}");
    }
    for source in ["tenantgateway", "route", "namespace", "owned"] {
        for family in ["tgw_watch_events_total", "tgw_enqueues_total"] {
            let series = format!("{family}{{source=\"{source}\"}} 0");
            assert!(text.lines().any(|l| l == series), "{series}");
        }
    }
    let bounds: Vec<f64> = text
        .lines()
        .filter_map(|l| l.strip_prefix("tgw_reconcile_duration_seconds_bucket{le=\""))
        .filter_map(|l| l.split_once('"').map(|(le, _)| le))
        .map(|le| {
            if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap_or(f64::NAN)
            }
        })
        .collect();
    let mut want = DURATION_BUCKETS.to_vec();
    want.push(f64::INFINITY);
    assert_eq!(bounds, want);
}

#[test]
fn help_texts_are_sentences() {
    let text = render(&Metrics::default()).expect("encodes");
    let helps: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("# HELP ")).collect();
    assert_eq!(helps.len(), text.lines().filter(|l| l.starts_with("# TYPE ")).count());
    for h in helps {
        let (name, help) = h.split_once(' ').unwrap_or((h, ""));
        assert!(
            help.len() > 15 && help.ends_with('.') && !help.ends_with(".."),
            "{name}: {help:?}"
        );
    }
}

/// `(name, type, labels)` of every row of a metric table: rows start with `prefix` followed by
/// `` | `tgw_ ``; counters are listed by their sample name (`…_total`).
fn documented(doc: &str, prefix: &str) -> BTreeSet<(String, String, String)> {
    doc.lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .filter(|l| l.starts_with("| `tgw_"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let cell = |i: usize| cells.get(i).copied().unwrap_or_default().replace('`', "");
            (cell(1), cell(2), cell(3))
        })
        .collect()
}

#[test]
fn the_metric_tables_of_the_docs_match_the_exposition() {
    let text = render(&Metrics::default()).expect("encodes");
    let exposed: BTreeSet<(String, String, String)> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|t| t.split_once(' '))
        .map(|(family, kind)| {
            let name = if kind == "counter" {
                format!("{family}_total")
            } else {
                family.to_owned()
            };
            let prefix = format!("{name}{{");
            let bucket = format!("{family}_bucket{{");
            let labels: BTreeSet<&str> = text
                .lines()
                .filter(|l| l.starts_with(&prefix) || l.starts_with(&bucket))
                .filter_map(|l| l.split_once('{').and_then(|(_, r)| r.split_once('=')).map(|(k, _)| k))
                .collect();
            (name, kind.to_owned(), labels.into_iter().collect::<Vec<_>>().join(", "))
        })
        .collect();
    for (doc, prefix, text) in [
        (
            "controller/src/metrics.rs (module doc)",
            "//! ",
            include_str!("../metrics.rs"),
        ),
        ("controller/README.md", "", include_str!("../../README.md")),
    ] {
        assert_eq!(documented(text, prefix), exposed, "{doc}");
    }
}

#[test]
fn error_labels_are_known_reasons() {
    for e in [
        Error::MissingMeta,
        Error::Steps(2),
        Error::Other("x".into()),
        Error::Discovery("x".into()),
    ] {
        assert!(ERROR_REASONS.contains(&e.metric_label()), "{e}");
    }
    assert_eq!(Error::MissingMeta.metric_label(), "missing_metadata");
    assert_eq!(Error::Steps(2).metric_label(), "steps");
}

#[test]
fn label_values_are_escaped() {
    let m = Metrics::default();
    m.obs.step_failed("a\"b\\c");
    let text = render(&m).expect("encodes");
    assert!(
        text.lines()
            .any(|l| l == r#"tgw_reconcile_errors_total{reason="a\"b\\c"} 1"#),
        "{text}"
    );
}
