//! The policy through the real API server: kube-apiserver sends real AdmissionReviews (real
//! userInfo, oldObject, server-side apply, every version) to a webhook that runs the annotated
//! module with the project's waPC runtime; Namespace lookups and lists are answered from the live
//! cluster.
//! Needs `make policy` first (policy/annotated-policy.wasm, or TGW_POLICY_WASM). The TenantGateway
//! suite also installs our CRD, so its CEL rules answer before the webhook is asked.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams};
use kube::runtime::wait::Condition;
use kube::runtime::wait::conditions::is_crd_established;
use kube::{Api, Client};
use serde_json::{Value, json};
use tgw_e2e::webhook::{Conditions, PolicyWebhook, WRITE_ANNOTATION, register, register_with};
use tgw_e2e::{Identity, TestCluster, await_condition};

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
        // Another tenant with a custom domain outside the platform apex.
        ("tenant-bob", json!({"namespace.cozystack.io/host": "bob-shop.test"})),
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
            {"apiGroups": ["gateway.cozystack.io"], "resources": ["tenantgateways"], "verbs": ["*"]},
            {"apiGroups": ["cert-manager.io"], "resources": ["issuers"], "verbs": ["*"]},
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

/// Records the outcome of one attempt instead of stopping at the first surprise, so a run against an
/// older module lists every bypass it leaves open.
fn check(failures: &mut Vec<String>, outcome: Result<()>) {
    if let Err(e) = outcome {
        failures.push(format!("{e:#}"));
    }
}

fn ingress_spec(hosts: &[&str]) -> Value {
    let rules: Vec<Value> = hosts
        .iter()
        .map(|h| json!({"host": h, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "s", "port": {"number": 80}}}}]}}))
        .collect();
    json!({"ingressClassName": "nginx", "rules": rules})
}

fn ingress_with(name: &str, hosts: &[&str], annotations: Value) -> Result<DynamicObject> {
    let mut obj = object(
        "networking.k8s.io",
        "v1",
        "Ingress",
        name,
        "tenant-test",
        ingress_spec(hosts),
    )?;
    obj.metadata.annotations = Some(serde_json::from_value(annotations)?);
    Ok(obj)
}

/// Issue 18 items 1-4: the paths a live probe found open, each refused through the real API server
/// (real userInfo, oldObject and Namespace list), with the legitimate writes next to them admitted.
#[tokio::test]
async fn ingress_gateway_and_issuer_bypasses_are_refused_through_the_real_api_server() -> Result<()> {
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
    let (gw, t) = ("gateway.networking.k8s.io", "tenant-test");
    let mut failures = Vec::new();

    // 1. Another tenant's custom domain (bob-shop.test is tenant-bob's host label), read from the
    //    live Namespace list; an unowned custom domain stays allowed.
    for (what, name, hosts) in [
        ("Ingress for another tenant's apex", "bob-apex", &["bob-shop.test"][..]),
        (
            "Ingress for a name under another tenant's apex",
            "bob-www",
            &["www.bob-shop.test"][..],
        ),
    ] {
        let outcome = create(&tenant, ingress_with(name, hosts, json!({}))?).await?;
        check(
            &mut failures,
            expect_denied(
                what,
                outcome,
                &[
                    &format!("Ingress tenant-test/{name}: spec.rules[0].host"),
                    "(it is within bob-shop.test, the namespace.cozystack.io/host apex of another namespace)",
                ],
            ),
        );
    }
    let outcome = create(
        &tenant,
        ingress_with("byo", &["shop.external-probe.invalid"], json!({}))?,
    )
    .await?;
    check(
        &mut failures,
        expect_admitted("Ingress for an unowned custom domain", outcome),
    );

    // 2. Ingress annotations: server-alias hosts obey the host rule; snippets and upstream-vhost are
    //    refused in tenant namespaces.
    for (what, name, annotations, phrase) in [
        (
            "server-alias naming a sibling's name",
            "alias-sibling",
            json!({"nginx.ingress.kubernetes.io/server-alias": "www.test.example.org, dashboard.example.org"}),
            "annotation nginx.ingress.kubernetes.io/server-alias \"dashboard.example.org\" is not allowed",
        ),
        (
            "server-alias naming another tenant's custom domain",
            "alias-bob",
            json!({"nginx.ingress.kubernetes.io/server-alias": "www.bob-shop.test"}),
            "(it is within bob-shop.test",
        ),
        (
            "server-snippet",
            "snippet",
            json!({"nginx.ingress.kubernetes.io/server-snippet": "server_name dashboard.example.org;"}),
            "annotation nginx.ingress.kubernetes.io/server-snippet is not allowed in tenant namespaces",
        ),
        (
            "upstream-vhost",
            "vhost",
            json!({"nginx.ingress.kubernetes.io/upstream-vhost": "dashboard.example.org"}),
            "annotation nginx.ingress.kubernetes.io/upstream-vhost is not allowed in tenant namespaces",
        ),
    ] {
        let outcome = create(&tenant, ingress_with(name, &["test.example.org"], annotations)?).await?;
        check(&mut failures, expect_denied(what, outcome, &[phrase]));
    }
    let outcome = create(
        &tenant,
        ingress_with(
            "alias-own",
            &["test.example.org"],
            json!({"nginx.ingress.kubernetes.io/server-alias": "www.test.example.org"}),
        )?,
    )
    .await?;
    check(&mut failures, expect_admitted("server-alias within the apex", outcome));

    // 3. Gateways written directly: GatewayClass, addresses and infrastructure are the trusted
    //    callers' choice, on CREATE and when an UPDATE changes them.
    let gateway = |class: &str, extra: Value| {
        let mut spec = json!({"gatewayClassName": class, "listeners": [{"name": "https", "port": 443, "protocol": "HTTPS", "hostname": "*.test.example.org", "tls": {"certificateRefs": [{"name": "c"}]}}]});
        if let (Some(spec), Value::Object(extra)) = (spec.as_object_mut(), extra) {
            spec.extend(extra);
        }
        spec
    };
    for (what, name, spec, phrase) in [
        (
            "tenant Gateway with another GatewayClass",
            "gw-class",
            gateway("internal-lb", json!({})),
            "Gateway tenant-test/gw-class: spec.gatewayClassName \"internal-lb\" is not in allowedGatewayClasses (cilium)",
        ),
        (
            "tenant Gateway with addresses",
            "gw-addr",
            gateway(
                "cilium",
                json!({"addresses": [{"type": "IPAddress", "value": "10.0.0.10"}]}),
            ),
            "Gateway tenant-test/gw-addr: spec.addresses can only be set or changed by trusted callers",
        ),
        (
            "tenant Gateway with infrastructure",
            "gw-infra",
            gateway(
                "cilium",
                json!({"infrastructure": {"annotations": {"service.beta.kubernetes.io/aws-load-balancer-internal": "true"}}}),
            ),
            "Gateway tenant-test/gw-infra: spec.infrastructure can only be set or changed by trusted callers",
        ),
    ] {
        let outcome = create(&tenant, object(gw, "v1", "Gateway", name, t, spec)?).await?;
        check(&mut failures, expect_denied(what, outcome, &[phrase]));
    }
    let outcome = create(
        &tenant,
        object(gw, "v1", "Gateway", "gw-own", t, gateway("cilium", json!({})))?,
    )
    .await?;
    check(
        &mut failures,
        expect_admitted("tenant Gateway with the allowed class", outcome),
    );
    let outcome = create(
        &controller,
        object(
            gw,
            "v1",
            "Gateway",
            "cozystack",
            t,
            gateway(
                "internal-lb",
                json!({"addresses": [{"type": "IPAddress", "value": "10.0.0.10"}]}),
            ),
        )?,
    )
    .await?;
    check(
        &mut failures,
        expect_admitted("controller Gateway with class and addresses", outcome),
    );
    let gateways = api(&tenant, gw, "v1", "Gateway", Some(t));
    let edit = |value: &str| json!({"spec": {"addresses": [{"type": "IPAddress", "value": value}]}});
    check(
        &mut failures,
        match gateways
            .patch("cozystack", &PatchParams::default(), &Patch::Merge(edit("10.0.0.10")))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => Err(anyhow::anyhow!("tenant keeps the controller's addresses: {e}")),
        },
    );
    check(
        &mut failures,
        match gateways
            .patch("cozystack", &PatchParams::default(), &Patch::Merge(edit("10.0.0.99")))
            .await
        {
            Err(kube::Error::Api(s)) if s.message.contains("spec.addresses can only be set or changed") => Ok(()),
            Ok(_) => Err(anyhow::anyhow!(
                "tenant changes the controller Gateway's addresses: admitted, expected a denial"
            )),
            Err(e) => Err(anyhow::anyhow!(
                "tenant changes the controller Gateway's addresses: {e}"
            )),
        },
    );

    // 4. cert-manager Issuers: the addresses cert-manager contacts are the trusted callers' choice.
    let le = "https://acme-v02.api.letsencrypt.org/directory";
    let issuer = |name: &str, spec: Value| object("cert-manager.io", "v1", "Issuer", name, t, spec);
    let acme = |server: &str, solver: Value| json!({"acme": {"server": server, "privateKeySecretRef": {"name": "acme-key"}, "solvers": [solver]}});
    let rfc2136 = |nameserver: &str| json!({"dns01": {"rfc2136": {"nameserver": nameserver, "tsigKeyName": "k", "tsigSecretSecretRef": {"name": "tsig", "key": "k"}}}});
    for (what, name, spec, phrase) in [
        (
            "Issuer aiming DNS updates at an internal address",
            "dns",
            acme(le, rfc2136("10.96.0.10:53")),
            "Issuer tenant-test/dns: spec.acme.solvers[0].dns01.rfc2136.nameserver can only be set or changed by trusted callers",
        ),
        (
            "Issuer with an internal ACME server",
            "acme",
            acme(
                "https://10.0.0.1:14000/dir",
                json!({"http01": {"ingress": {"ingressClassName": "nginx"}}}),
            ),
            "Issuer tenant-test/acme: spec.acme.server \"https://10.0.0.1:14000/dir\" is not in allowedAcmeServers",
        ),
        (
            "Issuer with an internal Vault server",
            "vault",
            json!({"vault": {"server": "http://10.0.0.7:8200", "path": "pki/sign/x", "auth": {"kubernetes": {"role": "r", "mountPath": "/v1/auth/kubernetes", "serviceAccountRef": {"name": "default"}}}}}),
            "Issuer tenant-test/vault: spec.vault.server can only be set or changed by trusted callers",
        ),
    ] {
        let outcome = create(&tenant, issuer(name, spec)?).await?;
        check(&mut failures, expect_denied(what, outcome, &[phrase]));
    }
    let outcome = create(
        &tenant,
        issuer(
            "le",
            acme(le, json!({"http01": {"ingress": {"ingressClassName": "nginx"}}})),
        )?,
    )
    .await?;
    check(
        &mut failures,
        expect_admitted("tenant Issuer for Let's Encrypt over HTTP-01", outcome),
    );
    let outcome = create(&flux, issuer("flux-dns", acme(le, rfc2136("ns1.example.net:53")))?).await?;
    check(
        &mut failures,
        expect_admitted("Flux sets an Issuer nameserver", outcome),
    );

    Api::<ValidatingWebhookConfiguration>::all(admin.clone())
        .delete(WEBHOOK, &DeleteParams::default())
        .await?;
    if !failures.is_empty() {
        bail!("{} of the checks failed:\n{}", failures.len(), failures.join("\n"));
    }
    Ok(())
}

/// Installs our TenantGateway CRD (with its CEL rules) and waits until it is served.
async fn install_tenant_gateway_crd(admin: &Client) -> Result<()> {
    let crds: Api<CustomResourceDefinition> = Api::all(admin.clone());
    let crd = tgw_controller::crd::crd();
    let name = crd.metadata.name.clone().context("the CRD has a name")?;
    crds.patch(&name, &PatchParams::apply(MANAGER).force(), &Patch::Apply(&crd))
        .await
        .context("applying the TenantGateway CRD")?;
    let established = is_crd_established();
    await_condition(crds, &name, |c| established.matches_object(c), Duration::from_secs(60)).await
}

fn tenant_gateway(name: &str, ns: &str, spec: Value) -> Result<DynamicObject> {
    object("gateway.cozystack.io", "v1alpha1", "TenantGateway", name, ns, spec)
}

#[tokio::test]
async fn tenant_gateway_fields_are_guarded_through_the_real_api_server() -> Result<()> {
    let cluster = TestCluster::start().await?;
    let admin = cluster.admin().await?;
    install_tenant_gateway_crd(&admin).await?;
    setup_cluster(&admin).await.context("setup")?;
    let webhook = PolicyWebhook::start(&policy_wasm()?, json!({}), admin.clone()).await?;
    register_webhook(&admin, &webhook)
        .await
        .context("webhook registration")?;
    let tenant = cluster.client(Identity::Tenant).await?;
    let flux = cluster.client(Identity::Flux).await?;
    wait_until_enforced(&tenant).await?;
    let t = "tenant-test";
    let attached = |list: &[&str]| json!({"apex": "test.example.org", "attachedNamespaces": list});

    // attachedNamespaces: the tenant may not set it; an admin may, and Flux may extend it.
    expect_denied(
        "tenant sets attachedNamespaces",
        create(&tenant, tenant_gateway("mine", t, attached(&["cozy-newapp"]))?).await?,
        &[
            "TenantGateway tenant-test/mine: spec.attachedNamespaces can only be set or extended by trusted callers",
            "request user is system:serviceaccount:tenant-test:default, who adds \"cozy-newapp\"",
        ],
    )?;
    expect_admitted(
        "admin sets attachedNamespaces",
        create(&admin, tenant_gateway("cozystack", t, attached(&["cozy-newapp"]))?).await?,
    )?;
    // Updates carry the real oldObject: unchanged is fine for the tenant, extending is not.
    let tgws = api(&tenant, "gateway.cozystack.io", "v1alpha1", "TenantGateway", Some(t));
    tgws.patch(
        "cozystack",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"tlsPassthroughServices": ["db"]}})),
    )
    .await
    .context("the tenant edits another field, attachedNamespaces unchanged")?;
    match tgws
        .patch(
            "cozystack",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"attachedNamespaces": ["cozy-newapp", "kube-system"]}})),
        )
        .await
    {
        Err(kube::Error::Api(s)) if s.message.contains("who adds \"kube-system\"") => {}
        other => bail!("tenant extending attachedNamespaces: {other:?}"),
    }
    api(&flux, "gateway.cozystack.io", "v1alpha1", "TenantGateway", Some(t))
        .patch(
            "cozystack",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"attachedNamespaces": ["cozy-newapp", "cozy-other"]}})),
        )
        .await
        .context("flux extends attachedNamespaces")?;
    tgws.patch(
        "cozystack",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"attachedNamespaces": ["cozy-other"]}})),
    )
    .await
    .context("the tenant removes an entry")?;

    // The GatewayClass and the RFC 2136 nameserver are the trusted callers' choice too.
    expect_denied(
        "tenant picks another GatewayClass",
        create(
            &tenant,
            tenant_gateway(
                "lb",
                t,
                json!({"apex": "test.example.org", "gatewayClassName": "internal-lb"}),
            )?,
        )
        .await?,
        &["spec.gatewayClassName \"internal-lb\" is not in allowedGatewayClasses (cilium)"],
    )?;
    let rfc2136 = |nameserver: &str| {
        json!({"apex": "test.example.org", "certMode": "dns01", "dns01": {"provider": "rfc2136", "rfc2136": {
            "nameserver": nameserver, "tsigKeyName": "k", "tsigSecretSecretRef": {"name": "tsig", "key": "k"}}}})
    };
    expect_denied(
        "tenant aims the DNS-01 updates at an internal address",
        create(&tenant, tenant_gateway("dns", t, rfc2136("10.96.0.10:53"))?).await?,
        &["spec.dns01.rfc2136.nameserver can only be set or changed by trusted callers"],
    )?;

    // CEL in our CRD: refused whoever writes, before any webhook.
    for (what, name, spec, phrase) in [
        (
            "existingSecret without wildcardSecretRef",
            "secretless".to_string(),
            json!({"apex": "test.example.org", "certMode": "existingSecret"}),
            "certMode=existingSecret requires spec.wildcardSecretRef.name to be set",
        ),
        (
            "existingSecret with a null wildcardSecretRef",
            "null-ref".to_string(),
            json!({"apex": "test.example.org", "certMode": "existingSecret", "wildcardSecretRef": null}),
            "certMode=existingSecret requires spec.wildcardSecretRef.name to be set",
        ),
        (
            "existingSecret with an empty wildcardSecretRef.name",
            "empty-ref".to_string(),
            json!({"apex": "test.example.org", "certMode": "existingSecret", "wildcardSecretRef": {"name": ""}}),
            "certMode=existingSecret requires spec.wildcardSecretRef.name to be set",
        ),
        (
            "a name longer than a label value",
            "a".repeat(64),
            json!({"apex": "test.example.org"}),
            "metadata.name must be at most 63 characters",
        ),
        (
            "a nameserver without a port",
            "noport".to_string(),
            rfc2136("ns1.example.net"),
            "nameserver must be host:port",
        ),
    ] {
        expect_denied(what, create(&admin, tenant_gateway(&name, t, spec)?).await?, &[phrase])?;
    }
    expect_admitted(
        "existingSecret with its Secret named",
        create(
            &admin,
            tenant_gateway(
                &"b".repeat(63),
                t,
                json!({"apex": "test.example.org", "certMode": "existingSecret", "wildcardSecretRef": {"name": "wild"}}),
            )?,
        )
        .await?,
    )?;
    expect_admitted(
        "admin sets an IPv6 nameserver",
        create(&admin, tenant_gateway("dns6", t, rfc2136("[fd00::53]:5353"))?).await?,
    )?;

    Api::<ValidatingWebhookConfiguration>::all(admin.clone())
        .delete(WEBHOOK, &DeleteParams::default())
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Issue 18 item 5: what the matchConditions save on a write mix through the real API server.

/// One kind of write in the mix: who writes which object, how often per round of 20, and whether
/// the deployed matchConditions send it to the policy.
struct MixEntry {
    label: &'static str,
    who: Identity,
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    /// `None` for Namespaces (cluster-scoped).
    namespace: Option<&'static str>,
    name: &'static str,
    per_round: usize,
    sent_with_conditions: bool,
}

const PLATFORM_NS: &str = "cozy-apps";

/// A platform with many tenants spends most writes on platform namespaces and on metadata the
/// controllers keep (labels, annotations): an illustrative mix, 20 writes per round, every write
/// an UPDATE (merge patch of an annotation), every one legitimate.
fn write_mix() -> Vec<MixEntry> {
    use Identity::{Controller, Flux, Tenant};
    let gw = "gateway.networking.k8s.io";
    let e = |label, who, group, version, kind, namespace, name, per_round, sent_with_conditions| MixEntry {
        label,
        who,
        group,
        version,
        kind,
        namespace,
        name,
        per_round,
        sent_with_conditions,
    };
    vec![
        e(
            "Namespace metadata by a controller",
            Controller,
            "",
            "v1",
            "Namespace",
            None,
            "tenant-test",
            2,
            false,
        ),
        e(
            "Namespace metadata by Flux",
            Flux,
            "",
            "v1",
            "Namespace",
            None,
            PLATFORM_NS,
            2,
            false,
        ),
        e(
            "Namespace annotation by the tenant",
            Tenant,
            "",
            "v1",
            "Namespace",
            None,
            "tenant-test",
            1,
            false,
        ),
        e(
            "HTTPRoute in a platform namespace (Flux)",
            Flux,
            gw,
            "v1",
            "HTTPRoute",
            Some(PLATFORM_NS),
            "dashboard",
            4,
            false,
        ),
        e(
            "Ingress in a platform namespace (Flux)",
            Flux,
            "networking.k8s.io",
            "v1",
            "Ingress",
            Some(PLATFORM_NS),
            "grafana",
            2,
            false,
        ),
        e(
            "Gateway in a platform namespace (Flux)",
            Flux,
            gw,
            "v1",
            "Gateway",
            Some(PLATFORM_NS),
            "platform",
            1,
            false,
        ),
        e(
            "Issuer in a tenant namespace (controller)",
            Controller,
            "cert-manager.io",
            "v1",
            "Issuer",
            Some("tenant-test"),
            "cozystack",
            1,
            false,
        ),
        e(
            "HTTPRoute in a tenant namespace (tenant)",
            Tenant,
            gw,
            "v1",
            "HTTPRoute",
            Some("tenant-test"),
            "app",
            4,
            true,
        ),
        e(
            "Ingress in a tenant namespace (tenant)",
            Tenant,
            "networking.k8s.io",
            "v1",
            "Ingress",
            Some("tenant-test"),
            "app",
            1,
            true,
        ),
        e(
            "Gateway in a tenant namespace (controller)",
            Controller,
            gw,
            "v1",
            "Gateway",
            Some("tenant-test"),
            "cozystack",
            1,
            true,
        ),
        e(
            "TenantGateway (tenant)",
            Tenant,
            "gateway.cozystack.io",
            "v1alpha1",
            "TenantGateway",
            Some("tenant-test"),
            "cozystack",
            1,
            true,
        ),
    ]
}

/// The objects the mix updates, created by the admin before any webhook is registered.
async fn create_mix_objects(admin: &Client) -> Result<()> {
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": PLATFORM_NS}}))?;
    Api::<Namespace>::all(admin.clone())
        .patch(PLATFORM_NS, &PatchParams::apply(MANAGER).force(), &Patch::Apply(&ns))
        .await?;
    let gw = "gateway.networking.k8s.io";
    let listener = |host: &str| json!({"gatewayClassName": "cilium", "listeners": [{"name": "https", "port": 443, "protocol": "HTTPS", "hostname": host, "tls": {"certificateRefs": [{"name": "c"}]}}]});
    let route =
        |host: &str| json!({"parentRefs": [{"name": "cozystack", "namespace": "tenant-root"}], "hostnames": [host]});
    let le = "https://acme-v02.api.letsencrypt.org/directory";
    for obj in [
        object(
            gw,
            "v1",
            "HTTPRoute",
            "dashboard",
            PLATFORM_NS,
            route("dashboard.example.org"),
        )?,
        object(
            "networking.k8s.io",
            "v1",
            "Ingress",
            "grafana",
            PLATFORM_NS,
            ingress_spec(&["grafana.example.org"]),
        )?,
        object(gw, "v1", "Gateway", "platform", PLATFORM_NS, listener("*.example.org"))?,
        object(
            "cert-manager.io",
            "v1",
            "Issuer",
            "cozystack",
            "tenant-test",
            json!({"acme": {"server": le, "privateKeySecretRef": {"name": "k"}, "solvers": [{"http01": {"ingress": {"ingressClassName": "nginx"}}}]}}),
        )?,
        object(
            gw,
            "v1",
            "HTTPRoute",
            "app",
            "tenant-test",
            route("app.test.example.org"),
        )?,
        object(
            "networking.k8s.io",
            "v1",
            "Ingress",
            "app",
            "tenant-test",
            ingress_spec(&["shop.test.example.org"]),
        )?,
        object(
            gw,
            "v1",
            "Gateway",
            "cozystack",
            "tenant-test",
            listener("*.test.example.org"),
        )?,
        tenant_gateway("cozystack", "tenant-test", json!({"apex": "test.example.org"}))?,
    ] {
        let name = obj.metadata.name.clone().unwrap_or_default();
        if let Some(m) = create(admin, obj).await? {
            bail!("creating {name}: {m}");
        }
    }
    Ok(())
}

/// Writes `rounds` rounds of the mix; returns each write's latency by entry label. Every write must
/// be admitted.
async fn run_mix(
    clients: &BTreeMap<&'static str, Client>,
    rounds: usize,
    tag: &str,
) -> Result<BTreeMap<&'static str, Vec<Duration>>> {
    let mix = write_mix();
    let mut latencies: BTreeMap<&'static str, Vec<Duration>> = BTreeMap::new();
    for round in 0..rounds {
        for entry in &mix {
            let client = &clients[entry.who.context()];
            for i in 0..entry.per_round {
                // Each write its own value, so the webhook tells writes from calls.
                let patch = Patch::Merge(
                    json!({"metadata": {"annotations": {WRITE_ANNOTATION: format!("{tag}-{round}-{i}")}}}),
                );
                let started = Instant::now();
                let outcome = if entry.kind == "Namespace" {
                    Api::<Namespace>::all(client.clone())
                        .patch(entry.name, &PatchParams::default(), &patch)
                        .await
                        .map(|_| ())
                } else {
                    api(client, entry.group, entry.version, entry.kind, entry.namespace)
                        .patch(entry.name, &PatchParams::default(), &patch)
                        .await
                        .map(|_| ())
                };
                outcome.with_context(|| format!("{} (round {round})", entry.label))?;
                latencies.entry(entry.label).or_default().push(started.elapsed());
            }
        }
    }
    Ok(latencies)
}

/// `now - before`, key by key.
fn since(now: &BTreeMap<String, u64>, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    now.iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
        .collect()
}

fn total_calls(webhook: &PolicyWebhook) -> u64 {
    webhook.calls().values().sum()
}

impl MixEntry {
    /// The webhook's counter key of this entry's requests (see `PolicyWebhook::calls`).
    fn call_key(&self) -> String {
        let policy = match self.kind {
            "Namespace" | "Gateway" | "Issuer" | "TenantGateway" => "identity",
            _ => "hostnames",
        };
        // A Namespace request carries the namespace's own name as its namespace.
        let namespace = self.namespace.unwrap_or(self.name);
        format!("{policy} {} {namespace} {}", self.kind, self.who.username())
    }
}

/// The hijack attempts each configuration must refuse the same way (sent despite the conditions).
/// Object names end in `-<suffix>`; the messages come back with the suffix replaced by `*`.
async fn denied_attempts(tenant: &Client, suffix: &str) -> Result<Vec<Option<String>>> {
    let gw = "gateway.networking.k8s.io";
    let t = "tenant-test";
    let mut out = Vec::new();
    out.push(
        create(
            tenant,
            object(
                gw,
                "v1",
                "HTTPRoute",
                &format!("hijack-{suffix}"),
                t,
                route_spec(Some(&["attacker.com"])),
            )?,
        )
        .await?,
    );
    out.push(
        create(
            tenant,
            ingress_with(&format!("bob-{suffix}"), &["www.bob-shop.test"], json!({}))?,
        )
        .await?,
    );
    out.push(
        create(
            tenant,
            object(gw, "v1", "Gateway", &format!("lb-{suffix}"), t, json!({"gatewayClassName": "internal-lb", "listeners": [{"name": "h", "port": 80, "protocol": "HTTP"}]}))?,
        )
        .await?,
    );
    out.push(
        create(
            tenant,
            object("cert-manager.io", "v1", "Issuer", &format!("dns-{suffix}"), t, json!({"acme": {"server": "https://acme-v02.api.letsencrypt.org/directory", "privateKeySecretRef": {"name": "k"}, "solvers": [{"dns01": {"rfc2136": {"nameserver": "10.96.0.10:53", "tsigKeyName": "k", "tsigSecretSecretRef": {"name": "t", "key": "k"}}}}]}}))?,
        )
        .await?,
    );
    let relabel = json!({"metadata": {"labels": {"namespace.cozystack.io/host": "example.org"}}});
    out.push(
        match Api::<Namespace>::all(tenant.clone())
            .patch(t, &PatchParams::default(), &Patch::Merge(relabel))
            .await
        {
            Ok(_) => None,
            Err(kube::Error::Api(s)) => Some(s.message),
            Err(e) => return Err(e.into()),
        },
    );
    Ok(out
        .into_iter()
        .map(|m| m.map(|m| m.replace(&format!("-{suffix}"), "-*")))
        .collect())
}

fn by_policy(calls: &BTreeMap<String, u64>, policy: &str) -> u64 {
    calls
        .iter()
        .filter(|(k, _)| k.split(' ').next() == Some(policy))
        .map(|(_, v)| v)
        .sum()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Calls and added latency per 1,000 writes of `write_mix`, with the policy as webhook: without
/// a webhook (baseline), with the webhooks as before (no matchConditions) and as deployed. The
/// counts are asserted (every write is a call before; exactly the entries the conditions send
/// after); timings are printed for the README, never asserted. Every write is admitted in every
/// configuration, and the hijack attempts are refused the same way with and without conditions.
#[tokio::test]
async fn match_conditions_skip_the_calls_no_rule_can_deny() -> Result<()> {
    const ROUNDS: usize = 50; // 50 rounds × 20 writes = 1,000 writes per configuration
    let cluster = TestCluster::start().await?;
    let admin = cluster.admin().await?;
    install_tenant_gateway_crd(&admin).await?;
    setup_cluster(&admin).await.context("setup")?;
    create_mix_objects(&admin).await.context("mix objects")?;
    let mut clients = BTreeMap::new();
    for id in [Identity::Tenant, Identity::Flux, Identity::Controller] {
        clients.insert(id.context(), cluster.client(id).await?);
    }
    let tenant = clients["tenant"].clone();
    let mix = write_mix();
    let per_round: usize = mix.iter().map(|e| e.per_round).sum();
    assert_eq!(per_round, 20);
    let writes = (ROUNDS * per_round) as u64;

    run_mix(&clients, 2, "warmup").await?;
    let started = Instant::now();
    let baseline = run_mix(&clients, ROUNDS, "baseline").await?;
    let baseline_total = started.elapsed();

    let webhook = PolicyWebhook::start(
        &policy_wasm()?,
        json!({"platformRootHost": "example.org"}),
        admin.clone(),
    )
    .await?;
    let mut results = Vec::new();
    let mut refusals = Vec::new();
    for (config, conditions) in [
        ("no matchConditions", Conditions::None),
        ("matchConditions", Conditions::Deployed),
    ] {
        register_with(
            &admin,
            WEBHOOK,
            webhook.url(),
            webhook.ca_pem(),
            &repo().join("deploy/policy"),
            conditions,
        )
        .await
        .with_context(|| format!("registering ({config})"))?;
        wait_until_enforced(&tenant).await?;
        // The API server applies a changed configuration asynchronously: wait until a write the
        // configuration skips (or sends) is skipped (or sent).
        let probe = &mix[0];
        let want = if conditions == Conditions::Deployed { 0 } else { 1 };
        let mut settled = false;
        for attempt in 0..60 {
            let before = total_calls(&webhook);
            let patch = Patch::Merge(
                json!({"metadata": {"annotations": {"e2e.tenant-gateway.io/probe": attempt.to_string()}}}),
            );
            Api::<Namespace>::all(clients[probe.who.context()].clone())
                .patch(probe.name, &PatchParams::default(), &patch)
                .await?;
            if total_calls(&webhook) - before == want {
                settled = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        if !settled {
            bail!("{config}: the webhook configuration never took effect");
        }
        run_mix(&clients, 2, "warmup").await?;
        let calls_before = webhook.calls();
        let writes_before = webhook.writes();
        let started = Instant::now();
        let latencies = run_mix(&clients, ROUNDS, config).await?;
        let total = started.elapsed();
        let calls = since(&webhook.calls(), &calls_before);
        let written = since(&webhook.writes(), &writes_before);
        refusals.push(
            denied_attempts(
                &tenant,
                if conditions == Conditions::None {
                    "before"
                } else {
                    "after"
                },
            )
            .await?,
        );
        results.push((config, conditions, calls, written, total, latencies));
    }
    Api::<ValidatingWebhookConfiguration>::all(admin.clone())
        .delete(WEBHOOK, &DeleteParams::default())
        .await?;

    // Both configurations refuse every attempt, with the policy's message.
    for (i, outcome) in refusals[0].iter().enumerate() {
        let Some(message) = outcome else {
            bail!("attempt {i} admitted without matchConditions")
        };
        match &refusals[1][i] {
            Some(m) if m == message => {}
            other => bail!("attempt {i}: without conditions {message:?}, with conditions {other:?}"),
        }
    }

    let sorted = |v: &BTreeMap<&'static str, Vec<Duration>>| {
        let mut all: Vec<Duration> = v.values().flatten().copied().collect();
        all.sort();
        all
    };
    let base_sorted = sorted(&baseline);
    println!("\nwrite mix: {ROUNDS} rounds of {per_round} UPDATEs = {writes} writes per configuration");
    for e in &mix {
        println!(
            "  {:>3} × {:<45} sent with matchConditions: {}",
            e.per_round * ROUNDS,
            e.label,
            if e.sent_with_conditions { "yes" } else { "no" }
        );
    }
    println!(
        "\n| configuration | webhook calls per 1,000 writes (hostnames + identity) | time for 1,000 writes | added vs no webhook | write p50 / p99 |"
    );
    println!("| --- | --- | --- | --- | --- |");
    println!(
        "| no webhook | 0 | {:.2} s | — | {:.1} / {:.1} ms |",
        baseline_total.as_secs_f64() * 1000.0 / writes as f64,
        percentile(&base_sorted, 0.5).as_secs_f64() * 1e3,
        percentile(&base_sorted, 0.99).as_secs_f64() * 1e3
    );
    let expected_sent: u64 = mix
        .iter()
        .filter(|e| e.sent_with_conditions)
        .map(|e| (e.per_round * ROUNDS) as u64)
        .sum();
    for (config, conditions, calls, written, total, latencies) in &results {
        let n: u64 = calls.values().sum();
        let distinct: u64 = written.values().sum();
        let s = sorted(latencies);
        let per_1000 = |x: f64| x * 1000.0 / writes as f64;
        println!(
            "| {config} | {} ({} + {}) | {:.2} s | +{:.2} s | {:.1} / {:.1} ms |",
            n * 1000 / writes,
            by_policy(calls, "hostnames") * 1000 / writes,
            by_policy(calls, "identity") * 1000 / writes,
            per_1000(total.as_secs_f64()),
            per_1000(total.as_secs_f64() - baseline_total.as_secs_f64()),
            percentile(&s, 0.5).as_secs_f64() * 1e3,
            percentile(&s, 0.99).as_secs_f64() * 1e3
        );
        for e in &mix {
            let mut l = latencies.get(e.label).cloned().unwrap_or_default();
            l.sort();
            println!(
                "    {:<45} p50 {:.1} ms",
                e.label,
                percentile(&l, 0.5).as_secs_f64() * 1e3
            );
        }
        println!(
            "    {} calls for {distinct} distinct writes (the API server re-ran admission {} times on an update retried against a fresher copy)",
            n,
            n - distinct
        );
        // Exactly the writes the conditions send reach the webhook, every one of them; a write is
        // called at least once (kube-apiserver re-runs admission when an update retries against a
        // fresher copy than its watch cache had: how often depends on timing, so it is reported).
        for e in &mix {
            let key = e.call_key();
            let got = written.get(&key).copied().unwrap_or(0);
            let got_calls = calls.get(&key).copied().unwrap_or(0);
            let n_writes = (e.per_round * ROUNDS) as u64;
            let sent = *conditions == Conditions::None || e.sent_with_conditions;
            let want = if sent { n_writes } else { 0 };
            if got != want || got_calls < got {
                bail!(
                    "{config}: {}: {got} distinct writes in {got_calls} calls, expected {want} of {n_writes} writes{} ({calls:?})",
                    e.label,
                    if sent { "" } else { " (skipped by the matchConditions)" }
                );
            }
        }
        let want = if *conditions == Conditions::Deployed {
            expected_sent
        } else {
            writes
        };
        if distinct != want {
            bail!("{config}: {distinct} distinct writes called for {writes} writes, expected {want}");
        }
    }
    Ok(())
}
