//! TenantGateways are watched as `DynamicObject`s and parsed one by one here, so an object that
//! does not parse (stored under a looser CRD, e.g. `certMode: edge`) is reported on its own status
//! (`InputsValid=False`, reason `InvalidSpec`) and in a Warning Event, and skipped; every other
//! TenantGateway reconciles as usual ([`crate::reconcile::reconcile`]). One that does not parse
//! and is being deleted is still cleaned up and released
//! ([`crate::reconcile::finalize_unparsed`]).

use std::sync::Arc;
use std::time::Instant;

use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams};
use kube::core::{ApiResource, DynamicObject};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};
use tgw_core::conditions::{messages, reasons, types};
use tgw_core::tenantgateway::TenantGateway;

use crate::context::Context;
use crate::run::bounded;
use crate::{Error, Result};

/// Parses a TenantGateway; the error names the offending field path.
pub fn parse(obj: &DynamicObject) -> std::result::Result<TenantGateway, String> {
    let v = serde_json::to_value(obj).map_err(|e| e.to_string())?;
    serde_path_to_error::deserialize::<_, TenantGateway>(v).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            e.inner().to_string()
        } else {
            format!("{path}: {}", e.inner())
        }
    })
}

/// The status an unparseable TenantGateway gets: InputsValid and Ready False with the parse
/// error. `previous` keeps lastTransitionTime when nothing changed; `None` when the status
/// already says exactly this (no write).
pub fn invalid_status(obj: &DynamicObject, error: &str, now: &str) -> Option<Value> {
    let generation = obj.meta().generation.unwrap_or(0);
    let message = messages::invalid_spec(error);
    let previous = obj.data["status"]["conditions"].as_array().cloned().unwrap_or_default();
    let unchanged = obj.data["status"]["observedGeneration"] == json!(generation)
        && [types::INPUTS_VALID, types::READY].iter().all(|t| {
            previous.iter().any(|c| {
                c["type"] == *t
                    && c["status"] == "False"
                    && c["reason"] == reasons::INVALID_SPEC
                    && c["message"] == message
            })
        });
    if unchanged {
        return None;
    }
    let condition = |t: &str| {
        let since = previous
            .iter()
            .find(|c| c["type"] == t && c["status"] == "False")
            .and_then(|c| c["lastTransitionTime"].as_str())
            .unwrap_or(now);
        json!({
            "type": t,
            "status": "False",
            "reason": reasons::INVALID_SPEC,
            "message": message,
            "observedGeneration": generation,
            "lastTransitionTime": since,
        })
    };
    Some(json!({"status": {
        "observedGeneration": generation,
        "conditions": [condition(types::READY), condition(types::INPUTS_VALID)],
    }}))
}

/// Entry point for the Controller.
pub async fn reconcile(obj: Arc<DynamicObject>, ctx: Arc<Context>) -> Result<Action> {
    let key = (obj.namespace().unwrap_or_default(), obj.name_any());
    if let Some(delay) = retry_yields(&obj, &key, &ctx) {
        return Ok(Action::requeue(delay));
    }
    // One cap on reconcile starts per second, whatever triggered them.
    ctx.starts.acquire().await;
    ctx.metrics.obs.queue.started(&key, Instant::now());
    match parse(&obj) {
        Ok(tgw) => crate::reconcile::reconcile(Arc::new(tgw), ctx).await,
        Err(error) if obj.meta().deletion_timestamp.is_some() => {
            tracing::info!(
                object = %format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any()),
                error = %bounded(&error, tgw_core::conditions::messages::MAX_PARSE_ERROR),
                "TenantGateway does not parse and is being deleted; cleaning up by name"
            );
            crate::reconcile::finalize_unparsed(&obj, &ctx).await
        }
        Err(error) => {
            report_invalid(&obj, &error, &ctx).await?;
            Ok(Action::await_change())
        }
    }
}

/// A start that is only this object's timed retry (it is in backoff at this generation and no
/// watch event asked for it) steps back while requests from watch events wait
/// ([`tgw_core::backoff::retry_yield`]): nothing is read or written, its failure count stays.
fn retry_yields(obj: &DynamicObject, key: &crate::index::TgwKey, ctx: &Context) -> Option<std::time::Duration> {
    let object = format!("{}/{}", key.0, key.1);
    if ctx.metrics.obs.queue.is_waiting(key) || !ctx.retries.in_backoff(&object, obj.metadata.generation) {
        return None;
    }
    let waiting = usize::try_from(ctx.metrics.obs.queue.depth()).unwrap_or(0);
    let delay = tgw_core::backoff::retry_yield(waiting, ctx.settings.reconciles_per_second, &object)?;
    tracing::debug!(object, waiting, retry_in = ?delay, "retry yields to waiting requests");
    Some(delay)
}

async fn report_invalid(obj: &DynamicObject, error: &str, ctx: &Context) -> Result<()> {
    let ns = obj.namespace().unwrap_or_default();
    let name = obj.name_any();
    ctx.metrics.obs.error(crate::metrics::labels::INVALID_SPEC);
    tracing::warn!(
        object = %format!("{ns}/{name}"),
        error = %bounded(error, tgw_core::conditions::messages::MAX_PARSE_ERROR),
        "TenantGateway does not parse; skipped"
    );
    let now = Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let Some(patch) = invalid_status(obj, error, &now) else {
        return Ok(());
    };
    let ar = ApiResource::erase::<TenantGateway>(&());
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), &ns, &ar);
    ctx.metrics.write();
    api.patch_status(&name, &PatchParams::default(), &Patch::Merge(patch))
        .await
        .map_err(|e| Error::kube("update status of", "tenantgateway", &ns, &name, e))?;
    let event = Event {
        type_: EventType::Warning,
        reason: reasons::INVALID_SPEC.to_owned(),
        note: Some(messages::invalid_spec(error)),
        action: "Reconcile".to_owned(),
        secondary: None,
    };
    ctx.metrics.write();
    if let Err(e) = ctx.recorder.publish(&event, &obj.object_ref(&ar)).await {
        tracing::warn!(object = %format!("{ns}/{name}"), error = %bounded(&e.to_string(), 300), "publishing the InvalidSpec event failed");
    }
    Ok(())
}

pub fn error_policy(obj: Arc<DynamicObject>, err: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.failed();
    let object = format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any());
    let delay = ctx.retries.failed(&object, obj.metadata.generation);
    tracing::warn!(object, reason = err.metric_label(), error = %bounded(&err.to_string(), 2048), retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tgw(spec: Value, status: Value) -> DynamicObject {
        let ar = ApiResource::erase::<TenantGateway>(&());
        let mut obj = DynamicObject::new("cozystack", &ar).within("tenant-root");
        obj.metadata.generation = Some(3);
        obj.data = json!({"spec": spec, "status": status});
        obj
    }

    #[test]
    fn a_valid_tenantgateway_parses() {
        let t = parse(&tgw(json!({"apex": "example.org", "certMode": "http01"}), json!({}))).expect("parses");
        assert_eq!(t.spec.apex, "example.org");
    }

    #[test]
    fn an_unknown_cert_mode_is_reported_with_its_path() {
        let e = parse(&tgw(json!({"apex": "example.org", "certMode": "edge"}), json!({}))).unwrap_err();
        assert!(e.starts_with("spec.certMode: unknown variant `edge`"), "{e}");
    }

    #[test]
    fn an_invalid_tenantgateway_gets_inputs_valid_and_ready_false_once() {
        let obj = tgw(json!({"apex": "example.org", "certMode": "edge"}), json!({}));
        let e = parse(&obj).unwrap_err();
        let patch = invalid_status(&obj, &e, "2026-01-01T00:00:00Z").expect("first report writes");
        let conditions = patch["status"]["conditions"].as_array().expect("conditions");
        for t in [types::READY, types::INPUTS_VALID] {
            let c = conditions.iter().find(|c| c["type"] == t).expect("condition");
            assert_eq!(c["status"], "False");
            assert_eq!(c["reason"], reasons::INVALID_SPEC);
            assert_eq!(c["message"], messages::invalid_spec(&e));
            assert_eq!(c["observedGeneration"], 3);
        }
        // Written once: the same error at the same generation writes nothing again.
        let reported = tgw(
            json!({"apex": "example.org", "certMode": "edge"}),
            patch["status"].clone(),
        );
        assert_eq!(invalid_status(&reported, &e, "2026-02-01T00:00:00Z"), None);
        // A new generation is reported again, keeping the transition time.
        let mut newer = reported.clone();
        newer.metadata.generation = Some(4);
        let again = invalid_status(&newer, &e, "2026-02-01T00:00:00Z").expect("new generation");
        assert_eq!(
            again["status"]["conditions"][0]["lastTransitionTime"],
            "2026-01-01T00:00:00Z"
        );
    }
}
