//! Traefik as the Gateway API implementation: one process out of cluster, reading the test API
//! server through the admin kubeconfig (`providers.kubernetesGateway`), entry points on ports 80 and
//! 443 of the namespace's private address (Gateway listener ports are matched to entry-point
//! ports), and the GatewayClass [`GATEWAY_CLASS`] it controls.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::json;
use tokio::net::TcpStream;

use crate::process::Supervised;

/// The GatewayClass the data-plane TenantGateways name in `spec.gatewayClassName`.
pub const GATEWAY_CLASS: &str = "traefik";
/// Traefik's Gateway API controller name (fixed in Traefik).
pub const CONTROLLER_NAME: &str = "traefik.io/gateway-controller";

const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The static configuration, as command-line flags.
pub fn args(address: Ipv4Addr) -> Vec<String> {
    [
        "--global.checkNewVersion=false".to_owned(),
        "--global.sendAnonymousUsage=false".to_owned(),
        "--log.level=DEBUG".to_owned(),
        format!("--entryPoints.web.address={address}:80"),
        format!("--entryPoints.websecure.address={address}:443"),
        "--providers.kubernetesGateway=true".to_owned(),
        format!("--providers.kubernetesGateway.statusAddress.ip={address}"),
    ]
    .to_vec()
}

/// A running Traefik; dropping it kills it (a reaper does so if the test process dies).
pub struct Traefik {
    process: Supervised,
    log: PathBuf,
}

impl Traefik {
    /// Creates the GatewayClass, starts `binary` against `kubeconfig` (its current context), waits
    /// until both entry points accept connections and Traefik has accepted the GatewayClass.
    pub async fn start(
        binary: &Path,
        kubeconfig: &Path,
        admin: &kube::Client,
        state_dir: &Path,
        address: Ipv4Addr,
    ) -> Result<Traefik> {
        apply_gateway_class(admin).await?;
        let log = state_dir.join("traefik.log");
        let mut process = Supervised::spawn_with_env(
            "traefik",
            binary,
            &args(address),
            &[("KUBECONFIG", kubeconfig.as_os_str())],
            log.clone(),
        )?;
        let deadline = Instant::now() + START_TIMEOUT;
        for port in [80, 443] {
            loop {
                process.ensure_running()?;
                if TcpStream::connect((address, port)).await.is_ok() {
                    break;
                }
                if Instant::now() > deadline {
                    bail!(
                        "traefik did not listen on {address}:{port} in time; log {}",
                        log.display()
                    );
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        let classes = gateway_classes(admin);
        loop {
            process.ensure_running()?;
            let gc = classes.get(GATEWAY_CLASS).await?;
            let accepted = gc.data["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Accepted" && c["status"] == "True");
            if accepted {
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "traefik did not accept GatewayClass {GATEWAY_CLASS} in time; log {}",
                    log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(Traefik { process, log })
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Fails with the log tail if Traefik has exited.
    pub fn ensure_running(&mut self) -> Result<()> {
        self.process.ensure_running()
    }

    /// The last `lines` log lines, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        self.process.log_tail(lines)
    }
}

fn gateway_classes(client: &kube::Client) -> Api<DynamicObject> {
    let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(
        "gateway.networking.k8s.io",
        "v1",
        "GatewayClass",
    ));
    Api::all_with(client.clone(), &ar)
}

async fn apply_gateway_class(client: &kube::Client) -> Result<()> {
    let gc = json!({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
        "metadata": {"name": GATEWAY_CLASS},
        "spec": {"controllerName": CONTROLLER_NAME},
    });
    gateway_classes(client)
        .patch(
            GATEWAY_CLASS,
            &PatchParams::apply("tgw-e2e-dataplane").force(),
            &Patch::Apply(&gc),
        )
        .await
        .context("applying the traefik GatewayClass")?;
    Ok(())
}
