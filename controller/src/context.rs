//! Shared state of the reconciler: client, resources, caches with their indexes, settings and
//! metrics.

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use k8s_openapi::api::core::v1::Namespace;
use kube::core::{ApiResource, DynamicObject};
use kube::{Client, ResourceExt};
use tgw_core::decide::Settings;
use tgw_core::snapshot::RouteKind;
use tgw_core::tenantgateway::TgwInput;

use crate::index::{Index, TgwKey, echo_key};
use crate::resources::Resources;

pub use crate::metrics::Metrics;

fn tgw_key(t: &TgwInput) -> TgwKey {
    (t.meta.namespace.clone(), t.meta.name.clone())
}

pub struct Context {
    pub client: Client,
    pub resources: Resources,
    pub settings: Settings,
    /// Routes, namespaces, TenantGateway indexes and owned objects, fed by the watch streams
    /// (`crate::run`) and by our own writes (write-through).
    pub index: Arc<RwLock<Index>>,
    /// The route kinds served, with their API resources.
    pub route_kinds: Vec<(RouteKind, ApiResource)>,
    pub metrics: Arc<Metrics>,
    /// Becomes true once every cache has its initial list (see [`Context::caches_ready`]).
    pub synced: tokio::sync::watch::Receiver<bool>,
    /// Publishes Kubernetes Events (e.g. a TenantGateway that does not parse).
    pub recorder: kube::runtime::events::Recorder,
    /// Routes whose status write the API server refused for good (too large, invalid), with the
    /// resourceVersion refused and the error: not retried until the route changes.
    pub unwritable: std::sync::Mutex<std::collections::BTreeMap<tgw_core::snapshot::RouteId, (String, String)>>,
    /// Per-TenantGateway backoff of failed reconciles.
    pub retries: Arc<crate::retries::Retries>,
    /// The cap on reconcile starts per second.
    pub starts: crate::retries::StartLimiter,
}

impl Context {
    /// Waits until every cache has its initial list, so no decision runs on a partial snapshot
    /// (a restart would otherwise drop listeners for routes not yet seen).
    pub async fn caches_ready(&self) {
        let mut synced = self.synced.clone();
        let _ = synced.wait_for(|ready| *ready).await;
    }

    pub fn read(&self) -> RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn write_index(&self) -> RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The API resource of a route kind.
    /// The error a route's status write got for good at resourceVersion `rv`, if it did.
    pub fn unwritable_at(&self, route: &tgw_core::snapshot::RouteId, rv: &str) -> Option<String> {
        let m = self
            .unwritable
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        m.get(route).filter(|(at, _)| at == rv).map(|(_, e)| e.clone())
    }

    /// Records a write refused for good at `rv`; true when this is news (publish an Event).
    pub fn remember_unwritable(&self, route: &tgw_core::snapshot::RouteId, rv: &str, error: &str) -> bool {
        let mut m = self
            .unwritable
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        m.insert(route.clone(), (rv.to_owned(), error.to_owned()))
            .is_none_or(|(at, _)| at != rv)
    }

    /// A route's status was written: forget an earlier refusal.
    pub fn forget_unwritable(&self, route: &tgw_core::snapshot::RouteId) {
        let mut m = self
            .unwritable
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        m.remove(route);
    }

    pub fn route_resource(&self, kind: RouteKind) -> Option<&ApiResource> {
        self.route_kinds.iter().find(|(k, _)| *k == kind).map(|(_, ar)| ar)
    }

    /// A cached owned object (Gateway, Issuer, Certificate, redirect route) of kind `ar`.
    pub fn owned(&self, ar: &ApiResource, ns: &str, name: &str) -> Option<DynamicObject> {
        self.read().owned_get(&ar.kind, ns, name)
    }

    /// Cached objects of kind `ar` controlled by the TenantGateway with `uid`.
    pub fn owned_by(&self, ar: &ApiResource, uid: &str) -> Vec<DynamicObject> {
        self.read().owned_by(&ar.kind, uid)
    }

    /// A write of `t` to object `key` ([`crate::index::echo_key`]) is about to be sent; its watch
    /// echo will not come back to `t`. Follow with a `wrote_*` call or [`Context::write_failed`].
    pub fn writing(&self, key: String, t: &TgwInput) {
        self.write_index().begin_write(key, &tgw_key(t));
    }

    /// [`Context::writing`] for the TenantGateway `(namespace, name)`.
    pub fn writing_as(&self, key: String, writer: TgwKey) {
        self.write_index().begin_write(key, &writer);
    }

    pub fn write_failed(&self, key: &str) {
        self.write_index().abort_write(key);
    }

    /// Our write left owned object `obj` as returned: cache it now (so the next reconcile reads
    /// it before the watch echo arrives).
    pub fn wrote_owned(&self, obj: &DynamicObject) {
        let kind = obj.types.as_ref().map(|t| t.kind.clone()).unwrap_or_default();
        let key = echo_key::owned(&kind, &obj.namespace().unwrap_or_default(), &obj.name_any());
        let mut slim = obj.clone();
        crate::slim::owned_of_kind(&kind, &mut slim);
        let mut ix = self.write_index();
        ix.end_write(&key, obj.metadata.resource_version.as_deref());
        ix.owned_apply(slim, true);
    }

    /// We deleted an owned object.
    pub fn deleted_owned(&self, kind: &str, ns: &str, name: &str) {
        self.write_index().end_write(&echo_key::owned(kind, ns, name), None);
    }

    /// Our status write left route `obj` as returned: cache it now.
    pub fn wrote_route(&self, kind: RouteKind, obj: &DynamicObject) {
        let entry = crate::slim::route(kind, obj, &self.settings.controller_name);
        let mut ix = self.write_index();
        ix.end_write(
            &echo_key::route(&entry.view.id),
            obj.metadata.resource_version.as_deref(),
        );
        ix.route_apply(entry, true);
    }

    /// Our label/annotation write left namespace `ns` as returned.
    pub fn wrote_namespace(&self, ns: &Namespace) {
        let mut ix = self.write_index();
        ix.end_write(
            &echo_key::namespace(&ns.name_any()),
            ns.metadata.resource_version.as_deref(),
        );
        ix.set_namespace_version(&ns.name_any(), ns.metadata.resource_version.as_deref());
    }
}
