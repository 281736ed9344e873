//! tgw-controller: reconciles TenantGateways into Gateway, Issuer, Certificates, redirect route,
//! namespace labels and route status. Every decision is made by `tgw-core`
//! (`decide`, `attach::plan`, `route_status::merge_parents`, `tgw_status::compute`); this crate
//! only reads caches, compares desired with observed, and writes.
//!
//! ```text
//! watch TGW / owned / routes / namespaces ─► slim ─► index (+ filters ─► enqueue)
//!   reconcile ─► tolerant::parse ─► snapshot (own routes/namespaces) ─► core::decide ─► apply (SSA)
//! ```

pub mod app;
pub mod apply;
pub mod config;
pub mod context;
pub mod crd;
pub mod filters;
pub mod http;
pub mod index;
pub mod leader;
pub mod metrics;
pub mod reconcile;
pub mod resources;
pub mod retries;
pub mod run;
pub mod slim;
pub mod snapshot;
pub mod tolerant;
pub mod uninstall;

/// Errors of one reconcile step; the text ends up in the matching condition.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "{kind} {namespace}/{name} exists but is not owned by TenantGateway {tgw}; refusing to take over (delete it manually if you want the controller to manage it)"
    )]
    Foreign {
        kind: &'static str,
        namespace: String,
        name: String,
        tgw: String,
    },
    #[error("{action} {kind} {namespace}/{name}: {source}")]
    Kube {
        action: &'static str,
        kind: &'static str,
        namespace: String,
        name: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error("render {kind}: {0}", kind = .1)]
    Render(tgw_core::render::RenderError, &'static str),
    #[error("{0} step(s) failed")]
    Steps(usize),
    #[error("discovery: {0}")]
    Discovery(String),
    #[error("{0}")]
    Other(String),
    #[error("TenantGateway has no namespace/uid")]
    MissingMeta,
}

impl Error {
    pub fn kube(action: &'static str, kind: &'static str, ns: &str, name: &str, source: kube::Error) -> Self {
        Error::Kube {
            action,
            kind,
            namespace: ns.to_owned(),
            name: name.to_owned(),
            source: Box::new(source),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
