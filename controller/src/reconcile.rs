//! One reconcile of a TenantGateway. Steps run independently; each failure is reported in its
//! own condition (and in Ready as ReconcileError) without stopping the others.

use std::collections::BTreeMap;
use std::sync::Arc;

use gateway_api::gateways::{Gateway, GatewayStatus};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams};
use kube::core::{ApiResource, DynamicObject};
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};
use tgw_core::attach::{self, AttachPlan};
use tgw_core::attach_trust;
use tgw_core::bounded;
use tgw_core::conditions::types;
use tgw_core::decide::{Decision, decide};
use tgw_core::keys::{ANNOTATION_ATTACHED_BY, FINALIZER, LABEL_GATEWAY, LABEL_MANAGED_BY, MANAGED_BY_VALUE};
use tgw_core::naming;
use tgw_core::parents::merge_parents;
use tgw_core::snapshot::{NamespaceView, RouteView};
use tgw_core::tenantgateway::{TenantGateway, TenantGatewaySpec, TgwInput, TgwMeta};
use tgw_core::tgw_status::{StatusInput, compute};

use crate::apply::{self, delete_if_owned, ensure, owned_by};
use crate::context::Context;
use crate::index::echo_key;
use crate::{Error, Result, snapshot};

fn now() -> String {
    Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn input(tgw: &TenantGateway) -> Result<TgwInput> {
    Ok(TgwInput {
        meta: TgwMeta {
            namespace: tgw.namespace().ok_or(Error::MissingMeta)?,
            name: tgw.name_any(),
            uid: tgw.uid().ok_or(Error::MissingMeta)?,
            generation: tgw.meta().generation.unwrap_or(0),
        },
        spec: tgw.spec.clone(),
    })
}

/// Entry point for the Controller: metrics and a span naming the object around [`reconcile_one`].
pub async fn reconcile(tgw: Arc<TenantGateway>, ctx: Arc<Context>) -> Result<Action> {
    crate::metrics::observe(tgw, ctx, reconcile_one).await
}

async fn reconcile_one(tgw: Arc<TenantGateway>, ctx: Arc<Context>) -> Result<Action> {
    let t = input(&tgw)?;
    ctx.caches_ready().await;
    let api = tgw_api(&ctx, &t.meta.namespace);
    let has_finalizer = tgw.finalizers().iter().any(|f| f == FINALIZER);
    if tgw.meta().deletion_timestamp.is_some() {
        return finalize(&ctx, &t, tgw.meta()).await;
    }
    if !has_finalizer {
        let mut fs = tgw.finalizers().to_vec();
        fs.push(FINALIZER.to_owned());
        ctx.metrics.write();
        api.patch(
            &t.meta.name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": fs, "resourceVersion": tgw.resource_version()}})),
        )
        .await
        .map_err(|e| Error::kube("add finalizer to", "tenantgateway", &t.meta.namespace, &t.meta.name, e))?;
    }

    let mut errors: Vec<(&'static str, String)> = Vec::new();
    let mut namespaces = snapshot::namespaces(&ctx, &t);
    let routes = snapshot::routes(&ctx, &t);

    // 1. Namespace labels (before the attach set is computed, so both agree).
    let peers = peers(&ctx, &t);
    let (t_attach, refused) = attach_trust::honoured_input(&t, &ctx.settings.attach, &ctx.settings.tenant_prefix);
    let mut plan = attach::plan(&t_attach, &namespaces, &peers, ctx.settings.attached_by, false);
    plan.report.refused = refused.iter().map(|(n, why)| (n.clone(), why.to_string())).collect();
    if let Err(e) = patch_namespaces(&ctx, &t, &plan, &mut namespaces).await {
        errors.push((types::NAMESPACES_ATTACHED, e.to_string()));
    }

    // 2. Decide.
    let views: Vec<RouteView> = routes.iter().map(|(r, _, _)| r.clone()).collect();
    let mut d = decide(&t, &namespaces, &views, &ctx.settings);
    ctx.metrics
        .obs
        .set_conflicts(&t.key(), crate::metrics::hostname_conflicts(&d));

    // 3. Gateway.
    let gateway = match &d.desired.gateway {
        Ok(gw) => match ensure(&ctx, &ctx.resources.gateway, "gateway", gw, &t).await {
            Ok(obj) => Some(obj),
            Err(e) => {
                errors.push((types::GATEWAY_APPLIED, e.to_string()));
                d.gateway_not_written(&t, &e.to_string());
                None
            }
        },
        // The TenantGateway may publish nothing: what it served before goes (not an error to
        // retry; the status says why until the namespace label or spec.apex changes).
        Err(_) if d.withdrawn.is_some() => {
            if let Err(e) = withdraw(&ctx, &t).await {
                errors.push((types::GATEWAY_APPLIED, e.to_string()));
            }
            None
        }
        Err(e) => {
            errors.push((types::GATEWAY_APPLIED, Error::Render(e.clone(), "Gateway").to_string()));
            None
        }
    };

    // 4. Issuer.
    let issuer_ready = match issuer(&ctx, &t, &d).await {
        Ok(r) => r,
        Err(e) => {
            errors.push((types::ISSUER_READY, e.to_string()));
            None
        }
    };

    // 5. Certificates (+ GC of the ones no longer wanted).
    let certificates_ready = match certificates(&ctx, &t, &d).await {
        Ok(r) => r,
        Err(e) => {
            errors.push((types::CERTIFICATES_READY, e.to_string()));
            BTreeMap::new()
        }
    };

    // 6. Redirect route (not written while no Gateway is). A redirect created in this pass is
    // not in the route index yet: add it and decide again, so its status entry is written now
    // rather than on some later reconcile.
    let mut routes = routes;
    if let Some(redirect) = d.desired.redirect.clone() {
        match ensure(&ctx, &ctx.resources.http_route, "httproute", &redirect, &t).await {
            Ok(obj) if gateway.is_some() => {
                if let Some(entry) = new_route_entry(&routes, &obj) {
                    routes.push(entry);
                    routes.sort_by(|a, b| a.0.id.cmp(&b.0.id));
                    let views: Vec<RouteView> = routes.iter().map(|(r, _, _)| r.clone()).collect();
                    d = decide(&t, &namespaces, &views, &ctx.settings);
                }
            }
            Ok(_) => {}
            Err(e) => errors.push((types::GATEWAY_APPLIED, e.to_string())),
        }
    }

    // 7. Route status. Failures on the owner's and platform routes count against the
    // TenantGateway's own conditions; failures on attached tenants' routes are named in
    // AttachedNamespacesReady; a route elsewhere naming our Gateway cannot turn anything false.
    // A write refused for good is not retried until the route changes.
    let route_writes = route_statuses(&ctx, &t, &routes, Some(&d)).await;
    let step_failed = !errors.is_empty();
    if let Some(e) = route_writes.attached_message() {
        errors.push((types::ROUTES_UPDATED, e));
    }

    // 8. TenantGateway status.
    let gw_status = gateway.as_ref().and_then(|g| gateway_status(&t, g));
    let status = compute(&StatusInput {
        tgw: &t,
        plan: &d.plan,
        gateway_status: gw_status.as_ref(),
        certificates_ready: &certificates_ready,
        issuer_ready,
        errors: &merge_errors(errors.clone()),
        attach: &plan.report,
        previous: tgw.status.as_ref(),
        now: &now(),
        gateway_not_written: d.gateway_not_written.as_deref(),
        plaintext_routes: &d.plaintext_routes,
        attached_failures: &route_writes.tenants,
    });
    if tgw.status.as_ref() != Some(&status) {
        ctx.metrics.write();
        api.patch_status(
            &t.meta.name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": status})),
        )
        .await
        .map_err(|e| Error::kube("update status of", "tenantgateway", &t.meta.namespace, &t.meta.name, e))?;
    }
    if route_writes.outside > 0 {
        tracing::warn!(
            tgw = %t.key(),
            failed = route_writes.outside,
            "route status writes failed on routes outside the attach set"
        );
    }
    for (ns, e) in &route_writes.tenants {
        tracing::info!(tgw = %t.key(), namespace = %ns, error = %e, "route status write failed on an attached tenant's route");
    }
    if step_failed || !route_writes.attached.is_empty() {
        ctx.metrics.failed();
        for (step, e) in &errors {
            ctx.metrics.obs.step_failed(step);
            tracing::warn!(tgw = %t.key(), step, error = %e, "reconcile step failed");
        }
    }
    // Retried with per-object exponential backoff (crate::retries), reset once this succeeds.
    if step_failed || route_writes.retry {
        Ok(Action::requeue(ctx.retries.failed(&t.key(), Some(t.meta.generation))))
    } else {
        ctx.retries.succeeded(&t.key());
        Ok(Action::await_change())
    }
}

/// The observed Gateway's status, read as the typed Gateway API object. A status that does not
/// parse (a data plane writing outside the schema) counts as no status: every listener stays
/// pending, never falsely ready, and the log says why.
fn gateway_status(t: &TgwInput, obj: &kube::core::DynamicObject) -> Option<GatewayStatus> {
    obj.data.get("status")?;
    match obj.clone().try_parse::<Gateway>() {
        Ok(gw) => gw.status,
        Err(e) => {
            let error = bounded::cap(&e.to_string(), ROUTE_FAILURE_BYTES);
            tracing::warn!(tgw = %t.key(), %error, "the Gateway's status does not parse; its listeners count as pending");
            None
        }
    }
}

/// The route view of an HTTPRoute we just applied, unless the index already has it.
fn new_route_entry(
    routes: &[(RouteView, Vec<Value>, String)],
    obj: &kube::core::DynamicObject,
) -> Option<(RouteView, Vec<Value>, String)> {
    let v = json!({"metadata": obj.metadata, "spec": obj.data.get("spec").cloned().unwrap_or(Value::Null)});
    let view = tgw_core::snapshot::wire::route(tgw_core::snapshot::RouteKind::Http, &v);
    if routes.iter().any(|(r, _, _)| r.id == view.id) {
        return None;
    }
    let parents = obj.data["status"]["parents"].as_array().cloned().unwrap_or_default();
    Some((view, parents, obj.resource_version().unwrap_or_default()))
}

/// Several errors of one concern are joined into one message.
fn merge_errors(errors: Vec<(&'static str, String)>) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = Vec::new();
    for (t, m) in errors {
        match out.iter_mut().find(|(x, _)| *x == t) {
            Some((_, acc)) => {
                acc.push_str("; ");
                acc.push_str(&m);
            }
            None => out.push((t, m)),
        }
    }
    out
}

/// The other TenantGateways in `t`'s namespace that are not being deleted (they share the
/// namespace labels; see `tgw_core::attach`), from the index: their names and attachedNamespaces
/// are all the attach plan reads.
fn peers(ctx: &Context, t: &TgwInput) -> Vec<TgwInput> {
    ctx.read()
        .peers(&t.meta.namespace, &t.meta.name)
        .into_iter()
        .map(|(name, attached)| {
            let mut spec = tgw_core::tenantgateway::TenantGatewaySpec::with_apex("");
            spec.attached_namespaces = Some(attached);
            TgwInput {
                meta: TgwMeta {
                    namespace: t.meta.namespace.clone(),
                    name,
                    uid: String::new(),
                    generation: 0,
                },
                spec,
            }
        })
        .collect()
}

async fn patch_namespaces(ctx: &Context, t: &TgwInput, plan: &AttachPlan, views: &mut [NamespaceView]) -> Result<()> {
    let api: Api<Namespace> = Api::all(ctx.client.clone());
    let mut first_err = None;
    let owner = t.meta.namespace.as_str();
    for name in &plan.add {
        // Label it ours unless, by now, the label names another owner (never overwritten).
        let patched = guarded_label_patch(ctx, &api, t, name, "label", |labels| match labels.get(LABEL_GATEWAY) {
            Some(other) if other != owner => Err(format!("its {LABEL_GATEWAY} label now names {other}")),
            _ => Ok(json!({"labels": {LABEL_GATEWAY: owner}, "annotations": {ANNOTATION_ATTACHED_BY: plan.writer}})),
        })
        .await;
        match patched {
            Ok(()) => {
                if let Some(v) = views.iter_mut().find(|v| &v.name == name) {
                    v.labels.insert(LABEL_GATEWAY.to_owned(), owner.to_owned());
                    v.annotations
                        .insert(ANNOTATION_ATTACHED_BY.to_owned(), plan.writer.clone());
                }
            }
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    for name in &plan.remove {
        if !views.iter().any(|v| &v.name == name) {
            continue;
        }
        // Remove the label only if it still names our owner namespace; always drop our annotation.
        let patched = guarded_label_patch(ctx, &api, t, name, "unlabel", |labels| {
            let label = match labels.get(LABEL_GATEWAY) {
                Some(l) if l == owner => Value::Null,
                other => json!(other),
            };
            Ok(json!({"labels": {LABEL_GATEWAY: label}, "annotations": {ANNOTATION_ATTACHED_BY: null}}))
        })
        .await;
        match patched {
            Ok(()) => {
                if let Some(v) = views.iter_mut().find(|v| &v.name == name) {
                    if v.label(LABEL_GATEWAY) == Some(owner) {
                        v.labels.remove(LABEL_GATEWAY);
                    }
                    v.annotations.remove(ANNOTATION_ATTACHED_BY);
                }
            }
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    first_err.map_or(Ok(()), Err)
}

/// Patches namespace `name`'s metadata with what `decide` computes from its labels as cached, at
/// the resourceVersion the cache saw them at: a concurrent writer's change is never overwritten.
/// A `409 Conflict` fails the step, and the TenantGateway's retry (with backoff) decides again
/// on the namespace as the watch has delivered it by then. `decide` refuses (`Err`) when the
/// write would take something from someone else. No read is sent: the cache has the labels.
async fn guarded_label_patch(
    ctx: &Context,
    api: &Api<Namespace>,
    t: &TgwInput,
    name: &str,
    verb: &'static str,
    decide: impl Fn(&std::collections::BTreeMap<String, String>) -> std::result::Result<Value, String>,
) -> Result<()> {
    let Some((view, rv)) = ctx.read().namespace_at(name) else {
        return Err(Error::Other(format!("{verb} namespace {name}: not in the cache yet")));
    };
    let mut meta =
        decide(&view.labels).map_err(|why| Error::Other(format!("{verb} namespace {name}: not written, {why}")))?;
    if let Some(rv) = rv {
        meta["resourceVersion"] = json!(rv);
    }
    ctx.metrics.write();
    ctx.writing(echo_key::namespace(name), t);
    match api
        .patch(name, &PatchParams::default(), &Patch::Merge(json!({"metadata": meta})))
        .await
    {
        Ok(written) => {
            ctx.wrote_namespace(&written);
            Ok(())
        }
        Err(e) => {
            ctx.write_failed(&echo_key::namespace(name));
            Err(Error::kube(verb, "namespace", "", name, e))
        }
    }
}

/// Deletes the Gateway and the redirect route this TenantGateway owns (a withdrawn TenantGateway,
/// see `Decision::withdrawn`; the Issuer and Certificates go through their own steps).
async fn withdraw(ctx: &Context, t: &TgwInput) -> Result<()> {
    let ns = &t.meta.namespace;
    let gateway = naming::gateway(&t.meta.name);
    delete_if_owned(ctx, &ctx.resources.gateway, "gateway", ns, &gateway, &t.meta.uid).await?;
    let redirect = naming::redirect_route(&t.meta.name);
    delete_if_owned(ctx, &ctx.resources.http_route, "httproute", ns, &redirect, &t.meta.uid).await
}

async fn issuer(ctx: &Context, t: &TgwInput, d: &Decision) -> Result<Option<bool>> {
    match &d.desired.issuer {
        Ok(Some(desired)) => {
            let obj = ensure(ctx, &ctx.resources.issuer, "issuer", desired, t).await?;
            Ok(Some(apply::ready(&obj)))
        }
        Ok(None) => {
            let name = naming::issuer(&t.meta.name);
            delete_if_owned(
                ctx,
                &ctx.resources.issuer,
                "issuer",
                &t.meta.namespace,
                &name,
                &t.meta.uid,
            )
            .await?;
            Ok(None)
        }
        Err(e) => Err(Error::Render(e.clone(), "Issuer")),
    }
}

async fn certificates(ctx: &Context, t: &TgwInput, d: &Decision) -> Result<BTreeMap<String, bool>> {
    let ns = &t.meta.namespace;
    // From the owned-object cache: no LIST per reconcile.
    let existing = ctx.owned_by(&ctx.resources.certificate, &t.meta.uid);
    let mut ready = BTreeMap::new();
    let mut first_err = None;
    let wanted = d.desired.certificates.len();
    for (i, desired) in d.desired.certificates.iter().enumerate() {
        let name = desired["metadata"]["name"].as_str().unwrap_or_default().to_owned();
        let observed = ctx.owned(&ctx.resources.certificate, ns, &name);
        let observed = observed.as_ref();
        let result = match observed {
            Some(o) if !owned_by(o, &t.meta.uid) => Err(Error::Foreign {
                kind: "certificate",
                namespace: ns.clone(),
                name: name.clone(),
                tgw: t.meta.name.clone(),
            }),
            Some(o)
                if !apply::needs_takeover(ctx, o)
                    && tgw_core::render::is_subset(desired, &serde_json::to_value(o).unwrap_or(Value::Null)) =>
            {
                Ok(o.clone())
            }
            _ => ensure(ctx, &ctx.resources.certificate, "certificate", desired, t).await,
        };
        match result {
            Ok(obj) => {
                ready.insert(name, apply::ready(&obj));
            }
            // The rest would fail the same way: none written (nor any deleted) this pass.
            Err(e) if e.is_outage() => {
                return Err(match wanted - i - 1 {
                    0 => e,
                    left => Error::Stopped {
                        first: Box::new(e),
                        left,
                        kind: "certificate",
                    },
                });
            }
            Err(e) => {
                ready.insert(name, false);
                first_err.get_or_insert(e);
            }
        }
    }
    // GC: certificates this TenantGateway controls that are no longer wanted (any mode).
    for obj in &existing {
        let name = obj.name_any();
        let managed = obj.labels().get(LABEL_MANAGED_BY).map(String::as_str) == Some(MANAGED_BY_VALUE);
        if managed
            && owned_by(obj, &t.meta.uid)
            && !ready.contains_key(&name)
            && obj.metadata.deletion_timestamp.is_none()
            && let Err(e) =
                delete_if_owned(ctx, &ctx.resources.certificate, "certificate", ns, &name, &t.meta.uid).await
        {
            first_err.get_or_insert(e);
        }
    }
    first_err.map_or(Ok(ready), Err)
}

/// Failed route-status writes of one pass, split by whose route it is.
#[derive(Debug, Default)]
struct RouteWrites {
    /// Failures on routes of the owner and platform namespaces (bounded messages): the
    /// TenantGateway's own, part of its `Ready`, retried.
    attached: Vec<String>,
    /// Failures on routes of attached tenant namespaces: (namespace, bounded message), reported
    /// in `AttachedNamespacesReady` only.
    tenants: Vec<(String, String)>,
    /// Some failure may succeed on a retry (not refused for good): requeue.
    retry: bool,
    /// Number of failures on routes outside the attach set (logged, retried, never a condition).
    outside: usize,
}

/// The report of a route whose status the API server refused for good.
fn not_written(route: &tgw_core::snapshot::RouteId, error: &str) -> String {
    format!("{route}: status not written (not retried until the route changes): {error}")
}

/// Whether the API server refused a write for good: the object as written can never be accepted
/// (too large for etcd or the request limit, or invalid), so retrying the same write only loads
/// the API server. Such a write is retried once the route changes.
fn refused_for_good(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(s) => {
            matches!(s.code, 400 | 413 | 422) || s.message.contains("too large") || s.message.contains("Too large")
        }
        _ => false,
    }
}

/// Bytes of one kube error kept in a message (API errors can echo whole objects).
const ROUTE_FAILURE_BYTES: usize = 512;

impl RouteWrites {
    /// The failures on attached routes as one bounded message (`tgw_core::bounded`).
    fn attached_message(&self) -> Option<String> {
        (!self.attached.is_empty()).then(|| bounded::join(&self.attached, bounded::LIST_ITEMS, "; "))
    }
}

/// Writes our `status.parents` entries for this Gateway on every route that has a parentRef to
/// it or still carries an entry from us; `d = None` removes them all (deletion).
async fn route_statuses(
    ctx: &Context,
    t: &TgwInput,
    routes: &[(RouteView, Vec<Value>, String)],
    d: Option<&Decision>,
) -> RouteWrites {
    let now = Time(Timestamp::now());
    let gw = naming::gateway(&t.meta.name);
    let mut out = RouteWrites::default();
    // Consecutive outage failures (see `Error::is_outage`): the step stops at the second. Not at
    // the first, as the Certificates step does: routes are the tenants' objects, and a failure on
    // one may be about that route (a webhook failing on its content), which must not keep every
    // other route's status from being written.
    let mut outages = 0;
    for (route, parents, rv) in routes {
        let ours = d
            .and_then(|d| d.routes.iter().find(|(id, _)| *id == route.id))
            .map(|(_, e)| e.clone())
            .unwrap_or_default();
        let attached = d.is_some_and(|d| d.attach.contains(&route.id.namespace));
        let own = route.id.namespace == t.meta.namespace || ctx.settings.platform.is_platform(&route.id.namespace);
        let record = |out: &mut RouteWrites, msg: String, retry: bool| {
            out.retry |= retry;
            if !attached {
                out.outside += 1;
                tracing::debug!(route = %route.id, error = %msg, "route status write failed");
            } else if own {
                out.attached.push(msg);
            } else {
                out.tenants.push((route.id.namespace.clone(), msg));
            }
        };
        // Refused for good at this resourceVersion: report again, do not write again.
        let known = ctx.unwritable_at(&route.id, rv);
        if let Some(error) = known {
            record(&mut out, not_written(&route.id, &error), false);
            continue;
        }
        let controller = ctx.settings.controller_name.as_str();
        let Some(merged) = merge_parents(parents, route, (&t.meta.namespace, &gw), controller, &ours, &now) else {
            continue;
        };
        let Some(ar) = ctx.route_resource(route.id.kind) else {
            continue;
        };
        let api = apply::api(ctx, ar, &route.id.namespace);
        ctx.metrics.write();
        let patch = json!({"metadata": {"resourceVersion": rv}, "status": {"parents": merged}});
        ctx.writing(echo_key::route(&route.id), t);
        match api
            .patch_status(&route.id.name, &PatchParams::default(), &Patch::Merge(patch))
            .await
        {
            Ok(written) => {
                outages = 0;
                ctx.forget_unwritable(&route.id);
                ctx.wrote_route(route.id.kind, &written);
            }
            Err(e) => {
                outages = if crate::kube_outage(&e) { outages + 1 } else { 0 };
                ctx.write_failed(&echo_key::route(&route.id));
                // The API server's own message (kube-client's Display adds the whole Status).
                let error = match &e {
                    kube::Error::Api(s) => bounded::cap(&s.message, ROUTE_FAILURE_BYTES),
                    other => bounded::cap(&other.to_string(), ROUTE_FAILURE_BYTES),
                };
                if matches!(&e, kube::Error::Api(s) if s.code == 409) {
                    // Another controller (the data plane) wrote the route's status since our read:
                    // expected, not a failure; retried shortly with fresh parents.
                    out.retry = true;
                    tracing::debug!(route = %route.id, "route status changed under us; retrying");
                } else if refused_for_good(&e) {
                    if ctx.remember_unwritable(&route.id, rv, &error) {
                        route_event(ctx, ar, route, &error).await;
                    }
                    record(&mut out, not_written(&route.id, &error), false);
                } else if outages == 2 {
                    // Two routes in a row: the API server (or a webhook it calls) is failing, and
                    // the rest of the pass's writes would only add load. Retried with backoff.
                    record(
                        &mut out,
                        format!(
                            "update status of {}: {error} (the pass's other route status writes left for the retry)",
                            route.id
                        ),
                        true,
                    );
                    break;
                } else {
                    record(&mut out, format!("update status of {}: {error}", route.id), true);
                }
            }
        }
    }
    out
}

/// A Warning Event on a route whose status the API server refused for good (published once per
/// resourceVersion refused; the route itself cannot carry the report).
async fn route_event(ctx: &Context, ar: &ApiResource, route: &RouteView, error: &str) {
    let reference = k8s_openapi::api::core::v1::ObjectReference {
        api_version: Some(ar.api_version.clone()),
        kind: Some(ar.kind.clone()),
        namespace: Some(route.id.namespace.clone()),
        name: Some(route.id.name.clone()),
        ..Default::default()
    };
    let event = kube::runtime::events::Event {
        type_: kube::runtime::events::EventType::Warning,
        reason: "RouteStatusNotWritten".to_owned(),
        note: Some(bounded::cap(
            &format!(
                "The route's status.parents could not be written and will not be retried until the route changes: {error}"
            ),
            1024,
        )),
        action: "UpdateRouteStatus".to_owned(),
        secondary: None,
    };
    ctx.metrics.write();
    if let Err(e) = ctx.recorder.publish(&event, &reference).await {
        tracing::warn!(route = %route.id, error = %bounded::cap(&e.to_string(), 300), "publishing the RouteStatusNotWritten event failed");
    }
}

/// The TenantGateway API for our writes (finalizer, status), untyped: the object the API server
/// answers with may no longer parse (another writer changed its spec under a looser CRD), and a
/// typed response would then fail the write after it happened and make kube-client log the whole
/// object.
fn tgw_api(ctx: &Context, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(ctx.client.clone(), ns, &ApiResource::erase::<TenantGateway>(&()))
}

/// Deletion: remove what this TenantGateway wrote ([`cleanup`]), then our finalizer (also on an
/// object whose spec no longer parses: [`tgw_api`]).
async fn finalize(ctx: &Context, t: &TgwInput, meta: &ObjectMeta) -> Result<Action> {
    let finalizers = meta.finalizers.as_deref().unwrap_or_default();
    if !finalizers.iter().any(|f| f == FINALIZER) {
        return Ok(Action::await_change());
    }
    cleanup(ctx, t).await?;
    let rest: Vec<&String> = finalizers.iter().filter(|f| *f != FINALIZER).collect();
    ctx.metrics.write();
    tgw_api(ctx, &t.meta.namespace)
        .patch(
            &t.meta.name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": rest, "resourceVersion": meta.resource_version}})),
        )
        .await
        .map_err(|e| {
            Error::kube(
                "remove finalizer from",
                "tenantgateway",
                &t.meta.namespace,
                &t.meta.name,
                e,
            )
        })?;
    Ok(Action::await_change())
}

/// Deletion of a TenantGateway whose spec does not parse (it parsed when it was reconciled, then
/// a looser CRD stored a value we do not know). What it wrote is found without its spec: labels
/// and annotations through the index by its name, route-status entries by its Gateway's name. So
/// it is cleaned up and the deletion completes instead of hanging on our finalizer.
pub async fn finalize_unparsed(obj: &DynamicObject, ctx: &Context) -> Result<Action> {
    ctx.caches_ready().await;
    let meta = obj.meta();
    let t = TgwInput {
        meta: TgwMeta {
            namespace: meta.namespace.clone().ok_or(Error::MissingMeta)?,
            name: obj.name_any(),
            uid: meta.uid.clone().ok_or(Error::MissingMeta)?,
            generation: meta.generation.unwrap_or(0),
        },
        spec: TenantGatewaySpec::with_apex(""),
    };
    finalize(ctx, &t, meta).await
}

/// Finalizer work: remove the labels/annotations and route-status entries this TenantGateway wrote.
async fn cleanup(ctx: &Context, t: &TgwInput) -> Result<()> {
    let mut namespaces = snapshot::namespaces(ctx, t);
    let peers = peers(ctx, t);
    let plan = attach::plan(t, &namespaces, &peers, ctx.settings.attached_by, true);
    patch_namespaces(ctx, t, &plan, &mut namespaces).await?;
    let routes = snapshot::routes(ctx, t);
    let writes = route_statuses(ctx, t, &routes, None).await;
    if writes.outside > 0 || !writes.attached.is_empty() {
        return Err(Error::Other(format!(
            "{} route status entries could not be removed; retrying",
            writes.outside + writes.attached.len()
        )));
    }
    Ok(())
}

pub fn error_policy(tgw: Arc<TenantGateway>, err: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.failed();
    let object = format!("{}/{}", tgw.namespace().unwrap_or_default(), tgw.name_any());
    let delay = ctx.retries.failed(&object, tgw.metadata.generation);
    tracing::warn!(object, reason = err.metric_label(), error = %err, retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}
