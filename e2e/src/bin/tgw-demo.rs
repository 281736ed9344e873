//! The main job, part 2: a real kube-apiserver with the Gateway API and cert-manager CRDs, the
//! TenantGateway controller and the admission policy (as a webhook) running, a sample tenant tree
//! applied, and a readable report of what the controller built and what the policy refused.
//! Everything stops and is cleaned up on exit. Needs `make control-plane policy crd` first.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams};
use kube::{Api, Client};
use serde_json::{Value, json};
use tgw_e2e::dataplane::{self, Backend, Probe, TestCa, Traefik, netns};
use tgw_e2e::webhook::{PolicyWebhook, register};
use tgw_e2e::{Identity, TestCluster};

const MANAGER: &str = "tgw-demo";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn ar(group: &str, version: &str, kind: &str) -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind))
}

fn gw_api() -> ApiResource {
    ar("gateway.networking.k8s.io", "v1", "Gateway")
}
fn route_api() -> ApiResource {
    ar("gateway.networking.k8s.io", "v1", "HTTPRoute")
}

async fn apply(client: &Client, ar: &ApiResource, obj: Value) -> Result<std::result::Result<(), String>> {
    apply_as(client, ar, obj, MANAGER).await
}

/// Server-side apply with `manager` as the field manager; `Err(message)` when refused.
async fn apply_as(
    client: &Client,
    ar: &ApiResource,
    obj: Value,
    manager: &str,
) -> Result<std::result::Result<(), String>> {
    let obj: DynamicObject = serde_json::from_value(obj)?;
    let name = obj.metadata.name.clone().context("object without a name")?;
    let api: Api<DynamicObject> = match &obj.metadata.namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, ar),
        None => Api::all_with(client.clone(), ar),
    };
    match api
        .patch(&name, &PatchParams::apply(manager).force(), &Patch::Apply(&obj))
        .await
    {
        Ok(_) => Ok(Ok(())),
        Err(kube::Error::Api(s)) if s.code == 400 || s.code == 403 || s.code == 422 => Ok(Err(s.message)),
        Err(e) => Err(e.into()),
    }
}

async fn namespaces(admin: &Client) -> Result<()> {
    let host = "namespace.cozystack.io/host";
    let gw = "namespace.cozystack.io/gateway";
    let tree = [
        ("tenant-root", json!({host: "example.org", gw: "tenant-root"})),
        ("tenant-alice", json!({host: "alice.example.org", gw: "tenant-root"})),
        ("tenant-test", json!({host: "test.example.org", gw: "tenant-root"})),
        ("tenant-bob", json!({host: "bob.example.org", gw: "tenant-bob"})),
        ("cozy-dashboard", json!({})),
        ("cozy-cert-manager", json!({})),
    ];
    let api: Api<Namespace> = Api::all(admin.clone());
    for (name, labels) in tree {
        let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}}))?;
        api.patch(name, &PatchParams::apply(MANAGER).force(), &Patch::Apply(&ns))
            .await?;
    }
    Ok(())
}

async fn install_crd(admin: &Client) -> Result<()> {
    let dir = repo().join("deploy/crds");
    let api: Api<CustomResourceDefinition> = Api::all(admin.clone());
    for entry in std::fs::read_dir(&dir).with_context(|| format!("{} (run `make crd`)", dir.display()))? {
        let text = std::fs::read_to_string(entry?.path())?;
        let crd: CustomResourceDefinition = serde_yaml::from_str(&text)?;
        let name = crd.metadata.name.clone().unwrap_or_default();
        api.patch(&name, &PatchParams::apply(MANAGER).force(), &Patch::Apply(&crd))
            .await?;
        for _ in 0..100 {
            let established = api
                .get(&name)
                .await?
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default();
            if established
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True")
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

async fn tenant_rbac(admin: &Client) -> Result<()> {
    let role: ClusterRole = serde_json::from_value(json!({
        "metadata": {"name": "tgw-demo-tenant"},
        "rules": [
            {"apiGroups": ["gateway.networking.k8s.io"], "resources": ["*"], "verbs": ["*"]},
            {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "patch"]}
        ]
    }))?;
    Api::<ClusterRole>::all(admin.clone())
        .patch(
            "tgw-demo-tenant",
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&role),
        )
        .await?;
    let binding: ClusterRoleBinding = serde_json::from_value(json!({
        "metadata": {"name": "tgw-demo-tenant"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "tgw-demo-tenant"},
        "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": Identity::Tenant.username()}]
    }))?;
    Api::<ClusterRoleBinding>::all(admin.clone())
        .patch(
            "tgw-demo-tenant",
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&binding),
        )
        .await?;
    Ok(())
}

async fn start_webhook(admin: &Client) -> Result<PolicyWebhook> {
    let wasm_path = repo().join("policy/annotated-policy.wasm");
    let wasm = std::fs::read(&wasm_path).with_context(|| format!("{} (run `make policy`)", wasm_path.display()))?;
    let webhook = PolicyWebhook::start(&wasm, json!({"platformRootHost": "example.org"}), admin.clone()).await?;
    register(
        admin,
        "tenant-gateway-demo",
        webhook.url(),
        webhook.ca_pem(),
        &repo().join("deploy/policy"),
    )
    .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    Ok(webhook)
}

fn route(ns: &str, name: &str, hosts: &[&str], parent_ns: &str) -> Value {
    json!({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"parentRefs": [{"name": "cozystack", "namespace": parent_ns}], "hostnames": hosts,
                 "rules": [{"backendRefs": [{"name": name, "port": 80}]}]}
    })
}

async fn sample_tree(admin: &Client, data_plane: bool) -> Result<()> {
    let tgw = ar("gateway.cozystack.io", "v1alpha1", "TenantGateway");
    let mut root = json!({"apiVersion": "gateway.cozystack.io/v1alpha1", "kind": "TenantGateway",
        "metadata": {"name": "cozystack", "namespace": "tenant-root"},
        "spec": {"apex": "example.org", "certMode": "http01", "attachedNamespaces": ["cozy-dashboard"]}});
    let mut bob = json!({"apiVersion": "gateway.cozystack.io/v1alpha1", "kind": "TenantGateway",
        "metadata": {"name": "cozystack", "namespace": "tenant-bob"},
        "spec": {"apex": "bob.example.org", "certMode": "dns01", "issuerName": "letsencrypt-stage",
                 "dns01": {"provider": "cloudflare", "cloudflare": {"apiTokenSecretRef": {"name": "cloudflare", "key": "token"}}}}});
    if data_plane {
        // Served by the demo's Traefik (see the data-plane section); nothing else changes.
        for t in [&mut root, &mut bob] {
            t["spec"]["gatewayClassName"] = json!(dataplane::traefik::GATEWAY_CLASS);
        }
    }
    for obj in [root, bob] {
        apply(admin, &tgw, obj).await?.map_err(anyhow::Error::msg)?;
    }
    let routes = [
        route("tenant-root", "www", &["www.example.org"], "tenant-root"),
        route("tenant-alice", "shop", &["shop.alice.example.org"], "tenant-root"),
        route("cozy-dashboard", "dashboard", &["dashboard.example.org"], "tenant-root"),
        route(
            "tenant-root",
            "dashboard-copy",
            &["dashboard.example.org"],
            "tenant-root",
        ),
        route("tenant-bob", "api", &["api.bob.example.org"], "tenant-bob"),
    ];
    for r in routes {
        apply(admin, &route_api(), r).await?.map_err(anyhow::Error::msg)?;
        tokio::time::sleep(Duration::from_millis(1100)).await; // distinct creationTimestamps
    }
    Ok(())
}

async fn hijacks(tenant: &Client) -> Result<Vec<(String, std::result::Result<(), String>)>> {
    let gw = json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
        "metadata": {"name": "mine", "namespace": "tenant-test"},
        "spec": {"gatewayClassName": "cilium", "listeners": [{"name": "https", "port": 443, "protocol": "HTTPS", "hostname": "*.example.org",
                 "tls": {"certificateRefs": [{"name": "x"}]}}]}});
    let relabel = |key: &str, value: &str| json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tenant-test", "labels": {key: value}}});
    let ns_ar = ar("", "v1", "Namespace");
    let attempts = vec![
        (
            "tenant-test HTTPRoute for www.example.org (root's name)",
            route_api(),
            route("tenant-test", "steal-www", &["www.example.org"], "tenant-root"),
        ),
        (
            "tenant-test HTTPRoute for shop.alice.example.org (sibling)",
            route_api(),
            route("tenant-test", "steal-shop", &["shop.alice.example.org"], "tenant-root"),
        ),
        (
            "tenant-test HTTPRoute without hostnames (catch-all)",
            route_api(),
            json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": "catchall", "namespace": "tenant-test"}, "spec": {"parentRefs": [{"name": "cozystack", "namespace": "tenant-root"}]}}),
        ),
        ("tenant-test Gateway listener *.example.org", gw_api(), gw),
        (
            "tenant-test relabels its namespace host to example.org",
            ns_ar.clone(),
            relabel("namespace.cozystack.io/host", "example.org"),
        ),
        (
            "tenant-test moves itself to tenant-bob's Gateway",
            ns_ar,
            relabel("namespace.cozystack.io/gateway", "tenant-bob"),
        ),
        (
            "tenant-test HTTPRoute for app.test.example.org (its own)",
            route_api(),
            route("tenant-test", "app", &["app.test.example.org"], "tenant-root"),
        ),
    ];
    let mut out = Vec::new();
    for (what, ar, obj) in attempts {
        out.push((what.to_string(), apply_as(tenant, &ar, obj, "tenant-kubectl").await?));
    }
    Ok(out)
}

async fn list(client: &Client, ar: &ApiResource) -> Result<Vec<DynamicObject>> {
    let mut items = Api::<DynamicObject>::all_with(client.clone(), ar)
        .list(&ListParams::default())
        .await?
        .items;
    items.sort_by_key(|o| (o.metadata.namespace.clone(), o.metadata.name.clone()));
    Ok(items)
}

fn id(o: &DynamicObject) -> String {
    format!(
        "{}/{}",
        o.metadata.namespace.clone().unwrap_or_default(),
        o.metadata.name.clone().unwrap_or_default()
    )
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

async fn report(admin: &Client, attempts: &[(String, std::result::Result<(), String>)]) -> Result<()> {
    println!("\n(cert-manager does not run here: Issuers stay pending; with the data plane on, the demo issues each");
    println!(" Certificate's Secret from a test CA and Traefik serves the Gateways. Everything below was written by");
    println!(" the controller, Traefik, or refused by the policy.)");
    println!("\n--- TenantGateways");
    for t in list(admin, &ar("gateway.cozystack.io", "v1alpha1", "TenantGateway")).await? {
        let conds = t.data["status"]["conditions"].as_array().cloned().unwrap_or_default();
        let ready = conds
            .iter()
            .find(|c| c["type"] == "Ready")
            .cloned()
            .unwrap_or(Value::Null);
        println!(
            "{:<28} apex={:<18} mode={:<8} Ready={} ({}): {}",
            id(&t),
            s(&t.data["spec"]["apex"]),
            s(&t.data["spec"]["certMode"]),
            s(&ready["status"]),
            s(&ready["reason"]),
            s(&ready["message"])
        );
        for l in t.data["status"]["listeners"].as_array().cloned().unwrap_or_default() {
            println!(
                "{:<28}   listener {:<28} {:<24} ready={:<5} certificate={} ready={} {}",
                "",
                s(&l["name"]),
                s(&l["hostname"]),
                s(&l["ready"]),
                s(&l["certificateName"]),
                s(&l["certificateReady"]),
                s(&l["reason"])
            );
        }
        for c in conds.iter().filter(|c| c["type"] != "Ready") {
            println!(
                "{:<28}   {:<20} {:<6} {:<22} {}",
                "",
                s(&c["type"]),
                s(&c["status"]),
                s(&c["reason"]),
                s(&c["message"])
            );
        }
    }
    println!("\n--- Gateways and listeners");
    for g in list(admin, &gw_api()).await? {
        println!("{}  (class {})", id(&g), s(&g.data["spec"]["gatewayClassName"]));
        for l in g.data["spec"]["listeners"].as_array().cloned().unwrap_or_default() {
            let tls = l["tls"]["certificateRefs"][0]["name"].clone();
            println!(
                "    {:<36} {:<5} {:<6} {:<26} tls={}",
                s(&l["name"]),
                s(&l["port"]),
                s(&l["protocol"]),
                s(&l["hostname"]),
                s(&tls)
            );
        }
    }
    println!("\n--- Issuers");
    for i in list(admin, &ar("cert-manager.io", "v1", "Issuer")).await? {
        let acme = &i.data["spec"]["acme"];
        let solver = acme["solvers"][0]
            .as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>().join(","))
            .unwrap_or_default();
        println!("{:<34} server={} solver={}", id(&i), s(&acme["server"]), solver);
    }
    println!("\n--- Certificates");
    for c in list(admin, &ar("cert-manager.io", "v1", "Certificate")).await? {
        println!(
            "{:<46} issuer={:<20} dnsNames={}",
            id(&c),
            s(&c.data["spec"]["issuerRef"]["name"]),
            c.data["spec"]["dnsNames"]
        );
    }
    println!("\n--- HTTPRoutes and their status, per controller (ours, and Traefik's when the data plane runs)");
    for r in list(admin, &route_api()).await? {
        let hosts = r.data["spec"]["hostnames"].clone();
        let parents = r.data["status"]["parents"].as_array().cloned().unwrap_or_default();
        if parents.is_empty() {
            println!("{:<30} {:<28} (no status)", id(&r), hosts.to_string());
        }
        for p in parents {
            let accepted = p["conditions"]
                .as_array()
                .and_then(|c| c.iter().find(|c| c["type"] == "Accepted").cloned())
                .unwrap_or(Value::Null);
            println!(
                "{:<30} {:<28} {:<30} Accepted={} {:<18} {}",
                id(&r),
                hosts.to_string(),
                s(&p["controllerName"]),
                s(&accepted["status"]),
                s(&accepted["reason"]),
                s(&accepted["message"])
            );
        }
    }
    println!(
        "\n--- Hijack attempts through the API server (tenant identity {})",
        Identity::Tenant.username()
    );
    for (what, outcome) in attempts {
        match outcome {
            Ok(()) => println!("  ALLOW  {what}"),
            Err(m) => println!("  DENY   {what}\n           {m}"),
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    if let Some(code) = rerun_in_network_namespace()? {
        std::process::exit(code);
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "off,tgw_controller=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cluster = TestCluster::start().await?;
    let admin = cluster.admin().await?;
    install_crd(&admin).await.context("TenantGateway CRD")?;
    namespaces(&admin).await.context("namespaces")?;
    tenant_rbac(&admin).await?;
    let _webhook = start_webhook(&admin).await.context("admission webhook")?;
    let data_plane = DataPlane::start(&cluster, &admin).await.context("data plane")?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let controller_client = admin.clone();
    let controller = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.await;
        };
        tgw_controller::run::run(
            controller_client,
            Default::default(),
            Arc::new(Default::default()),
            shutdown,
        )
        .await
    });
    sample_tree(&admin, data_plane.is_some())
        .await
        .context("sample tenant tree")?;
    let tenant = cluster.client(Identity::Tenant).await?;
    let attempts = hijacks(&tenant).await.context("hijack attempts")?;
    tokio::time::sleep(Duration::from_secs(5)).await; // let the controller converge
    if let Some(dp) = &data_plane {
        dp.settle(&admin).await?;
    }
    report(&admin, &attempts).await?;
    match &data_plane {
        Some(dp) => dp.report(&attempts).await,
        None => println!("\n(The data plane did not run: no network namespace could be created here.)"),
    }
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), controller).await;
    println!("\ndemo: done; the control plane is stopped and its state removed");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The data plane: Traefik serving the Gateways, backends answering with their identity, and real
// requests for every hijack attempt. Runs inside a private network namespace (the API server
// refuses loopback EndpointSlice addresses), which the demo enters by running itself again there.

/// Outside a network namespace: runs this program again inside one and returns its exit code.
/// `None` when already inside, or when no namespace can be made (the demo then runs without the
/// data plane).
fn rerun_in_network_namespace() -> Result<Option<i32>> {
    if netns::inside() {
        return Ok(None);
    }
    if !netns::available() {
        eprintln!("demo: cannot create a network namespace (needs root or user namespaces, unshare and ip)");
        return Ok(None);
    }
    let exe = std::env::current_exe().context("locating tgw-demo")?;
    let status = netns::command(&exe, &[])?
        .status()
        .context("running tgw-demo in a network namespace")?;
    Ok(Some(status.code().unwrap_or(1)))
}

/// Backends by `(namespace, Service)`: every sample route's backend (the demo's routes name a
/// Service after themselves), including the hijack routes', so a hijack would show by name.
const DEMO_BACKENDS: [(&str, &str); 8] = [
    ("tenant-root", "www"),
    ("tenant-alice", "shop"),
    ("cozy-dashboard", "dashboard"),
    ("tenant-root", "dashboard-copy"),
    ("tenant-bob", "api"),
    ("tenant-test", "app"),
    ("tenant-test", "steal-www"),
    ("tenant-test", "steal-shop"),
];

struct DataPlane {
    _traefik: Traefik,
    ca: TestCa,
    http: dataplane::client::Client,
    _backends: Vec<Backend>,
}

impl DataPlane {
    async fn start(cluster: &TestCluster, admin: &Client) -> Result<Option<DataPlane>> {
        if !netns::inside() {
            return Ok(None);
        }
        let address = netns::ADDRESS;
        let mut backends = Vec::new();
        for (ns, svc) in DEMO_BACKENDS {
            let b = Backend::http(address, &format!("{ns}/{svc}")).await?;
            b.publish(admin, ns, svc, 80, address).await?;
            backends.push(b);
        }
        let traefik = Traefik::start(
            &tgw_e2e::versions::traefik()?,
            cluster.kubeconfig_path(),
            admin,
            cluster.state_dir(),
            address,
        )
        .await?;
        let ca = TestCa::new()?;
        let http = dataplane::client::Client::new(address, ca.roots()?, ca.book());
        Ok(Some(DataPlane {
            _traefik: traefik,
            ca,
            http,
            _backends: backends,
        }))
    }

    /// Issues the Certificates' Secrets and waits (bounded) until the sample tenants' own names
    /// answer, so the report shows the converged data plane.
    async fn settle(&self, admin: &Client) -> Result<()> {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            dataplane::issuance::issue_certificates(admin, &self.ca, &["tenant-root", "tenant-bob"]).await?;
            let mut ready = true;
            for (host, backend) in [
                ("www.example.org", "tenant-root/www"),
                ("shop.alice.example.org", "tenant-alice/shop"),
                ("api.bob.example.org", "tenant-bob/api"),
            ] {
                ready &= self.http.send(&Probe::https(host, "/")).await.backend() == Some(backend);
            }
            if ready || std::time::Instant::now() > deadline {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn report(&self, attempts: &[(String, std::result::Result<(), String>)]) {
        println!(
            "\n--- Traffic through Traefik ({}:80/443, inside the demo's network namespace)",
            netns::ADDRESS
        );
        for probe in [
            Probe::https("www.example.org", "/"),
            Probe::https("shop.alice.example.org", "/"),
            Probe::https("dashboard.example.org", "/"),
            Probe::https("api.bob.example.org", "/"),
            Probe::https("app.test.example.org", "/"),
            Probe::http("www.example.org", "/"),
        ] {
            println!("  {:<40} {}", probe.url(), self.http.send(&probe).await.summary());
        }
        println!("\n--- Hijack attempts: admission verdict, then what a request for the target name gets");
        for (what, outcome) in attempts {
            let verdict = if outcome.is_ok() { "ALLOW" } else { "DENY " };
            let target = attempt_target(what);
            let got = self.http.send(&Probe::https(target, "/")).await;
            println!("  {verdict}  {what}\n         https://{target}/ -> {}", got.summary());
        }
    }
}

/// The name each demo hijack attempt goes after.
fn attempt_target(what: &str) -> &'static str {
    if what.contains("shop.alice") {
        "shop.alice.example.org"
    } else if what.contains("without hostnames") || what.contains("listener") {
        "anything.example.org"
    } else if what.contains("app.test") {
        "app.test.example.org"
    } else {
        "www.example.org"
    }
}
