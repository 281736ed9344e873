//! `TenantGateway.status`: observedGeneration, conditions (list-map by type) and per-listener
//! state (list-map by name), a superset of Cozystack's status.

use serde::{Deserialize, Serialize};

/// Observed state of the tenant's Gateway.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "crd", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TenantGatewayStatus {
    /// Conditions: Ready (the kstatus contract) plus one condition per concern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "crd",
        schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))
    )]
    pub conditions: Option<Vec<Condition>>,
    /// Listeners mirrors the rendered Gateway's listeners, in order, with their readiness.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "crd",
        schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))
    )]
    pub listeners: Option<Vec<ListenerStatus>>,
    /// ObservedGeneration is the metadata.generation this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// One aspect of the TenantGateway's state (same shape as metav1.Condition).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "crd", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Last time the status changed (RFC 3339).
    #[cfg_attr(feature = "crd", schemars(extend("format" = "date-time")))]
    pub last_transition_time: String,
    /// Human-readable detail.
    #[cfg_attr(feature = "crd", schemars(length(max = 32768)))]
    pub message: String,
    /// Generation the condition was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "crd", schemars(range(min = 0)))]
    pub observed_generation: Option<i64>,
    /// CamelCase machine-readable reason.
    #[cfg_attr(feature = "crd", schemars(length(min = 1, max = 1024)))]
    pub reason: String,
    /// True, False or Unknown.
    pub status: ConditionStatus,
    /// Condition type.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "crd", schemars(length(max = 316)))]
    pub type_: String,
}

/// Condition status values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "crd", derive(schemars::JsonSchema))]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

impl ConditionStatus {
    pub fn from_bool(b: bool) -> Self {
        if b {
            ConditionStatus::True
        } else {
            ConditionStatus::False
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionStatus::True => "True",
            ConditionStatus::False => "False",
            ConditionStatus::Unknown => "Unknown",
        }
    }
}

/// Observed state of one listener of the rendered Gateway.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "crd", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ListenerStatus {
    /// Listener name, e.g. `http`, `https-apex`, `https-harbor-760d5a8a`, `tls-api`.
    pub name: String,
    /// Hostname the listener serves (absent for `http`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// True when the Gateway accepted and programmed the listener and, for listeners whose
    /// certificate this controller manages, that Certificate is Ready.
    pub ready: bool,
    /// Certificate (or operator Secret) backing the listener.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_name: Option<String>,
    /// Readiness of the cert-manager Certificate named by certificateName, when managed here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_ready: Option<bool>,
    /// Machine-readable reason when not ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
