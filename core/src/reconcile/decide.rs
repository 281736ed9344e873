//! One pass of decisions for a TenantGateway over a cluster snapshot:
//! attach set → namespace scopes → claims → ownership → listener plan → desired objects →
//! route verdicts.
//!
//! Route verdicts describe the listeners actually written. `decide` assumes the rendered Gateway
//! will be applied; when it cannot be rendered, every verdict is already
//! `Accepted=False/GatewayNotWritten` and `desired.redirect` is `None`. When the controller then
//! fails to apply the Gateway it calls [`Decision::gateway_not_written`] before writing route
//! status and the redirect route.

use std::collections::BTreeSet;

use crate::attach::AttachedByFormat;
use crate::claims::{self, Claims};
use crate::conflict::{self, Ownership, PlatformPrefixes};
use crate::listeners::{self, ListenerPlan, RouteKinds};
use crate::publishers::{self, Publishers};
use crate::render::{self, Desired, RenderError};
use crate::route_status::{self, RouteContext, RouteEntries};
use crate::scope::{Classes, PublishRefusal, Scopes};
use crate::snapshot::{NamespaceView, RouteId, RouteView};
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
    /// Namespaces starting with this are tenant namespaces: without a host label they publish
    /// nothing ([`crate::scope`]). Cozystack's `tenant-`.
    pub tenant_prefix: String,
    /// Which `cozystack.io/gateway-attached-by` value is written ([`crate::attach`]).
    pub attached_by: AttachedByFormat,
    /// Which TenantGateways may use `attachedNamespaces` ([`crate::attach_trust`]).
    pub attach: crate::attach_trust::AttachTrust,
    /// GatewayClasses whose data plane needs identical route kinds on every port-443 listener
    /// ([`RouteKinds::Uniform`]); every other class gets the kinds each protocol serves.
    pub uniform_kinds_classes: Vec<String>,
    /// Per-host listeners one namespace other than the owner and platform namespaces may hold on
    /// an http01 Gateway (0: no cap); the capacity is shared fairly either way
    /// ([`crate::budget`]).
    pub listeners_per_namespace: usize,
    /// Delays between retries of a failing TenantGateway ([`crate::backoff`]).
    pub retry: crate::backoff::RetryPolicy,
    /// Reconcile starts per second, over all TenantGateways (0: no cap).
    pub reconciles_per_second: u32,
    /// The ACME directory of each `spec.issuerName` ([`crate::acme`]).
    pub acme: crate::acme::Directories,
}

impl Settings {
    /// The route kinds the Gateway of `tgw` names on its port-443 listeners.
    pub fn route_kinds(&self, tgw: &TgwInput) -> RouteKinds {
        let class = tgw.spec.gateway_class();
        if self.uniform_kinds_classes.iter().any(|c| c == class) {
            RouteKinds::Uniform
        } else {
            RouteKinds::PerProtocol
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            platform: PlatformPrefixes::default(),
            challenge_namespace: crate::keys::ACME_CHALLENGE_NAMESPACE.to_owned(),
            controller_name: crate::keys::CONTROLLER_NAME.to_owned(),
            field_manager: crate::keys::FIELD_MANAGER.to_owned(),
            watch_namespace: None,
            tenant_prefix: crate::keys::DEFAULT_TENANT_PREFIX.to_owned(),
            attached_by: AttachedByFormat::default(),
            attach: crate::attach_trust::AttachTrust::default(),
            uniform_kinds_classes: vec![crate::keys::DEFAULT_GATEWAY_CLASS.to_owned()],
            listeners_per_namespace: crate::keys::DEFAULT_LISTENERS_PER_NAMESPACE,
            retry: crate::backoff::RetryPolicy::default(),
            reconciles_per_second: crate::keys::DEFAULT_RECONCILES_PER_SECOND,
            acme: crate::acme::Directories::default(),
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
    pub routes: Vec<(RouteId, RouteEntries)>,
    /// `ns/name` of routes whose parentRefs attach to the plaintext `http` listener by default
    /// (Cozystack gap 13; reported in the `PlaintextIsolated` condition), sorted.
    pub plaintext_routes: Vec<String>,
    /// Why no Gateway is written in this pass (render error, or apply error recorded by
    /// [`Decision::gateway_not_written`]); `None` when it is.
    pub gateway_not_written: Option<String>,
    /// The TenantGateway may publish nothing ([`crate::scope::Scopes::refusal`]): no Gateway,
    /// Issuer, Certificate or redirect is wanted, and the controller removes the ones it owns.
    pub withdrawn: Option<PublishRefusal>,
}

impl Decision {
    /// The Gateway could not be written (`cause`: the apply error): every route verdict becomes
    /// `Accepted=False/GatewayNotWritten` naming the cause, the redirect route is not written and
    /// no route is reported as plaintext. Call before writing route status, the redirect and the
    /// TenantGateway status.
    pub fn gateway_not_written(&mut self, tgw: &TgwInput, cause: &str) {
        route_status::not_written(&mut self.routes, &tgw.key(), cause);
        self.desired.redirect = None;
        // Nothing is served at all, in plaintext or otherwise.
        self.plaintext_routes.clear();
        self.gateway_not_written = Some(cause.to_owned());
    }
}

pub fn decide(tgw: &TgwInput, namespaces: &[NamespaceView], routes: &[RouteView], settings: &Settings) -> Decision {
    let attach = claims::attach_set(tgw, namespaces);
    let scopes = Scopes::new(
        tgw,
        namespaces,
        Classes {
            platform: &settings.platform,
            tenant_prefix: &settings.tenant_prefix,
        },
    );
    let claims = claims::collect(tgw, &attach, &scopes, routes);
    let ownership = conflict::resolve(&claims, &settings.platform);
    let withdrawn = scopes.refusal();
    let kinds = settings.route_kinds(tgw);
    let publishers = if tgw.spec.cert_mode == CertMode::Http01 {
        Publishers::default()
    } else {
        publishers::publishers(tgw, &attach, &scopes)
    };
    let mut plan = if withdrawn.is_some() {
        ListenerPlan {
            kinds,
            ..ListenerPlan::default()
        }
    } else {
        listeners::plan(
            tgw,
            &ownership,
            &publishers,
            &settings.challenge_namespace,
            kinds,
            settings.listeners_per_namespace,
        )
    };
    plan.ignored.child_apexes = publishers.ignored;
    plan.ignored.withdrawn = withdrawn.clone();
    let desired = match &withdrawn {
        None => render::render(tgw, &plan, &settings.acme),
        Some(why) => Desired {
            gateway: Err(RenderError::Withdrawn(why.clone())),
            issuer: Ok(None),
            certificates: Vec::new(),
            redirect: None,
        },
    };
    let ctx = RouteContext {
        tgw,
        attach: &attach,
        plan: &plan,
        claims: &claims,
        ownership: &ownership,
        scopes: &scopes,
    };
    let mut plaintext_routes = Vec::new();
    let routes = routes
        .iter()
        .filter_map(|r| {
            let v = route_status::verdicts(&ctx, r);
            if v.iter()
                .any(|(i, _)| route_status::plaintext_by_default(&plan, r, &r.parent_refs[*i]))
            {
                plaintext_routes.push(format!("{}/{}", r.id.namespace, r.id.name));
            }
            (!v.is_empty()).then(|| (r.id.clone(), route_status::entries(r, &v)))
        })
        .collect();
    plaintext_routes.sort();
    plaintext_routes.dedup();
    let mut d = Decision {
        attach,
        claims,
        ownership,
        plan,
        desired,
        routes,
        plaintext_routes,
        gateway_not_written: None,
        withdrawn,
    };
    if let Err(e) = &d.desired.gateway {
        let cause = match e {
            RenderError::Withdrawn(_) => format!("TenantGateway {} {e}", tgw.key()),
            _ => format!("render Gateway: {e}"),
        };
        d.gateway_not_written(tgw, &cause);
    }
    d
}
