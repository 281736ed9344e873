//! `helm uninstall` never strands TenantGateways with our finalizer (issue 21, item 3).
//!
//! 1. [`helm_uninstall_releases_our_finalizer_through_its_hooks`]: the chart is installed with
//!    the pinned helm into a real kube-apiserver (no `--wait`: there is no kubelet), two
//!    TenantGateways get our finalizer from the in-process controller (one also carries a foreign
//!    `example.com/keep`), the controller stops, and `helm uninstall` runs. Helm creates the
//!    hook's ServiceAccount, ClusterRole(Binding) and Job and waits for the Job; the test acts as
//!    the kubelet for that Job only: it reads the pod template (args, env, ServiceAccount), checks
//!    with a SelfSubjectRulesReview that the hook's identity may do exactly get/list/patch of
//!    tenantgateways, runs the freshly built `tgw-controller` binary with those args as that
//!    ServiceAccount (a TokenRequest token), and writes the Job's status Complete (as
//!    kube-controller-manager would) so helm goes on. Asserted: both hook runs (pre-delete and
//!    post-delete) succeed, helm exits 0, our finalizer is gone and `example.com/keep` stays, the
//!    Gateways are untouched, the hook objects are deleted, the CRD is kept, and deleting the
//!    TenantGateways then completes (the one with the foreign finalizer once its owner removes it).
//! 2. [`release_mode_against_the_api_server`]: `tgw_controller::uninstall` directly: a namespaced
//!    run touches one namespace only; a concurrent update between the list and the patch gives a
//!    real `409 Conflict`, which is re-read and retried (the concurrent change survives); a second
//!    run is a no-op; the binary run as an identity that may list but not patch exits 1 naming
//!    the object.

mod controller_support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use controller_support::*;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::authorization::v1::{SelfSubjectRulesReview, SelfSubjectRulesReviewSpec};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::ApiResource;
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use tgw_controller::uninstall::{self, Outcome};
use tgw_core::keys::FINALIZER;
use tgw_core::tenantgateway::TenantGateway;
use tgw_e2e::TestCluster;

const RELEASE: &str = "tgw";
const RELEASE_NS: &str = "cozy-system";
const KEEP: &str = "example.com/keep";
const CRD: &str = "tenantgateways.gateway.cozystack.io";
/// How long helm may wait for each hook Job (`helm uninstall --timeout`).
const HELM_TIMEOUT: &str = "120s";
const BINARY_TIMEOUT: Duration = Duration::from_secs(60);

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn chart_dir() -> PathBuf {
    workspace_root().join("deploy/helm/tenant-gateway")
}

/// The controller binary: `TGW_CONTROLLER_BIN`, else `cargo build -p tgw-controller` (a no-op
/// when fresh) into the target directory this test binary was built in.
fn controller_bin() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("TGW_CONTROLLER_BIN") {
        let p = PathBuf::from(p);
        anyhow::ensure!(p.is_file(), "TGW_CONTROLLER_BIN={} is not a file", p.display());
        return Ok(p);
    }
    let started = Instant::now();
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "-q", "-p", "tgw-controller", "--bin", "tgw-controller"])
        .current_dir(workspace_root())
        .status()
        .context("running cargo build -p tgw-controller")?;
    anyhow::ensure!(status.success(), "cargo build -p tgw-controller failed ({status})");
    // target/debug/deps/<test> -> target/debug/tgw-controller
    let exe = std::env::current_exe().context("locating the test binary")?;
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .context("the test binary has no target directory")?
        .join("tgw-controller");
    anyhow::ensure!(bin.is_file(), "no controller binary at {}", bin.display());
    eprintln!(
        "uninstall: controller binary {} (cargo build {:.1}s)",
        bin.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(bin)
}

fn tgw_api(client: &Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, &ApiResource::erase::<TenantGateway>(&()))
}

async fn finalizers(client: &Client, ns: &str) -> anyhow::Result<Vec<String>> {
    Ok(tgw_api(client, ns).get("cozystack").await?.finalizers().to_vec())
}

async fn set_finalizers(client: &Client, ns: &str, fs: &[&str]) -> anyhow::Result<()> {
    tgw_api(client, ns)
        .patch(
            "cozystack",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": fs}})),
        )
        .await
        .with_context(|| format!("setting finalizers of {ns}/cozystack"))?;
    Ok(())
}

/// A kubeconfig next to the cluster's with one context: the cluster's server and CA, `user`.
fn kubeconfig_with(cluster: &TestCluster, file: &str, user: Value) -> anyhow::Result<PathBuf> {
    let text = std::fs::read_to_string(cluster.kubeconfig_path())?;
    let mut doc: Value = serde_yaml::from_str(&text)?;
    let cluster_name = doc["clusters"][0]["name"].clone();
    doc["users"] = json!([{"name": "u", "user": user}]);
    doc["contexts"] = json!([{"name": "u", "context": {"cluster": cluster_name, "user": "u"}}]);
    doc["current-context"] = json!("u");
    let path = cluster.state_dir().join(file);
    std::fs::write(&path, serde_yaml::to_string(&doc)?)?;
    Ok(path)
}

/// The cluster's kubeconfig with another current context (one of the harness identities).
fn kubeconfig_as(cluster: &TestCluster, file: &str, context: &str) -> anyhow::Result<PathBuf> {
    let text = std::fs::read_to_string(cluster.kubeconfig_path())?;
    let mut doc: Value = serde_yaml::from_str(&text)?;
    doc["current-context"] = json!(context);
    let path = cluster.state_dir().join(file);
    std::fs::write(&path, serde_yaml::to_string(&doc)?)?;
    Ok(path)
}

/// A client for the current context of the kubeconfig at `path`.
async fn client_from(path: &Path) -> anyhow::Result<Client> {
    let kubeconfig = kube::config::Kubeconfig::read_from(path)?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default()).await?;
    Ok(Client::try_from(config)?)
}

struct BinRun {
    ok: bool,
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

/// Runs the controller binary with `args` and `env` against `kubeconfig`, nothing else inherited
/// that could point it elsewhere.
async fn run_bin(bin: &Path, args: &[String], env: &[(String, String)], kubeconfig: &Path) -> anyhow::Result<BinRun> {
    let started = Instant::now();
    let mut cmd = tokio::process::Command::new(bin);
    cmd.args(args).stdin(Stdio::null()).kill_on_drop(true);
    for (k, _) in std::env::vars() {
        if k.starts_with("TGW_") || k == "KUBECONFIG" || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    cmd.env("KUBECONFIG", kubeconfig);
    let out = tokio::time::timeout(BINARY_TIMEOUT, cmd.output())
        .await
        .context("the controller binary did not exit in time")?
        .with_context(|| format!("running {}", bin.display()))?;
    Ok(BinRun {
        ok: out.status.success(),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        took: started.elapsed(),
    })
}

fn helm_cmd(cluster: &TestCluster) -> anyhow::Result<tokio::process::Command> {
    let helm = tgw_e2e::versions::helm()?;
    let mut cmd = tokio::process::Command::new(helm);
    cmd.arg("--kubeconfig")
        .arg(cluster.kubeconfig_path())
        .args(["--kube-context", "admin"])
        .stdin(Stdio::null())
        .kill_on_drop(true);
    Ok(cmd)
}

/// The resource rules `client` holds in `namespace`, as `group resource verb` strings, without the
/// built-in self-review and discovery rules every authenticated user has.
async fn granted(client: &Client, namespace: &str) -> anyhow::Result<BTreeSet<String>> {
    let review = SelfSubjectRulesReview {
        spec: SelfSubjectRulesReviewSpec {
            namespace: Some(namespace.to_owned()),
        },
        ..Default::default()
    };
    let r = Api::<SelfSubjectRulesReview>::all(client.clone())
        .create(&PostParams::default(), &review)
        .await
        .context("SelfSubjectRulesReview")?;
    let status = r.status.context("SelfSubjectRulesReview without status")?;
    let mut out = BTreeSet::new();
    for rule in status.resource_rules {
        let groups = rule.api_groups.unwrap_or_default();
        if groups
            .iter()
            .any(|g| g == "authorization.k8s.io" || g == "authentication.k8s.io")
        {
            continue;
        }
        for g in &groups {
            for res in rule.resources.iter().flatten() {
                for v in &rule.verbs {
                    out.insert(format!("{g} {res} {v}"));
                }
            }
        }
    }
    Ok(out)
}

fn now() -> String {
    Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Writes what kube-controller-manager's Job controller would once the pod ended.
async fn finish_job(jobs: &Api<Job>, name: &str, started: &str, ok: bool) -> anyhow::Result<()> {
    let t = now();
    let cond = |ty: &str, reason: &str| {
        json!({"type": ty, "status": "True", "reason": reason, "message": "set by the e2e test acting as kubelet",
               "lastProbeTime": t, "lastTransitionTime": t})
    };
    let status = if ok {
        json!({"startTime": started, "completionTime": t, "succeeded": 1, "active": 0, "ready": 0,
               "conditions": [cond("SuccessCriteriaMet", "CompletionsReached"), cond("Complete", "CompletionsReached")]})
    } else {
        json!({"startTime": started, "failed": 1, "active": 0, "ready": 0,
               "conditions": [cond("FailureTarget", "BackoffLimitExceeded"), cond("Failed", "BackoffLimitExceeded")]})
    };
    jobs.patch_status(name, &PatchParams::default(), &Patch::Merge(json!({"status": status})))
        .await
        .with_context(|| format!("writing the status of Job {RELEASE_NS}/{name}"))?;
    Ok(())
}

/// One hook Job run by the test: what the binary printed.
struct HookRun {
    job: String,
    run: BinRun,
}

/// Runs one hook Job as the kubelet would: its container's args and env, as its ServiceAccount.
async fn run_hook_job(
    cluster: &TestCluster,
    admin: &Client,
    bin: &Path,
    job: &Job,
    n: usize,
    check_rbac: &[&str],
) -> anyhow::Result<HookRun> {
    let name = job.name_any();
    let started = now();
    let pod = job
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .context("Job without a pod template")?;
    let [container] = pod.containers.as_slice() else {
        anyhow::bail!("Job {name}: expected one container, got {}", pod.containers.len());
    };
    anyhow::ensure!(
        container.command.is_none(),
        "Job {name} overrides the image's entrypoint: {:?}",
        container.command
    );
    let args = container.args.clone().unwrap_or_default();
    let env: Vec<(String, String)> = container
        .env
        .iter()
        .flatten()
        .filter_map(|e| Some((e.name.clone(), e.value.clone()?)))
        .collect();
    let sa = pod
        .service_account_name
        .clone()
        .context("Job without a serviceAccountName")?;

    // The hook's identity: a bound token for its ServiceAccount, as the kubelet would mount.
    let tr = Api::<ServiceAccount>::namespaced(admin.clone(), RELEASE_NS)
        .create_token_request(
            &sa,
            &PostParams::default(),
            &TokenRequest {
                spec: TokenRequestSpec {
                    audiences: vec![],
                    expiration_seconds: Some(600),
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .await
        .with_context(|| format!("TokenRequest for {RELEASE_NS}/{sa}"))?;
    let token = tr.status.context("TokenRequest without status")?.token;
    let kubeconfig = kubeconfig_with(cluster, &format!("hook-{n}.kubeconfig"), json!({"token": token}))?;

    if !check_rbac.is_empty() {
        let client = client_from(&kubeconfig).await?;
        let want: BTreeSet<String> = ["get", "list", "patch"]
            .iter()
            .map(|v| format!("gateway.cozystack.io tenantgateways {v}"))
            .collect();
        for ns in check_rbac {
            let ns = (*ns).to_owned();
            eventually("the hook's RBAC is in effect", || {
                let (client, ns, want, sa) = (client.clone(), ns.clone(), want.clone(), sa.clone());
                async move {
                    let got = granted(&client, &ns).await?;
                    anyhow::ensure!(got == want, "rules of {sa} in {ns}: {got:?}, want exactly {want:?}");
                    Ok(true)
                }
            })
            .await?;
        }
    }

    let run = run_bin(bin, &args, &env, &kubeconfig).await?;
    eprintln!(
        "uninstall: hook Job {name} #{n} ({args:?} as {RELEASE_NS}:{sa}) exited {:?} in {:.2}s:\n{}{}",
        run.code,
        run.took.as_secs_f64(),
        run.stdout,
        run.stderr
    );
    finish_job(&Api::namespaced(admin.clone(), RELEASE_NS), &name, &started, run.ok).await?;
    Ok(HookRun { job: name, run })
}

fn job_finished(job: &Job) -> bool {
    job.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_uninstall_releases_our_finalizer_through_its_hooks() -> anyhow::Result<()> {
    let t0 = Instant::now();
    let bin = controller_bin()?;
    let cluster = TestCluster::start().await?;
    let admin = cluster.admin().await?;

    // Install (the chart's CRD included). No --wait: no Pod ever runs here.
    let out = helm_cmd(&cluster)?
        .args(["install", RELEASE])
        .arg(chart_dir())
        .args(["--namespace", RELEASE_NS, "--create-namespace"])
        .args(["--set", "image.repository=registry.invalid/tenant-gateway-controller"])
        .output()
        .await
        .context("helm install")?;
    anyhow::ensure!(
        out.status.success(),
        "helm install failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let crds: Api<CustomResourceDefinition> = Api::all(admin.clone());
    eventually("the chart's CRD established", || async {
        let c = crds.get(CRD).await?;
        Ok(c.status
            .and_then(|s| s.conditions)
            .unwrap_or_default()
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True"))
    })
    .await?;
    eprintln!("uninstall: chart installed at {:.1}s", t0.elapsed().as_secs_f64());

    // Two TenantGateways; `kept` also carries a foreign finalizer.
    let kept = namespace(&admin, "tenant-keep", &[]).await?;
    let plain = namespace(&admin, "tenant-plain", &[]).await?;
    for ns in [&kept, &plain] {
        apply_tgw(&admin, ns, json!({"apex": format!("{ns}.example.org")})).await?;
    }
    set_finalizers(&admin, &kept, &[KEEP]).await?;
    let running = start_controller(admin.clone()).await;
    for ns in [&kept, &plain] {
        eventually("the controller added its finalizer and the Gateway", || async {
            let fs = finalizers(&admin, ns).await?;
            Ok(fs.iter().any(|f| f == FINALIZER) && get_gateway(&admin, ns, "cozystack").await?.is_some())
        })
        .await?;
    }
    running.stop().await.context("stopping the controller")?;
    assert_eq!(
        finalizers(&admin, &kept).await?,
        vec![KEEP.to_owned(), FINALIZER.to_owned()]
    );
    assert_eq!(finalizers(&admin, &plain).await?, vec![FINALIZER.to_owned()]);

    // Uninstall; the test runs each hook Job helm creates until helm exits.
    let uninstall_started = Instant::now();
    let helm = helm_cmd(&cluster)?
        .args([
            "uninstall",
            RELEASE,
            "--namespace",
            RELEASE_NS,
            "--timeout",
            HELM_TIMEOUT,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting helm uninstall")?;
    let mut helm = tokio::spawn(helm.wait_with_output());
    let jobs: Api<Job> = Api::namespaced(admin.clone(), RELEASE_NS);
    let mut handled: BTreeMap<String, usize> = BTreeMap::new();
    let mut runs: Vec<HookRun> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(300);
    let helm_out = loop {
        if helm.is_finished() {
            break (&mut helm).await??;
        }
        anyhow::ensure!(Instant::now() < deadline, "helm uninstall did not finish in 300 s");
        for job in jobs.list(&ListParams::default()).await? {
            let uid = job.uid().unwrap_or_default();
            if handled.contains_key(&uid) || job_finished(&job) {
                continue;
            }
            let n = runs.len() + 1;
            handled.insert(uid, n);
            // The first run also proves the hook's RBAC is exactly get/list/patch of tenantgateways.
            let check: Vec<&str> = if n == 1 {
                vec![kept.as_str(), RELEASE_NS]
            } else {
                vec![]
            };
            runs.push(run_hook_job(&cluster, &admin, &bin, &job, n, &check).await?);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let uninstall_took = uninstall_started.elapsed();
    anyhow::ensure!(
        helm_out.status.success(),
        "helm uninstall failed ({}): {}{}",
        helm_out.status,
        String::from_utf8_lossy(&helm_out.stdout),
        String::from_utf8_lossy(&helm_out.stderr)
    );

    // Two hook runs (pre-delete, post-delete) of the same Job, both successful: the first released
    // both finalizers, the second found nothing left.
    let names: Vec<&str> = runs.iter().map(|r| r.job.as_str()).collect();
    assert_eq!(names, vec!["tgw-tenant-gateway-release-finalizers"; 2], "hook runs");
    for r in &runs {
        assert!(r.run.ok, "hook run failed: {}{}", r.run.stdout, r.run.stderr);
    }
    assert!(
        runs[0]
            .run
            .stdout
            .contains(&format!("released {FINALIZER} from 2 TenantGateway(s)")),
        "{}",
        runs[0].run.stdout
    );
    assert!(
        runs[1]
            .run
            .stdout
            .contains(&format!("released {FINALIZER} from 0 TenantGateway(s)")),
        "{}",
        runs[1].run.stdout
    );

    // Our finalizer gone, the foreign one kept; the Gateways untouched; hook objects deleted;
    // the controller's objects gone and the CRD kept.
    assert_eq!(finalizers(&admin, &kept).await?, vec![KEEP.to_owned()]);
    assert_eq!(finalizers(&admin, &plain).await?, Vec::<String>::new());
    for ns in [&kept, &plain] {
        assert!(
            get_gateway(&admin, ns, "cozystack").await?.is_some(),
            "Gateway of {ns} gone"
        );
    }
    assert!(
        jobs.list(&ListParams::default()).await?.items.is_empty(),
        "hook Job left"
    );
    let hook = "tgw-tenant-gateway-release-finalizers";
    assert!(
        Api::<ServiceAccount>::namespaced(admin.clone(), RELEASE_NS)
            .get_opt(hook)
            .await?
            .is_none()
    );
    let cr = ApiResource::erase::<k8s_openapi::api::rbac::v1::ClusterRole>(&());
    let crb = ApiResource::erase::<k8s_openapi::api::rbac::v1::ClusterRoleBinding>(&());
    for ar in [&cr, &crb] {
        let api: Api<DynamicObject> = Api::all_with(admin.clone(), ar);
        let left: Vec<String> = api
            .list(&ListParams::default().labels(&format!("app.kubernetes.io/instance={RELEASE}")))
            .await?
            .iter()
            .map(ResourceExt::name_any)
            .collect();
        assert!(left.is_empty(), "{} left after uninstall: {left:?}", ar.kind);
    }
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> = Api::namespaced(admin.clone(), RELEASE_NS);
    assert!(deployments.list(&ListParams::default()).await?.items.is_empty());
    assert!(crds.get_opt(CRD).await?.is_some(), "the CRD was deleted");

    // Without a controller, deleting the TenantGateways completes: at once for `plain`, and for
    // `kept` as soon as the other finalizer's owner lets go.
    let dp = DeleteParams::default();
    tgw_api(&admin, &plain).delete("cozystack", &dp).await?;
    eventually("the TenantGateway without finalizers is gone", || async {
        Ok(tgw_api(&admin, &plain).get_opt("cozystack").await?.is_none())
    })
    .await?;
    tgw_api(&admin, &kept).delete("cozystack", &dp).await?;
    let left = tgw_api(&admin, &kept).get("cozystack").await?;
    assert!(left.metadata.deletion_timestamp.is_some());
    assert_eq!(
        left.finalizers(),
        [KEEP.to_owned()],
        "only the foreign finalizer holds it"
    );
    set_finalizers(&admin, &kept, &[]).await?;
    eventually("the TenantGateway is gone once example.com/keep is removed", || async {
        Ok(tgw_api(&admin, &kept).get_opt("cozystack").await?.is_none())
    })
    .await?;

    eprintln!(
        "uninstall: helm uninstall with {} hook runs took {:.1}s (binary {:.2}s + {:.2}s); total {:.1}s",
        runs.len(),
        uninstall_took.as_secs_f64(),
        runs[0].run.took.as_secs_f64(),
        runs[1].run.took.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_mode_against_the_api_server() -> anyhow::Result<()> {
    let t0 = Instant::now();
    let bin = controller_bin()?;
    let (cluster, admin) = cluster().await?;
    let a = namespace(&admin, "tenant-rel-a", &[]).await?;
    let b = namespace(&admin, "tenant-rel-b", &[]).await?;
    let c = namespace(&admin, "tenant-rel-c", &[]).await?;
    for ns in [&a, &b, &c] {
        apply_tgw(&admin, ns, json!({"apex": format!("{ns}.example.org")})).await?;
    }
    set_finalizers(&admin, &a, &[FINALIZER]).await?;
    set_finalizers(&admin, &b, &[KEEP, FINALIZER, "example.com/other"]).await?;

    // A namespaced run touches its namespace only.
    let s = uninstall::release_all(&admin, &a).await?;
    assert!(s.ok(), "{}", s.render("a"));
    assert_eq!(s.released, vec![(format!("{a}/cozystack"), vec![])]);
    assert_eq!(finalizers(&admin, &a).await?, Vec::<String>::new());
    assert_eq!(
        finalizers(&admin, &b).await?,
        vec![KEEP.to_owned(), FINALIZER.to_owned(), "example.com/other".to_owned()]
    );

    // A writer changes `b` between the list and the patch: the guarded patch gets a real 409, the
    // object is re-read and released on the second attempt; the other writer's change stays.
    let observed = tgw_api(&admin, &b).get("cozystack").await?;
    tgw_api(&admin, &b)
        .patch(
            "cozystack",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"example.com/touched": "yes"}}})),
        )
        .await?;
    let outcome = uninstall::release_one(&admin, observed)
        .await
        .map_err(|f| anyhow::anyhow!("{}: {}", f.object, f.error))?;
    assert_eq!(
        outcome,
        Outcome::Released {
            attempts: 2,
            kept: vec![KEEP.to_owned(), "example.com/other".to_owned()]
        }
    );
    let now_b = tgw_api(&admin, &b).get("cozystack").await?;
    assert_eq!(now_b.finalizers(), [KEEP.to_owned(), "example.com/other".to_owned()]);
    assert_eq!(
        now_b.labels().get("example.com/touched").map(String::as_str),
        Some("yes")
    );

    // Cluster-wide: `c` only; then nothing is left (idempotent).
    set_finalizers(&admin, &c, &[FINALIZER]).await?;
    let s = uninstall::release_all(&admin, "").await?;
    assert_eq!(
        (s.released.len(), s.conflicts, s.untouched, s.failed.len()),
        (1, 0, 2, 0),
        "{}",
        s.render("all")
    );
    let s = uninstall::release_all(&admin, "").await?;
    assert_eq!(
        (s.released.len(), s.untouched, s.ok()),
        (0, 3, true),
        "{}",
        s.render("all")
    );

    // The binary as an identity that may list but not patch: exit 1, naming the object.
    set_finalizers(&admin, &c, &[FINALIZER]).await?;
    let roles: Api<k8s_openapi::api::rbac::v1::ClusterRole> = Api::all(admin.clone());
    roles
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "metadata": {"name": "tgw-e2e-list-only"},
                "rules": [{"apiGroups": ["gateway.cozystack.io"], "resources": ["tenantgateways"], "verbs": ["get", "list"]}]
            }))?,
        )
        .await?;
    let bindings: Api<k8s_openapi::api::rbac::v1::ClusterRoleBinding> = Api::all(admin.clone());
    bindings
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "metadata": {"name": "tgw-e2e-list-only"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "tgw-e2e-list-only"},
                "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "tenant-test"}]
            }))?,
        )
        .await?;
    let kc = kubeconfig_as(&cluster, "tenant.kubeconfig", "tenant")?;
    let mut run = run_bin(&bin, &["release-finalizers".to_owned()], &[], &kc).await?;
    for _ in 0..20 {
        // RBAC reaches the authorizer's cache within moments; until then the list is forbidden.
        if !run.stderr.contains("listing TenantGateways") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        run = run_bin(&bin, &["release-finalizers".to_owned()], &[], &kc).await?;
    }
    eprintln!(
        "uninstall: list-only identity: exit {:?}\n{}{}",
        run.code, run.stdout, run.stderr
    );
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    let object = format!("{c}/cozystack");
    assert!(
        run.stderr.contains(&format!("still carry {FINALIZER}: {object}")),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains(&format!("FAILED {object}")) && run.stdout.contains("forbidden"),
        "{}",
        run.stdout
    );
    assert_eq!(finalizers(&admin, &c).await?, vec![FINALIZER.to_owned()]);

    // The same binary as admin releases it and exits 0; a second run too.
    let kc = kubeconfig_as(&cluster, "admin.kubeconfig", "admin")?;
    for want in [1, 0] {
        let run = run_bin(&bin, &["release-finalizers".to_owned()], &[], &kc).await?;
        assert!(run.ok, "{}{}", run.stdout, run.stderr);
        assert!(
            run.stdout
                .contains(&format!("released {FINALIZER} from {want} TenantGateway(s)")),
            "{}",
            run.stdout
        );
    }
    assert_eq!(finalizers(&admin, &c).await?, Vec::<String>::new());
    eprintln!("uninstall: release mode checks took {:.1}s", t0.elapsed().as_secs_f64());
    Ok(())
}
