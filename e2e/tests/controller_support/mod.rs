//! Shared pieces of the controller e2e suites: a control plane with the TenantGateway CRD, the
//! controller running in-process (so tests can stop/restart it and read its write counter),
//! object helpers and polling.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use gateway_api::gateways::Gateway;
use gateway_api::httproutes::HttpRoute;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DynamicObject, ObjectMeta, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use tgw_controller::context::Metrics;
use tgw_core::decide::Settings;
use tgw_core::tenantgateway::{Condition, TenantGateway};
use tgw_e2e::TestCluster;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const MANAGER: &str = "tgw-e2e-controller";
pub const TIMEOUT: Duration = Duration::from_secs(40);

/// A running in-process controller.
pub struct Running {
    pub metrics: Arc<Metrics>,
    stop: Option<oneshot::Sender<()>>,
    handle: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Graceful shutdown (in-flight reconciles finish); returns how long it took.
    pub async fn stop(mut self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        tokio::time::timeout(Duration::from_secs(30), self.handle)
            .await
            .context("controller stop")???;
        Ok(started.elapsed())
    }

    /// Abrupt stop, as a crash would: in-flight work is abandoned mid-way.
    pub fn kill(self) {
        self.handle.abort();
    }
}

/// Settings for suites whose owner namespaces have generated names: every namespace may use
/// `attachedNamespaces` (the default trusts only `tenant-root`; `controller_isolation.rs` tests it).
pub fn any_attach_owner() -> Settings {
    Settings {
        attach: tgw_core::attach_trust::AttachTrust {
            owner_namespaces: vec!["*".to_owned()],
        },
        ..Settings::default()
    }
}

pub async fn start_controller(client: Client) -> Running {
    start_controller_with(client, Settings::default()).await
}

/// Starts the controller with non-default settings (controller name, field manager, watch namespace).
pub async fn start_controller_with(client: Client, settings: Settings) -> Running {
    let metrics = Arc::new(Metrics::default());
    let (tx, rx) = oneshot::channel::<()>();
    let shutdown = async move {
        let _ = rx.await;
    };
    let handle = tokio::spawn(tgw_controller::run::run(client, settings, metrics.clone(), shutdown));
    Running {
        metrics,
        stop: Some(tx),
        handle,
    }
}

/// Starts a control plane and installs the TenantGateway CRD from `tgw_controller::crd`.
pub async fn cluster() -> anyhow::Result<(TestCluster, Client)> {
    let cluster = TestCluster::start().await?;
    let admin = cluster.admin().await?;
    let crds: Api<CustomResourceDefinition> = Api::all(admin.clone());
    let crd = tgw_controller::crd::crd();
    let name = crd.name_any();
    crds.patch(&name, &PatchParams::apply(MANAGER).force(), &Patch::Apply(&crd))
        .await
        .context("applying the TenantGateway CRD")?;
    eventually("TenantGateway CRD established", || {
        let crds = crds.clone();
        let name = name.clone();
        async move {
            let c = crds.get(&name).await?;
            Ok(c.status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True"))
        }
    })
    .await?;
    Ok((cluster, admin))
}

/// Polls `f` every 200 ms until it returns `Ok(true)`, or fails after [`TIMEOUT`] with the last error.
pub async fn eventually<F, Fut>(what: &str, mut f: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<bool>>,
{
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let last = match f().await {
            Ok(true) => return Ok(()),
            Ok(false) => "condition not met".to_owned(),
            Err(e) => format!("{e:#}"),
        };
        if Instant::now() > deadline {
            anyhow::bail!("timed out waiting for {what}: {last}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Creates a namespace `<prefix>-<random>` with labels; returns its name.
pub async fn namespace(client: &Client, prefix: &str, labels: &[(&str, &str)]) -> anyhow::Result<String> {
    let api: Api<Namespace> = Api::all(client.clone());
    let labels: BTreeMap<String, String> = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let ns = Namespace {
        metadata: ObjectMeta {
            generate_name: Some(format!("{prefix}-")),
            labels: Some(labels),
            ..Default::default()
        },
        ..Default::default()
    };
    Ok(api.create(&PostParams::default(), &ns).await?.name_any())
}

/// Creates namespace `name` (a fixed name, unlike [`namespace`]) with labels.
pub async fn named_namespace(client: &Client, name: &str, labels: &[(&str, &str)]) -> anyhow::Result<()> {
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            labels: Some(labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .with_context(|| format!("create namespace {name}"))?;
    Ok(())
}

/// Sets label `key=value` on namespace `name` (merge patch).
pub async fn set_ns_label(client: &Client, name: &str, key: &str, value: &str) -> anyhow::Result<()> {
    Api::<Namespace>::all(client.clone())
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {key: value}}})),
        )
        .await
        .with_context(|| format!("label namespace {name} {key}={value}"))?;
    Ok(())
}

pub async fn ns_labels(
    client: &Client,
    name: &str,
) -> anyhow::Result<(BTreeMap<String, String>, BTreeMap<String, String>)> {
    let ns = Api::<Namespace>::all(client.clone()).get(name).await?;
    Ok((ns.labels().clone(), ns.annotations().clone()))
}

pub async fn resource(client: &Client, group: &str, kind: &str) -> anyhow::Result<ApiResource> {
    let g = kube::discovery::oneshot::group(client, group).await?;
    Ok(g.recommended_kind(kind)
        .with_context(|| format!("{group} {kind} not served"))?
        .0)
}

pub async fn dynapi(client: &Client, group: &str, kind: &str, ns: &str) -> anyhow::Result<Api<DynamicObject>> {
    Ok(Api::namespaced_with(
        client.clone(),
        ns,
        &resource(client, group, kind).await?,
    ))
}

pub const GW: &str = "gateway.networking.k8s.io";
pub const CM: &str = "cert-manager.io";

/// Server-side applies `obj` (needs apiVersion, kind, metadata.name, metadata.namespace).
pub async fn apply(client: &Client, group: &str, obj: Value) -> anyhow::Result<DynamicObject> {
    let kind = obj["kind"].as_str().context("kind")?.to_owned();
    let ns = obj["metadata"]["namespace"].as_str().context("namespace")?.to_owned();
    let name = obj["metadata"]["name"].as_str().context("name")?.to_owned();
    let ar = resource(client, group, &kind).await?;
    let mut obj = obj;
    obj["apiVersion"] = json!(ar.api_version);
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &ar);
    Ok(api
        .patch(&name, &PatchParams::apply(MANAGER).force(), &Patch::Apply(&obj))
        .await?)
}

pub fn http_route(ns: &str, name: &str, hosts: &[&str], gw_ns: &str) -> Value {
    json!({
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "parentRefs": [{"name": "cozystack", "namespace": gw_ns}],
            "hostnames": hosts,
            "rules": [{"backendRefs": [{"name": "svc", "port": 80}]}],
        },
    })
}

pub fn tgw(ns: &str, spec: Value) -> Value {
    json!({
        "apiVersion": "gateway.cozystack.io/v1alpha1",
        "kind": "TenantGateway",
        "metadata": {"name": "cozystack", "namespace": ns},
        "spec": spec,
    })
}

/// Applies TenantGateway `ns/cozystack`. A tenant namespace (`tenant-*`) without a host label is
/// first labelled with the spec's apex, as Cozystack's tenant controller labels every tenant
/// namespace: a tenant namespace without one publishes nothing ([`apply_tgw_exactly`] leaves the
/// namespace alone).
pub async fn apply_tgw(client: &Client, ns: &str, spec: Value) -> anyhow::Result<()> {
    if let Some(apex) = spec["apex"].as_str().filter(|a| !a.is_empty())
        && ns.starts_with(tgw_core::consts::TENANT_NAMESPACE_PREFIX)
        && !ns_labels(client, ns).await?.0.contains_key(tgw_core::keys::LABEL_HOST)
    {
        set_ns_label(client, ns, tgw_core::keys::LABEL_HOST, apex).await?;
    }
    apply_tgw_exactly(client, ns, spec).await
}

/// Applies TenantGateway `ns/cozystack`, nothing else.
pub async fn apply_tgw_exactly(client: &Client, ns: &str, spec: Value) -> anyhow::Result<()> {
    let api: Api<TenantGateway> = Api::namespaced(client.clone(), ns);
    api.patch(
        "cozystack",
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(tgw(ns, spec)),
    )
    .await?;
    Ok(())
}

pub async fn get_tgw(client: &Client, ns: &str) -> anyhow::Result<TenantGateway> {
    Ok(Api::<TenantGateway>::namespaced(client.clone(), ns)
        .get("cozystack")
        .await?)
}

pub fn condition<'a>(t: &'a TenantGateway, ty: &str) -> Option<&'a Condition> {
    t.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == ty)
}

/// Waits until the TGW's condition `ty` has `status` and `reason` for the current generation.
pub async fn await_tgw(
    client: &Client,
    ns: &str,
    ty: &str,
    status: &str,
    reason: &str,
) -> anyhow::Result<TenantGateway> {
    eventually(
        &format!("TenantGateway {ns}/cozystack {ty}={status}/{reason}"),
        || async {
            let t = get_tgw(client, ns).await?;
            let ok = t.status.as_ref().and_then(|s| s.observed_generation) == t.metadata.generation
                && condition(&t, ty).is_some_and(|c| c.status.as_str() == status && c.reason == reason);
            if !ok {
                anyhow::bail!("now {:?}", condition(&t, ty));
            }
            Ok(true)
        },
    )
    .await?;
    get_tgw(client, ns).await
}

pub async fn get(
    client: &Client,
    group: &str,
    kind: &str,
    ns: &str,
    name: &str,
) -> anyhow::Result<Option<DynamicObject>> {
    Ok(dynapi(client, group, kind, ns).await?.get_opt(name).await?)
}

/// The Gateway `ns/name`, typed (Gateway API `v1`).
pub async fn get_gateway(client: &Client, ns: &str, name: &str) -> anyhow::Result<Option<Gateway>> {
    Ok(Api::<Gateway>::namespaced(client.clone(), ns).get_opt(name).await?)
}

/// The HTTPRoute `ns/name`, typed (Gateway API `v1`).
pub async fn get_route(client: &Client, ns: &str, name: &str) -> anyhow::Result<Option<HttpRoute>> {
    Ok(Api::<HttpRoute>::namespaced(client.clone(), ns).get_opt(name).await?)
}

pub fn listener_names(gw: &Gateway) -> Vec<String> {
    gw.spec.listeners.iter().map(|l| l.name.clone()).collect()
}

/// The message of the first condition of the route's first parent entry ("" when none).
pub fn first_message(route: &HttpRoute) -> String {
    route
        .status
        .iter()
        .flat_map(|s| s.parents.first())
        .flat_map(|p| p.conditions.first())
        .map(|c| c.message.clone())
        .next()
        .unwrap_or_default()
}

/// Our route parent entries: (`namespace/name` of the parent, status, reason).
pub fn our_parents(route: &HttpRoute) -> Vec<(String, String, String)> {
    route
        .status
        .iter()
        .flat_map(|s| &s.parents)
        .filter(|p| p.controller_name == tgw_core::keys::CONTROLLER_NAME)
        .map(|p| {
            let parent = &p.parent_ref;
            let (status, reason) = p
                .conditions
                .first()
                .map(|c| (c.status.clone(), c.reason.clone()))
                .unwrap_or_default();
            let ns = parent.namespace.as_deref().unwrap_or("");
            (format!("{ns}/{}", parent.name), status, reason)
        })
        .collect()
}

/// Marks a cert-manager object Ready=True (no cert-manager runs in the test cluster).
pub async fn mark_ready(client: &Client, kind: &str, ns: &str, name: &str) -> anyhow::Result<()> {
    let api = dynapi(client, CM, kind, ns).await?;
    let status = json!({"status": {"conditions": [{"type": "Ready", "status": "True", "reason": "Ready", "message": "e2e", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}});
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(status))
        .await?;
    Ok(())
}

/// Marks the Gateway and all its listeners Accepted+Programmed (no Gateway implementation runs).
pub async fn program_gateway(client: &Client, ns: &str) -> anyhow::Result<()> {
    let api = Api::<Gateway>::namespaced(client.clone(), ns);
    let gw = api.get("cozystack").await?;
    let gen_ = gw.metadata.generation.unwrap_or(1);
    let cond = |t: &str| json!({"type": t, "status": "True", "reason": t, "message": "e2e", "lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": gen_});
    let listeners: Vec<Value> = listener_names(&gw)
        .iter()
        .map(|n| json!({"name": n, "attachedRoutes": 0, "supportedKinds": [], "conditions": [cond("Accepted"), cond("Programmed")]}))
        .collect();
    api.patch_status(
        "cozystack",
        &PatchParams::default(),
        &Patch::Merge(
            json!({"status": {"conditions": [cond("Accepted"), cond("Programmed")], "listeners": listeners}}),
        ),
    )
    .await?;
    Ok(())
}

/// resourceVersions of everything the controller writes for the TGW in `ns`, plus extra routes/namespaces.
pub async fn versions(
    client: &Client,
    ns: &str,
    routes: &[(&str, &str)],
    namespaces: &[&str],
) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    let tgw = get_tgw(client, ns).await?;
    out.push(format!("tgw={}", tgw.resource_version().unwrap_or_default()));
    for (group, kind) in [(GW, "Gateway"), (CM, "Issuer"), (CM, "Certificate"), (GW, "HTTPRoute")] {
        for o in dynapi(client, group, kind, ns)
            .await?
            .list(&Default::default())
            .await?
            .items
        {
            out.push(format!(
                "{kind}/{}={}",
                o.name_any(),
                o.resource_version().unwrap_or_default()
            ));
        }
    }
    for (rns, name) in routes {
        let o = Api::<HttpRoute>::namespaced(client.clone(), rns).get(name).await?;
        out.push(format!(
            "route {rns}/{name}={}",
            o.resource_version().unwrap_or_default()
        ));
    }
    for n in namespaces {
        let o = Api::<Namespace>::all(client.clone()).get(n).await?;
        out.push(format!("ns {n}={}", o.resource_version().unwrap_or_default()));
    }
    out.sort();
    Ok(out)
}
