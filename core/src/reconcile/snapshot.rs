//! Plain-data views of the cluster objects the TenantGateway logic reads. The controller builds
//! them from its caches; tests build them directly.

use std::collections::BTreeMap;

/// The route kinds the controller watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RouteKind {
    Http,
    Tls,
    Grpc,
}

impl RouteKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RouteKind::Http => "HTTPRoute",
            RouteKind::Tls => "TLSRoute",
            RouteKind::Grpc => "GRPCRoute",
        }
    }
}

/// A Gateway API parentRef as written on the route (every field optional as on the wire).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ParentRef {
    pub group: Option<String>,
    pub kind: Option<String>,
    pub namespace: Option<String>,
    pub name: String,
    pub section_name: Option<String>,
    pub port: Option<i32>,
}

impl ParentRef {
    /// Whether this parentRef (on a route in `route_ns`) names Gateway `ns/name`.
    pub fn targets(&self, route_ns: &str, ns: &str, name: &str) -> bool {
        let group_ok = matches!(
            self.group.as_deref(),
            None | Some("") | Some(crate::keys::GATEWAY_GROUP)
        );
        let kind_ok = matches!(self.kind.as_deref(), None | Some("Gateway"));
        group_ok && kind_ok && self.namespace.as_deref().unwrap_or(route_ns) == ns && self.name == name
    }

    /// Same reference once defaults are applied (group, kind, namespace).
    pub fn same_as(&self, other: &ParentRef, route_ns: &str) -> bool {
        fn group(g: &Option<String>) -> &str {
            match g.as_deref() {
                None | Some("") => crate::keys::GATEWAY_GROUP,
                Some(g) => g,
            }
        }
        group(&self.group) == group(&other.group)
            && self.kind.as_deref().unwrap_or("Gateway") == other.kind.as_deref().unwrap_or("Gateway")
            && self.namespace.as_deref().unwrap_or(route_ns) == other.namespace.as_deref().unwrap_or(route_ns)
            && self.name == other.name
            && self.section_name == other.section_name
            && self.port == other.port
    }
}

/// Identity of a route.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RouteId {
    pub kind: RouteKind,
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for RouteId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}/{}", self.kind.as_str(), self.namespace, self.name)
    }
}

/// An HTTPRoute, TLSRoute or GRPCRoute as the TenantGateway logic sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteView {
    pub id: RouteId,
    /// `metadata.creationTimestamp` (RFC 3339, as the apiserver writes it: second precision, `Z`).
    pub created: Option<String>,
    pub generation: Option<i64>,
    pub hostnames: Vec<String>,
    pub parent_refs: Vec<ParentRef>,
}

/// A Namespace: name, labels, annotations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NamespaceView {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

impl NamespaceView {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }
}

/// Parsing from the wire (JSON as served by the apiserver); unknown fields are ignored.
pub mod wire {
    use super::*;
    use serde_json::{Value, json};

    fn s(v: &Value, k: &str) -> Option<String> {
        v.get(k).and_then(Value::as_str).map(str::to_owned)
    }

    pub fn parent_ref(v: &Value) -> ParentRef {
        ParentRef {
            group: s(v, "group"),
            kind: s(v, "kind"),
            namespace: s(v, "namespace"),
            name: s(v, "name").unwrap_or_default(),
            section_name: s(v, "sectionName"),
            port: v
                .get("port")
                .and_then(Value::as_i64)
                .and_then(|p| i32::try_from(p).ok()),
        }
    }

    pub fn parent_ref_json(p: &ParentRef) -> Value {
        let mut v = json!({"name": p.name});
        for (k, f) in [
            ("group", &p.group),
            ("kind", &p.kind),
            ("namespace", &p.namespace),
            ("sectionName", &p.section_name),
        ] {
            if let Some(x) = f {
                v[k] = json!(x);
            }
        }
        if let Some(port) = p.port {
            v["port"] = json!(port);
        }
        v
    }

    /// A route object (`metadata` + `spec`) of the given kind.
    pub fn route(kind: RouteKind, obj: &Value) -> RouteView {
        let meta = &obj["metadata"];
        let spec = &obj["spec"];
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        };
        RouteView {
            id: RouteId {
                kind,
                namespace: s(meta, "namespace").unwrap_or_default(),
                name: s(meta, "name").unwrap_or_default(),
            },
            created: s(meta, "creationTimestamp"),
            generation: meta.get("generation").and_then(Value::as_i64),
            hostnames: strings(&spec["hostnames"]),
            parent_refs: spec["parentRefs"]
                .as_array()
                .into_iter()
                .flatten()
                .map(parent_ref)
                .collect(),
        }
    }

    /// A Namespace object.
    pub fn namespace(obj: &Value) -> NamespaceView {
        let map = |v: &Value| -> BTreeMap<String, String> {
            v.as_object()
                .into_iter()
                .flatten()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                .collect()
        };
        NamespaceView {
            name: s(&obj["metadata"], "name").unwrap_or_default(),
            labels: map(&obj["metadata"]["labels"]),
            annotations: map(&obj["metadata"]["annotations"]),
        }
    }
}
