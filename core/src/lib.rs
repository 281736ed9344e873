//! tgw-core: every decision the tenant-gateway policy (wasm) and controller (native) must agree
//! on, as pure functions over plain data. No I/O, no clock, no logging.
//!
//! ```text
//!  admission request ──► policy/ (parse, fetch Namespace) ──► admission::decide ──► Verdict
//!  cluster snapshot  ──► controller/ (reflectors)         ──► claims → conflict → render → status
//! ```

// --- hostname rules and admission (policy side) ---
pub mod admission;
pub mod consts;
pub mod hostname;
pub mod settings;

// --- TenantGateway model, rendering and route status (controller side) ---
// (`decide` and `render` build typed Gateway API objects: feature `controller`, native users only)
pub mod acme;
pub mod attach;
pub mod attach_trust;
pub mod backoff;
pub mod bounded;
pub mod budget;
pub mod claims;
pub mod conditions;
pub mod conflict;
#[cfg(feature = "controller")]
pub mod decide;
pub mod dns;
pub mod keys;
pub mod listeners;
pub mod naming;
#[cfg(feature = "controller")]
pub mod parents;
pub mod publishers;
#[cfg(feature = "controller")]
pub mod render;
pub mod route_status;
pub mod scope;
pub mod snapshot;
pub mod takeover;
pub mod tenantgateway;
#[cfg(feature = "controller")]
pub mod tgw_status;
