//! A throw-away control plane: etcd and kube-apiserver on free loopback ports with state in a
//! temporary directory, the Gateway API and cert-manager CRDs installed. Fault tests kill and
//! restart either process ([`TestCluster::kill_apiserver`], [`TestCluster::start_etcd`], ...) and
//! compact etcd ([`TestCluster::compact_etcd`]).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
    /// How each process was started, to start it again the same way (same ports, data, certs).
    apiserver_cmd: Launch,
    etcd_cmd: Launch,
    /// `http://127.0.0.1:<port>`: etcd's client URL (also its v3 HTTP/JSON gateway).
    etcd_url: String,
}

/// A child's program, arguments and log file; restarts keep earlier logs as `<log>.<n>`.
struct Launch {
    name: &'static str,
    program: PathBuf,
    args: Vec<String>,
    log: PathBuf,
    starts: u32,
}

impl Launch {
    fn spawn(&mut self) -> anyhow::Result<ManagedProcess> {
        if self.starts > 0 && self.log.exists() {
            let kept = self.log.with_extension(format!("log.{}", self.starts));
            std::fs::rename(&self.log, &kept).with_context(|| format!("keeping {}", self.log.display()))?;
        }
        self.starts += 1;
        ManagedProcess::spawn(self.name, &self.program, &self.args, self.log.clone())
    }
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
        let mut etcd_cmd = Launch {
            name: "etcd",
            program: artefacts.etcd.clone(),
            args: etcd_args,
            log: dir.path().join("etcd.log"),
            starts: 0,
        };
        let mut etcd = etcd_cmd.spawn()?;
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
        let mut apiserver_cmd = Launch {
            name: "kube-apiserver",
            program: artefacts.kube_apiserver.clone(),
            args: api_args,
            log: dir.path().join("kube-apiserver.log"),
            starts: 0,
        };
        let mut apiserver = apiserver_cmd.spawn()?;
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
            apiserver_cmd,
            etcd_cmd,
            etcd_url,
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

    /// etcd's client URL, `http://127.0.0.1:<port>` (it also serves the v3 HTTP/JSON gateway).
    pub fn etcd_url(&self) -> &str {
        &self.etcd_url
    }

    /// SIGKILLs kube-apiserver (as a crash or an OOM kill would) and waits until it is gone.
    /// Clients keep working once [`TestCluster::start_apiserver`] has brought it back.
    pub async fn kill_apiserver(&mut self) -> anyhow::Result<()> {
        Self::kill(&mut self.apiserver, &mut self.reaper, &self.dir, &mut [&mut self.etcd]).await
    }

    /// Starts kube-apiserver again with the same arguments: same port, certificates (kept in the
    /// cert dir), tokens and etcd, so the kubeconfig stays valid. Waits until `/readyz` is ok.
    pub async fn start_apiserver(&mut self) -> anyhow::Result<()> {
        anyhow::ensure!(self.apiserver.exited()?.is_some(), "kube-apiserver is still running");
        self.apiserver = self.apiserver_cmd.spawn()?;
        self.reaper.watch_pid(self.apiserver.pid())?;
        self.wait_ready().await
    }

    /// SIGKILLs etcd and waits until it is gone (kube-apiserver keeps running, failing).
    pub async fn kill_etcd(&mut self) -> anyhow::Result<()> {
        Self::kill(&mut self.etcd, &mut self.reaper, &self.dir, &mut [&mut self.apiserver]).await
    }

    /// Starts etcd again with the same data directory and ports; waits until etcd is healthy
    /// and, if kube-apiserver runs, until its `/readyz` is ok again.
    pub async fn start_etcd(&mut self) -> anyhow::Result<()> {
        anyhow::ensure!(self.etcd.exited()?.is_some(), "etcd is still running");
        self.etcd = self.etcd_cmd.spawn()?;
        self.reaper.watch_pid(self.etcd.pid())?;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            self.etcd.ensure_running()?;
            if let Ok((200, body)) = etcd_http(&self.etcd_url, "GET", "/health", None).await
                && body.contains("\"health\":\"true\"")
            {
                break;
            }
            anyhow::ensure!(Instant::now() < deadline, "etcd not healthy in time after its restart");
            tokio::time::sleep(POLL).await;
        }
        if self.apiserver.exited()?.is_none() {
            self.wait_ready().await?;
        }
        Ok(())
    }

    /// Compacts etcd's history up to its current revision (through its v3 HTTP/JSON gateway),
    /// as kube-apiserver's periodic compaction does: a watch or list from an older
    /// resourceVersion that reaches etcd then fails with 410 Gone. Returns the revision.
    pub async fn compact_etcd(&self) -> anyhow::Result<i64> {
        // Any range read answers with the store's current revision in its header.
        let (status, body) = etcd_http(&self.etcd_url, "POST", "/v3/kv/range", Some(r#"{"key":"AA=="}"#)).await?;
        anyhow::ensure!(status == 200, "etcd range read answered {status}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).with_context(|| format!("etcd range read: {body}"))?;
        let revision: i64 = v["header"]["revision"]
            .as_str()
            .and_then(|r| r.parse().ok())
            .with_context(|| format!("no revision in etcd's answer: {body}"))?;
        let req = serde_json::json!({"revision": revision.to_string(), "physical": true}).to_string();
        let (status, body) = etcd_http(&self.etcd_url, "POST", "/v3/kv/compaction", Some(&req)).await?;
        anyhow::ensure!(status == 200, "etcd compaction at {revision} answered {status}: {body}");
        Ok(revision)
    }

    /// Waits until kube-apiserver answers `/readyz` with ok (fails early if a process exited).
    pub async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let admin = self.admin().await?;
        wait_ready(
            &admin,
            &mut [&mut self.etcd, &mut self.apiserver],
            Instant::now() + START_TIMEOUT,
        )
        .await
    }

    /// SIGKILLs `victim`, takes it off the watchdog's list, then reaps it. Until it is reaped
    /// its pid cannot be reused, so the old watchdog never kills an unrelated process; the new
    /// one watches the state directory and the processes still running (`others`).
    async fn kill(
        victim: &mut ManagedProcess,
        reaper: &mut Reaper,
        dir: &TempDir,
        others: &mut [&mut ManagedProcess],
    ) -> anyhow::Result<()> {
        anyhow::ensure!(victim.exited()?.is_none(), "already stopped");
        let out = std::process::Command::new("kill")
            .args(["-KILL", &victim.pid().to_string()])
            .output()
            .context("running kill")?;
        anyhow::ensure!(
            out.status.success(),
            "kill failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut fresh = Reaper::spawn()?;
        fresh.watch_dir(dir.path())?;
        for p in others.iter_mut() {
            if p.exited()?.is_none() {
                fresh.watch_pid(p.pid())?;
            }
        }
        std::mem::replace(reaper, fresh).disarm();
        let deadline = Instant::now() + Duration::from_secs(10);
        while victim.exited()?.is_none() {
            anyhow::ensure!(Instant::now() < deadline, "the killed process did not exit");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(())
    }
}

/// One HTTP/1.0 request to etcd's plain-HTTP client port: (status, body).
async fn etcd_http(base: &str, method: &str, path: &str, body: Option<&str>) -> anyhow::Result<(u16, String)> {
    let authority = base.strip_prefix("http://").context("etcd URL is not http://")?;
    let mut stream = tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(authority))
        .await
        .context("connecting to etcd: timed out")?
        .with_context(|| format!("connecting to etcd at {authority}"))?;
    let body = body.unwrap_or("");
    let req = format!(
        "{method} {path} HTTP/1.0\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        stream.write_all(req.as_bytes()).await?;
        stream.read_to_end(&mut answer).await
    })
    .await
    .context("etcd request timed out")?
    .context("talking to etcd")?;
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("no HTTP status in etcd's answer: {head}"))?;
    Ok((status, body.to_owned()))
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
