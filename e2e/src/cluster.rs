//! A throw-away control plane: etcd and kube-apiserver on free loopback ports with state in a
//! temporary directory, the Gateway API and cert-manager CRDs installed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;

use crate::identity::{self, Identity};
use crate::kubeconfig;
use crate::ports::free_ports;
use crate::process::{ManagedProcess, Reaper, TempDir};
use crate::versions::Artefacts;

const START_TIMEOUT: Duration = Duration::from_secs(90);
const CRD_TIMEOUT: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(100);
const START_ATTEMPTS: u32 = 3;

/// A running control plane. Dropping it (also while a test panics) kills etcd and kube-apiserver
/// and removes their state; if the process dies without dropping it, a watchdog does the same.
///
/// Clients are bound to the tokio runtime that created them: with one cluster shared by several
/// `#[tokio::test]`s, call [`TestCluster::client`] in each test rather than sharing a client.
pub struct TestCluster {
    // Fields drop in this order: the watchdog is disarmed, the processes are killed and waited
    // for, then the directory is removed.
    reaper: Reaper,
    apiserver: ManagedProcess,
    etcd: ManagedProcess,
    dir: TempDir,
    kubeconfig: PathBuf,
    server_url: String,
    crds: Vec<String>,
}

impl TestCluster {
    /// Starts a control plane from the cached binaries (`TGW_K8S_BIN_DIR` overrides their
    /// directory) and installs the CRDs. Fails naming the build script if something is missing.
    pub async fn start() -> anyhow::Result<TestCluster> {
        let artefacts = Artefacts::locate()?;
        let started = Instant::now();
        let mut attempt = 1;
        let cluster = loop {
            match Self::start_once(&artefacts).await {
                Ok(cluster) => break cluster,
                // A port picked as free can be taken by another process before the child binds it.
                Err(e) if attempt < START_ATTEMPTS && format!("{e:#}").contains("address already in use") => {
                    eprintln!("tgw-e2e: port clash while starting the control plane, retrying: {e:#}");
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        };
        eprintln!(
            "tgw-e2e: control plane ready at {} in {:.1}s ({} CRDs), kubeconfig {}",
            cluster.server_url,
            started.elapsed().as_secs_f64(),
            cluster.crds.len(),
            cluster.kubeconfig.display()
        );
        Ok(cluster)
    }

    async fn start_once(artefacts: &Artefacts) -> anyhow::Result<TestCluster> {
        let dir = TempDir::new("tgw-e2e-")?;
        let mut reaper = Reaper::spawn()?;
        reaper.watch_dir(dir.path())?;
        let [etcd_port, peer_port, api_port] = free_ports(3)?[..] else {
            anyhow::bail!("free_ports returned the wrong number of ports");
        };

        let etcd_url = format!("http://127.0.0.1:{etcd_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        let etcd_args = vec![
            "--name=tgw-e2e".to_owned(),
            format!("--data-dir={}", dir.path().join("etcd").display()),
            format!("--listen-client-urls={etcd_url}"),
            format!("--advertise-client-urls={etcd_url}"),
            format!("--listen-peer-urls={peer_url}"),
            format!("--initial-advertise-peer-urls={peer_url}"),
            format!("--initial-cluster=tgw-e2e={peer_url}"),
            "--unsafe-no-fsync".to_owned(),
            "--log-level=warn".to_owned(),
        ];
        let mut etcd = ManagedProcess::spawn("etcd", &artefacts.etcd, &etcd_args, dir.path().join("etcd.log"))?;
        reaper.watch_pid(etcd.pid())?;

        let tokens = identity::new_tokens()?;
        let token_file = dir.path().join("tokens.csv");
        identity::write_token_file(&token_file, &tokens)?;
        let sa_key = dir.path().join("sa.key");
        generate_rsa_key(&sa_key)?;
        let cert_dir = dir.path().join("pki");

        let api_args = vec![
            format!("--etcd-servers={etcd_url}"),
            "--bind-address=127.0.0.1".to_owned(),
            "--advertise-address=127.0.0.1".to_owned(),
            format!("--secure-port={api_port}"),
            format!("--cert-dir={}", cert_dir.display()),
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local".to_owned(),
            format!("--service-account-key-file={}", sa_key.display()),
            format!("--service-account-signing-key-file={}", sa_key.display()),
            "--service-cluster-ip-range=10.0.0.0/24".to_owned(),
            "--authorization-mode=RBAC".to_owned(),
            format!("--token-auth-file={}", token_file.display()),
            "--disable-admission-plugins=ServiceAccount".to_owned(),
            "--allow-privileged=true".to_owned(),
            "--profiling=false".to_owned(),
        ];
        let mut apiserver = ManagedProcess::spawn(
            "kube-apiserver",
            &artefacts.kube_apiserver,
            &api_args,
            dir.path().join("kube-apiserver.log"),
        )?;
        reaper.watch_pid(apiserver.pid())?;

        let deadline = Instant::now() + START_TIMEOUT;
        let ca_pem = wait_for_serving_cert(
            &cert_dir.join("apiserver.crt"),
            &mut [&mut etcd, &mut apiserver],
            deadline,
        )
        .await?;
        let server_url = format!("https://127.0.0.1:{api_port}");
        let kubeconfig = dir.path().join("kubeconfig");
        kubeconfig::write(&kubeconfig, &server_url, &ca_pem, &tokens)?;

        let admin = kubeconfig::client(&kubeconfig, Identity::Admin).await?;
        wait_ready(&admin, &mut [&mut etcd, &mut apiserver], deadline).await?;
        let remaining = deadline.saturating_duration_since(Instant::now());
        crate::wait::await_condition(
            Api::<Namespace>::all(admin.clone()),
            "default",
            |ns| ns.is_some(),
            remaining,
        )
        .await
        .context("waiting for the default namespace")?;

        let crds = crate::crds::install(&admin, crate::crds::load(&artefacts.crd_dirs)?, CRD_TIMEOUT)
            .await
            .context("installing CRDs")?;

        Ok(TestCluster {
            reaper,
            apiserver,
            etcd,
            dir,
            kubeconfig,
            server_url,
            crds,
        })
    }

    /// The kubeconfig with contexts `admin` (current), `tenant`, `flux` and `controller`.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// A new client acting as `id`.
    pub async fn client(&self, id: Identity) -> anyhow::Result<kube::Client> {
        kubeconfig::client(&self.kubeconfig, id).await
    }

    /// A new client acting as [`Identity::Admin`] (`system:masters`).
    pub async fn admin(&self) -> anyhow::Result<kube::Client> {
        self.client(Identity::Admin).await
    }

    /// `https://127.0.0.1:<port>`.
    pub fn server_url(&self) -> &str {
        &self.server_url
    }

    /// Names of the installed CRDs, sorted.
    pub fn crd_names(&self) -> &[String] {
        &self.crds
    }

    /// The temporary directory holding state and the `etcd.log` / `kube-apiserver.log` files.
    pub fn state_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Fails with the log tail if etcd or kube-apiserver has exited.
    pub fn ensure_running(&mut self) -> anyhow::Result<()> {
        self.etcd.ensure_running()?;
        self.apiserver.ensure_running()
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        // Orderly shutdown: the fields' own destructors kill the processes and remove the state.
        self.reaper.disarm();
    }
}

fn generate_rsa_key(path: &Path) -> anyhow::Result<()> {
    let out = std::process::Command::new("openssl")
        .args(["genrsa", "-out"])
        .arg(path)
        .arg("2048")
        .output()
        .context("running `openssl genrsa` for the service-account key (is openssl installed?)")?;
    anyhow::ensure!(
        out.status.success(),
        "openssl genrsa failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// kube-apiserver writes its self-signed serving certificate followed by its CA to
/// `<cert-dir>/apiserver.crt` before serving; both are trusted by the kubeconfig.
async fn wait_for_serving_cert(
    path: &Path,
    procs: &mut [&mut ManagedProcess],
    deadline: Instant,
) -> anyhow::Result<Vec<u8>> {
    loop {
        for p in procs.iter_mut() {
            p.ensure_running()?;
        }
        if let Ok(pem) = std::fs::read(path)
            && pem.trim_ascii_end().ends_with(b"-----END CERTIFICATE-----")
        {
            return Ok(pem);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "kube-apiserver wrote no serving certificate to {} in time",
            path.display()
        );
        tokio::time::sleep(POLL).await;
    }
}

async fn wait_ready(client: &kube::Client, procs: &mut [&mut ManagedProcess], deadline: Instant) -> anyhow::Result<()> {
    loop {
        for p in procs.iter_mut() {
            p.ensure_running()?;
        }
        let req = http::Request::get("/readyz")
            .body(Vec::new())
            .context("building the /readyz request")?;
        let last = match client.request_text(req).await {
            Ok(body) if body.trim() == "ok" => return Ok(()),
            Ok(body) => body,
            Err(e) => e.to_string(),
        };
        if Instant::now() >= deadline {
            anyhow::bail!("kube-apiserver not ready in time; last /readyz answer: {last}");
        }
        tokio::time::sleep(POLL * 2).await;
    }
}
