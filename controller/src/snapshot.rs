//! Index contents → `tgw-core` views, for one TenantGateway: only its routes and the namespaces
//! its decisions read ([`crate::index::Index::namespaces_for`]).

use serde_json::Value;
use tgw_core::naming;
use tgw_core::snapshot::{NamespaceView, RouteView};
use tgw_core::tenantgateway::TgwInput;

use crate::context::Context;

fn gateway(t: &TgwInput) -> (String, String) {
    (t.meta.namespace.clone(), naming::gateway(&t.meta.name))
}

/// The namespaces `t`'s decisions read: its own, the listed ones, those labelled for it or
/// annotated as attached by it, the namespaces of its routes, and those whose host label is a
/// parent domain of one of its routes' hostnames (namespace scope); sorted by name.
pub fn namespaces(ctx: &Context, t: &TgwInput) -> Vec<NamespaceView> {
    let ix = ctx.read();
    let routes = ix.routes_of(&gateway(t));
    let route_namespaces: Vec<String> = routes.iter().map(|r| r.view.id.namespace.clone()).collect();
    let hostnames = routes.iter().flat_map(|r| r.view.hostnames.iter().map(String::as_str));
    ix.namespaces_for(
        &(t.meta.namespace.clone(), t.meta.name.clone()),
        t.spec.attached(),
        route_namespaces,
        hostnames,
    )
}

/// Routes naming `t`'s Gateway (parentRef or our status entry) with their raw `status.parents`
/// and resourceVersion, sorted by id.
pub fn routes(ctx: &Context, t: &TgwInput) -> Vec<(RouteView, Vec<Value>, String)> {
    let mut out: Vec<(RouteView, Vec<Value>, String)> = ctx
        .read()
        .routes_of(&gateway(t))
        .iter()
        .map(|r| (r.view.clone(), r.parents(), r.resource_version.clone()))
        .collect();
    out.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    out
}
