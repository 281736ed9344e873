//! The Helm chart's RBAC is enough, and no more, for the controller: the chart is rendered with
//! the pinned helm (`e2e/scripts/build-helm.sh`), its CRD, ServiceAccount, ClusterRole(Binding)
//! and leader-election Role(Binding) are server-side applied into a real control plane, then
//!
//! 1. SelfSubjectAccessReviews as [`Identity::Controller`] (the chart's ServiceAccount
//!    `cozy-system/tenant-gateway-controller`) show every verb the controller uses is allowed and
//!    a list of things it must not do is denied (secrets, wildcards, create/update/delete it does
//!    not use, RBAC escalation, impersonation);
//! 2. SelfSubjectRulesReviews show the granted rules are exactly the expected set;
//! 3. the controller runs in-process with that identity's token against a TenantGateway with
//!    routes through create, mode switch (deletes) and deletion (finalizer), with no `forbidden`
//!    anywhere in the TenantGateway's conditions.

mod controller_support;

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::Context;
use controller_support::*;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec, SelfSubjectRulesReview,
    SelfSubjectRulesReviewSpec,
};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde::Deserialize;
use serde_json::{Value, json};
use tgw_core::keys::{ANNOTATION_ATTACHED_BY, FINALIZER, LABEL_GATEWAY};
use tgw_core::naming;
use tgw_core::tenantgateway::TenantGateway;
use tgw_e2e::{Identity, TestCluster};

const RELEASE_NS: &str = "cozy-system";
const SA: &str = "tenant-gateway-controller";
const LEASE: &str = "tenant-gateway-controller";
const MANAGER: &str = "tgw-e2e-chart";

fn chart_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/helm/tenant-gateway")
}

/// `helm template` of the chart as the harness's controller identity expects it.
fn render_chart() -> anyhow::Result<Vec<Value>> {
    let helm = tgw_e2e::versions::helm()?;
    let out = std::process::Command::new(&helm)
        .args(["template", "tenant-gateway"])
        .arg(chart_dir())
        .args(["--namespace", RELEASE_NS])
        .args(["--set", &format!("serviceAccount.name={SA}")])
        .args(["--set", &format!("controller.leaderElection.leaseName={LEASE}")])
        .output()
        .with_context(|| format!("running {} template", helm.display()))?;
    anyhow::ensure!(
        out.status.success(),
        "helm template failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).context("helm template output is not UTF-8")?;
    let mut docs = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let v = Value::deserialize(doc).context("parsing helm template output")?;
        if !v.is_null() {
            docs.push(v);
        }
    }
    Ok(docs)
}

fn of_kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

/// Server-side applies a rendered object as admin.
async fn apply_rendered(admin: &Client, obj: &Value) -> anyhow::Result<()> {
    let api_version = obj["apiVersion"].as_str().context("apiVersion")?;
    let kind = obj["kind"].as_str().context("kind")?;
    let name = obj["metadata"]["name"].as_str().context("metadata.name")?;
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
    let api: Api<DynamicObject> = match obj["metadata"]["namespace"].as_str() {
        Some(ns) => Api::namespaced_with(admin.clone(), ns, &ar),
        None => Api::all_with(admin.clone(), &ar),
    };
    api.patch(name, &PatchParams::apply(MANAGER).force(), &Patch::Apply(obj))
        .await
        .with_context(|| format!("applying {kind} {name}"))?;
    Ok(())
}

/// One access check: (group, resource, subresource, verb, namespace, name).
#[rustfmt::skip]
type Access = (&'static str, &'static str, &'static str, &'static str, &'static str, &'static str);

async fn allowed(client: &Client, a: Access) -> anyhow::Result<bool> {
    let (group, resource, subresource, verb, namespace, name) = a;
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                group: Some(group.to_owned()),
                resource: Some(resource.to_owned()),
                subresource: opt(subresource),
                verb: Some(verb.to_owned()),
                namespace: opt(namespace),
                name: opt(name),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let r = Api::<SelfSubjectAccessReview>::all(client.clone())
        .create(&PostParams::default(), &review)
        .await
        .with_context(|| format!("SelfSubjectAccessReview {a:?}"))?;
    Ok(r.status.is_some_and(|s| s.allowed))
}

const TENANT_NS: &str = "tenant-anything";

/// Every call of controller/src: run.rs (watches), reconcile.rs (patches), apply.rs (get, apply,
/// delete). "" namespace = all namespaces (the controller's cluster-wide list/watch).
#[rustfmt::skip]
const NEEDED: &[Access] = &[
    ("gateway.cozystack.io", "tenantgateways", "", "list", "", ""),
    ("gateway.cozystack.io", "tenantgateways", "", "watch", "", ""),
    ("gateway.cozystack.io", "tenantgateways", "", "patch", TENANT_NS, "cozystack"),
    ("gateway.cozystack.io", "tenantgateways", "status", "patch", TENANT_NS, "cozystack"),
    ("gateway.cozystack.io", "tenantgateways", "finalizers", "update", TENANT_NS, "cozystack"),
    ("", "namespaces", "", "list", "", ""),
    ("", "namespaces", "", "watch", "", ""),
    ("", "namespaces", "", "patch", "", TENANT_NS),
    ("gateway.networking.k8s.io", "gateways", "", "list", "", ""),
    ("gateway.networking.k8s.io", "gateways", "", "watch", "", ""),
    ("gateway.networking.k8s.io", "gateways", "", "get", TENANT_NS, "cozystack"),
    ("gateway.networking.k8s.io", "gateways", "", "patch", TENANT_NS, "cozystack"),
    // A server-side apply that creates the object is authorized as create too.
    ("gateway.networking.k8s.io", "gateways", "", "create", TENANT_NS, ""),
    ("gateway.networking.k8s.io", "httproutes", "", "list", "", ""),
    ("gateway.networking.k8s.io", "httproutes", "", "watch", "", ""),
    ("gateway.networking.k8s.io", "httproutes", "", "get", TENANT_NS, "cozystack-http-redirect"),
    ("gateway.networking.k8s.io", "httproutes", "", "patch", TENANT_NS, "cozystack-http-redirect"),
    ("gateway.networking.k8s.io", "httproutes", "", "create", TENANT_NS, ""),
    ("gateway.networking.k8s.io", "httproutes", "status", "patch", TENANT_NS, "app"),
    ("gateway.networking.k8s.io", "tlsroutes", "", "list", "", ""),
    ("gateway.networking.k8s.io", "tlsroutes", "", "watch", "", ""),
    ("gateway.networking.k8s.io", "tlsroutes", "status", "patch", TENANT_NS, "app"),
    ("gateway.networking.k8s.io", "grpcroutes", "", "list", "", ""),
    ("gateway.networking.k8s.io", "grpcroutes", "", "watch", "", ""),
    ("gateway.networking.k8s.io", "grpcroutes", "status", "patch", TENANT_NS, "app"),
    ("cert-manager.io", "issuers", "", "list", "", ""),
    ("cert-manager.io", "issuers", "", "watch", "", ""),
    ("cert-manager.io", "issuers", "", "get", TENANT_NS, "cozystack-gateway"),
    ("cert-manager.io", "issuers", "", "patch", TENANT_NS, "cozystack-gateway"),
    ("cert-manager.io", "issuers", "", "create", TENANT_NS, ""),
    ("cert-manager.io", "issuers", "", "delete", TENANT_NS, "cozystack-gateway"),
    ("cert-manager.io", "certificates", "", "list", "", ""),
    ("cert-manager.io", "certificates", "", "watch", "", ""),
    ("cert-manager.io", "certificates", "", "list", TENANT_NS, ""),
    ("cert-manager.io", "certificates", "", "get", TENANT_NS, "x"),
    ("cert-manager.io", "certificates", "", "patch", TENANT_NS, "x"),
    ("cert-manager.io", "certificates", "", "create", TENANT_NS, ""),
    ("cert-manager.io", "certificates", "", "delete", TENANT_NS, "x"),
    // Warning Events (a TenantGateway that does not parse): create, and patch for a series.
    ("events.k8s.io", "events", "", "create", TENANT_NS, ""),
    ("events.k8s.io", "events", "", "patch", TENANT_NS, "x"),
    // Leader election (controller.leaderElection.enabled, the default).
    ("coordination.k8s.io", "leases", "", "create", RELEASE_NS, ""),
    ("coordination.k8s.io", "leases", "", "get", RELEASE_NS, LEASE),
    ("coordination.k8s.io", "leases", "", "update", RELEASE_NS, LEASE),
];

/// Things the controller never does and must not be able to do.
#[rustfmt::skip]
const DENIED: &[Access] = &[
    ("*", "*", "", "*", "", ""),
    ("*", "*", "", "get", TENANT_NS, "x"),
    ("", "secrets", "", "get", TENANT_NS, "x"),
    ("", "secrets", "", "list", "", ""),
    ("", "secrets", "", "watch", "", ""),
    ("", "secrets", "", "create", TENANT_NS, ""),
    ("", "secrets", "", "patch", TENANT_NS, "x"),
    ("", "secrets", "", "update", TENANT_NS, "x"),
    ("", "secrets", "", "delete", TENANT_NS, "x"),
    ("", "secrets", "", "get", RELEASE_NS, "x"),
    ("", "configmaps", "", "create", TENANT_NS, ""),
    ("", "pods", "", "list", "", ""),
    ("", "serviceaccounts", "token", "create", RELEASE_NS, SA),
    ("", "namespaces", "", "create", "", ""),
    ("", "namespaces", "", "update", "", TENANT_NS),
    ("", "namespaces", "", "delete", "", TENANT_NS),
    ("", "namespaces", "", "get", "", TENANT_NS),
    ("gateway.cozystack.io", "tenantgateways", "", "get", TENANT_NS, "cozystack"),
    ("gateway.cozystack.io", "tenantgateways", "", "create", TENANT_NS, ""),
    ("gateway.cozystack.io", "tenantgateways", "", "update", TENANT_NS, "cozystack"),
    ("gateway.cozystack.io", "tenantgateways", "", "delete", TENANT_NS, "cozystack"),
    ("gateway.cozystack.io", "tenantgateways", "status", "update", TENANT_NS, "cozystack"),
    ("gateway.networking.k8s.io", "gateways", "", "update", TENANT_NS, "cozystack"),
    ("gateway.networking.k8s.io", "gateways", "", "delete", TENANT_NS, "cozystack"),
    ("gateway.networking.k8s.io", "gateways", "status", "patch", TENANT_NS, "cozystack"),
    ("gateway.networking.k8s.io", "gatewayclasses", "", "list", "", ""),
    ("gateway.networking.k8s.io", "httproutes", "", "delete", TENANT_NS, "app"),
    ("gateway.networking.k8s.io", "httproutes", "status", "update", TENANT_NS, "app"),
    ("gateway.networking.k8s.io", "tlsroutes", "", "patch", TENANT_NS, "app"),
    ("gateway.networking.k8s.io", "grpcroutes", "", "get", TENANT_NS, "app"),
    ("gateway.networking.k8s.io", "referencegrants", "", "list", "", ""),
    ("cert-manager.io", "certificates", "", "update", TENANT_NS, "x"),
    ("cert-manager.io", "issuers", "", "update", TENANT_NS, "cozystack-gateway"),
    ("gateway.networking.k8s.io", "httproutes", "", "update", TENANT_NS, "app"),
    ("cert-manager.io", "certificates", "", "deletecollection", TENANT_NS, ""),
    ("cert-manager.io", "certificates", "status", "patch", TENANT_NS, "x"),
    ("cert-manager.io", "clusterissuers", "", "get", "", "letsencrypt-prod"),
    ("cert-manager.io", "clusterissuers", "", "patch", "", "letsencrypt-prod"),
    ("coordination.k8s.io", "leases", "", "get", RELEASE_NS, "someone-else"),
    ("coordination.k8s.io", "leases", "", "update", RELEASE_NS, "someone-else"),
    ("coordination.k8s.io", "leases", "", "delete", RELEASE_NS, LEASE),
    ("coordination.k8s.io", "leases", "", "patch", RELEASE_NS, LEASE),
    ("coordination.k8s.io", "leases", "", "create", TENANT_NS, ""),
    ("coordination.k8s.io", "leases", "", "list", RELEASE_NS, ""),
    ("rbac.authorization.k8s.io", "clusterroles", "", "escalate", "", ""),
    ("rbac.authorization.k8s.io", "clusterroles", "", "bind", "", ""),
    ("rbac.authorization.k8s.io", "clusterrolebindings", "", "create", "", ""),
    ("", "users", "", "impersonate", "", "admin"),
    ("", "serviceaccounts", "", "impersonate", TENANT_NS, "default"),
    ("apiextensions.k8s.io", "customresourcedefinitions", "", "update", "", "tenantgateways.gateway.cozystack.io"),
    ("admissionregistration.k8s.io", "validatingwebhookconfigurations", "", "list", "", ""),
    ("policies.kubewarden.io", "clusteradmissionpolicies", "", "patch", "", "tenant-gateway-hostnames"),
];

/// The resource rules granted in `namespace` (cluster-wide ones included), as
/// `group resource[/sub] verb [name]` strings, without the built-in self-review rules.
async fn granted_rules(client: &Client, namespace: &str) -> anyhow::Result<BTreeSet<String>> {
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
    anyhow::ensure!(
        !status.incomplete,
        "rules review incomplete: {:?}",
        status.evaluation_error
    );
    let mut out = BTreeSet::new();
    for rule in status.resource_rules {
        let groups = rule.api_groups.unwrap_or_default();
        if groups
            .iter()
            .any(|g| g == "authorization.k8s.io" || g == "authentication.k8s.io")
        {
            continue; // system:basic-user's self reviews
        }
        let names = rule.resource_names.unwrap_or_default();
        for g in &groups {
            for res in rule.resources.iter().flatten() {
                for v in &rule.verbs {
                    if names.is_empty() {
                        out.insert(format!("{g} {res} {v}"));
                    } else {
                        for n in &names {
                            out.insert(format!("{g} {res} {v} {n}"));
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}

fn expected_cluster_rules() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut add = |g: &str, resources: &[&str], verbs: &[&str]| {
        for r in resources {
            for v in verbs {
                out.insert(format!("{g} {r} {v}"));
            }
        }
    };
    add("gateway.cozystack.io", &["tenantgateways"], &["list", "watch", "patch"]);
    add("gateway.cozystack.io", &["tenantgateways/status"], &["patch"]);
    add("gateway.cozystack.io", &["tenantgateways/finalizers"], &["update"]);
    add("", &["namespaces"], &["list", "watch", "patch"]);
    add(
        "gateway.networking.k8s.io",
        &["gateways", "httproutes"],
        &["get", "list", "watch", "create", "patch"],
    );
    add(
        "gateway.networking.k8s.io",
        &["tlsroutes", "grpcroutes"],
        &["list", "watch"],
    );
    add(
        "gateway.networking.k8s.io",
        &["httproutes/status", "tlsroutes/status", "grpcroutes/status"],
        &["patch"],
    );
    add(
        "cert-manager.io",
        &["issuers", "certificates"],
        &["get", "list", "watch", "create", "patch", "delete"],
    );
    add("events.k8s.io", &["events"], &["create", "patch"]);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chart_rbac_is_sufficient_and_minimal() -> anyhow::Result<()> {
    let docs = render_chart().context("rendering the chart")?;
    let cluster = TestCluster::start().await?;
    let admin = cluster.admin().await?;

    // The release namespace (Helm's --create-namespace) and the chart's CRD + RBAC objects.
    Api::<Namespace>::all(admin.clone())
        .patch(
            RELEASE_NS,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": RELEASE_NS}})),
        )
        .await
        .context("creating the release namespace")?;
    install_crd(&admin, &docs).await.context("chart CRD")?;
    for kind in [
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
    ] {
        let objs = of_kind(&docs, kind);
        anyhow::ensure!(!objs.is_empty(), "the chart renders no {kind}");
        for obj in objs {
            apply_rendered(&admin, obj).await?;
        }
    }
    let sa = of_kind(&docs, "ServiceAccount");
    assert_eq!(sa[0]["metadata"]["name"], SA);
    assert_eq!(sa[0]["metadata"]["namespace"], RELEASE_NS);

    let controller = cluster.client(Identity::Controller).await?;
    access_reviews(&controller).await.context("access reviews")?;
    rules_reviews(&controller).await.context("rules reviews")?;
    run_controller(&cluster, &admin)
        .await
        .context("controller as the chart's ServiceAccount")?;
    Ok(())
}

/// Applies the chart's CRD, checks it is the one the controller generates, waits for Established.
async fn install_crd(admin: &Client, docs: &[Value]) -> anyhow::Result<()> {
    let crds = of_kind(docs, "CustomResourceDefinition");
    anyhow::ensure!(crds.len() == 1, "expected one CRD in the chart, got {}", crds.len());
    let chart_crd = crds[0];
    let generated = serde_json::to_value(tgw_controller::crd::crd())?;
    anyhow::ensure!(
        numbers_as_f64(&chart_crd["spec"]) == numbers_as_f64(&generated["spec"]),
        "the chart's CRD differs from tgw_controller::crd::crd(): run `make crd chart-crds`"
    );
    apply_rendered(admin, chart_crd).await?;
    let name = chart_crd["metadata"]["name"].as_str().context("CRD name")?.to_owned();
    let api: Api<CustomResourceDefinition> = Api::all(admin.clone());
    eventually("chart CRD established", || {
        let api = api.clone();
        let name = name.clone();
        async move {
            let c = api.get(&name).await?;
            Ok(c.status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True"))
        }
    })
    .await
}

/// Helm's YAML round trip turns `0.0` into `0`: compare numbers by value.
fn numbers_as_f64(v: &Value) -> Value {
    match v {
        Value::Number(n) => n.as_f64().map_or(Value::Null, |f| json!(f)),
        Value::Array(a) => Value::Array(a.iter().map(numbers_as_f64).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), numbers_as_f64(v))).collect()),
        other => other.clone(),
    }
}

async fn access_reviews(controller: &Client) -> anyhow::Result<()> {
    let mut missing = Vec::new();
    for a in NEEDED {
        if !allowed(controller, *a).await? {
            missing.push(*a);
        }
    }
    let mut excess = Vec::new();
    for a in DENIED {
        if allowed(controller, *a).await? {
            excess.push(*a);
        }
    }
    anyhow::ensure!(
        missing.is_empty() && excess.is_empty(),
        "the chart's RBAC is wrong for {}:{SA}\n  needed but denied: {missing:?}\n  allowed but not needed: {excess:?}",
        RELEASE_NS
    );
    eprintln!(
        "chart rbac: {} needed accesses allowed, {} others denied",
        NEEDED.len(),
        DENIED.len()
    );
    Ok(())
}

async fn rules_reviews(controller: &Client) -> anyhow::Result<()> {
    let cluster_rules = expected_cluster_rules();
    let got = granted_rules(controller, TENANT_NS).await?;
    assert_eq!(got, cluster_rules, "rules granted in a tenant namespace");

    let mut in_release = cluster_rules;
    in_release.insert("coordination.k8s.io leases create".to_owned());
    for v in ["get", "update"] {
        in_release.insert(format!("coordination.k8s.io leases {v} {LEASE}"));
    }
    let got = granted_rules(controller, RELEASE_NS).await?;
    assert_eq!(got, in_release, "rules granted in the release namespace");
    Ok(())
}

/// Conditions whose message says a request was forbidden (or otherwise failed with 403).
fn forbidden_conditions(t: &TenantGateway) -> Vec<String> {
    t.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .filter(|c| {
            let m = c.message.to_ascii_lowercase();
            m.contains("forbidden") || m.contains("403")
        })
        .map(|c| format!("{}: {}", c.type_, c.message))
        .collect()
}

async fn assert_not_forbidden(admin: &Client, ns: &str) -> anyhow::Result<()> {
    let t = get_tgw(admin, ns).await?;
    let bad = forbidden_conditions(&t);
    anyhow::ensure!(bad.is_empty(), "forbidden requests reported: {bad:?}");
    Ok(())
}

/// The controller with the chart's ServiceAccount identity, through every write path it has.
async fn run_controller(cluster: &TestCluster, admin: &Client) -> anyhow::Result<()> {
    let running = start_controller_with(cluster.client(Identity::Controller).await?, any_attach_owner()).await;

    let owner = namespace(admin, "tenant-rbac", &[]).await?;
    let extra = namespace(admin, "cozy-rbac", &[]).await?;
    let apex = format!("{owner}.example.org");
    let www = format!("www.{apex}");
    apply(admin, GW, http_route(&owner, "www", &[&www], &owner)).await?;
    apply(
        admin,
        GW,
        http_route(&extra, "plat", &[&format!("shared.{apex}")], &owner),
    )
    .await?;
    apply_tgw(admin, &owner, json!({"apex": apex, "attachedNamespaces": [extra]})).await?;

    // Create path: finalizer, Gateway, Issuer, Certificate, redirect route (get + apply), namespace
    // labels (patch), route status (status patch), TenantGateway status (status patch).
    let host_cert = naming::host_certificate("cozystack", &www);
    let gwkey = format!("{owner}/cozystack");
    eventually("controller converged as its ServiceAccount", || async {
        let t = get_tgw(admin, &owner).await?;
        let bad = forbidden_conditions(&t);
        anyhow::ensure!(bad.is_empty(), "forbidden requests reported: {bad:?}");
        let has_finalizer = t.finalizers().iter().any(|f| f == FINALIZER);
        let observed = t.status.as_ref().and_then(|s| s.observed_generation) == t.metadata.generation;
        let gateway = get_gateway(admin, &owner, "cozystack").await?.is_some();
        let issuer = get(admin, CM, "Issuer", &owner, "cozystack-gateway").await?.is_some();
        let cert = get(admin, CM, "Certificate", &owner, &host_cert).await?.is_some();
        let redirect = get_route(admin, &owner, "cozystack-http-redirect").await?.is_some();
        let route = get_route(admin, &extra, "plat").await?.context("route")?;
        let accepted = our_parents(&route) == vec![(gwkey.clone(), "True".to_owned(), "Accepted".to_owned())];
        let (labels, _) = ns_labels(admin, &extra).await?;
        let labelled = labels.get(LABEL_GATEWAY) == Some(&owner);
        let state = [
            has_finalizer,
            observed,
            gateway,
            issuer,
            cert,
            redirect,
            accepted,
            labelled,
        ];
        anyhow::ensure!(
            state.iter().all(|b| *b),
            "finalizer/observed/gateway/issuer/cert/redirect/accepted/labelled = {state:?}"
        );
        Ok(true)
    })
    .await?;

    // Delete path: existingSecret needs neither Issuer nor Certificate, so both are deleted.
    apply_tgw(
        admin,
        &owner,
        json!({"apex": apex, "attachedNamespaces": [extra], "certMode": "existingSecret",
               "wildcardSecretRef": {"name": "op-wild"}}),
    )
    .await?;
    eventually("Issuer and Certificate deleted by the controller", || async {
        let gone = |o: Option<DynamicObject>| o.is_none_or(|o| o.metadata.deletion_timestamp.is_some());
        Ok(gone(get(admin, CM, "Issuer", &owner, "cozystack-gateway").await?)
            && gone(get(admin, CM, "Certificate", &owner, &host_cert).await?))
    })
    .await?;
    assert_not_forbidden(admin, &owner).await?;

    // Deletion path: labels and route status entries removed, then the finalizer (patch).
    Api::<TenantGateway>::namespaced(admin.clone(), &owner)
        .delete("cozystack", &DeleteParams::default())
        .await?;
    eventually("TenantGateway cleaned up and gone", || async {
        Ok(Api::<TenantGateway>::namespaced(admin.clone(), &owner)
            .get_opt("cozystack")
            .await?
            .is_none())
    })
    .await?;
    let (labels, annotations) = ns_labels(admin, &extra).await?;
    assert!(
        !labels.contains_key(LABEL_GATEWAY) && !annotations.contains_key(ANNOTATION_ATTACHED_BY),
        "{labels:?} {annotations:?}"
    );
    let route = get_route(admin, &extra, "plat").await?.context("route")?;
    assert_eq!(our_parents(&route), vec![]);

    let reconciles = running.metrics.reconciles();
    let writes = running.metrics.writes();
    running.stop().await.context("the controller stopped with an error")?;
    eprintln!("chart rbac: controller as {RELEASE_NS}:{SA}: {reconciles} reconciles, {writes} writes, no 403");
    Ok(())
}
