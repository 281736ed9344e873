//! Which watch events are worth a reconcile. Each filter compares the cached state before and
//! after one event; only changes to what the decisions read pass. Status-only changes (and so the
//! controller's own status writes) never pass; see also [`crate::index::Index::echo`].

use kube::core::DynamicObject;
use tgw_core::keys::{LABEL_MANAGED_BY, MANAGED_BY_VALUE, TGW_KIND};
use tgw_core::snapshot::NamespaceView;

use crate::slim::{OwnedEntry, RouteEntry};

/// A route event matters when the route appears or disappears, its spec as the decisions read it
/// changes (hostnames, parentRefs, generation), or the set of Gateways it concerns changes.
/// A status-only update (ours or anyone's) changes neither and passes nothing.
pub fn route_changed(old: Option<&RouteEntry>, new: Option<&RouteEntry>) -> bool {
    match (old, new) {
        (Some(o), Some(n)) => o.view != n.view || o.gateways != n.gateways,
        (None, None) => false,
        _ => true,
    }
}

/// Whether a route is one the controller renders itself (the HTTP→HTTPS redirect: our managed-by
/// label and a TenantGateway controller ownerRef). Its events reach the owner through the
/// owned-object feed; in the route feed they are indexed but enqueue nothing (else every write of
/// the redirect would come back as a reconcile).
pub fn route_is_ours(obj: &DynamicObject) -> bool {
    let labelled = obj
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(LABEL_MANAGED_BY))
        .map(String::as_str)
        == Some(MANAGED_BY_VALUE);
    labelled
        && obj
            .metadata
            .owner_references
            .iter()
            .flatten()
            .any(|o| o.controller == Some(true) && o.kind == TGW_KIND)
}

/// A namespace event matters when the namespace appears or disappears, or one of the labels or
/// annotations the decisions read changes (the views hold only those: [`crate::slim::namespace`]).
pub fn namespace_changed(old: Option<&NamespaceView>, new: Option<&NamespaceView>) -> bool {
    old != new
}

/// What of a TenantGateway triggers its reconcile: its generation (spec changes) and whether it
/// is being deleted. Status and metadata-only updates (our own status writes and finalizer) do not.
pub fn tenantgateway_key(obj: &DynamicObject) -> (i64, bool) {
    (
        obj.metadata.generation.unwrap_or(0),
        obj.metadata.deletion_timestamp.is_some(),
    )
}

/// An owned object (Gateway, Issuer, Certificate, redirect route) matters when it appears or
/// disappears, its spec changes (generation), or its status changes (Gateway
/// Programmed/listeners, cert-manager Ready). The start of a deletion does not: the Delete event
/// that ends it does (and our own garbage collection, which deletes with the default propagation,
/// would otherwise come back as a reconcile when the API server adds its orphan finalizer).
pub fn owned_changed(old: Option<&OwnedEntry>, new: Option<&OwnedEntry>) -> bool {
    match (old, new) {
        (Some(o), Some(n)) => o.generation != n.generation || o.status != n.status,
        (None, None) => false,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use kube::core::{ApiResource, GroupVersionKind};
    use serde_json::json;
    use tgw_core::keys::{CONTROLLER_NAME, LABEL_GATEWAY};
    use tgw_core::snapshot::RouteKind;

    fn route(generation: i64, hosts: &[&str], status: serde_json::Value) -> RouteEntry {
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk("gateway.networking.k8s.io", "v1", "HTTPRoute"));
        let mut obj = DynamicObject::new("r", &ar).within("tenant-a");
        obj.metadata.generation = Some(generation);
        obj.metadata.resource_version = Some(format!("{}", generation * 100 + status.to_string().len() as i64));
        obj.data = json!({"spec": {"parentRefs": [{"name": "cozystack"}], "hostnames": hosts}, "status": status});
        crate::slim::route(RouteKind::Http, &obj, CONTROLLER_NAME)
    }

    fn ours(gw: &str) -> serde_json::Value {
        json!({"parents": [{"controllerName": CONTROLLER_NAME, "parentRef": {"name": gw, "namespace": "tenant-a"}, "conditions": []}]})
    }

    #[test]
    fn only_our_rendered_redirect_route_is_ours() {
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk("gateway.networking.k8s.io", "v1", "HTTPRoute"));
        let mut obj = DynamicObject::new("cozystack-http-redirect", &ar).within("tenant-a");
        assert!(!route_is_ours(&obj));
        obj.metadata.labels = Some(BTreeMap::from([(
            LABEL_MANAGED_BY.to_owned(),
            MANAGED_BY_VALUE.to_owned(),
        )]));
        assert!(!route_is_ours(&obj), "a label alone is anyone's to set");
        obj.metadata.owner_references = Some(vec![k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
            kind: TGW_KIND.into(),
            name: "cozystack".into(),
            controller: Some(true),
            ..Default::default()
        }]);
        assert!(route_is_ours(&obj));
    }

    #[test]
    fn a_route_status_update_is_not_a_change() {
        let before = route(1, &["a.example.org"], json!({}));
        let after = route(1, &["a.example.org"], ours("cozystack"));
        assert_ne!(before.resource_version, after.resource_version);
        assert!(!route_changed(Some(&before), Some(&after)));
    }

    #[test]
    fn a_route_spec_change_is_a_change() {
        let before = route(1, &["a.example.org"], json!({}));
        let after = route(2, &["b.example.org"], json!({}));
        assert!(route_changed(Some(&before), Some(&after)));
    }

    #[test]
    fn a_route_status_entry_for_another_gateway_of_ours_is_a_change() {
        // Someone else's status edit that leaves an entry of ours for a Gateway it no longer
        // names: that Gateway must get the chance to prune it.
        let before = route(1, &["a.example.org"], ours("cozystack"));
        let after = route(1, &["a.example.org"], ours("old"));
        assert!(route_changed(Some(&before), Some(&after)));
    }

    #[test]
    fn route_creation_and_deletion_are_changes() {
        let r = route(1, &["a.example.org"], json!({}));
        assert!(route_changed(None, Some(&r)));
        assert!(route_changed(Some(&r), None));
        assert!(!route_changed(None, None));
    }

    fn ns(labels: &[(&str, &str)]) -> NamespaceView {
        NamespaceView {
            name: "tenant-a".into(),
            labels: labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            annotations: BTreeMap::new(),
        }
    }

    #[test]
    fn a_namespace_matters_only_when_a_read_label_changes() {
        let a = ns(&[(LABEL_GATEWAY, "tenant-root")]);
        assert!(!namespace_changed(Some(&a), Some(&a.clone())));
        assert!(namespace_changed(Some(&a), Some(&ns(&[]))));
        assert!(namespace_changed(None, Some(&a)));
        assert!(namespace_changed(Some(&a), None));
        // Unread labels never reach the view (slim::namespace), so they cannot differ here.
    }

    fn dynobj(generation: i64, status: serde_json::Value) -> DynamicObject {
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk("gateway.networking.k8s.io", "v1", "Gateway"));
        let mut obj = DynamicObject::new("cozystack", &ar).within("tenant-a");
        obj.metadata.generation = Some(generation);
        obj.data = json!({"spec": {"gatewayClassName": "cilium"}, "status": status});
        obj
    }

    #[test]
    fn a_tenantgateway_triggers_on_generation_and_deletion_only() {
        let a = dynobj(1, json!({}));
        let mut status_written = dynobj(1, json!({"observedGeneration": 1}));
        status_written.metadata.finalizers = Some(vec!["x".into()]);
        assert_eq!(tenantgateway_key(&a), tenantgateway_key(&status_written));
        assert_ne!(tenantgateway_key(&a), tenantgateway_key(&dynobj(2, json!({}))));
        let mut deleting = a.clone();
        deleting.metadata.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
        assert_ne!(tenantgateway_key(&a), tenantgateway_key(&deleting));
    }

    #[test]
    fn an_owned_object_matters_on_spec_status_and_existence() {
        let e = |o: &DynamicObject| OwnedEntry::new(o);
        let owned_changed =
            |a: Option<&DynamicObject>, b: Option<&DynamicObject>| owned_changed(a.map(e).as_ref(), b.map(e).as_ref());
        let a = dynobj(1, json!({}));
        assert!(
            !owned_changed(Some(&a), Some(&a.clone())),
            "a resync of the same object"
        );
        assert!(owned_changed(Some(&a), Some(&dynobj(2, json!({})))), "spec");
        let programmed = dynobj(1, json!({"conditions": [{"type": "Programmed", "status": "True"}]}));
        assert!(owned_changed(Some(&a), Some(&programmed)), "status");
        assert!(owned_changed(None, Some(&a)));
        assert!(owned_changed(Some(&a), None));
        let mut deleting = a.clone();
        deleting.metadata.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
        assert!(!owned_changed(Some(&a), Some(&deleting)), "deletion started");
        let mut relabelled = a.clone();
        relabelled.metadata.labels = Some(BTreeMap::from([("x".to_owned(), "y".to_owned())]));
        assert!(!owned_changed(Some(&a), Some(&relabelled)), "metadata-only");
    }
}
