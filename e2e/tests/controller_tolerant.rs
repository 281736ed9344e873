//! Tolerant inputs on the real API server: a TenantGateway stored under a looser CRD (here
//! `certMode: edge`, as Cozystack's own CRD or a future mode allows) is reported on its own status
//! and in an Event and skipped, while every other TenantGateway still reconciles; the log stays
//! bounded.

mod controller_support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use controller_support::*;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use tgw_core::conditions::{reasons, types};

/// Log lines of this test process.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Our CRD without the certMode enum: the API server then stores `certMode: edge`.
async fn loosen_crd(admin: &kube::Client) -> anyhow::Result<()> {
    let crds: Api<CustomResourceDefinition> = Api::all(admin.clone());
    let mut crd = serde_json::to_value(tgw_controller::crd::crd())?;
    for v in crd["spec"]["versions"].as_array_mut().context("versions")? {
        let cert_mode = &mut v["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["certMode"];
        cert_mode.as_object_mut().context("certMode schema")?.remove("enum");
    }
    crds.patch(
        "tenantgateways.gateway.cozystack.io",
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&crd),
    )
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unparseable_tenantgateway_is_reported_and_skipped() -> anyhow::Result<()> {
    let log = Log::default();
    let writer = log.clone();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .with_writer(move || writer.clone())
        .try_init();
    let (_cluster, admin) = cluster().await?;
    loosen_crd(&admin).await?;
    let bad = namespace(&admin, "tenant-bad", &[]).await?;
    eventually("the looser CRD stores certMode: edge", || async {
        // Written untyped: the typed client itself cannot read the object back.
        let spec = json!({"apex": format!("{bad}.example.org"), "certMode": "edge"});
        apply(&admin, "gateway.cozystack.io", tgw(&bad, spec)).await?;
        Ok(true)
    })
    .await?;
    let before = namespace(&admin, "tenant-ok", &[]).await?;
    apply_tgw(&admin, &before, json!({"apex": format!("{before}.example.org")})).await?;

    let controller = start_controller(admin.clone()).await;
    // A TenantGateway created after the start still gets its Gateway.
    let after = namespace(&admin, "tenant-new", &[]).await?;
    apply_tgw(&admin, &after, json!({"apex": format!("{after}.example.org")})).await?;
    for ns in [&before, &after] {
        eventually(&format!("Gateway in {ns}"), || async {
            Ok(get_gateway(&admin, ns, "cozystack").await?.is_some())
        })
        .await?;
    }

    // The unparseable one: InputsValid=False/InvalidSpec naming the field, on its own status.
    let tgws: Api<kube::api::DynamicObject> = dynapi(&admin, "gateway.cozystack.io", "TenantGateway", &bad).await?;
    eventually("InputsValid=False on the unparseable TenantGateway", || async {
        let t = tgws.get("cozystack").await?;
        let c = t.data["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == types::INPUTS_VALID)
            .cloned();
        Ok(c.is_some_and(|c| {
            c["status"] == "False"
                && c["reason"] == reasons::INVALID_SPEC
                && c["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("certMode") && m.contains("edge"))
        }))
    })
    .await?;
    assert!(
        get_gateway(&admin, &bad, "cozystack").await?.is_none(),
        "skipped: no Gateway"
    );
    // … and in a Warning Event regarding it.
    eventually("InvalidSpec event", || async {
        let events: Api<Event> = Api::namespaced(admin.clone(), &bad);
        Ok(events.list(&Default::default()).await?.items.iter().any(|e| {
            e.reason.as_deref() == Some(reasons::INVALID_SPEC)
                && e.type_.as_deref() == Some("Warning")
                && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("cozystack")
        }))
    })
    .await?;
    // Reported once (no retry loop): one status write and one event for it.
    let t = tgws.get("cozystack").await?;
    let rv = t.resource_version();
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    assert_eq!(tgws.get("cozystack").await?.resource_version(), rv, "status rewritten");
    assert_eq!(controller.metrics.obs.errors("invalid_spec"), 1);
    controller.stop().await?;

    let text = String::from_utf8_lossy(&log.0.lock().map(|v| v.clone()).unwrap_or_default()).into_owned();
    assert!(text.contains("does not parse"), "the skip is logged:\n{text}");
    let longest = text.lines().max_by_key(|l| l.len()).unwrap_or_default();
    assert!(
        longest.len() < 4096,
        "a log line of {} bytes: {}…",
        longest.len(),
        longest.chars().take(600).collect::<String>()
    );
    Ok(())
}

/// A TenantGateway that parsed (so it carries our finalizer and wrote route status) and then stops
/// parsing under a looser CRD can still be deleted: the controller cleans up what it wrote, found
/// by name, and releases the finalizer instead of leaving the deletion hanging.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenantgateway_that_stops_parsing_is_still_cleaned_up_on_delete() -> anyhow::Result<()> {
    let (_cluster, admin) = cluster().await?;
    loosen_crd(&admin).await?;
    let ns = namespace(&admin, "tenant-gone", &[]).await?;
    let apex = format!("{ns}.example.org");
    apply_tgw(&admin, &ns, json!({"apex": apex})).await?;
    apply(&admin, GW, http_route(&ns, "app", &[&format!("app.{apex}")], &ns)).await?;
    let controller = start_controller(admin.clone()).await;
    let tgws = dynapi(&admin, "gateway.cozystack.io", "TenantGateway", &ns).await?;
    eventually("finalizer and our route status entry", || async {
        let finalized = tgws
            .get("cozystack")
            .await?
            .finalizers()
            .iter()
            .any(|f| f == tgw_core::keys::FINALIZER);
        let route = get_route(&admin, &ns, "app").await?.context("route")?;
        Ok(finalized && !our_parents(&route).is_empty())
    })
    .await?;

    // The spec stops parsing, then the TenantGateway is deleted.
    tgws.patch(
        "cozystack",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"certMode": "edge"}})),
    )
    .await?;
    tgws.delete("cozystack", &Default::default()).await?;

    eventually("the deletion completes", || async {
        Ok(tgws.get_opt("cozystack").await?.is_none())
    })
    .await?;
    let route = get_route(&admin, &ns, "app").await?.context("route")?;
    assert_eq!(our_parents(&route), vec![], "our route status entry is removed");
    controller.stop().await?;
    Ok(())
}
