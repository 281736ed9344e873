//! Wiring: discovery, reflectors for routes and namespaces (shared by snapshots and triggers),
//! and the kube-runtime Controller with its watches.

use std::sync::Arc;

use futures::{StreamExt, future};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::Api;
use kube::core::{ApiResource, DynamicObject};
use kube::runtime::controller::Config as ControllerConfig;
use kube::runtime::reflector::{self, ObjectRef, Store};

use kube::runtime::{Controller, WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use serde_json::Value;
use tgw_core::decide::Settings;
use tgw_core::keys::{ANNOTATION_ATTACHED_BY, LABEL_GATEWAY, LABEL_MANAGED_BY, MANAGED_BY_VALUE};
use tgw_core::snapshot::{RouteKind, wire};
use tgw_core::tenantgateway::TenantGateway;

use crate::context::{Context, Metrics};
use crate::reconcile::{error_policy, reconcile};
use crate::resources::Resources;

/// Gateways a route points at: spec parentRefs plus our own status entries (so a removed
/// parentRef still triggers the pruning of its entry).
fn route_targets(obj: &DynamicObject, controller: &str) -> Vec<ObjectRef<TenantGateway>> {
    let ns = obj.namespace().unwrap_or_default();
    let spec_refs = obj.data["spec"]["parentRefs"].as_array().cloned().unwrap_or_default();
    let status_refs: Vec<Value> = obj.data["status"]["parents"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["controllerName"] == controller)
        .map(|p| p["parentRef"].clone())
        .collect();
    spec_refs
        .iter()
        .chain(status_refs.iter())
        .map(wire::parent_ref)
        .filter(|p| matches!(p.kind.as_deref(), None | Some("Gateway")))
        .map(|p| ObjectRef::new(&p.name).within(p.namespace.as_deref().unwrap_or(&ns)))
        .collect()
}

/// TenantGateways a namespace event concerns: owners named by its gateway label or our
/// annotation, and TenantGateways listing it in attachedNamespaces.
fn namespace_targets(ns: &Namespace, tgws: &Store<TenantGateway>) -> Vec<ObjectRef<TenantGateway>> {
    let name = ns.name_any();
    let label = ns.labels().get(LABEL_GATEWAY).cloned();
    let annotation = ns.annotations().get(ANNOTATION_ATTACHED_BY).cloned();
    tgws.state()
        .iter()
        .filter(|t| {
            let tns = t.namespace().unwrap_or_default();
            let key = format!("{tns}/{}", t.name_any());
            label.as_deref() == Some(tns.as_str())
                || annotation.as_deref() == Some(key.as_str())
                || annotation.as_deref() == Some(tns.as_str())
                || tns == name
                || t.spec.attached().any(|a| a == name)
        })
        .map(|t| ObjectRef::from_obj(t.as_ref()))
        .collect()
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

/// Runs the controller until `shutdown` resolves. Returns the metrics handle immediately via
/// `metrics` so callers (tests, benchmarks) can observe writes.
pub async fn run(
    client: Client,
    settings: Settings,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) -> anyhow::Result<()> {
    let resources = Resources::discover(&client).await?;
    let tgw_api: Api<TenantGateway> = match &settings.watch_namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };

    // Caches for namespaces and routes are driven by their own tasks (so a reconcile can wait
    // for them to be complete); every touched object (applied or deleted) is mapped to the
    // TenantGateways it concerns and fed to the controller through `reconcile_on`.
    let (tx, rx) = futures::channel::mpsc::unbounded::<ObjectRef<TenantGateway>>();
    let controller = Controller::new(tgw_api, watcher::Config::default());
    let tgw_store = controller.store();
    let mut tasks = Tasks(Vec::new());

    let ns_writer = reflector::store::Writer::<Namespace>::default();
    let ns_store = ns_writer.as_reader();
    {
        let tx = tx.clone();
        let tgws = tgw_store.clone();
        let stream = watcher(Api::<Namespace>::all(client.clone()), watcher::Config::default())
            .default_backoff()
            .reflect(ns_writer)
            .touched_objects();
        tasks.0.push(tokio::spawn(stream.for_each(move |ns| {
            if let Ok(ns) = ns {
                for r in namespace_targets(&ns, &tgws) {
                    let _ = tx.unbounded_send(r);
                }
            }
            future::ready(())
        })));
    }

    let mut kinds: Vec<(RouteKind, ApiResource)> = vec![(RouteKind::Http, resources.http_route.clone())];
    if let Some(ar) = &resources.tls_route {
        kinds.push((RouteKind::Tls, ar.clone()));
    }
    if let Some(ar) = &resources.grpc_route {
        kinds.push((RouteKind::Grpc, ar.clone()));
    }
    let mut route_stores: Vec<(RouteKind, ApiResource, Store<DynamicObject>)> = Vec::new();
    for (kind, ar) in kinds {
        let writer = reflector::store::Writer::<DynamicObject>::new(ar.clone());
        route_stores.push((kind, ar.clone(), writer.as_reader()));
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
        let tx = tx.clone();
        let controller_name = settings.controller_name.clone();
        let stream = watcher(api, watcher::Config::default())
            .default_backoff()
            .reflect(writer)
            .touched_objects();
        tasks.0.push(tokio::spawn(stream.for_each(move |r| {
            if let Ok(r) = r {
                for t in route_targets(&r, &controller_name) {
                    let _ = tx.unbounded_send(t);
                }
            }
            future::ready(())
        })));
    }
    drop(tx);

    // The one waiter on the stores' readiness; everyone else watches `synced`.
    let (synced_tx, synced) = tokio::sync::watch::channel(false);
    {
        let ns_store = ns_store.clone();
        let stores: Vec<Store<DynamicObject>> = route_stores.iter().map(|(_, _, s)| s.clone()).collect();
        tasks.0.push(tokio::spawn(async move {
            let _ = ns_store.wait_until_ready().await;
            for s in stores {
                let _ = s.wait_until_ready().await;
            }
            let _ = synced_tx.send(true);
        }));
    }

    let ctx = Arc::new(Context {
        client: client.clone(),
        resources: resources.clone(),
        settings,
        namespaces: ns_store,
        routes: route_stores,
        metrics,
        synced,
    });

    // Metrics hook: the TenantGateway cache (counts, pending) and cache readiness for /readyz
    // (through the `synced` gate: a second `wait_until_ready` waiter could steal the wake-up).
    ctx.metrics.obs.set_store(Some(tgw_store.clone()));
    {
        let ctx = ctx.clone();
        tasks.0.push(tokio::spawn(async move {
            ctx.caches_ready().await;
            ctx.metrics.obs.set_synced(true);
            tracing::info!("caches synced");
        }));
    }

    let owned = watcher::Config::default().labels(&format!("{LABEL_MANAGED_BY}={MANAGED_BY_VALUE}"));
    controller
        .with_config(ControllerConfig::default().concurrency(4))
        .owns_with(
            Api::<DynamicObject>::all_with(client.clone(), &resources.gateway),
            resources.gateway.clone(),
            owned.clone(),
        )
        .owns_with(
            Api::<DynamicObject>::all_with(client.clone(), &resources.issuer),
            resources.issuer.clone(),
            owned.clone(),
        )
        .owns_with(
            Api::<DynamicObject>::all_with(client.clone(), &resources.certificate),
            resources.certificate.clone(),
            owned,
        )
        .reconcile_on(rx)
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|res| {
            if let Err(e) = res {
                tracing::debug!(error = %e, "reconcile result");
            }
            future::ready(())
        })
        .await;
    drop(tasks);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::GroupVersionKind;
    use serde_json::json;
    use tgw_core::keys::CONTROLLER_NAME;

    fn route(ns: &str, spec_refs: Value, status_parents: Value) -> DynamicObject {
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk("gateway.networking.k8s.io", "v1", "HTTPRoute"));
        let mut obj = DynamicObject::new("r", &ar).within(ns);
        obj.data = json!({"spec": {"parentRefs": spec_refs}, "status": {"parents": status_parents}});
        obj
    }

    #[test]
    fn routes_map_to_gateways_by_parent_ref_and_our_status_entries() {
        let r = route(
            "tenant-a",
            json!([
                {"name": "cozystack"},
                {"name": "cozystack", "namespace": "tenant-root", "sectionName": "https"},
                {"name": "svc", "kind": "Service"},
            ]),
            json!([
                {"controllerName": CONTROLLER_NAME, "parentRef": {"name": "old", "namespace": "tenant-x"}},
                {"controllerName": "io.cilium/gateway-controller", "parentRef": {"name": "other", "namespace": "tenant-y"}},
            ]),
        );
        let got: Vec<(String, Option<String>)> = route_targets(&r, CONTROLLER_NAME)
            .into_iter()
            .map(|o| (o.name, o.namespace))
            .collect();
        let want = [
            ("cozystack", "tenant-a"),
            ("cozystack", "tenant-root"),
            ("old", "tenant-x"),
        ]
        .map(|(n, ns)| (n.to_owned(), Some(ns.to_owned())));
        assert_eq!(got, want);
    }
}
