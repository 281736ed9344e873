//! Shared state of the reconciler: client, resources, caches, settings and counters.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use k8s_openapi::api::core::v1::Namespace;
use kube::Client;
use kube::core::DynamicObject;
use kube::runtime::reflector::Store;
use tgw_core::decide::Settings;
use tgw_core::snapshot::RouteKind;

use crate::resources::Resources;

/// Counters exposed for tests and benchmarks.
#[derive(Debug, Default)]
pub struct Metrics {
    pub writes: AtomicU64,
    pub reconciles: AtomicU64,
    pub failures: AtomicU64,
    /// Error reasons, duration histogram, conflicts, cache state (`crate::metrics`).
    pub obs: crate::metrics::Observed,
}

impl Metrics {
    pub fn write(&self) {
        self.writes.fetch_add(1, Ordering::Relaxed);
    }
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }
}

pub struct Context {
    pub client: Client,
    pub resources: Resources,
    pub settings: Settings,
    pub namespaces: Store<Namespace>,
    pub routes: Vec<(RouteKind, kube::core::ApiResource, Store<DynamicObject>)>,
    pub metrics: Arc<Metrics>,
    /// Becomes true once every cache has its initial list (see [`Context::caches_ready`]).
    pub synced: tokio::sync::watch::Receiver<bool>,
}

impl Context {
    /// Waits until every cache has its initial list, so no decision runs on a partial snapshot
    /// (a restart would otherwise drop listeners for routes not yet seen).
    ///
    /// Many reconciles wait here at once after a start; kube-runtime's `Store::wait_until_ready`
    /// wakes only one concurrent waiter, so a single gate task waits on the stores and publishes
    /// the result through a watch channel every waiter can observe.
    pub async fn caches_ready(&self) {
        let mut synced = self.synced.clone();
        let _ = synced.wait_for(|ready| *ready).await;
    }
}
