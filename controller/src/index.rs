//! The controller's caches and their indexes, maintained event by event from the watch streams
//! (never rebuilt per reconcile):
//!
//! - routes by the Gateway each names (spec parentRefs and our status entries);
//! - namespaces by gateway label value and by our attached-by annotation value;
//! - TenantGateways by namespace and by the namespaces they list in `attachedNamespaces`;
//! - owned objects (Gateway, Issuer, Certificate, redirect route) by kind/namespace/name and by
//!   owner uid.
//!
//! Every update returns the TenantGateways the event concerns, empty unless the event passes
//! its filter ([`crate::filters`]); a reconcile then reads only its own routes and namespaces.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use kube::ResourceExt;
use kube::core::DynamicObject;
use tgw_core::keys::{ANNOTATION_ATTACHED_BY, LABEL_GATEWAY, LABEL_HOST};
use tgw_core::snapshot::{NamespaceView, RouteId};

use crate::filters;
use crate::slim::{GatewayKey, OwnedEntry, RouteEntry};

/// A TenantGateway named by `(namespace, name)`.
pub type TgwKey = (String, String);
/// An owned object named by `(kind, namespace, name)`.
pub type OwnedKey = (String, String, String);

/// The TenantGateway that renders Gateway `gw` (`naming::gateway` keeps the TenantGateway's name).
pub fn tgw_of_gateway(gw: &GatewayKey) -> TgwKey {
    gw.clone()
}

/// Resource versions compare as numbers when both are (etcd revisions); otherwise a new one wins.
fn newer_or_same(old: &str, new: &str) -> bool {
    match (old.parse::<u64>(), new.parse::<u64>()) {
        (Ok(o), Ok(n)) => n >= o,
        _ => true,
    }
}

/// Keys of objects we write, for recognising the watch echo of our writes.
pub mod echo_key {
    use tgw_core::snapshot::RouteId;

    pub fn owned(kind: &str, ns: &str, name: &str) -> String {
        format!("owned/{kind}/{ns}/{name}")
    }
    pub fn route(id: &RouteId) -> String {
        format!("route/{}/{}/{}", id.kind.as_str(), id.namespace, id.name)
    }
    pub fn namespace(name: &str) -> String {
        format!("namespace/{name}")
    }
}

/// Our writes to one object that have not been echoed by its watch yet.
#[derive(Debug, Default)]
struct Echo {
    writer: TgwKey,
    /// Writes sent whose echo has not been seen.
    pending: u32,
    /// Of those, writes whose response has arrived.
    answered: u32,
    /// resourceVersions our writes returned, not yet echoed.
    expected: Vec<String>,
    /// resourceVersions echoed before the write's response arrived.
    early: Vec<String>,
}

#[derive(Debug, Default)]
pub struct Index {
    routes: HashMap<RouteId, Arc<RouteEntry>>,
    routes_by_gateway: HashMap<GatewayKey, BTreeSet<RouteId>>,
    namespaces: HashMap<String, Arc<NamespaceView>>,
    /// resourceVersion of each cached namespace (from the watch and our own writes): namespace
    /// label writes carry it, so a concurrent writer's change is never overwritten.
    ns_versions: HashMap<String, String>,
    ns_by_label: HashMap<String, BTreeSet<String>>,
    ns_by_attached_by: HashMap<String, BTreeSet<String>>,
    /// Namespaces by their host label (`namespace.cozystack.io/host`), for the namespace-scope
    /// rule "the most specific apex owns its subtree" (`tgw_core::scope`).
    ns_by_host: HashMap<String, BTreeSet<String>>,
    tgws_by_ns: HashMap<String, BTreeSet<String>>,
    tgw_attached: HashMap<TgwKey, Vec<String>>,
    tgws_by_attached: HashMap<String, BTreeSet<TgwKey>>,
    tgw_trigger: HashMap<TgwKey, (i64, bool)>,
    owned: HashMap<OwnedKey, Arc<OwnedEntry>>,
    owned_by_owner: HashMap<String, BTreeSet<OwnedKey>>,
    /// Our writes by object ([`echo_key`]): their watch echo is no reason to reconcile the writer.
    echoes: HashMap<String, Echo>,
}

fn add<K: std::hash::Hash + Eq, V: Ord>(m: &mut HashMap<K, BTreeSet<V>>, k: K, v: V) {
    m.entry(k).or_default().insert(v);
}

fn del<K: std::hash::Hash + Eq, V: Ord>(m: &mut HashMap<K, BTreeSet<V>>, k: &K, v: &V) {
    if let Some(s) = m.get_mut(k) {
        s.remove(v);
        if s.is_empty() {
            m.remove(k);
        }
    }
}

/// Our owner of an owned object (its controller ownerRef of kind TenantGateway) and its uid.
fn owner(e: &OwnedEntry) -> Option<(TgwKey, String)> {
    e.owner.clone()
}

impl Index {
    // ---- own writes -------------------------------------------------------------------------

    /// A write by TenantGateway `writer` to the object `key` ([`echo_key`]) is about to be sent.
    pub fn begin_write(&mut self, key: String, writer: &TgwKey) {
        let e = self.echoes.entry(key).or_insert_with(|| Echo {
            writer: writer.clone(),
            ..Echo::default()
        });
        e.writer = writer.clone();
        e.pending += 1;
    }

    /// The write succeeded and left the object at `rv` (`None`: a delete).
    pub fn end_write(&mut self, key: &str, rv: Option<&str>) {
        if let Some(e) = self.echoes.get_mut(key) {
            match rv {
                // The echo already came (and was taken as ours) before this response.
                Some(rv) if e.early.iter().any(|r| r == rv) => e.early.retain(|r| r != rv),
                Some(rv) => e.expected.push(rv.to_owned()),
                None => {}
            }
            e.answered += 1;
        }
        self.tidy(key);
    }

    /// The write failed: no echo will come.
    pub fn abort_write(&mut self, key: &str) {
        if let Some(e) = self.echoes.get_mut(key) {
            e.pending = e.pending.saturating_sub(1);
        }
        self.tidy(key);
    }

    fn tidy(&mut self, key: &str) {
        if let Some(e) = self.echoes.get_mut(key) {
            e.answered = e.answered.min(e.pending);
            // An echo that never comes (a no-op write) must not hold the entry forever.
            if e.expected.len() > 8 {
                e.expected.remove(0);
            }
            if e.pending == 0 {
                self.echoes.remove(key);
            }
        }
    }

    /// The writer, if the event that left object `key` at `rv` is the echo of our write: either
    /// its rv is one our write returned, or a write of ours is still waiting for its response
    /// (the watch can be faster than the response).
    pub fn echo(&mut self, key: &str, rv: Option<&str>) -> Option<TgwKey> {
        let e = self.echoes.get_mut(key)?;
        let writer = e.writer.clone();
        let known = rv.and_then(|rv| e.expected.iter().position(|r| r == rv));
        let ours = match known {
            Some(i) => {
                e.expected.remove(i);
                true
            }
            None if e.pending > e.answered => {
                if let Some(rv) = rv {
                    e.early.push(rv.to_owned());
                }
                e.answered += 1;
                true
            }
            // A delete answered before its echo: the Delete event has no rv of ours to match.
            None if rv.is_none() && e.pending > 0 => true,
            None => false,
        };
        if ours {
            e.pending = e.pending.saturating_sub(1);
            e.answered = e.answered.saturating_sub(1);
        }
        self.tidy(key);
        ours.then_some(writer)
    }

    // ---- routes -------------------------------------------------------------------------------

    /// A route was added or modified. Returns the TenantGateways to reconcile: those whose
    /// Gateway the route names before or after the change, if the change matters.
    pub fn route_apply(&mut self, entry: RouteEntry, own: bool) -> Vec<TgwKey> {
        let id = entry.view.id.clone();
        let old = self.routes.get(&id).cloned();
        if let Some(o) = &old {
            if !newer_or_same(&o.resource_version, &entry.resource_version) {
                return Vec::new();
            }
            for g in o.gateways.difference(&entry.gateways) {
                del(&mut self.routes_by_gateway, g, &id);
            }
        }
        for g in &entry.gateways {
            add(&mut self.routes_by_gateway, g.clone(), id.clone());
        }
        let changed = filters::route_changed(old.as_deref(), Some(&entry));
        let mut targets: BTreeSet<GatewayKey> = entry.gateways.clone();
        targets.extend(old.iter().flat_map(|o| o.gateways.iter().cloned()));
        self.routes.insert(id, Arc::new(entry));
        if changed && !own {
            targets.iter().map(tgw_of_gateway).collect()
        } else {
            Vec::new()
        }
    }

    /// A route was deleted.
    pub fn route_delete(&mut self, id: &RouteId) -> Vec<TgwKey> {
        let Some(old) = self.routes.remove(id) else {
            return Vec::new();
        };
        for g in &old.gateways {
            del(&mut self.routes_by_gateway, g, id);
        }
        old.gateways.iter().map(tgw_of_gateway).collect()
    }

    /// Route ids currently cached (for pruning after a relist).
    pub fn route_ids(&self) -> Vec<RouteId> {
        self.routes.keys().cloned().collect()
    }

    /// Routes naming Gateway `gw` (by parentRef or our status entry), sorted by id.
    pub fn routes_of(&self, gw: &GatewayKey) -> Vec<Arc<RouteEntry>> {
        self.routes_by_gateway
            .get(gw)
            .into_iter()
            .flatten()
            .filter_map(|id| self.routes.get(id).cloned())
            .collect()
    }

    // ---- namespaces ---------------------------------------------------------------------------

    fn namespace_targets(&self, v: &NamespaceView, out: &mut BTreeSet<TgwKey>) {
        let in_ns = |ns: &str, out: &mut BTreeSet<TgwKey>| {
            for name in self.tgws_by_ns.get(ns).into_iter().flatten() {
                out.insert((ns.to_owned(), name.clone()));
            }
        };
        if let Some(l) = v.label(LABEL_GATEWAY) {
            in_ns(l, out);
        }
        if let Some(a) = v.annotations.get(ANNOTATION_ATTACHED_BY) {
            match a.split_once('/') {
                Some((ns, name)) => {
                    out.insert((ns.to_owned(), name.to_owned()));
                }
                None => in_ns(a, out),
            }
        }
        in_ns(&v.name, out);
        out.extend(self.tgws_by_attached.get(&v.name).into_iter().flatten().cloned());
    }

    fn unindex_namespace(&mut self, v: &NamespaceView) {
        if let Some(l) = v.label(LABEL_GATEWAY) {
            del(&mut self.ns_by_label, &l.to_owned(), &v.name);
        }
        if let Some(a) = v.annotations.get(ANNOTATION_ATTACHED_BY) {
            del(&mut self.ns_by_attached_by, a, &v.name);
        }
        if let Some(h) = v.label(LABEL_HOST) {
            del(&mut self.ns_by_host, &h.to_owned(), &v.name);
        }
    }

    /// A namespace was added or modified; `v` holds only the labels/annotations read. `writer`:
    /// the TenantGateway whose own write this is the echo of (it is not told of its own change;
    /// every other TenantGateway concerned is).
    pub fn namespace_apply(&mut self, v: NamespaceView, writer: Option<&TgwKey>) -> Vec<TgwKey> {
        let old = self.namespaces.get(&v.name).cloned();
        if !filters::namespace_changed(old.as_deref(), Some(&v)) {
            return Vec::new();
        }
        let mut out = BTreeSet::new();
        if let Some(o) = &old {
            self.namespace_targets(o, &mut out);
            self.unindex_namespace(o);
        }
        self.namespace_targets(&v, &mut out);
        if let Some(l) = v.label(LABEL_GATEWAY) {
            add(&mut self.ns_by_label, l.to_owned(), v.name.clone());
        }
        if let Some(a) = v.annotations.get(ANNOTATION_ATTACHED_BY) {
            add(&mut self.ns_by_attached_by, a.clone(), v.name.clone());
        }
        if let Some(h) = v.label(LABEL_HOST) {
            add(&mut self.ns_by_host, h.to_owned(), v.name.clone());
        }
        self.namespaces.insert(v.name.clone(), Arc::new(v));
        out.into_iter().filter(|t| Some(t) != writer).collect()
    }

    /// Records the resourceVersion namespace `name` was last seen at.
    pub fn set_namespace_version(&mut self, name: &str, rv: Option<&str>) {
        match rv {
            Some(rv) => {
                self.ns_versions.insert(name.to_owned(), rv.to_owned());
            }
            None => {
                self.ns_versions.remove(name);
            }
        }
    }

    /// The cached view of namespace `name` and the resourceVersion it was seen at.
    pub fn namespace_at(&self, name: &str) -> Option<(Arc<NamespaceView>, Option<String>)> {
        let v = self.namespaces.get(name)?.clone();
        Some((v, self.ns_versions.get(name).cloned()))
    }

    pub fn namespace_delete(&mut self, name: &str) -> Vec<TgwKey> {
        self.ns_versions.remove(name);
        let Some(old) = self.namespaces.remove(name) else {
            return Vec::new();
        };
        self.unindex_namespace(&old);
        let mut out = BTreeSet::new();
        self.namespace_targets(&old, &mut out);
        out.into_iter().collect()
    }

    pub fn namespace_names(&self) -> Vec<String> {
        self.namespaces.keys().cloned().collect()
    }

    /// The namespaces one TenantGateway's decisions read, sorted by name: its own, the ones it
    /// lists, the ones labelled for its namespace or annotated as attached by it, and `extra`
    /// (the namespaces of its routes). Missing namespaces are simply absent.
    /// `hostnames` (the hostnames of its routes) add every namespace whose host label is one of
    /// their parent domains (or the name itself), which the namespace-scope rule reads: looked up
    /// per label of each name, never by scanning.
    pub fn namespaces_for<'a>(
        &self,
        tgw: &TgwKey,
        attached: impl IntoIterator<Item = &'a str>,
        extra: impl IntoIterator<Item = String>,
        hostnames: impl IntoIterator<Item = &'a str>,
    ) -> Vec<NamespaceView> {
        let (ns, name) = tgw;
        let mut names: BTreeSet<String> = BTreeSet::from([ns.clone()]);
        names.extend(attached.into_iter().map(str::to_owned));
        names.extend(extra);
        for h in hostnames {
            let mut rest = h.strip_prefix("*.").unwrap_or(h).to_ascii_lowercase();
            loop {
                names.extend(self.ns_by_host.get(&rest).into_iter().flatten().cloned());
                match rest.split_once('.') {
                    Some((_, parent)) if !parent.is_empty() => rest = parent.to_owned(),
                    _ => break,
                }
            }
        }
        for key in [ns.clone(), format!("{ns}/{name}")] {
            names.extend(self.ns_by_attached_by.get(&key).into_iter().flatten().cloned());
        }
        names.extend(self.ns_by_label.get(ns).into_iter().flatten().cloned());
        names
            .iter()
            .filter_map(|n| self.namespaces.get(n).map(|v| (**v).clone()))
            .collect()
    }

    // ---- TenantGateways -----------------------------------------------------------------------

    /// A TenantGateway was added or modified. Returns whether it should be reconciled (new, new
    /// generation or deletion started: [`filters::tenantgateway_key`]).
    pub fn tgw_apply(&mut self, obj: &DynamicObject) -> bool {
        let key: TgwKey = (obj.namespace().unwrap_or_default(), obj.name_any());
        let attached = crate::slim::attached_namespaces(obj);
        self.tgw_unindex(&key);
        add(&mut self.tgws_by_ns, key.0.clone(), key.1.clone());
        for a in &attached {
            add(&mut self.tgws_by_attached, a.clone(), key.clone());
        }
        self.tgw_attached.insert(key.clone(), attached);
        let trigger = filters::tenantgateway_key(obj);
        self.tgw_trigger.insert(key, trigger) != Some(trigger)
    }

    fn tgw_unindex(&mut self, key: &TgwKey) {
        if let Some(old) = self.tgw_attached.remove(key) {
            for a in &old {
                del(&mut self.tgws_by_attached, a, key);
            }
        }
        del(&mut self.tgws_by_ns, &key.0, &key.1);
    }

    pub fn tgw_delete(&mut self, key: &TgwKey) {
        self.tgw_unindex(key);
        self.tgw_trigger.remove(key);
    }

    /// The other TenantGateways of namespace `ns` (not `except`, not being deleted) with their
    /// non-empty `attachedNamespaces`, from the index (no API read).
    pub fn peers(&self, ns: &str, except: &str) -> Vec<(String, Vec<String>)> {
        self.tgws_by_ns
            .get(ns)
            .into_iter()
            .flatten()
            .filter(|name| name.as_str() != except)
            .filter_map(|name| {
                let key: TgwKey = (ns.to_owned(), name.clone());
                let deleting = self.tgw_trigger.get(&key).is_some_and(|(_, d)| *d);
                (!deleting).then(|| (name.clone(), self.tgw_attached.get(&key).cloned().unwrap_or_default()))
            })
            .collect()
    }

    pub fn tgw_keys(&self) -> Vec<TgwKey> {
        self.tgw_trigger.keys().cloned().collect()
    }

    // ---- owned objects ------------------------------------------------------------------------

    /// An owned object was added or modified (watch event or our own write). Returns its owner
    /// if the change matters and is not the echo of our write (`own`).
    pub fn owned_apply(&mut self, obj: DynamicObject, own: bool) -> Vec<TgwKey> {
        let kind = obj.types.as_ref().map(|t| t.kind.clone()).unwrap_or_default();
        let key: OwnedKey = (kind, obj.namespace().unwrap_or_default(), obj.name_any());
        let new = OwnedEntry::new(&obj);
        drop(obj);
        let old = self.owned.get(&key).cloned();
        if let Some(o) = &old {
            if !newer_or_same(&o.resource_version, &new.resource_version) {
                return Vec::new();
            }
            if let Some((_, uid)) = owner(o) {
                del(&mut self.owned_by_owner, &uid, &key);
            }
        }
        let changed = filters::owned_changed(old.as_deref(), Some(&new));
        let mut targets: BTreeSet<TgwKey> = old.as_deref().and_then(owner).map(|(k, _)| k).into_iter().collect();
        if let Some((tgw, uid)) = owner(&new) {
            add(&mut self.owned_by_owner, uid, key.clone());
            targets.insert(tgw);
        }
        self.owned.insert(key, Arc::new(new));
        if changed && !own {
            targets.into_iter().collect()
        } else {
            Vec::new()
        }
    }

    pub fn owned_delete(&mut self, key: &OwnedKey) -> Vec<TgwKey> {
        let Some(old) = self.owned.remove(key) else {
            return Vec::new();
        };
        match owner(&old) {
            Some((tgw, uid)) => {
                del(&mut self.owned_by_owner, &uid, key);
                vec![tgw]
            }
            None => Vec::new(),
        }
    }

    pub fn owned_keys(&self, kind: &str) -> Vec<OwnedKey> {
        self.owned.keys().filter(|k| k.0 == kind).cloned().collect()
    }

    pub fn owned_get(&self, kind: &str, ns: &str, name: &str) -> Option<DynamicObject> {
        self.owned
            .get(&(kind.to_owned(), ns.to_owned(), name.to_owned()))
            .and_then(|e| e.object())
    }

    /// Objects of `kind` whose controller owner has `uid`.
    pub fn owned_by(&self, kind: &str, uid: &str) -> Vec<DynamicObject> {
        self.owned_by_owner
            .get(uid)
            .into_iter()
            .flatten()
            .filter(|k| k.0 == kind)
            .filter_map(|k| self.owned.get(k).and_then(|e| e.object()))
            .collect()
    }

    /// Sizes of the caches (for metrics and tests).
    pub fn sizes(&self) -> (usize, usize, usize) {
        (self.routes.len(), self.namespaces.len(), self.owned.len())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
    use kube::core::{ApiResource, GroupVersionKind};
    use serde_json::json;
    use tgw_core::keys::CONTROLLER_NAME;
    use tgw_core::snapshot::RouteKind;

    fn k(a: &str, b: &str) -> TgwKey {
        (a.to_owned(), b.to_owned())
    }

    fn route(
        ns: &str,
        name: &str,
        rv: u64,
        gen_: i64,
        refs: serde_json::Value,
        status: serde_json::Value,
    ) -> RouteEntry {
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk("gateway.networking.k8s.io", "v1", "HTTPRoute"));
        let mut obj = DynamicObject::new(name, &ar).within(ns);
        obj.metadata.generation = Some(gen_);
        obj.metadata.resource_version = Some(rv.to_string());
        obj.data = json!({"spec": {"parentRefs": refs, "hostnames": ["x.example.org"]}, "status": status});
        crate::slim::route(RouteKind::Http, &obj, CONTROLLER_NAME)
    }

    #[test]
    fn routes_are_found_by_the_gateway_they_name() {
        let mut ix = Index::default();
        let t = ix.route_apply(
            route("tenant-a", "r1", 1, 1, json!([{"name": "cozystack"}]), json!({})),
            false,
        );
        assert_eq!(t, [k("tenant-a", "cozystack")]);
        ix.route_apply(
            route(
                "tenant-b",
                "r2",
                2,
                1,
                json!([{"name": "cozystack", "namespace": "tenant-a"}]),
                json!({}),
            ),
            false,
        );
        ix.route_apply(
            route("tenant-c", "r3", 3, 1, json!([{"name": "cozystack"}]), json!({})),
            false,
        );
        let names: Vec<String> = ix
            .routes_of(&k("tenant-a", "cozystack"))
            .iter()
            .map(|r| r.view.id.name.clone())
            .collect();
        assert_eq!(names, ["r1", "r2"]);
        assert_eq!(ix.routes_of(&k("tenant-c", "cozystack")).len(), 1);
        assert!(ix.routes_of(&k("tenant-x", "cozystack")).is_empty());
    }

    #[test]
    fn a_moved_route_reaches_its_old_and_new_gateway_and_leaves_the_old_index() {
        let mut ix = Index::default();
        ix.route_apply(route("tenant-a", "r", 1, 1, json!([{"name": "old"}]), json!({})), false);
        let t = ix.route_apply(route("tenant-a", "r", 2, 2, json!([{"name": "new"}]), json!({})), false);
        assert_eq!(t, [k("tenant-a", "new"), k("tenant-a", "old")]);
        assert!(ix.routes_of(&k("tenant-a", "old")).is_empty());
        assert_eq!(ix.routes_of(&k("tenant-a", "new")).len(), 1);
    }

    #[test]
    fn a_route_keeps_reaching_a_gateway_while_our_status_entry_for_it_remains() {
        let mut ix = Index::default();
        let status = json!({"parents": [{"controllerName": CONTROLLER_NAME, "parentRef": {"name": "old"}}]});
        ix.route_apply(route("tenant-a", "r", 1, 2, json!([{"name": "new"}]), status), false);
        assert_eq!(ix.routes_of(&k("tenant-a", "old")).len(), 1, "old must prune its entry");
        // Our pruning write: the entry is gone, the route leaves old's index, nothing enqueued.
        let t = ix.route_apply(route("tenant-a", "r", 2, 2, json!([{"name": "new"}]), json!({})), true);
        assert!(t.is_empty());
        assert!(ix.routes_of(&k("tenant-a", "old")).is_empty());
    }

    #[test]
    fn status_only_route_updates_enqueue_nothing() {
        let mut ix = Index::default();
        ix.route_apply(
            route("tenant-a", "r", 1, 1, json!([{"name": "cozystack"}]), json!({})),
            false,
        );
        let status = json!({"parents": [{"controllerName": "io.cilium/gateway-controller", "parentRef": {"name": "cozystack"}}]});
        let t = ix.route_apply(
            route("tenant-a", "r", 2, 1, json!([{"name": "cozystack"}]), status),
            false,
        );
        assert!(t.is_empty());
        assert_eq!(ix.routes_of(&k("tenant-a", "cozystack"))[0].resource_version, "2");
    }

    #[test]
    fn an_older_route_version_never_replaces_a_newer_one() {
        let mut ix = Index::default();
        ix.route_apply(
            route("tenant-a", "r", 5, 2, json!([{"name": "cozystack"}]), json!({})),
            false,
        );
        let t = ix.route_apply(
            route("tenant-a", "r", 4, 1, json!([{"name": "other"}]), json!({})),
            false,
        );
        assert!(t.is_empty());
        assert_eq!(ix.routes_of(&k("tenant-a", "cozystack"))[0].resource_version, "5");
    }

    #[test]
    fn a_deleted_route_reaches_its_gateways_and_leaves_the_index() {
        let mut ix = Index::default();
        let r = route("tenant-a", "r", 1, 1, json!([{"name": "cozystack"}]), json!({}));
        let id = r.view.id.clone();
        ix.route_apply(r, false);
        assert_eq!(ix.route_delete(&id), [k("tenant-a", "cozystack")]);
        assert!(ix.routes_of(&k("tenant-a", "cozystack")).is_empty());
        assert!(ix.route_delete(&id).is_empty());
    }

    fn nsv(name: &str, label: Option<&str>, annotation: Option<&str>) -> NamespaceView {
        NamespaceView {
            name: name.to_owned(),
            labels: label
                .map(|l| (LABEL_GATEWAY.to_owned(), l.to_owned()))
                .into_iter()
                .collect(),
            annotations: annotation
                .map(|a| (ANNOTATION_ATTACHED_BY.to_owned(), a.to_owned()))
                .into_iter()
                .collect(),
        }
    }

    fn tgw(ns: &str, name: &str, generation: i64, attached: &[&str]) -> DynamicObject {
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(
            "gateway.cozystack.io",
            "v1alpha1",
            "TenantGateway",
        ));
        let mut obj = DynamicObject::new(name, &ar).within(ns);
        obj.metadata.generation = Some(generation);
        obj.data = json!({"spec": {"apex": "example.org", "attachedNamespaces": attached}});
        obj
    }

    #[test]
    fn namespace_events_reach_the_tenantgateways_they_concern() {
        let mut ix = Index::default();
        ix.tgw_apply(&tgw("tenant-root", "cozystack", 1, &["tenant-listed"]));
        ix.tgw_apply(&tgw("tenant-other", "cozystack", 1, &[]));
        let root = k("tenant-root", "cozystack");
        // by gateway label value
        assert_eq!(
            ix.namespace_apply(nsv("tenant-a", Some("tenant-root"), None), None),
            vec![root.clone()]
        );
        // by annotation, both forms
        assert_eq!(
            ix.namespace_apply(nsv("tenant-b", None, Some("tenant-root/cozystack")), None),
            vec![root.clone()]
        );
        assert_eq!(
            ix.namespace_apply(nsv("tenant-c", None, Some("tenant-root")), None),
            vec![root.clone()]
        );
        // listed in attachedNamespaces
        assert_eq!(
            ix.namespace_apply(nsv("tenant-listed", None, None), None),
            vec![root.clone()]
        );
        // its own namespace
        assert_eq!(
            ix.namespace_apply(nsv("tenant-root", None, None), None),
            vec![root.clone()]
        );
        // unrelated
        assert!(ix.namespace_apply(nsv("tenant-z", None, None), None).is_empty());
        // relabelled from root to other: both hear of it
        assert_eq!(
            ix.namespace_apply(nsv("tenant-a", Some("tenant-other"), None), None),
            [k("tenant-other", "cozystack"), root.clone()]
        );
        // unchanged view (an unread label changed upstream): nothing
        assert!(
            ix.namespace_apply(nsv("tenant-a", Some("tenant-other"), None), None)
                .is_empty()
        );
        assert_eq!(ix.namespace_delete("tenant-a"), [k("tenant-other", "cozystack")]);
    }

    #[test]
    fn a_tenantgateway_reads_only_its_own_namespaces() {
        let mut ix = Index::default();
        for v in [
            nsv("tenant-root", Some("tenant-root"), None),
            nsv("tenant-a", Some("tenant-root"), None),
            nsv("tenant-b", None, Some("tenant-root/cozystack")),
            nsv("tenant-c", None, Some("tenant-root")),
            nsv("tenant-listed", None, None),
            nsv("tenant-route", None, None),
            nsv("tenant-other", Some("tenant-other"), None),
            nsv("tenant-z", None, Some("tenant-other/cozystack")),
        ] {
            ix.namespace_apply(v, None);
        }
        // Host labels on the hostnames' parent domains are read (namespace scope); others are not.
        for (name, host) in [
            ("tenant-host", "tenant-host.example.org"),
            ("tenant-deep", "deep.tenant-host.example.org"),
            ("tenant-elsewhere", "elsewhere.example.org"),
        ] {
            let mut v = nsv(name, None, None);
            v.labels.insert(LABEL_HOST.to_owned(), host.to_owned());
            ix.namespace_apply(v, None);
        }
        let names: Vec<String> = ix
            .namespaces_for(
                &k("tenant-root", "cozystack"),
                ["tenant-listed", "tenant-missing"],
                ["tenant-route".to_owned()],
                ["x.tenant-host.example.org", "*.deep.tenant-host.example.org"],
            )
            .into_iter()
            .map(|v| v.name)
            .collect();
        assert_eq!(
            names,
            [
                "tenant-a",
                "tenant-b",
                "tenant-c",
                "tenant-deep",
                "tenant-host",
                "tenant-listed",
                "tenant-root",
                "tenant-route"
            ]
        );
    }

    #[test]
    fn peers_are_the_other_live_tenantgateways_of_the_namespace() {
        let mut ix = Index::default();
        ix.tgw_apply(&tgw("tenant-root", "cozystack", 1, &["cozy-a"]));
        ix.tgw_apply(&tgw("tenant-root", "second", 1, &["cozy-b"]));
        ix.tgw_apply(&tgw("tenant-other", "cozystack", 1, &[]));
        assert_eq!(
            ix.peers("tenant-root", "cozystack"),
            [("second".to_owned(), vec!["cozy-b".to_owned()])]
        );
        assert!(ix.peers("tenant-other", "cozystack").is_empty());
    }

    #[test]
    fn tenantgateways_trigger_on_generation_not_on_status() {
        let mut ix = Index::default();
        let mut t = tgw("tenant-root", "cozystack", 1, &["a"]);
        assert!(ix.tgw_apply(&t), "first sight");
        t.data["status"] = json!({"observedGeneration": 1});
        assert!(!ix.tgw_apply(&t), "status write");
        let t2 = tgw("tenant-root", "cozystack", 2, &["b"]);
        assert!(ix.tgw_apply(&t2), "spec change");
        // attachedNamespaces re-indexed
        ix.namespace_apply(nsv("a", None, None), None);
        assert!(ix.namespace_apply(nsv("a", Some("x"), None), None).is_empty());
        ix.tgw_delete(&k("tenant-root", "cozystack"));
        assert!(ix.namespace_apply(nsv("b", None, None), None).is_empty());
    }

    fn owned_obj(kind: &str, name: &str, rv: u64, uid: &str, status: serde_json::Value) -> DynamicObject {
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk("cert-manager.io", "v1", kind));
        let mut obj = DynamicObject::new(name, &ar).within("tenant-root");
        obj.metadata.resource_version = Some(rv.to_string());
        obj.metadata.generation = Some(1);
        obj.metadata.uid = Some(format!("{name}-uid"));
        obj.metadata.owner_references = Some(vec![OwnerReference {
            api_version: "gateway.cozystack.io/v1alpha1".into(),
            kind: tgw_core::keys::TGW_KIND.into(),
            name: "cozystack".into(),
            uid: uid.into(),
            controller: Some(true),
            ..Default::default()
        }]);
        obj.metadata.labels = Some(BTreeMap::new());
        obj.data = json!({"spec": {}, "status": status});
        obj
    }

    #[test]
    fn owned_objects_are_found_by_name_and_by_owner() {
        let mut ix = Index::default();
        let root = k("tenant-root", "cozystack");
        assert_eq!(
            ix.owned_apply(owned_obj("Certificate", "c1", 1, "u1", json!({})), false),
            vec![root.clone()]
        );
        ix.owned_apply(owned_obj("Certificate", "c2", 2, "u1", json!({})), false);
        ix.owned_apply(owned_obj("Issuer", "i", 3, "u1", json!({})), false);
        ix.owned_apply(owned_obj("Certificate", "c3", 4, "u2", json!({})), false);
        let mine: BTreeSet<String> = ix.owned_by("Certificate", "u1").iter().map(|o| o.name_any()).collect();
        assert_eq!(mine, BTreeSet::from(["c1".to_owned(), "c2".to_owned()]));
        assert!(ix.owned_get("Issuer", "tenant-root", "i").is_some());
        assert!(ix.owned_get("Issuer", "tenant-root", "c1").is_none());
        // status change (cert-manager made it Ready) enqueues the owner; a resync does not
        let ready = json!({"conditions": [{"type": "Ready", "status": "True"}]});
        assert_eq!(
            ix.owned_apply(owned_obj("Certificate", "c1", 5, "u1", ready.clone()), false),
            vec![root.clone()]
        );
        assert!(
            ix.owned_apply(owned_obj("Certificate", "c1", 5, "u1", ready), false)
                .is_empty()
        );
        // the echo of our own write enqueues nothing
        let mut spec = owned_obj("Certificate", "c2", 6, "u1", json!({}));
        spec.metadata.generation = Some(2);
        assert!(ix.owned_apply(spec, true).is_empty());
        assert_eq!(
            ix.owned_delete(&("Certificate".into(), "tenant-root".into(), "c2".into())),
            [root]
        );
        assert_eq!(ix.owned_by("Certificate", "u1").len(), 1);
    }

    #[test]
    fn the_echo_of_our_write_is_recognised_once() {
        let mut ix = Index::default();
        let w = k("tenant-root", "cozystack");
        ix.begin_write("x".into(), &w);
        ix.end_write("x", Some("7"));
        assert_eq!(ix.echo("x", Some("6")), None, "someone else's version");
        assert_eq!(ix.echo("x", Some("7")), Some(w.clone()));
        assert_eq!(
            ix.echo("x", Some("8")),
            None,
            "after the echo, changes are foreign again"
        );
        assert!(ix.echoes.is_empty());
    }

    #[test]
    fn an_echo_faster_than_the_write_response_is_still_ours() {
        let mut ix = Index::default();
        let w = k("tenant-root", "cozystack");
        ix.begin_write("x".into(), &w);
        assert_eq!(ix.echo("x", Some("7")), Some(w.clone()));
        ix.end_write("x", Some("7"));
        assert_eq!(ix.echo("x", Some("9")), None);
        assert!(ix.echoes.is_empty());
    }

    #[test]
    fn a_failed_write_expects_no_echo() {
        let mut ix = Index::default();
        ix.begin_write("x".into(), &k("a", "b"));
        ix.abort_write("x");
        assert_eq!(ix.echo("x", Some("1")), None);
        assert!(ix.echoes.is_empty());
    }

    #[test]
    fn the_delete_event_of_our_delete_is_ours() {
        let mut ix = Index::default();
        let w = k("a", "b");
        ix.begin_write("x".into(), &w);
        ix.end_write("x", None);
        assert_eq!(ix.echo("x", None), Some(w));
        assert!(ix.echoes.is_empty());
    }

    #[test]
    fn the_echo_of_our_namespace_label_tells_only_the_other_tenantgateways() {
        let mut ix = Index::default();
        ix.tgw_apply(&tgw("tenant-root", "cozystack", 1, &["tenant-a"]));
        ix.tgw_apply(&tgw("tenant-other", "cozystack", 1, &["tenant-a"]));
        ix.namespace_apply(nsv("tenant-a", None, None), None);
        let writer = k("tenant-root", "cozystack");
        let t = ix.namespace_apply(
            nsv("tenant-a", Some("tenant-root"), Some("tenant-root/cozystack")),
            Some(&writer),
        );
        assert_eq!(t, [k("tenant-other", "cozystack")]);
    }
}
