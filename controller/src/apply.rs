//! Writes: server-side apply with one field manager, refusing objects owned by someone else, and
//! skipping the write when the observed object already contains every desired field.

use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::core::{ApiResource, DynamicObject};
use serde::Serialize;
use serde_json::{Value, json};
use tgw_core::render::is_subset;
use tgw_core::takeover;
use tgw_core::tenantgateway::TgwInput;

use crate::context::Context;
use crate::index::echo_key;
use crate::{Error, Result};

/// Whether `obj` has a controller ownerRef with `uid`.
pub fn owned_by(obj: &DynamicObject, uid: &str) -> bool {
    obj.metadata
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.uid == uid && o.controller == Some(true))
}

pub fn api(ctx: &Context, ar: &ApiResource, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(ctx.client.clone(), ns, ar)
}

/// Applies `desired` (a typed Gateway API object, or the JSON of a cert-manager one) unless it is
/// already in place. Returns the object as observed afterwards.
pub async fn ensure<T: Serialize>(
    ctx: &Context,
    ar: &ApiResource,
    kind: &'static str,
    desired: &T,
    tgw: &TgwInput,
) -> Result<DynamicObject> {
    let desired = &serde_json::to_value(desired).map_err(|e| Error::Other(format!("serialise {kind}: {e}")))?;
    let ns = &tgw.meta.namespace;
    let name = desired["metadata"]["name"].as_str().unwrap_or_default().to_owned();
    let api = api(ctx, ar, ns);
    let existing = observed(ctx, &api, ar, kind, ns, &name).await?;
    if let Some(obj) = existing {
        if !owned_by(&obj, &tgw.meta.uid) {
            return Err(Error::Foreign {
                kind,
                namespace: ns.clone(),
                name,
                tgw: tgw.meta.name.clone(),
            });
        }
        let taken_over = take_over(ctx, &api, kind, &obj).await?;
        let observed = serde_json::to_value(&obj).unwrap_or(Value::Null);
        if !taken_over && is_subset(desired, &observed) {
            return Ok(obj);
        }
    }
    ctx.metrics.write();
    let key = echo_key::owned(&ar.kind, ns, &name);
    ctx.writing(key.clone(), tgw);
    match api
        .patch(
            &name,
            &PatchParams::apply(&ctx.settings.field_manager).force(),
            &Patch::Apply(desired),
        )
        .await
    {
        Ok(obj) => {
            ctx.wrote_owned(&obj);
            Ok(obj)
        }
        Err(e) => {
            ctx.write_failed(&key);
            Err(Error::kube("apply", kind, ns, &name, e))
        }
    }
}

/// The object as cached by the owned-object watch; only a cache miss (an object we have not
/// created, or one without our managed-by label) is read from the API server, so a foreign object
/// of the same name is still found and refused.
async fn observed(
    ctx: &Context,
    api: &Api<DynamicObject>,
    ar: &ApiResource,
    kind: &'static str,
    ns: &str,
    name: &str,
) -> Result<Option<DynamicObject>> {
    if let Some(obj) = ctx.owned(ar, ns, name) {
        return Ok(Some(obj));
    }
    api.get_opt(name)
        .await
        .map_err(|e| Error::kube("get", kind, ns, name, e))
}

fn managed_fields(obj: &DynamicObject) -> Vec<Value> {
    obj.metadata
        .managed_fields
        .iter()
        .flatten()
        .filter_map(|e| serde_json::to_value(e).ok())
        .collect()
}

/// Whether another field manager holds non-status fields of `obj` (see [`take_over`]).
pub fn needs_takeover(ctx: &Context, obj: &DynamicObject) -> bool {
    takeover::merged_managed_fields(&managed_fields(obj), &ctx.settings.field_manager).is_some()
}

/// Moves every non-status field another manager holds on `obj` (which we own) to our apply
/// entry, so the next apply owns the whole spec and removes what our plan does not have
/// (`tgw_core::takeover`). The cache keeps only who manages an object, so when someone else does,
/// the field sets are read once from the API server. Returns whether it rewrote `managedFields`.
async fn take_over(ctx: &Context, api: &Api<DynamicObject>, kind: &'static str, obj: &DynamicObject) -> Result<bool> {
    if !needs_takeover(ctx, obj) {
        return Ok(false);
    }
    let ns = obj.metadata.namespace.clone().unwrap_or_default();
    let name = obj.metadata.name.clone().unwrap_or_default();
    let Some(full) = api
        .get_opt(&name)
        .await
        .map_err(|e| Error::kube("get", kind, &ns, &name, e))?
    else {
        return Ok(false);
    };
    let entries = managed_fields(&full);
    let Some(merged) = takeover::merged_managed_fields(&entries, &ctx.settings.field_manager) else {
        return Ok(false);
    };
    tracing::info!(
        kind,
        object = format!("{ns}/{name}"),
        from = takeover::foreign_managers(&entries, &ctx.settings.field_manager).join(", "),
        "taking over fields held by other field managers"
    );
    ctx.metrics.write();
    let patch = json!({"metadata": {"managedFields": merged, "resourceVersion": full.metadata.resource_version}});
    api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| Error::kube("take over fields of", kind, &ns, &name, e))?;
    Ok(true)
}

/// Deletes `name` if it exists and this TenantGateway controls it; foreign objects are left alone.
/// Reads the owned-object cache only.
pub async fn delete_if_owned(
    ctx: &Context,
    ar: &ApiResource,
    kind: &'static str,
    ns: &str,
    name: &str,
    uid: &str,
) -> Result<()> {
    let api = api(ctx, ar, ns);
    // Objects we control carry our managed-by label, so the cache has every one we may delete.
    match ctx.owned(ar, ns, name) {
        Some(obj) if owned_by(&obj, uid) && obj.metadata.deletion_timestamp.is_none() => {
            ctx.metrics.write();
            let key = echo_key::owned(&ar.kind, ns, name);
            // The writer is the owner (the controller ownerRef just matched `uid`).
            let owner = obj
                .metadata
                .owner_references
                .iter()
                .flatten()
                .find(|o| o.uid == uid)
                .map(|o| o.name.clone())
                .unwrap_or_default();
            ctx.writing_as(key.clone(), (ns.to_owned(), owner));
            match api.delete(name, &DeleteParams::default()).await {
                Ok(_) => {
                    ctx.deleted_owned(&ar.kind, ns, name);
                    Ok(())
                }
                Err(kube::Error::Api(s)) if s.code == 404 => {
                    ctx.write_failed(&key);
                    Ok(())
                }
                Err(e) => {
                    ctx.write_failed(&key);
                    Err(Error::kube("delete", kind, ns, name, e))
                }
            }
        }
        _ => Ok(()),
    }
}

/// Whether a cert-manager object has `Ready=True`.
pub fn ready(obj: &DynamicObject) -> bool {
    obj.data["status"]["conditions"]
        .as_array()
        .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
}
