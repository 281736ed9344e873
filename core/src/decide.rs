//! One pass of decisions for a TenantGateway over a cluster snapshot:
//! attach set → claims → ownership → listener plan → desired objects → route verdicts.

use std::collections::BTreeSet;

use crate::claims::{self, Claims};
use crate::conflict::{self, Ownership, PlatformPrefixes};
use crate::listeners::{self, ListenerPlan};
use crate::render::{self, Desired};
use crate::route_status::{self, RouteContext, Verdict};
use crate::snapshot::{NamespaceView, ParentRef, RouteId, RouteView};
use crate::tenantgateway::{CertMode, TgwInput};

/// Controller-wide settings the decisions depend on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub platform: PlatformPrefixes,
    /// Namespace of cert-manager's ACME challenge solvers (port-80 selector).
    pub challenge_namespace: String,
    /// `controllerName` of our route `status.parents` entries.
    pub controller_name: String,
    /// Server-side apply field manager of every write.
    pub field_manager: String,
    /// Reconcile only the TenantGateways of this namespace (`None`: all namespaces).
    pub watch_namespace: Option<String>,
    /// Which TenantGateways may use `attachedNamespaces` ([`crate::attach_trust`]).
    pub attach: crate::attach_trust::AttachTrust,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            platform: PlatformPrefixes::default(),
            challenge_namespace: crate::keys::ACME_CHALLENGE_NAMESPACE.to_owned(),
            controller_name: crate::keys::CONTROLLER_NAME.to_owned(),
            field_manager: crate::keys::FIELD_MANAGER.to_owned(),
            watch_namespace: None,
            attach: crate::attach_trust::AttachTrust::default(),
        }
    }
}

/// Everything decided for one TenantGateway.
#[derive(Clone, Debug)]
pub struct Decision {
    pub attach: BTreeSet<String>,
    pub claims: Claims,
    pub ownership: Ownership,
    pub plan: ListenerPlan,
    pub desired: Desired,
    /// Our status entries for every route with a parentRef naming this Gateway.
    pub routes: Vec<(RouteId, Vec<(ParentRef, Verdict)>)>,
}

pub fn decide(tgw: &TgwInput, namespaces: &[NamespaceView], routes: &[RouteView], settings: &Settings) -> Decision {
    let attach = claims::attach_set(tgw, namespaces);
    let claims = claims::collect(tgw, &attach, routes);
    let ownership = conflict::resolve(&claims, &settings.platform);
    let mut ignored_children = Vec::new();
    let children = if tgw.spec.cert_mode == CertMode::Http01 {
        Vec::new()
    } else {
        listeners::child_apexes(tgw, &attach, namespaces, &mut ignored_children)
    };
    let mut plan = listeners::plan(tgw, &ownership, &children, &settings.challenge_namespace);
    plan.ignored.child_apexes = ignored_children;
    let desired = render::render(tgw, &plan);
    let ctx = RouteContext {
        tgw,
        attach: &attach,
        plan: &plan,
        claims: &claims,
        ownership: &ownership,
    };
    let routes = routes
        .iter()
        .filter_map(|r| {
            let v = route_status::verdicts(&ctx, r);
            (!v.is_empty()).then(|| (r.id.clone(), route_status::entries(r, &v)))
        })
        .collect();
    Decision {
        attach,
        claims,
        ownership,
        plan,
        desired,
        routes,
    }
}
