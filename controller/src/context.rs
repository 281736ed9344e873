//! Shared state of the reconciler: client, resources, caches, settings and counters.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use kube::Client;
use kube::core::DynamicObject;
use kube::runtime::reflector::Store;
use k8s_openapi::api::core::v1::Namespace;
use tgw_core::decide::Settings;
use tgw_core::snapshot::RouteKind;

use crate::resources::Resources;

/// Counters exposed for tests and benchmarks.
#[derive(Debug, Default)]
pub struct Metrics {
    pub writes: AtomicU64,
    pub reconciles: AtomicU64,
    pub failures: AtomicU64,
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
}

impl Context {
    /// Waits until every cache has its initial list, so no decision runs on a partial snapshot
    /// (a restart would otherwise drop listeners for routes not yet seen).
    pub async fn caches_ready(&self) {
        let _ = self.namespaces.wait_until_ready().await;
        for (_, _, s) in &self.routes {
            let _ = s.wait_until_ready().await;
        }
    }
}
