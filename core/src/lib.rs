//! tgw-core: every decision the tenant-gateway policy (wasm) and controller (native) must agree
//! on, as pure functions over plain data. No I/O, no clock, no logging.
//!
//! ```text
//!  admission request ──► policy/ (parse, fetch Namespace) ──► admission::decide ──► Verdict
//!  cluster snapshot  ──► controller/ (reflectors)         ──► claims → conflict → render → status
//! ```
//!
//! Two halves, one folder each: [`admission`] (the policy's verdicts and its settings) and
//! [`reconcile`] (the controller's TenantGateway decisions). What both use sits at the top, below
//! them: hostname rules ([`hostname`], [`dns`]), the stable strings ([`keys`], [`consts`]) and
//! bounded messages ([`bounded`]). The policy settings and every module of [`reconcile`] are also
//! re-exported at the top (`tgw_core::settings`, `tgw_core::decide`, `tgw_core::naming`, ...).

// --- the policy's half ---
pub mod admission;
pub use admission::settings;

// --- the controller's half: the TenantGateway model, its decisions, rendering and status ---
pub mod reconcile;
pub use reconcile::{
    acme, attach, attach_trust, backoff, budget, claims, conditions, conflict, listeners, naming, publishers,
    route_status, scope, snapshot, takeover, tenantgateway,
};
#[cfg(feature = "controller")]
pub use reconcile::{decide, parents, render, tgw_status};

// --- shared by both halves ---
pub mod bounded;
pub mod consts;
pub mod dns;
pub mod hostname;
pub mod keys;
