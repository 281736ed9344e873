//! Wiring: discovery, the watch streams that feed the caches and their indexes
//! ([`crate::index`]), and the kube-runtime Controller.
//!
//! Every stream is a plain watcher whose events are slimmed ([`crate::slim`]) and applied to the
//! index one by one; an event enqueues only the TenantGateways it concerns, and only when it
//! passes its filter ([`crate::filters`]). TenantGateways are watched as `DynamicObject`s and
//! parsed per reconcile ([`crate::tolerant`]), so one object that does not parse cannot stop the
//! list.

use std::collections::HashSet;
use std::hash::Hash;
use std::sync::{Arc, RwLock};

use futures::channel::mpsc::UnboundedSender;
use futures::{Stream, StreamExt, future};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::Api;
use kube::core::{ApiResource, DynamicObject, PartialObjectMeta, TypeMeta};
use kube::runtime::controller::Config as ControllerConfig;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::watcher::{self, Event};
use kube::runtime::{Controller, WatchStreamExt};
use kube::{Client, ResourceExt};
use tgw_core::decide::Settings;
use tgw_core::keys::{LABEL_MANAGED_BY, MANAGED_BY_VALUE};
use tgw_core::snapshot::{RouteId, RouteKind};
use tgw_core::tenantgateway::TenantGateway;

use crate::context::{Context, Metrics};
use crate::index::{Index, OwnedKey, TgwKey, echo_key};
use crate::resources::Resources;

/// Longest error text a watcher failure logs (an error may quote a whole response body).
const MAX_LOGGED_ERROR: usize = 300;

/// `s` cut to at most `max` bytes on a character boundary, saying how much was cut.
pub fn bounded(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} more bytes)", &s[..end], s.len() - end)
}

/// One cache fed by a watch stream: how its objects are keyed, applied and removed.
trait Feed<K>: Send + 'static {
    type Key: Hash + Eq + Send + std::fmt::Debug;
    fn key(&self, obj: &K) -> Self::Key;
    /// Updates the index; returns the TenantGateways to reconcile.
    fn apply(&mut self, ix: &mut Index, obj: K, metrics: &Metrics) -> Vec<TgwKey>;
    fn delete(&mut self, ix: &mut Index, key: &Self::Key) -> Vec<TgwKey>;
    /// Keys currently cached by this feed (pruned after a relist when not listed again).
    fn cached(&self, ix: &Index) -> Vec<Self::Key>;
}

struct RouteFeed {
    kind: RouteKind,
    controller: String,
}

impl Feed<DynamicObject> for RouteFeed {
    type Key = RouteId;
    fn key(&self, obj: &DynamicObject) -> RouteId {
        RouteId {
            kind: self.kind,
            namespace: obj.namespace().unwrap_or_default(),
            name: obj.name_any(),
        }
    }
    fn apply(&mut self, ix: &mut Index, obj: DynamicObject, metrics: &Metrics) -> Vec<TgwKey> {
        let entry = crate::slim::route(self.kind, &obj, &self.controller);
        let own = echo(
            ix,
            &echo_key::route(&entry.view.id),
            obj.metadata.resource_version.as_deref(),
            metrics,
        );
        ix.route_apply(entry, own.is_some() || crate::filters::route_is_ours(&obj))
    }
    fn delete(&mut self, ix: &mut Index, key: &RouteId) -> Vec<TgwKey> {
        ix.route_delete(key)
    }
    fn cached(&self, ix: &Index) -> Vec<RouteId> {
        ix.route_ids().into_iter().filter(|r| r.kind == self.kind).collect()
    }
}

struct NamespaceFeed;

impl Feed<PartialObjectMeta<Namespace>> for NamespaceFeed {
    type Key = String;
    fn key(&self, obj: &PartialObjectMeta<Namespace>) -> String {
        obj.name_any()
    }
    fn apply(&mut self, ix: &mut Index, obj: PartialObjectMeta<Namespace>, metrics: &Metrics) -> Vec<TgwKey> {
        let writer = echo(
            ix,
            &echo_key::namespace(&obj.name_any()),
            obj.metadata.resource_version.as_deref(),
            metrics,
        );
        ix.set_namespace_version(&obj.name_any(), obj.metadata.resource_version.as_deref());
        ix.namespace_apply(crate::slim::namespace(&obj.metadata), writer.as_ref())
    }
    fn delete(&mut self, ix: &mut Index, key: &String) -> Vec<TgwKey> {
        ix.namespace_delete(key)
    }
    fn cached(&self, ix: &Index) -> Vec<String> {
        ix.namespace_names()
    }
}

struct OwnedFeed {
    ar: ApiResource,
}

impl Feed<DynamicObject> for OwnedFeed {
    type Key = OwnedKey;
    fn key(&self, obj: &DynamicObject) -> OwnedKey {
        (
            self.ar.kind.clone(),
            obj.namespace().unwrap_or_default(),
            obj.name_any(),
        )
    }
    fn apply(&mut self, ix: &mut Index, mut obj: DynamicObject, metrics: &Metrics) -> Vec<TgwKey> {
        crate::slim::owned_of_kind(&self.ar.kind, &mut obj);
        obj.types = Some(TypeMeta {
            api_version: self.ar.api_version.clone(),
            kind: self.ar.kind.clone(),
        });
        let key = echo_key::owned(&self.ar.kind, &obj.namespace().unwrap_or_default(), &obj.name_any());
        let own = echo(ix, &key, obj.metadata.resource_version.as_deref(), metrics);
        ix.owned_apply(obj, own.is_some())
    }
    fn delete(&mut self, ix: &mut Index, key: &OwnedKey) -> Vec<TgwKey> {
        let targets = ix.owned_delete(key);
        // Our own delete (garbage collection of a Certificate, a no longer wanted Issuer).
        match ix.echo(&echo_key::owned(&key.0, &key.1, &key.2), None) {
            Some(_) => Vec::new(),
            None => targets,
        }
    }
    fn cached(&self, ix: &Index) -> Vec<OwnedKey> {
        ix.owned_keys(&self.ar.kind)
    }
}

/// The writer if this event is the echo of our own write (counted).
fn echo(ix: &mut Index, key: &str, rv: Option<&str>, metrics: &Metrics) -> Option<TgwKey> {
    let writer = ix.echo(key, rv);
    if writer.is_some() {
        metrics.obs.own_write_echo();
    }
    writer
}

/// What a feed needs besides its stream.
#[derive(Clone)]
struct Sinks {
    index: Arc<RwLock<Index>>,
    tx: UnboundedSender<ObjectRef<DynamicObject>>,
    tgw: ApiResource,
    metrics: Arc<Metrics>,
    ready: Arc<tokio::sync::watch::Sender<usize>>,
}

impl Sinks {
    fn enqueue(&self, source: &'static str, targets: Vec<TgwKey>) {
        for (ns, name) in targets {
            self.metrics.obs.enqueued(source, (ns.clone(), name.clone()));
            let _ = self
                .tx
                .unbounded_send(ObjectRef::new_with(&name, self.tgw.clone()).within(&ns));
        }
    }
}

/// Applies every event of `stream` to the index through `feed`. Nothing is enqueued during the
/// initial list (every TenantGateway is reconciled after it anyway); after a relist, objects not
/// listed again are removed.
async fn drive<K, F, S>(stream: S, mut feed: F, source: &'static str, sinks: Sinks)
where
    F: Feed<K>,
    S: Stream<Item = Result<Event<K>, watcher::Error>> + Send,
{
    let mut stream = std::pin::pin!(stream);
    let mut seen: Option<HashSet<F::Key>> = None;
    let mut initial = true;
    while let Some(ev) = stream.next().await {
        let event = match ev {
            Ok(e) => e,
            Err(e) => {
                sinks.metrics.obs.watcher_error(source);
                tracing::warn!(source, error = %bounded(&e.to_string(), MAX_LOGGED_ERROR), "watch failed; retrying");
                continue;
            }
        };
        let mut ix = sinks.index.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let targets = match event {
            Event::Init => {
                seen = Some(HashSet::new());
                Vec::new()
            }
            Event::InitApply(obj) => {
                if let Some(s) = seen.as_mut() {
                    s.insert(feed.key(&obj));
                }
                feed.apply(&mut ix, obj, &sinks.metrics)
            }
            Event::InitDone => {
                let mut out = Vec::new();
                if let Some(s) = seen.take() {
                    for k in feed.cached(&ix) {
                        if !s.contains(&k) {
                            out.extend(feed.delete(&mut ix, &k));
                        }
                    }
                }
                if initial {
                    initial = false;
                    sinks.ready.send_modify(|n| *n += 1);
                }
                out
            }
            Event::Apply(obj) => {
                let k = feed.key(&obj);
                let t = feed.apply(&mut ix, obj, &sinks.metrics);
                if !t.is_empty() {
                    tracing::debug!(source, object = ?k, targets = ?t, "applied object enqueues");
                }
                t
            }
            Event::Delete(obj) => {
                let k = feed.key(&obj);
                let t = feed.delete(&mut ix, &k);
                if !t.is_empty() {
                    tracing::debug!(source, object = ?k, targets = ?t, "deleted object enqueues");
                }
                t
            }
        };
        drop(ix);
        sinks.metrics.obs.watch_event(source);
        if !initial {
            sinks.enqueue(source, targets);
        }
    }
}

/// Background tasks aborted when the controller stops (or its future is dropped).
struct Tasks(Vec<tokio::task::JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

/// The TenantGateway stream as the Controller sees it: every event updates the TenantGateway
/// indexes; only new objects, new generations and deletions trigger a reconcile (status writes,
/// ours included, do not).
fn tenantgateway_triggers(
    api: Api<DynamicObject>,
    writer: reflector::store::Writer<DynamicObject>,
    index: Arc<RwLock<Index>>,
    metrics: Arc<Metrics>,
) -> impl Stream<Item = Result<DynamicObject, watcher::Error>> + Send {
    let mut feed = TgwFeed {
        index,
        metrics,
        seen: None,
    };
    watcher(api, watcher::Config::default())
        .default_backoff()
        .modify(crate::slim::tenantgateway)
        .reflect(writer)
        .filter_map(move |ev| future::ready(feed.event(ev)))
}

/// TenantGateway watch events applied to the index. Like [`drive`] for the other caches, a
/// relist (after 410 Gone, or any watch restarted from scratch) removes the TenantGateways it
/// does not list again: they were deleted while the watch was down, and their Delete event never
/// came. Left in the index, such a ghost would stay a peer of its namespace's other
/// TenantGateways (keeping the namespaces it attached labelled) and would hide a re-creation
/// under the same name and generation.
struct TgwFeed {
    index: Arc<RwLock<Index>>,
    metrics: Arc<Metrics>,
    /// Keys listed since the relist began (`Init`), until `InitDone`.
    seen: Option<HashSet<TgwKey>>,
}

impl TgwFeed {
    /// Applies one event; returns the object to reconcile, if any.
    fn event(&mut self, ev: watcher::Result<Event<DynamicObject>>) -> Option<Result<DynamicObject, watcher::Error>> {
        let key = |obj: &DynamicObject| -> TgwKey { (obj.namespace().unwrap_or_default(), obj.name_any()) };
        let out = match ev {
            Err(e) => {
                self.metrics.obs.watcher_error("tenantgateway");
                tracing::warn!(source = "tenantgateway", error = %bounded(&e.to_string(), MAX_LOGGED_ERROR), "watch failed; retrying");
                None
            }
            Ok(Event::Apply(obj) | Event::InitApply(obj)) => {
                if let Some(s) = self.seen.as_mut() {
                    s.insert(key(&obj));
                }
                let mut ix = self.index.write().unwrap_or_else(std::sync::PoisonError::into_inner);
                ix.tgw_apply(&obj).then_some(Ok(obj))
            }
            Ok(Event::Delete(obj)) => {
                let mut ix = self.index.write().unwrap_or_else(std::sync::PoisonError::into_inner);
                ix.tgw_delete(&key(&obj));
                None
            }
            Ok(Event::Init) => {
                self.seen = Some(HashSet::new());
                None
            }
            Ok(Event::InitDone) => {
                if let Some(seen) = self.seen.take() {
                    let mut ix = self.index.write().unwrap_or_else(std::sync::PoisonError::into_inner);
                    for k in ix.tgw_keys() {
                        if !seen.contains(&k) {
                            tracing::debug!(object = ?k, "TenantGateway not listed again after a relist: removed");
                            ix.tgw_delete(&k);
                        }
                    }
                }
                None
            }
        };
        if let Some(Ok(obj)) = &out {
            self.metrics.obs.enqueued("tenantgateway", key(obj));
        }
        self.metrics.obs.watch_event("tenantgateway");
        out
    }
}

fn watcher(
    api: Api<DynamicObject>,
    cfg: watcher::Config,
) -> impl Stream<Item = watcher::Result<Event<DynamicObject>>> + Send {
    watcher::watcher(api, cfg)
}

/// Runs the controller until `shutdown` resolves; `metrics` is shared with the caller (tests,
/// benchmarks, the metrics server).
pub async fn run(
    client: Client,
    settings: Settings,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) -> anyhow::Result<()> {
    let resources = Resources::discover(&client).await?;
    let tgw_ar = ApiResource::erase::<TenantGateway>(&());
    let tgw_api: Api<DynamicObject> = match &settings.watch_namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &tgw_ar),
        None => Api::all_with(client.clone(), &tgw_ar),
    };
    let index = Arc::new(RwLock::new(Index::default()));
    let (tx, rx) = futures::channel::mpsc::unbounded::<ObjectRef<DynamicObject>>();
    let (ready_tx, mut ready_rx) = tokio::sync::watch::channel(0usize);
    let sinks = Sinks {
        index: index.clone(),
        tx,
        tgw: tgw_ar.clone(),
        metrics: metrics.clone(),
        ready: Arc::new(ready_tx),
    };
    let mut tasks = Tasks(Vec::new());
    let mut feeds = 0usize;

    // Namespaces: metadata only (labels and annotations are all the decisions read).
    feeds += 1;
    tasks.0.push(tokio::spawn(drive(
        watcher::watcher(
            Api::<PartialObjectMeta<Namespace>>::all(client.clone()),
            watcher::Config::default(),
        )
        .default_backoff(),
        NamespaceFeed,
        "namespace",
        sinks.clone(),
    )));

    let mut route_kinds: Vec<(RouteKind, ApiResource)> = vec![(RouteKind::Http, resources.http_route.clone())];
    if let Some(ar) = &resources.tls_route {
        route_kinds.push((RouteKind::Tls, ar.clone()));
    }
    if let Some(ar) = &resources.grpc_route {
        route_kinds.push((RouteKind::Grpc, ar.clone()));
    }
    for (kind, ar) in &route_kinds {
        feeds += 1;
        let feed = RouteFeed {
            kind: *kind,
            controller: settings.controller_name.clone(),
        };
        tasks.0.push(tokio::spawn(drive(
            watcher(Api::all_with(client.clone(), ar), watcher::Config::default()).default_backoff(),
            feed,
            "route",
            sinks.clone(),
        )));
    }

    // Owned objects: only those carrying our managed-by label.
    let owned_cfg = watcher::Config::default().labels(&format!("{LABEL_MANAGED_BY}={MANAGED_BY_VALUE}"));
    for ar in [
        &resources.gateway,
        &resources.issuer,
        &resources.certificate,
        &resources.http_route,
    ] {
        feeds += 1;
        tasks.0.push(tokio::spawn(drive(
            watcher(Api::all_with(client.clone(), ar), owned_cfg.clone()).default_backoff(),
            OwnedFeed { ar: ar.clone() },
            "owned",
            sinks.clone(),
        )));
    }
    drop(sinks);

    // The one gate on the caches' readiness; everyone else watches `synced`.
    let (synced_tx, synced) = tokio::sync::watch::channel(false);
    tasks.0.push(tokio::spawn(async move {
        let _ = ready_rx.wait_for(|n| *n >= feeds).await;
        let _ = synced_tx.send(true);
    }));

    let reporter = Reporter {
        controller: settings.field_manager.clone(),
        instance: std::env::var("TGW_POD_NAME").ok(),
    };
    let retries = Arc::new(crate::retries::Retries::new(settings.retry));
    let reconciles_per_second = settings.reconciles_per_second;
    metrics.obs.set_retries(Some(retries.clone()));
    let ctx = Arc::new(Context {
        client: client.clone(),
        resources: resources.clone(),
        settings,
        index: index.clone(),
        route_kinds,
        metrics: metrics.clone(),
        synced,
        recorder: Recorder::new(client.clone(), reporter),
        unwritable: Default::default(),
        retries,
        starts: crate::retries::StartLimiter::new(reconciles_per_second),
    });

    let writer = reflector::store::Writer::<DynamicObject>::new(tgw_ar.clone());
    let tgw_store = writer.as_reader();
    ctx.metrics.obs.set_store(Some(tgw_store.clone()));
    {
        let ctx = ctx.clone();
        tasks.0.push(tokio::spawn(async move {
            ctx.caches_ready().await;
            ctx.metrics.obs.set_synced(true);
            let (routes, namespaces, owned) = ctx.read().sizes();
            tracing::info!(routes, namespaces, owned, "caches synced");
        }));
    }

    let triggers = tenantgateway_triggers(tgw_api, writer, index, metrics.clone());
    Controller::for_stream_with(triggers, tgw_store, tgw_ar)
        .with_config(ControllerConfig::default().concurrency(4))
        .reconcile_on(rx)
        .graceful_shutdown_on(shutdown)
        .run(crate::tolerant::reconcile, crate::tolerant::error_policy, ctx)
        .for_each(|res| {
            metrics.obs.controller_result(&res);
            if let Err(e) = res {
                tracing::debug!(error = %bounded(&e.to_string(), MAX_LOGGED_ERROR), "reconcile result");
            }
            future::ready(())
        })
        .await;
    drop(tasks);
    // Requests still waiting die with the Controller's scheduler.
    metrics.obs.queue.clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_watch_error_is_counted_by_source_and_the_stream_goes_on() {
        let metrics = Arc::new(Metrics::default());
        let (tx, _rx) = futures::channel::mpsc::unbounded();
        let ready = Arc::new(tokio::sync::watch::channel(0usize).0);
        let sinks = Sinks {
            index: Arc::default(),
            tx,
            tgw: ApiResource::erase::<TenantGateway>(&()),
            metrics: metrics.clone(),
            ready: ready.clone(),
        };
        let events = futures::stream::iter([
            Err(watcher::Error::NoResourceVersion),
            Ok(Event::Init),
            Ok(Event::InitDone),
            Err(watcher::Error::NoResourceVersion),
        ]);
        drive::<PartialObjectMeta<Namespace>, _, _>(events, NamespaceFeed, "namespace", sinks).await;
        assert_eq!(metrics.obs.watcher_errors("namespace"), 2);
        assert_eq!(metrics.obs.watcher_errors("route"), 0);
        assert_eq!(*ready.borrow(), 1, "the initial list completed after the error");
    }

    fn tgw_object(ns: &str, name: &str, attached: &[&str]) -> DynamicObject {
        let mut obj = DynamicObject::new(name, &ApiResource::erase::<TenantGateway>(&())).within(ns);
        obj.metadata.generation = Some(1);
        obj.data = serde_json::json!({"spec": {"apex": "example.org", "attachedNamespaces": attached}});
        obj
    }

    #[test]
    fn a_tenantgateway_deleted_while_the_watch_was_down_leaves_the_index_at_the_relist() {
        let index = Arc::new(RwLock::new(Index::default()));
        let mut feed = TgwFeed {
            index: index.clone(),
            metrics: Arc::default(),
            seen: None,
        };
        let a = tgw_object("tenant-root", "a", &[]);
        let b = tgw_object("tenant-root", "b", &["tenant-x"]);
        for ev in [
            Event::Init,
            Event::InitApply(a.clone()),
            Event::InitApply(b.clone()),
            Event::InitDone,
        ] {
            feed.event(Ok(ev));
        }
        let keys = |ix: &Arc<RwLock<Index>>| {
            let mut k = ix.read().unwrap().tgw_keys();
            k.sort();
            k
        };
        assert_eq!(keys(&index).len(), 2);
        assert_eq!(index.read().unwrap().peers("tenant-root", "a").len(), 1);
        // The watch expires (410 Gone); meanwhile b is deleted, finalizer and all. The relist
        // lists only a.
        feed.event(Err(watcher::Error::NoResourceVersion));
        for ev in [Event::Init, Event::InitApply(a.clone()), Event::InitDone] {
            feed.event(Ok(ev));
        }
        assert_eq!(keys(&index), vec![("tenant-root".to_owned(), "a".to_owned())]);
        assert!(
            index.read().unwrap().peers("tenant-root", "a").is_empty(),
            "the deleted b is no peer of a any more"
        );
        // b created again under the same name (same generation): reconciled.
        assert!(feed.event(Ok(Event::Apply(b))).is_some());
        // An Apply outside a relist is not a relist: nothing is pruned without Init.
        feed.event(Ok(Event::InitDone));
        assert_eq!(keys(&index).len(), 2);
    }

    #[test]
    fn long_errors_are_cut_on_a_character_boundary() {
        assert_eq!(bounded("short", 10), "short");
        let long = "é".repeat(400);
        let b = bounded(&long, 301);
        assert!(b.starts_with(&"é".repeat(150)));
        assert!(b.ends_with("(500 more bytes)"), "{b}");
        assert!(b.len() < 330);
    }
}
