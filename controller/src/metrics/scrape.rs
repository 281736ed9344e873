//! Metrics computed at scrape time, and only then: the TenantGateway cache is scanned, the
//! hostname conflicts summed and the election state read when `/metrics` is requested.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use kube::core::DynamicObject;
use kube::runtime::reflector::Store;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};

use crate::leader::LeaderState;

/// State the scrape reads, shared with [`super::Observed`] (which updates it).
#[derive(Debug, Default)]
pub struct Shared {
    /// The TenantGateway cache of the running controller (None when not running).
    pub store: Mutex<Option<Store<DynamicObject>>>,
    /// HostnameConflict losers found by the last reconcile of each TenantGateway (`ns/name`).
    pub conflicts: Mutex<BTreeMap<String, u64>>,
    /// The election state when leader election is on.
    pub election: Mutex<Option<Arc<LeaderState>>>,
    /// `tgw_caches_synced` (also `tgw_leader` without leader election).
    pub synced: Gauge,
    /// The backoff of failed reconciles (None when not running).
    pub retries: Mutex<Option<Arc<crate::retries::Retries>>>,
}

impl Shared {
    /// (cached, pending) TenantGateways: pending = status.observedGeneration behind
    /// metadata.generation.
    pub fn tenantgateways(&self) -> (usize, usize) {
        let store = self.store.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let Some(store) = store else {
            return (0, 0);
        };
        let all = store.state();
        let pending = all
            .iter()
            .filter(|t| t.data["status"]["observedGeneration"].as_i64() != t.metadata.generation)
            .count();
        (all.len(), pending)
    }

    pub fn conflicts(&self) -> u64 {
        self.conflicts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .sum()
    }

    fn election(&self) -> Option<Arc<LeaderState>> {
        self.election.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// The [`Collector`] registered for the scrape-time families.
#[derive(Debug)]
pub struct ScrapeTime(pub Arc<Shared>);

fn gauge(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: i64) -> std::fmt::Result {
    let metric = ConstGauge::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

fn counter(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: u64) -> std::fmt::Result {
    let metric = ConstCounter::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

// Help texts end with a full stop here: `Registry::register` appends one, a collector does not.
impl Collector for ScrapeTime {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let s = &self.0;
        let (total, pending) = s.tenantgateways();
        gauge(
            &mut encoder,
            "tenantgateways",
            "TenantGateways in the cache.",
            count(total),
        )?;
        gauge(
            &mut encoder,
            "tenantgateways_pending",
            "TenantGateways whose status.observedGeneration is behind metadata.generation (not yet reconciled at their generation).",
            count(pending),
        )?;
        gauge(
            &mut encoder,
            "hostname_conflicts",
            "Route parentRefs currently rejected with HostnameConflict, over all TenantGateways.",
            i64::try_from(s.conflicts()).unwrap_or(i64::MAX),
        )?;
        let (waiting, soonest) = s
            .retries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map_or((0, None), |r| r.snapshot());
        gauge(
            &mut encoder,
            "backoff_objects",
            "TenantGateways whose last reconcile failed, waiting for a retry with exponential backoff.",
            count(waiting),
        )?;
        gauge(
            &mut encoder,
            "backoff_next_retry_seconds",
            "Seconds until the soonest retry of a failed reconcile, 0 when none.",
            soonest.map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
        )?;
        let election = s.election();
        gauge(
            &mut encoder,
            "leader_election_enabled",
            "1 when leader election is on.",
            i64::from(election.is_some()),
        )?;
        let leader = match &election {
            Some(l) => l.is_leader(),
            None => s.synced.get() == 1,
        };
        gauge(
            &mut encoder,
            "leader",
            "1 while this replica runs the reconciler (without leader election: once its caches are synced).",
            i64::from(leader),
        )?;
        counter(
            &mut encoder,
            "leader_acquisitions",
            "Times this replica acquired the Lease.",
            election.as_ref().map_or(0, |l| l.acquisitions()),
        )
    }
}
