//! Label sets of the labelled metric families and their stable values: dashboards and alerts
//! match on them (pinned by `metrics::tests`).

use kube::core::DynamicObject;
use kube::runtime::controller::{self, Action};
use kube::runtime::reflector::ObjectRef;
use prometheus_client::encoding::EncodeLabelSet;

/// `source` values: the watch stream an event, an error or a reconcile request came from.
pub const SOURCES: [&str; 4] = ["tenantgateway", "route", "namespace", "owned"];

/// `reason` of a TenantGateway that does not parse (`crate::tolerant`).
pub const INVALID_SPEC: &str = "invalid_spec";

/// `reason` values known in advance: every [`crate::Error::metric_label`] and
/// [`INVALID_SPEC`]. Failed steps add their condition type (`GatewayApplied`, …) when they occur.
pub const ERROR_REASONS: [&str; 8] = [
    "foreign_object",
    "kube_api",
    "render",
    "steps",
    "discovery",
    "other",
    "missing_metadata",
    INVALID_SPEC,
];

/// `result` values of `tgw_reconcile_results_total`, one per outcome kube-runtime's Controller
/// reports ([`result_label`]).
pub mod result {
    pub const AWAIT_CHANGE: &str = "await_change";
    pub const REQUEUE: &str = "requeue";
    pub const ERROR: &str = "error";
    pub const OBJECT_NOT_FOUND: &str = "object_not_found";
    pub const QUEUE_ERROR: &str = "queue_error";
    pub const RUNNER_ERROR: &str = "runner_error";
}

/// Every `result` value.
pub const RESULTS: [&str; 6] = [
    result::AWAIT_CHANGE,
    result::REQUEUE,
    result::ERROR,
    result::OBJECT_NOT_FOUND,
    result::QUEUE_ERROR,
    result::RUNNER_ERROR,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Source {
    pub source: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Reason {
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Outcome {
    pub result: &'static str,
}

/// One item of the Controller's output stream.
pub type ControllerResult<E, QE> = Result<(ObjectRef<DynamicObject>, Action), controller::Error<E, QE>>;

/// The `result` label of one Controller output: the reconciler returned `Ok` with
/// `Action::await_change()` (`await_change`) or with a requeue (`requeue`), returned an error
/// (`error`; `error_policy` schedules the retry), the requested object was no longer in the cache
/// so no reconcile ran (`object_not_found`), the trigger stream failed (`queue_error`), or the
/// runner did (`runner_error`).
pub fn result_label<E, QE>(r: &ControllerResult<E, QE>) -> &'static str {
    match r {
        Ok((_, action)) if *action == Action::await_change() => result::AWAIT_CHANGE,
        Ok(_) => result::REQUEUE,
        Err(controller::Error::ReconcilerFailed(..)) => result::ERROR,
        Err(controller::Error::ObjectNotFound(_)) => result::OBJECT_NOT_FOUND,
        Err(controller::Error::QueueError(_)) => result::QUEUE_ERROR,
        Err(controller::Error::RunnerError(_)) => result::RUNNER_ERROR,
    }
}
