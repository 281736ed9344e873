//! The main job, part 2: a real kube-apiserver with the Gateway API and cert-manager CRDs, the
//! TenantGateway controller and the admission policy (as a webhook) running, a sample tenant tree
//! applied (tenant-bob's DNS-01 TenantGateway with two attached children, tenant-bob-shop and
//! tenant-bob-blog), and a readable report of what the controller built and what the policy
//! refused. With the data plane it sends a request for every hijack attempt's target, including
//! tenant-bob-blog's route for its sibling's name written past admission (before the webhook is
//! registered: what a cluster without the policy, or in monitor mode, stores). Exits non-zero when
//! a hijack attempt's target is answered by the attacker's backend, or (with the data plane) when a
//! TenantGateway does not end Ready=True. With the data plane, certificates are really issued:
//! Pebble (the ACME server) and cert-manager's controller run next to Traefik, tenant-root's
//! Issuer answers HTTP-01 through its Gateway and tenant-bob's DNS-01 through TSIG-signed
//! updates to BIND (the zone's nameserver), and every served name's certificate is reported with
//! the Issuer it came through. Everything stops and is cleaned up on exit. Needs
//! `make control-plane policy crd traefik pebble cert-manager` first.

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
use tgw_e2e::acme::{AcmePaths, AcmeStack, PebbleConfig, TsigKey, Zone};
use tgw_e2e::dataplane::{self, Backend, Probe, Traefik, netns};
use tgw_e2e::webhook::{PolicyWebhook, register};
use tgw_e2e::{Identity, TestCluster};

const MANAGER: &str = "tgw-demo";
/// The TSIG key cert-manager signs tenant-bob's DNS updates with, and its Secret in tenant-bob.
const TSIG_KEY_NAME: &str = "tgw-demo-acme";
const TSIG_SECRET: (&str, &str) = ("rfc2136-tsig", "secret");

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
        // bob's children, attached to bob's DNS-01 Gateway, each with its own apex under bob's.
        (
            "tenant-bob-shop",
            json!({host: "shop.bob.example.org", gw: "tenant-bob"}),
        ),
        (
            "tenant-bob-blog",
            json!({host: "blog.bob.example.org", gw: "tenant-bob"}),
        ),
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
        // Served by the demo's Traefik and issued by its Pebble (see the data-plane section):
        // tenant-bob's DNS-01 goes to the zone's nameserver, BIND, with the demo's TSIG key.
        for t in [&mut root, &mut bob] {
            t["spec"]["gatewayClassName"] = json!(dataplane::traefik::GATEWAY_CLASS);
        }
        bob["spec"]["dns01"] = json!({"provider": "rfc2136", "rfc2136": {
            "nameserver": format!("{}:53", netns::ADDRESS), "tsigKeyName": TSIG_KEY_NAME,
            "tsigAlgorithm": tgw_e2e::acme::bind::TSIG_ALGORITHM,
            "tsigSecretSecretRef": {"name": TSIG_SECRET.0, "key": TSIG_SECRET.1}}});
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
        route("tenant-bob-shop", "shop", &["shop.bob.example.org"], "tenant-bob"),
        route("tenant-bob-blog", "blog", &["www.blog.bob.example.org"], "tenant-bob"),
    ];
    for r in routes {
        apply(admin, &route_api(), r).await?.map_err(anyhow::Error::msg)?;
        tokio::time::sleep(Duration::from_millis(1100)).await; // distinct creationTimestamps
    }
    Ok(())
}

/// How a hijack attempt reached the API server.
enum Written {
    /// Through the policy webhook: allowed (written) or denied with the policy's message.
    Admission(std::result::Result<(), String>),
    /// Written by the admin before the webhook was registered: what a cluster without the
    /// policy, or with it in monitor mode, stores. Only the controller and the data plane stand
    /// between it and the traffic.
    PastAdmission,
}

/// One hijack attempt (or a legitimate write next to them) and the name it goes after.
struct Attempt {
    what: &'static str,
    /// The hostname a request is sent for when the data plane runs.
    target: &'static str,
    /// The namespace writing it when it is a hijack (a backend there must never answer), `None`
    /// for the legitimate write.
    attacker: Option<&'static str>,
    written: Written,
}

impl Attempt {
    fn verdict(&self) -> &'static str {
        match &self.written {
            Written::Admission(Ok(())) => "ALLOW",
            Written::Admission(Err(_)) => "DENY ",
            Written::PastAdmission => "PAST ",
        }
    }
}

/// The dns01 hijack written past admission: tenant-bob-blog's route for its sibling's name
/// shop.bob.example.org, through bob's Gateway. Runs before the webhook is registered.
const PAST_ADMISSION: &str = "tenant-bob-blog HTTPRoute for shop.bob.example.org (sibling child, dns01), written past admission (policy absent/monitor mode)";

async fn write_past_admission(admin: &Client) -> Result<()> {
    let steal = route("tenant-bob-blog", "steal-shop", &["shop.bob.example.org"], "tenant-bob");
    apply(admin, &route_api(), steal).await?.map_err(anyhow::Error::msg)
}

async fn hijacks(tenant: &Client) -> Result<Vec<Attempt>> {
    let gw = json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
        "metadata": {"name": "mine", "namespace": "tenant-test"},
        "spec": {"gatewayClassName": "cilium", "listeners": [{"name": "https", "port": 443, "protocol": "HTTPS", "hostname": "*.example.org",
                 "tls": {"certificateRefs": [{"name": "x"}]}}]}});
    let relabel = |key: &str, value: &str| json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tenant-test", "labels": {key: value}}});
    let ns_ar = ar("", "v1", "Namespace");
    let test = Some("tenant-test");
    let attempts = vec![
        (
            "tenant-test HTTPRoute for www.example.org (root's name)",
            "www.example.org",
            test,
            route_api(),
            route("tenant-test", "steal-www", &["www.example.org"], "tenant-root"),
        ),
        (
            "tenant-test HTTPRoute for shop.alice.example.org (sibling)",
            "shop.alice.example.org",
            test,
            route_api(),
            route("tenant-test", "steal-shop", &["shop.alice.example.org"], "tenant-root"),
        ),
        (
            "tenant-test HTTPRoute without hostnames (catch-all)",
            "anything.example.org",
            test,
            route_api(),
            json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": "catchall", "namespace": "tenant-test"}, "spec": {"parentRefs": [{"name": "cozystack", "namespace": "tenant-root"}]}}),
        ),
        (
            "tenant-test Gateway listener *.example.org",
            "anything.example.org",
            test,
            gw_api(),
            gw,
        ),
        (
            "tenant-test relabels its namespace host to example.org",
            "www.example.org",
            test,
            ns_ar.clone(),
            relabel("namespace.cozystack.io/host", "example.org"),
        ),
        (
            "tenant-test moves itself to tenant-bob's Gateway",
            "www.example.org",
            test,
            ns_ar,
            relabel("namespace.cozystack.io/gateway", "tenant-bob"),
        ),
        (
            "tenant-bob-blog HTTPRoute for shop.bob.example.org (sibling child, dns01)",
            "shop.bob.example.org",
            Some("tenant-bob-blog"),
            route_api(),
            route("tenant-bob-blog", "grab-shop", &["shop.bob.example.org"], "tenant-bob"),
        ),
        (
            "tenant-test HTTPRoute for app.test.example.org (its own)",
            "app.test.example.org",
            None,
            route_api(),
            route("tenant-test", "app", &["app.test.example.org"], "tenant-root"),
        ),
    ];
    let mut out = Vec::new();
    for (what, target, attacker, ar, obj) in attempts {
        let written = Written::Admission(apply_as(tenant, &ar, obj, "tenant-kubectl").await?);
        out.push(Attempt {
            what,
            target,
            attacker,
            written,
        });
    }
    out.push(Attempt {
        what: PAST_ADMISSION,
        target: "shop.bob.example.org",
        attacker: Some("tenant-bob-blog"),
        written: Written::PastAdmission,
    });
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

async fn report(admin: &Client, attempts: &[Attempt], data_plane: bool) -> Result<()> {
    if data_plane {
        println!("\n(cert-manager issued every certificate from Pebble, the ACME server, through each tenant's own");
        println!(" Issuer; Traefik serves the Gateways. Everything below was written by the controller, cert-manager,");
        println!(" Traefik, or refused by the policy.)");
    } else {
        println!("\n(Without the data plane neither cert-manager nor a Gateway implementation runs: Issuers stay");
        println!(" pending. Everything below was written by the controller or refused by the policy.)");
    }
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
                "{:<28}   listener {:<32} {:<24} ready={:<5} certificate={} ready={} {}",
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
                "{:<28}   {:<23} {:<6} {:<22} {}",
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
        let ready = c.data["status"]["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready").cloned())
            .unwrap_or(Value::Null);
        println!(
            "{:<46} issuer={:<20} Ready={:<5} dnsNames={}",
            id(&c),
            s(&c.data["spec"]["issuerRef"]["name"]),
            s(&ready["status"]),
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
    for a in attempts {
        match &a.written {
            Written::Admission(Ok(())) => println!("  ALLOW  {}", a.what),
            Written::Admission(Err(m)) => println!("  DENY   {}\n           {m}", a.what),
            Written::PastAdmission => println!(
                "  PAST   {}\n           stored as HTTPRoute tenant-bob-blog/steal-shop by the admin before the policy was registered",
                a.what
            ),
        }
    }
    Ok(())
}

/// Each TenantGateway's Ready condition: (namespace/name, status, reason, message).
async fn ready_conditions(admin: &Client) -> Result<Vec<(String, String, String, String)>> {
    let mut out = Vec::new();
    for t in list(admin, &ar("gateway.cozystack.io", "v1alpha1", "TenantGateway")).await? {
        let ready = t.data["status"]["conditions"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["type"] == "Ready").cloned())
            .unwrap_or(Value::Null);
        out.push((id(&t), s(&ready["status"]), s(&ready["reason"]), s(&ready["message"])));
    }
    Ok(out)
}

/// Prints every TenantGateway's Ready condition; true when all are Ready=True.
async fn ready_check(admin: &Client) -> Result<bool> {
    println!("\n--- Ready check: every TenantGateway must end Ready=True");
    let conditions = ready_conditions(admin).await?;
    for (tgw, status, reason, message) in &conditions {
        println!("  {tgw:<24} Ready={status:<5} ({reason}) {message}");
    }
    Ok(!conditions.is_empty() && conditions.iter().all(|(_, status, _, _)| status == "True"))
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
    // Before the policy is registered, so it is stored the way a cluster without the policy (or
    // with it in monitor mode) would store it.
    write_past_admission(&admin)
        .await
        .context("hijack written past admission")?;
    let _webhook = start_webhook(&admin).await.context("admission webhook")?;
    let data_plane = DataPlane::start(&cluster, &admin).await.context("data plane")?;
    // With the data plane, both issuer names point at Pebble (`--acme-directories`,
    // `--acme-ca-bundle-file`, `--acme-profiles`).
    let settings = tgw_core::decide::Settings {
        acme: match &data_plane {
            Some(dp) => dp.acme.directories(false)?,
            None => Default::default(),
        },
        ..Default::default()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let controller_client = admin.clone();
    let controller = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.await;
        };
        tgw_controller::run::run(controller_client, settings, Arc::new(Default::default()), shutdown).await
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
    report(&admin, &attempts, data_plane.is_some()).await?;
    let hijacked = match &data_plane {
        Some(dp) => dp.report(&attempts).await,
        None => {
            println!("\n(The data plane did not run: no network namespace could be created here.)");
            Vec::new()
        }
    };
    let all_ready = ready_check(&admin).await?;
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), controller).await;
    let mut failures = Vec::new();
    if !hijacked.is_empty() {
        failures.push(format!("hijack attempts got traffic: {}", hijacked.join("; ")));
    }
    match (all_ready, data_plane.is_some()) {
        (true, _) => {}
        (false, true) => failures.push("not every TenantGateway is Ready=True (see the Ready check)".to_owned()),
        // Without a data plane nothing programs the Gateways or issues certificates.
        (false, false) => {
            println!("  (not enforced: without the data plane no Gateway is programmed and no certificate issued)")
        }
    }
    if !failures.is_empty() {
        println!("\ndemo: FAILED: {}", failures.join("; "));
        anyhow::bail!("demo failed: {}", failures.join("; "));
    }
    if data_plane.is_some() {
        println!("\ndemo: every TenantGateway is Ready=True and no hijack attempt got traffic");
    }
    println!("demo: done; the control plane is stopped and its state removed");
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
    // Built (or found cached) here: inside, nothing can be downloaded.
    AcmePaths::locate()?;
    let exe = std::env::current_exe().context("locating tgw-demo")?;
    let status = netns::command(&exe, &[])?
        .status()
        .context("running tgw-demo in a network namespace")?;
    Ok(Some(status.code().unwrap_or(1)))
}

/// Backends by `(namespace, Service)`: every sample route's backend (the demo's routes name a
/// Service after themselves), including the hijack routes', so a hijack would show by name.
const DEMO_BACKENDS: [(&str, &str); 11] = [
    ("tenant-root", "www"),
    ("tenant-alice", "shop"),
    ("cozy-dashboard", "dashboard"),
    ("tenant-root", "dashboard-copy"),
    ("tenant-bob", "api"),
    ("tenant-bob-shop", "shop"),
    ("tenant-bob-blog", "blog"),
    ("tenant-bob-blog", "steal-shop"),
    ("tenant-test", "app"),
    ("tenant-test", "steal-www"),
    ("tenant-test", "steal-shop"),
];

struct DataPlane {
    _traefik: Traefik,
    acme: AcmeStack,
    http: dataplane::client::Client,
    book: dataplane::CertBook,
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
        let tsig = TsigKey::generate(TSIG_KEY_NAME)?;
        let secret: k8s_openapi::api::core::v1::Secret = serde_json::from_value(json!({
            "metadata": {"name": TSIG_SECRET.0, "namespace": "tenant-bob"},
            "stringData": {TSIG_SECRET.1: tsig.secret},
        }))?;
        Api::<k8s_openapi::api::core::v1::Secret>::namespaced(admin.clone(), "tenant-bob")
            .patch(
                TSIG_SECRET.0,
                &PatchParams::apply(MANAGER).force(),
                &Patch::Apply(&secret),
            )
            .await
            .context("the TSIG Secret")?;
        // Every name of example.org points at Traefik; `_acme-challenge` records under bob's and
        // his children's apexes would otherwise hide the apex wildcard below them.
        let zone = Zone {
            origin: "example.org".to_owned(),
            address,
            wildcards_under: ["alice", "bob", "shop.bob", "blog.bob"]
                .map(|l| format!("{l}.example.org"))
                .to_vec(),
            elsewhere: vec![],
        };
        let acme = AcmeStack::start(
            &AcmePaths::locate()?,
            cluster,
            admin,
            address,
            &zone,
            tsig,
            &PebbleConfig::default(),
        )
        .await?;
        let book = dataplane::CertBook::default();
        let http = dataplane::client::Client::new(address, acme.pebble.roots()?, book.clone());
        Ok(Some(DataPlane {
            _traefik: traefik,
            acme,
            http,
            book,
            _backends: backends,
        }))
    }

    /// Waits (bounded) until cert-manager has issued the Certificates, the sample tenants' own
    /// names answer and every TenantGateway is Ready, so the report shows the converged data
    /// plane; then names every issued leaf after its Secret and Issuer for the traffic report.
    async fn settle(&self, admin: &Client) -> Result<()> {
        println!(
            "== waiting for cert-manager and Pebble (DNS-01 waits 60 s per round, two rounds for a wildcard and its apex)"
        );
        let started = std::time::Instant::now();
        let deadline = started + Duration::from_secs(300);
        loop {
            let mut ready = true;
            for (host, backend) in [
                ("www.example.org", "tenant-root/www"),
                ("shop.alice.example.org", "tenant-alice/shop"),
                ("api.bob.example.org", "tenant-bob/api"),
                ("shop.bob.example.org", "tenant-bob-shop/shop"),
                ("www.blog.bob.example.org", "tenant-bob-blog/blog"),
            ] {
                ready &= self.http.send(&Probe::https(host, "/")).await.backend() == Some(backend);
            }
            ready &= ready_conditions(admin)
                .await?
                .iter()
                .all(|(_, status, _, _)| status == "True");
            if ready || std::time::Instant::now() > deadline {
                println!("   settled after {:.0}s", started.elapsed().as_secs_f64());
                return self.name_issued_leaves(admin).await;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Records, for every certificate cert-manager stored, its leaf as "issued by Pebble through
    /// Issuer ns/name for names, Secret ns/name", so the traffic report says where each served
    /// certificate came from (its chain is also verified against Pebble's root there).
    async fn name_issued_leaves(&self, admin: &Client) -> Result<()> {
        let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::all(admin.clone());
        for secret in secrets.list(&ListParams::default()).await? {
            let annotations = secret.metadata.annotations.clone().unwrap_or_default();
            let Some(issuer) = annotations.get("cert-manager.io/issuer-name") else {
                continue;
            };
            let Some(crt) = secret.data.as_ref().and_then(|d| d.get("tls.crt")) else {
                continue;
            };
            let Some(leaf) = tgw_e2e::acme::https::pem_certificates(&crt.0)?.into_iter().next() else {
                continue;
            };
            let ns = secret.metadata.namespace.clone().unwrap_or_default();
            self.book.record(
                &leaf,
                format!(
                    "issued by Pebble (ACME) through Issuer {ns}/{issuer} for {}, Secret {ns}/{}",
                    annotations.get("cert-manager.io/alt-names").map_or("?", String::as_str),
                    secret.metadata.name.clone().unwrap_or_default()
                ),
            );
        }
        Ok(())
    }

    /// Prints the traffic; returns the hijack attempts whose target was answered by a backend of
    /// the attacker's namespace.
    async fn report(&self, attempts: &[Attempt]) -> Vec<String> {
        println!(
            "\n--- Traffic through Traefik ({}:80/443, inside the demo's network namespace)",
            netns::ADDRESS
        );
        for probe in [
            Probe::https("www.example.org", "/"),
            Probe::https("shop.alice.example.org", "/"),
            Probe::https("dashboard.example.org", "/"),
            Probe::https("api.bob.example.org", "/"),
            Probe::https("shop.bob.example.org", "/"),
            Probe::https("www.blog.bob.example.org", "/"),
            Probe::https("app.test.example.org", "/"),
            Probe::http("www.example.org", "/"),
        ] {
            println!("  {:<40} {}", probe.url(), self.http.send(&probe).await.summary());
        }
        println!(
            "\n--- Hijack attempts: admission verdict (PAST: stored without the policy), then what a request for the target name gets"
        );
        let mut hijacked = Vec::new();
        for a in attempts {
            let got = self.http.send(&Probe::https(a.target, "/")).await;
            let taken = a
                .attacker
                .zip(got.backend())
                .is_some_and(|(ns, backend)| backend.starts_with(&format!("{ns}/")));
            let mark = if taken { "  <- HIJACKED" } else { "" };
            println!(
                "  {}  {}\n         https://{}/ -> {}{mark}",
                a.verdict(),
                a.what,
                a.target,
                got.summary()
            );
            if taken {
                hijacked.push(format!("{} ({})", a.what, got.summary()));
            }
        }
        hijacked
    }
}
