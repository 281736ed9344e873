//! What enters the caches: the few fields the decisions read, parsed leniently from the wire.
//! Everything else (managedFields, unread annotations, route rules, …) is dropped on the way in,
//! so the caches stay small and one malformed object never breaks a list.

use std::collections::{BTreeMap, BTreeSet};

use kube::ResourceExt;
use kube::core::{DynamicObject, ObjectMeta};
use serde_json::Value;
use tgw_core::keys::{ANNOTATION_ATTACHED_BY, LABEL_GATEWAY, LABEL_HOST};
use tgw_core::snapshot::{NamespaceView, RouteKind, RouteView, wire};

/// A Gateway named by `(namespace, name)`.
pub type GatewayKey = (String, String);

/// Namespace labels the decisions read (attach set, child apexes, claim checks).
pub const NAMESPACE_LABELS: [&str; 2] = [LABEL_GATEWAY, LABEL_HOST];
/// Namespace annotations the decisions read (who attached the namespace).
pub const NAMESPACE_ANNOTATIONS: [&str; 1] = [ANNOTATION_ATTACHED_BY];

/// A namespace as cached: its name and only the labels/annotations in [`NAMESPACE_LABELS`] and
/// [`NAMESPACE_ANNOTATIONS`], so any difference between two of these is a relevant change.
pub fn namespace(meta: &ObjectMeta) -> NamespaceView {
    let pick = |m: &Option<BTreeMap<String, String>>, keys: &[&str]| -> BTreeMap<String, String> {
        m.iter()
            .flatten()
            .filter(|(k, _)| keys.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    NamespaceView {
        name: meta.name.clone().unwrap_or_default(),
        labels: pick(&meta.labels, &NAMESPACE_LABELS),
        annotations: pick(&meta.annotations, &NAMESPACE_ANNOTATIONS),
    }
}

/// A route as cached: the view the decisions read, the raw `status.parents` (merged on write),
/// the resourceVersion (optimistic lock of the status write) and the Gateways it concerns.
#[derive(Clone, Debug, PartialEq)]
pub struct RouteEntry {
    pub view: RouteView,
    /// `status.parents` as compact JSON (parsed only by the reconcile of a Gateway it names).
    pub parents_json: Box<str>,
    pub resource_version: String,
    /// Gateways named by a spec parentRef or by one of our `status.parents` entries (so a
    /// removed parentRef still reaches the Gateway that must prune its entry).
    pub gateways: BTreeSet<GatewayKey>,
}

impl RouteEntry {
    /// The raw `status.parents` entries.
    pub fn parents(&self) -> Vec<Value> {
        serde_json::from_str(&self.parents_json).unwrap_or_default()
    }
}

/// An owned object as cached: the slimmed object as compact JSON (a fraction of the memory of a
/// parsed `DynamicObject`; the write path parses the few it reads), and what the index and the
/// filters need: resourceVersion, generation, status (compact JSON, for change detection) and
/// the controlling TenantGateway with its uid.
#[derive(Clone, Debug, PartialEq)]
pub struct OwnedEntry {
    json: Box<str>,
    pub resource_version: String,
    pub generation: Option<i64>,
    pub status: Box<str>,
    pub owner: Option<((String, String), String)>,
}

impl OwnedEntry {
    pub fn new(obj: &DynamicObject) -> OwnedEntry {
        let owner = obj
            .metadata
            .owner_references
            .iter()
            .flatten()
            .find(|o| o.controller == Some(true) && o.kind == tgw_core::keys::TGW_KIND)
            .map(|o| ((obj.namespace().unwrap_or_default(), o.name.clone()), o.uid.clone()));
        OwnedEntry {
            json: serde_json::to_string(obj).unwrap_or_default().into_boxed_str(),
            resource_version: obj.resource_version().unwrap_or_default(),
            generation: obj.metadata.generation,
            status: obj
                .data
                .get("status")
                .map(Value::to_string)
                .unwrap_or_default()
                .into_boxed_str(),
            owner,
        }
    }

    /// The cached object.
    pub fn object(&self) -> Option<DynamicObject> {
        serde_json::from_str(&self.json).ok()
    }
}

/// Whether a parentRef names a Gateway of the Gateway API group (defaults applied).
fn is_gateway_ref(p: &tgw_core::snapshot::ParentRef) -> bool {
    matches!(p.kind.as_deref(), None | Some("Gateway"))
        && matches!(
            p.group.as_deref(),
            None | Some("") | Some(tgw_core::keys::GATEWAY_GROUP)
        )
}

/// Parses a route leniently: fields of the wrong type are ignored, never an error.
pub fn route(kind: RouteKind, obj: &DynamicObject, controller: &str) -> RouteEntry {
    let ns = obj.namespace().unwrap_or_default();
    let v = serde_json::json!({
        "metadata": {
            "namespace": ns,
            "name": obj.name_any(),
            "creationTimestamp": obj.metadata.creation_timestamp,
            "generation": obj.metadata.generation,
        },
        "spec": {
            "hostnames": obj.data["spec"]["hostnames"],
            "parentRefs": obj.data["spec"]["parentRefs"],
        },
    });
    let view = wire::route(kind, &v);
    let parents: Vec<Value> = obj.data["status"]["parents"].as_array().cloned().unwrap_or_default();
    let ours = parents
        .iter()
        .filter(|p| p["controllerName"] == controller)
        .map(|p| wire::parent_ref(&p["parentRef"]));
    let gateways = view
        .parent_refs
        .iter()
        .cloned()
        .chain(ours)
        .filter(|p| is_gateway_ref(p) && !p.name.is_empty())
        .map(|p| (p.namespace.clone().unwrap_or_else(|| ns.clone()), p.name))
        .collect();
    RouteEntry {
        view,
        parents_json: Value::Array(parents).to_string().into_boxed_str(),
        resource_version: obj.resource_version().unwrap_or_default(),
        gateways,
    }
}

/// Drops what no decision reads from an owned object (Gateway, Issuer, Certificate, redirect
/// route): the field sets of managedFields (who manages it stays, for the takeover check in
/// `apply`) and the last-applied annotation. Spec, labels, owners and status stay: the write path
/// compares the desired object against them.
pub fn owned(obj: &mut DynamicObject) {
    if let Some(entries) = obj.metadata.managed_fields.as_mut() {
        for e in entries.iter_mut() {
            e.fields_v1 = None;
            e.time = None;
        }
    }
    if let Some(a) = obj.metadata.annotations.as_mut() {
        a.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
}

/// [`owned`], and for the redirect HTTPRoute also its status: that holds route status entries
/// (ours among them, written by the route-status step), which no owned-object decision reads, so
/// our own route-status write cannot come back as a change of the owned object.
pub fn owned_of_kind(kind: &str, obj: &mut DynamicObject) {
    owned(obj);
    if kind == "HTTPRoute"
        && let Some(m) = obj.data.as_object_mut()
    {
        m.remove("status");
    }
}

/// Drops managedFields from a TenantGateway as cached (the spec is parsed per reconcile).
pub fn tenantgateway(obj: &mut DynamicObject) {
    owned(obj);
    obj.metadata.managed_fields = None;
}

/// The `attachedNamespaces` of a TenantGateway object, leniently (non-strings ignored).
pub fn attached_namespaces(obj: &DynamicObject) -> Vec<String> {
    obj.data["spec"]["attachedNamespaces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::{ApiResource, GroupVersionKind};
    use serde_json::json;
    use tgw_core::keys::CONTROLLER_NAME;

    fn dyn_route(ns: &str, data: Value) -> DynamicObject {
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk("gateway.networking.k8s.io", "v1", "HTTPRoute"));
        let mut obj = DynamicObject::new("r", &ar).within(ns);
        obj.data = data;
        obj
    }

    #[test]
    fn a_namespace_keeps_only_the_labels_and_annotations_decisions_read() {
        let meta = ObjectMeta {
            name: Some("tenant-a".into()),
            labels: Some(BTreeMap::from([
                (LABEL_GATEWAY.to_owned(), "tenant-root".to_owned()),
                (LABEL_HOST.to_owned(), "a.example.org".to_owned()),
                ("team".to_owned(), "x".to_owned()),
            ])),
            annotations: Some(BTreeMap::from([
                (ANNOTATION_ATTACHED_BY.to_owned(), "tenant-root/cozystack".to_owned()),
                ("huge".to_owned(), "x".repeat(10_000)),
            ])),
            ..Default::default()
        };
        let v = namespace(&meta);
        assert_eq!(v.name, "tenant-a");
        assert_eq!(v.labels.keys().collect::<Vec<_>>(), [LABEL_GATEWAY, LABEL_HOST]);
        assert_eq!(v.annotations.keys().collect::<Vec<_>>(), [ANNOTATION_ATTACHED_BY]);
    }

    #[test]
    fn a_route_names_the_gateways_of_its_parent_refs_and_of_our_status_entries() {
        let r = dyn_route(
            "tenant-a",
            json!({
                "spec": {"parentRefs": [
                    {"name": "cozystack"},
                    {"name": "cozystack", "namespace": "tenant-root", "sectionName": "https"},
                    {"name": "svc", "kind": "Service"},
                    {"name": "other", "group": "example.com"},
                ], "hostnames": ["a.example.org"], "rules": [{"backendRefs": [{"name": "x"}]}]},
                "status": {"parents": [
                    {"controllerName": CONTROLLER_NAME, "parentRef": {"name": "old", "namespace": "tenant-x"}},
                    {"controllerName": "io.cilium/gateway-controller", "parentRef": {"name": "other", "namespace": "tenant-y"}},
                ]},
            }),
        );
        let e = route(RouteKind::Http, &r, CONTROLLER_NAME);
        let want: BTreeSet<GatewayKey> = [
            ("tenant-a", "cozystack"),
            ("tenant-root", "cozystack"),
            ("tenant-x", "old"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .into_iter()
        .collect();
        assert_eq!(e.gateways, want);
        assert_eq!(e.view.hostnames, ["a.example.org"]);
        assert_eq!(
            e.parents().len(),
            2,
            "every status entry is kept for the merge on write"
        );
    }

    #[test]
    fn a_route_with_garbage_fields_still_parses() {
        let r = dyn_route(
            "tenant-a",
            json!({"spec": {"parentRefs": "not-a-list", "hostnames": [5, "ok.example.org", null]}, "status": 7}),
        );
        let e = route(RouteKind::Http, &r, CONTROLLER_NAME);
        assert_eq!(e.view.hostnames, ["ok.example.org"]);
        assert!(e.view.parent_refs.is_empty());
        assert!(e.gateways.is_empty());
        assert!(e.parents().is_empty());
    }

    #[test]
    fn owned_objects_lose_field_sets_and_last_applied_but_keep_their_managers() {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry};
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk("cert-manager.io", "v1", "Certificate"));
        let mut obj = DynamicObject::new("c", &ar).within("tenant-a");
        obj.metadata.managed_fields = Some(vec![ManagedFieldsEntry {
            manager: Some("cozystack-controller".to_owned()),
            operation: Some("Update".to_owned()),
            fields_v1: Some(FieldsV1(json!({"f:spec": {}}))),
            ..Default::default()
        }]);
        obj.metadata.annotations = Some(BTreeMap::from([
            (
                "kubectl.kubernetes.io/last-applied-configuration".to_owned(),
                "{}".to_owned(),
            ),
            ("keep".to_owned(), "1".to_owned()),
        ]));
        obj.data = json!({"spec": {"dnsNames": ["a"]}});
        owned(&mut obj);
        assert_eq!(
            obj.metadata.managed_fields,
            Some(vec![ManagedFieldsEntry {
                manager: Some("cozystack-controller".to_owned()),
                operation: Some("Update".to_owned()),
                ..Default::default()
            }])
        );
        assert_eq!(obj.annotations().keys().collect::<Vec<_>>(), ["keep"]);
        assert_eq!(obj.data["spec"]["dnsNames"][0], "a");
    }

    #[test]
    fn the_redirect_route_is_cached_without_its_route_status() {
        let mut r = dyn_route(
            "tenant-a",
            json!({"spec": {"hostnames": []}, "status": {"parents": []}}),
        );
        owned_of_kind("HTTPRoute", &mut r);
        assert!(r.data.get("status").is_none());
        assert!(r.data.get("spec").is_some());
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk("gateway.networking.k8s.io", "v1", "Gateway"));
        let mut gw = DynamicObject::new("g", &ar).within("tenant-a");
        gw.data = json!({"status": {"conditions": []}});
        owned_of_kind("Gateway", &mut gw);
        assert!(
            gw.data.get("status").is_some(),
            "a Gateway's status is read (Programmed)"
        );
    }

    #[test]
    fn an_owned_entry_gives_back_the_object_and_its_owner() {
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk("cert-manager.io", "v1", "Certificate"));
        let mut obj = DynamicObject::new("c", &ar).within("tenant-a");
        obj.metadata.generation = Some(2);
        obj.metadata.resource_version = Some("9".into());
        obj.metadata.owner_references = Some(vec![k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
            kind: tgw_core::keys::TGW_KIND.into(),
            name: "cozystack".into(),
            uid: "u".into(),
            controller: Some(true),
            ..Default::default()
        }]);
        obj.data = json!({"spec": {"dnsNames": ["a.example.org"]}, "status": {"conditions": []}});
        let e = OwnedEntry::new(&obj);
        assert_eq!(e.object().as_ref(), Some(&obj));
        assert_eq!(e.owner, Some((("tenant-a".into(), "cozystack".into()), "u".into())));
        assert_eq!((e.generation, e.resource_version.as_str()), (Some(2), "9"));
        assert_eq!(&*e.status, r#"{"conditions":[]}"#);
    }

    #[test]
    fn attached_namespaces_are_read_leniently() {
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(
            "gateway.cozystack.io",
            "v1alpha1",
            "TenantGateway",
        ));
        let mut obj = DynamicObject::new("t", &ar).within("tenant-a");
        obj.data = json!({"spec": {"attachedNamespaces": ["b", 3, "", "c"], "certMode": "edge"}});
        assert_eq!(attached_namespaces(&obj), ["b", "c"]);
    }
}
