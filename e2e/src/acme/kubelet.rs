//! The kubelet for cert-manager's HTTP-01 solver Pods, and only for them (none runs here): for
//! every Pod labelled `acme.cert-manager.io/http01-solver`, it runs cert-manager's own
//! `acmesolver` (built with the controller) with the Pod's arguments, on a free port of the
//! namespace's address instead of the Pod's 8089, and publishes that address and port in an
//! EndpointSlice for each solver Service selecting the Pod (no kube-controller-manager writes
//! them), as the data-plane suite publishes its backends. A Pod that goes away takes its process
//! and EndpointSlices with it. Polls every 250 ms while it lives.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::{Client, ResourceExt};
use serde_json::json;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use super::pebble::free_port;
use crate::process::ManagedProcess;

/// The label cert-manager puts on solver Pods and Services.
pub const SOLVER_LABEL: &str = "acme.cert-manager.io/http01-solver";
const FIELD_MANAGER: &str = "tgw-e2e-solver-kubelet";
const POLL: Duration = Duration::from_millis(250);
const LISTEN_TIMEOUT: Duration = Duration::from_secs(5);

/// What the kubelet did, for the report.
#[derive(Debug, Clone, Default)]
pub struct KubeletLog {
    /// `ns/pod domain=<domain> port=<port>` per solver started.
    pub started: Vec<String>,
    /// `ns/slice -> address:port` per EndpointSlice written.
    pub published: Vec<String>,
    pub errors: Vec<String>,
}

/// The running kubelet; stops (and kills its solvers) when dropped.
pub struct SolverKubelet {
    log: Arc<Mutex<KubeletLog>>,
    task: JoinHandle<()>,
}

struct Solver {
    ns: String,
    port: u16,
    slices: BTreeSet<String>,
    _process: ManagedProcess,
}

struct Kubelet {
    client: Client,
    acmesolver: PathBuf,
    address: Ipv4Addr,
    log_dir: PathBuf,
    log: Arc<Mutex<KubeletLog>>,
    solvers: HashMap<String, Solver>,
}

impl SolverKubelet {
    pub fn start(client: Client, acmesolver: &Path, address: Ipv4Addr, log_dir: &Path) -> SolverKubelet {
        let log = Arc::new(Mutex::new(KubeletLog::default()));
        let mut k = Kubelet {
            client,
            acmesolver: acmesolver.to_owned(),
            address,
            log_dir: log_dir.to_owned(),
            log: Arc::clone(&log),
            solvers: HashMap::new(),
        };
        let task = tokio::spawn(async move {
            loop {
                if let Err(e) = k.tick().await {
                    k.note(|l| l.errors.push(format!("{e:#}")));
                }
                tokio::time::sleep(POLL).await;
            }
        });
        SolverKubelet { log, task }
    }

    pub fn log(&self) -> KubeletLog {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Drop for SolverKubelet {
    fn drop(&mut self) {
        // Dropping the task's state kills every solver process.
        self.task.abort();
    }
}

impl Kubelet {
    fn note(&self, f: impl FnOnce(&mut KubeletLog)) {
        if let Ok(mut l) = self.log.lock() {
            f(&mut l);
        }
    }

    async fn tick(&mut self) -> Result<()> {
        let pods = Api::<Pod>::all(self.client.clone())
            .list(&ListParams::default().labels(SOLVER_LABEL))
            .await
            .context("listing solver Pods")?;
        let mut live = BTreeSet::new();
        for pod in pods.items.iter().filter(|p| p.metadata.deletion_timestamp.is_none()) {
            let uid = pod.uid().unwrap_or_default();
            live.insert(uid.clone());
            if !self.solvers.contains_key(&uid) {
                let solver = self.run_pod(pod).await?;
                self.solvers.insert(uid.clone(), solver);
            }
            self.publish(pod, &uid).await?;
        }
        let gone: Vec<String> = self.solvers.keys().filter(|u| !live.contains(*u)).cloned().collect();
        for uid in gone {
            if let Some(s) = self.solvers.remove(&uid) {
                let api = Api::<EndpointSlice>::namespaced(self.client.clone(), &s.ns);
                for slice in &s.slices {
                    let _ = api.delete(slice, &DeleteParams::default()).await;
                }
            }
        }
        Ok(())
    }

    /// Starts `acmesolver` with the Pod's arguments on a free port; waits until it listens.
    async fn run_pod(&self, pod: &Pod) -> Result<Solver> {
        let (ns, name) = (pod.namespace().unwrap_or_default(), pod.name_any());
        let args: Vec<String> = pod
            .spec
            .as_ref()
            .and_then(|s| s.containers.first())
            .and_then(|c| c.args.clone())
            .with_context(|| format!("solver Pod {ns}/{name} has no container arguments"))?;
        let port = free_port(self.address)?;
        let args: Vec<String> = args
            .into_iter()
            .filter(|a| !a.starts_with("--listen-port"))
            .chain([format!("--listen-port={port}")])
            .collect();
        let domain = args
            .iter()
            .find_map(|a| a.strip_prefix("--domain="))
            .unwrap_or("?")
            .to_owned();
        let log = self.log_dir.join(format!("acmesolver-{ns}-{name}.log"));
        let mut process = ManagedProcess::spawn("acmesolver", &self.acmesolver, &args, log)?;
        let deadline = Instant::now() + LISTEN_TIMEOUT;
        while TcpStream::connect((self.address, port)).await.is_err() {
            process.ensure_running()?;
            anyhow::ensure!(
                Instant::now() < deadline,
                "acmesolver for {ns}/{name} did not listen on {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.note(|l| l.started.push(format!("{ns}/{name} domain={domain} port={port}")));
        Ok(Solver {
            ns,
            port,
            slices: BTreeSet::new(),
            _process: process,
        })
    }

    /// Writes an EndpointSlice for every solver Service of the Pod's namespace whose selector
    /// the Pod matches (cert-manager creates the Service after the Pod).
    async fn publish(&mut self, pod: &Pod, uid: &str) -> Result<()> {
        let Some(solver) = self.solvers.get(uid) else {
            return Ok(());
        };
        let (ns, port, known) = (solver.ns.clone(), solver.port, solver.slices.clone());
        let labels: BTreeMap<String, String> = pod.labels().clone();
        let services = Api::<Service>::namespaced(self.client.clone(), &ns)
            .list(&ListParams::default().labels(SOLVER_LABEL))
            .await
            .context("listing solver Services")?;
        for svc in services.items {
            let name = svc.name_any();
            let spec = svc.spec.unwrap_or_default();
            let selects = spec
                .selector
                .as_ref()
                .is_some_and(|s| !s.is_empty() && s.iter().all(|(k, v)| labels.get(k) == Some(v)));
            if !selects || known.contains(&name) {
                continue;
            }
            let port_name = spec.ports.unwrap_or_default().first().and_then(|p| p.name.clone());
            let slice: EndpointSlice = serde_json::from_value(json!({
                "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"name": name, "namespace": ns, "labels": {"kubernetes.io/service-name": name}},
                "addressType": "IPv4",
                "endpoints": [{"addresses": [self.address.to_string()], "conditions": {"ready": true, "serving": true}}],
                "ports": [{"name": port_name, "port": port, "protocol": "TCP"}],
            }))?;
            Api::<EndpointSlice>::namespaced(self.client.clone(), &ns)
                .patch(&name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&slice))
                .await
                .with_context(|| format!("applying EndpointSlice {ns}/{name}"))?;
            let address = self.address;
            self.note(|l| l.published.push(format!("{ns}/{name} -> {address}:{port}")));
            if let Some(s) = self.solvers.get_mut(uid) {
                s.slices.insert(name);
            }
        }
        Ok(())
    }
}
