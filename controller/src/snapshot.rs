//! Cache contents → `tgw-core` views. The only reader of the reflector stores.

use kube::ResourceExt;
use serde_json::Value;
use tgw_core::snapshot::{NamespaceView, RouteView, wire};

use crate::context::Context;

pub fn namespaces(ctx: &Context) -> Vec<NamespaceView> {
    let mut out: Vec<NamespaceView> = ctx
        .namespaces
        .state()
        .iter()
        .map(|ns| NamespaceView {
            name: ns.name_any(),
            labels: ns.labels().clone(),
            annotations: ns.annotations().clone(),
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Routes with their raw `status.parents`.
pub fn routes(ctx: &Context) -> Vec<(RouteView, Vec<Value>, String)> {
    let mut out = Vec::new();
    for (kind, _, store) in &ctx.routes {
        for obj in store.state() {
            let v = serde_json::json!({
                "metadata": obj.metadata,
                "spec": obj.data.get("spec").cloned().unwrap_or(Value::Null),
            });
            let parents = obj.data["status"]["parents"].as_array().cloned().unwrap_or_default();
            out.push((
                wire::route(*kind, &v),
                parents,
                obj.resource_version().unwrap_or_default(),
            ));
        }
    }
    out.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    out
}
