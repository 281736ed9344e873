//! The policy through the real API server: kube-apiserver sends real AdmissionReviews (real
//! userInfo, oldObject, server-side apply, every version) to a webhook that runs the annotated
//! module with the project's waPC runtime; Namespace lookups are answered from the live cluster.
//! Needs `make policy` first (policy/annotated-policy.wasm, or TGW_POLICY_WASM).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::api::{ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::{Value, json};
use tgw_e2e::webhook::{PolicyWebhook, register};
use tgw_e2e::{Identity, TestCluster};

const MANAGER: &str = "tgw-e2e-admission";
const WEBHOOK: &str = "tenant-gateway-e2e";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn policy_wasm() -> Result<Vec<u8>> {
    let path = std::env::var_os("TGW_POLICY_WASM")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("policy/annotated-policy.wasm"));
    std::fs::read(&path).with_context(|| format!("reading {} (run `make policy` first)", path.display()))
}

fn api(client: &Client, group: &str, version: &str, kind: &str, ns: Option<&str>) -> Api<DynamicObject> {
    let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
    match ns {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
        None => Api::all_with(client.clone(), &ar),
    }
}

fn object(group: &str, version: &str, kind: &str, name: &str, ns: &str, spec: Value) -> Result<DynamicObject> {
    let api_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Ok(serde_json::from_value(json!({
        "apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": ns}, "spec": spec
    }))?)
}

/// Creates the object as `client`; `Ok(None)` when admitted, `Ok(Some(message))` when denied.
async fn create(client: &Client, obj: DynamicObject) -> Result<Option<String>> {
    let gvk = obj.types.clone().context("object without apiVersion/kind")?;
    let (group, version) = gvk
        .api_version
        .rsplit_once('/')
        .unwrap_or(("", gvk.api_version.as_str()));
    let ns = obj.metadata.namespace.clone();
    let api = api(client, group, version, &gvk.kind, ns.as_deref());
    match api.create(&PostParams::default(), &obj).await {
        Ok(_) => Ok(None),
        Err(kube::Error::Api(status)) if status.code == 400 || status.code == 403 || status.code == 422 => {
            Ok(Some(status.message))
        }
        Err(e) => Err(e.into()),
    }
}

fn route_spec(hostnames: Option<&[&str]>) -> Value {
    let mut spec = json!({"parentRefs": [{"name": "cozystack", "namespace": "tenant-root"}]});
    if let Some(h) = hostnames {
        spec["hostnames"] = json!(h);
    }
    spec
}

fn expect_denied(what: &str, outcome: Option<String>, phrases: &[&str]) -> Result<()> {
    let Some(message) = outcome else {
        bail!("{what}: admitted, expected a denial")
    };
    for p in phrases {
        if !message.contains(p) {
            bail!("{what}: denial {message:?} does not contain {p:?}");
        }
    }
    Ok(())
}

fn expect_admitted(what: &str, outcome: Option<String>) -> Result<()> {
    match outcome {
        None => Ok(()),
        Some(m) => bail!("{what}: denied with {m:?}, expected admission"),
    }
}

async fn setup_cluster(admin: &Client) -> Result<()> {
    let namespaces: Api<Namespace> = Api::all(admin.clone());
    for (name, labels) in [
        ("tenant-root", json!({"namespace.cozystack.io/host": "example.org"})),
        (
            "tenant-test",
            json!({"namespace.cozystack.io/host": "test.example.org", "namespace.cozystack.io/gateway": "tenant-root"}),
        ),
    ] {
        let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}}))?;
        namespaces
            .patch(name, &PatchParams::apply(MANAGER).force(), &Patch::Apply(&ns))
            .await?;
    }
    // Grant every identity the verbs the checks use, so RBAC never answers before admission.
    let role: ClusterRole = serde_json::from_value(json!({
        "metadata": {"name": "tgw-e2e-writer"},
        "rules": [
            {"apiGroups": ["gateway.networking.k8s.io"], "resources": ["*"], "verbs": ["*"]},
            {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"], "verbs": ["*"]},
            {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "patch", "update"]}
        ]
    }))?;
    Api::<ClusterRole>::all(admin.clone())
        .patch(
            "tgw-e2e-writer",
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&role),
        )
        .await?;
    let subjects: Vec<Value> = [Identity::Tenant, Identity::Flux, Identity::Controller]
        .iter()
        .map(|id| json!({"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": id.username()}))
        .collect();
    let binding: ClusterRoleBinding = serde_json::from_value(json!({
        "metadata": {"name": "tgw-e2e-writer"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "tgw-e2e-writer"},
        "subjects": subjects
    }))?;
    Api::<ClusterRoleBinding>::all(admin.clone())
        .patch(
            "tgw-e2e-writer",
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&binding),
        )
        .await?;
    Ok(())
}

async fn register_webhook(admin: &Client, webhook: &PolicyWebhook) -> Result<()> {
    register(
        admin,
        WEBHOOK,
        webhook.url(),
        webhook.ca_pem(),
        &repo().join("deploy/policy"),
    )
    .await
}

/// The API server picks up webhook configurations asynchronously; probe until a hijack is denied.
async fn wait_until_enforced(tenant: &Client) -> Result<()> {
    for attempt in 0..60 {
        let probe = object(
            "gateway.networking.k8s.io",
            "v1",
            "HTTPRoute",
            &format!("probe-{attempt}"),
            "tenant-test",
            route_spec(Some(&["probe.attacker.com"])),
        )?;
        if create(tenant, probe).await?.is_some() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    bail!("the webhook was never called")
}

#[tokio::test]
async fn policy_guards_writes_through_the_real_api_server() -> Result<()> {
    let cluster = TestCluster::start().await?;
    let admin = cluster.admin().await?;
    setup_cluster(&admin).await.context("setup")?;
    let webhook = PolicyWebhook::start(
        &policy_wasm()?,
        json!({"platformRootHost": "example.org"}),
        admin.clone(),
    )
    .await?;
    register_webhook(&admin, &webhook)
        .await
        .context("webhook registration")?;
    let tenant = cluster.client(Identity::Tenant).await?;
    let controller = cluster.client(Identity::Controller).await?;
    let flux = cluster.client(Identity::Flux).await?;
    wait_until_enforced(&tenant).await?;

    let gw = "gateway.networking.k8s.io";
    let t = "tenant-test";
    // Hijack attempts by the tenant.
    expect_denied(
        "foreign HTTPRoute",
        create(
            &tenant,
            object(gw, "v1", "HTTPRoute", "hijack", t, route_spec(Some(&["attacker.com"])))?,
        )
        .await?,
        &[
            "hostnames must equal",
            "\"attacker.com\"",
            "HTTPRoute tenant-test/hijack",
        ],
    )?;
    expect_denied(
        "hostname-less HTTPRoute",
        create(&tenant, object(gw, "v1", "HTTPRoute", "catchall", t, route_spec(None))?).await?,
        &["spec.hostnames is missing or empty"],
    )?;
    expect_denied(
        "v1beta1 HTTPRoute",
        create(
            &tenant,
            object(
                gw,
                "v1beta1",
                "HTTPRoute",
                "old",
                t,
                route_spec(Some(&["dashboard.example.org"])),
            )?,
        )
        .await?,
        &["hostnames must equal"],
    )?;
    expect_denied(
        "foreign GRPCRoute",
        create(
            &tenant,
            object(
                gw,
                "v1",
                "GRPCRoute",
                "grpc",
                t,
                route_spec(Some(&["grpc.example.org"])),
            )?,
        )
        .await?,
        &["GRPCRoute hostnames must equal"],
    )?;
    let listener = |host: &str| json!({"gatewayClassName": "cilium", "listeners": [{"name": "https", "port": 443, "protocol": "HTTPS", "hostname": host, "tls": {"certificateRefs": [{"name": "c"}]}}]});
    expect_denied(
        "foreign Gateway listener",
        create(
            &tenant,
            object(gw, "v1", "Gateway", "gw", t, listener("dashboard.example.org"))?,
        )
        .await?,
        &["must equal test.example.org"],
    )?;
    let ingress = json!({"rules": [{"host": "dashboard.example.org", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "s", "port": {"number": 80}}}}]}}]});
    expect_denied(
        "foreign Ingress",
        create(
            &tenant,
            object("networking.k8s.io", "v1", "Ingress", "ing", t, ingress)?,
        )
        .await?,
        &["must be within"],
    )?;
    // Legitimate writes by the tenant, then an UPDATE through server-side apply that hijacks.
    expect_admitted(
        "own HTTPRoute",
        create(
            &tenant,
            object(
                gw,
                "v1",
                "HTTPRoute",
                "own",
                t,
                route_spec(Some(&["harbor.test.example.org"])),
            )?,
        )
        .await?,
    )?;
    let routes = api(&tenant, gw, "v1", "HTTPRoute", Some(t));
    let hijack = object(
        gw,
        "v1",
        "HTTPRoute",
        "own",
        t,
        route_spec(Some(&["harbor.test.example.org", "www.example.org"])),
    )?;
    match routes
        .patch("own", &PatchParams::apply(MANAGER).force(), &Patch::Apply(&hijack))
        .await
    {
        Err(kube::Error::Api(s)) if s.message.contains("\"www.example.org\" is outside the namespace apex") => {}
        other => bail!("SSA update adding a foreign hostname: {other:?}"),
    }
    // The source of hostnames: the tenant cannot relabel its namespace; Flux can.
    let relabel = |host: &str| json!({"metadata": {"labels": {"namespace.cozystack.io/host": host}}});
    let namespaces: Api<Namespace> = Api::all(tenant.clone());
    match namespaces
        .patch(t, &PatchParams::default(), &Patch::Merge(relabel("example.org")))
        .await
    {
        Err(kube::Error::Api(s))
            if s.message.contains("is immutable once set")
                && s.message.contains("system:serviceaccount:tenant-test:default") => {}
        other => bail!("tenant relabelling its namespace: {other:?}"),
    }
    Api::<Namespace>::all(flux.clone())
        .patch(t, &PatchParams::default(), &Patch::Merge(relabel("test.example.org")))
        .await
        .context("flux re-applies the host label")?;
    // The controller's own writes: admitted inside the apex, denied outside (no exemption).
    expect_admitted(
        "controller Gateway in apex",
        create(
            &controller,
            object(gw, "v1", "Gateway", "cozystack", t, listener("*.test.example.org"))?,
        )
        .await?,
    )?;
    expect_denied(
        "controller Gateway outside apex",
        create(
            &controller,
            object(gw, "v1", "Gateway", "bad", t, listener("evil.example.org"))?,
        )
        .await?,
        &["must equal"],
    )?;

    Api::<ValidatingWebhookConfiguration>::all(admin.clone())
        .delete(WEBHOOK, &DeleteParams::default())
        .await?;
    Ok(())
}
