//! The controller's half: what a TenantGateway becomes. The model ([`tenantgateway`], the
//! cluster [`snapshot`]), who may publish what ([`attach`], [`attach_trust`], [`scope`],
//! [`publishers`], [`budget`]), which route holds each name ([`claims`], [`conflict`],
//! [`takeover`]), the Gateway's listeners ([`listeners`]), the rendered objects ([`render`],
//! [`naming`], [`acme`]), route and TenantGateway status ([`parents`], [`route_status`],
//! [`conditions`], [`tgw_status`]) and retry timing ([`backoff`]); [`decide`] runs them in order.
//! (`decide`, `parents`, `render` and `tgw_status` build typed Gateway API objects: feature
//! `controller`, native users only.)

pub mod acme;
pub mod attach;
pub mod attach_trust;
pub mod backoff;
pub mod budget;
pub mod claims;
pub mod conditions;
pub mod conflict;
#[cfg(feature = "controller")]
pub mod decide;
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
