//! End-to-end test support for tenant-gateway: a real local Kubernetes control plane (etcd and
//! kube-apiserver built from the Go module proxy by `e2e/scripts/build-control-plane.sh`) with the
//! Gateway API and cert-manager CRDs, identities for RBAC tests, and small helpers.
//! See e2e/CONTROL-PLANE.md.

pub mod acme;
mod cluster;
mod crds;
pub mod dataplane;
pub mod fault_webhook;
mod identity;
mod kubeconfig;
mod namespace;
mod ports;
pub mod process;
pub mod report;
pub mod tls_server;
pub mod versions;
mod wait;
pub mod webhook;

pub use cluster::TestCluster;
pub use crds::FIELD_MANAGER;
pub use identity::Identity;
pub use namespace::with_temp_ns;
pub use wait::await_condition;
