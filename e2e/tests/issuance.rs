//! Certificates really issued: cert-manager's controller (built from the root module
//! `github.com/cert-manager/cert-manager`, e2e/k8s/certmanager) answers the Issuer and Certificates
//! the controller renders by ordering from Pebble (the ACME test server), presenting the HTTP-01
//! challenge through the tenant Gateway's own `http` listener in Traefik, and storing the issued
//! chain; Traefik then serves it.
//!
//! Everything — etcd, kube-apiserver, Traefik, the controller (in-process), Pebble and
//! challtestsrv, cert-manager, the solver processes and the client — runs inside a network
//! namespace the test creates itself (`unshare --net`, as the data-plane suite). There is no
//! kubelet: the test runs cert-manager's `acmesolver` for each solver Pod with the Pod's own
//! arguments and publishes it in an EndpointSlice for the solver Service. Until the controller can
//! point an Issuer at another ACME directory (issue 20 item 5), the rendered Issuer names Let's
//! Encrypt staging and cert-manager reaches Pebble through a front standing in for that host
//! (`tgw_e2e::acme::front`). See e2e/CONTROL-PLANE.md ("cert-manager and Pebble").
//!
//! The cast: tenant-root (apex example.org, http01, route `www`), its inheriting children
//! tenant-alice (route `shop.alice`) and tenant-bob, whose route for Alice's `shop` and `pay`
//! names is written past admission. Every case runs, then the suite fails naming each failed one.

mod controller_support;
mod issuance_support;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use issuance_support::*;
use tgw_e2e::acme::https;
use tgw_e2e::dataplane::{BACKEND_HEADER, netns};

use crate::controller_support as cs;

const SUITE: &str = "issuance_suite";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issuance_suite() -> Result<()> {
    if !netns::inside() {
        // Outside: build what needs the network, then run inside.
        Paths::locate()?;
        return netns::rerun_inside(SUITE);
    }
    let started = Instant::now();
    let mut world = World::start(&Paths::locate()?).await?;
    eprintln!("tgw-e2e: issuance world up in {:.1}s", started.elapsed().as_secs_f64());
    let mut report = Report::default();
    let issued = report
        .case("setup: every Certificate Ready", every_certificate_ready(&mut world))
        .await;
    if issued {
        for (name, backend) in [
            (host("www"), "tenant-root/www"),
            (host("shop.alice"), "tenant-alice/shop"),
        ] {
            report
                .case(
                    &format!("1 {name}: Pebble's chain in the Secret, on the listener and served"),
                    issued_and_served(&world, &name, backend),
                )
                .await;
        }
        report
            .case(
                "2 no ACME order for a name the controller refused",
                no_order_for_refused(&world),
            )
            .await;
    }
    eprintln!("tgw-e2e: issuance suite took {:.1}s", started.elapsed().as_secs_f64());
    let result = report.finish();
    // Kept on failure, or always with TGW_E2E_KEEP_LOGS=1.
    if result.is_err() || std::env::var_os("TGW_E2E_KEEP_LOGS").is_some_and(|v| v == "1") {
        world.keep_logs(&std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("issuance-logs"));
    }
    result
}

#[derive(Default)]
struct Report {
    results: Vec<(String, Option<String>)>,
}

impl Report {
    /// Runs one case; returns whether it passed.
    async fn case(&mut self, name: &str, f: impl Future<Output = Result<()>>) -> bool {
        eprintln!("=== {name}");
        let started = Instant::now();
        let result = f.await.err().map(|e| format!("{e:#}"));
        let ok = result.is_none();
        eprintln!(
            "=== {name}: {} in {:.1}s",
            if ok { "ok" } else { "FAILED" },
            started.elapsed().as_secs_f64()
        );
        self.results.push((name.to_owned(), result));
        ok
    }

    fn finish(self) -> Result<()> {
        eprintln!("\nissuance suite:");
        for (name, r) in &self.results {
            eprintln!("  {:<6} {name}", if r.is_none() { "ok" } else { "FAILED" });
        }
        let failed: Vec<String> = self
            .results
            .into_iter()
            .filter_map(|(name, r)| r.map(|e| format!("{name}: {e}")))
            .collect();
        if failed.is_empty() {
            return Ok(());
        }
        bail!("{} case(s) failed:\n{}", failed.len(), failed.join("\n\n"))
    }
}

/// Setup: the controller asks for one Certificate per served name in root's namespace, through
/// root's Issuer, whose one ACME account cert-manager registers with Pebble (its key in root's
/// namespace); cert-manager gets each Certificate Ready.
async fn every_certificate_ready(w: &mut World) -> Result<()> {
    let started = Instant::now();
    let certs = w.await_issued(ROOT, &served_names()).await?;
    eprintln!(
        "tgw-e2e: {} Certificates Ready after {:.1}s",
        certs.len(),
        started.elapsed().as_secs_f64()
    );
    for (route, parents) in &w.solver_routes {
        eprintln!("  solver route {route}: {parents}");
    }
    let issuer_name = tgw_core::naming::issuer("cozystack");
    let issuer = cs::get(&w.admin, cs::CM, "Issuer", ROOT, &issuer_name)
        .await?
        .with_context(|| format!("no Issuer {ROOT}/{issuer_name}"))?;
    let account = issuer.data["status"]["acme"]["uri"].as_str().unwrap_or("").to_owned();
    let key = tgw_core::naming::acme_account_key("cozystack");
    let key_secret = kube::Api::<k8s_openapi::api::core::v1::Secret>::namespaced(w.admin.clone(), ROOT)
        .get_opt(&key)
        .await?;
    eprintln!(
        "  Issuer {ROOT}/{issuer_name}: account {account}; key Secret {ROOT}/{key}: {}; Pebble accounts: {}",
        if key_secret.is_some() { "present" } else { "MISSING" },
        w.pebble.accounts()
    );
    ensure!(
        !account.is_empty(),
        "Issuer {ROOT}/{issuer_name} has no ACME account URI"
    );
    ensure!(key_secret.is_some(), "no account key Secret {ROOT}/{key}");
    ensure!(
        w.pebble.accounts() == 1,
        "Pebble holds {} accounts, expected root's one",
        w.pebble.accounts()
    );
    Ok(())
}

/// Case 1: the Certificate for `name` holds a chain Pebble issued (verified for the name against
/// Pebble's root, nothing else), its listener reports `certificateReady` and the TenantGateway is
/// Ready, and an HTTPS request through Traefik gets exactly that chain's leaf from `backend`.
async fn issued_and_served(w: &World, name: &str, backend: &str) -> Result<()> {
    let cert = w
        .certificates(ROOT)
        .await?
        .into_iter()
        .find(|c| dns_names(c) == [name])
        .with_context(|| format!("no Certificate for {name}"))?;
    let secret = cert.data["spec"]["secretName"]
        .as_str()
        .context("no secretName")?
        .to_owned();
    let chain = w.tls_chain(ROOT, &secret).await?;
    verify_chain(&chain, name, w.pebble.roots()?).with_context(|| format!("Secret {ROOT}/{secret}"))?;
    eprintln!(
        "  Secret {ROOT}/{secret}: {} certificates, chains to Pebble's root for {name} (issuer {})",
        chain.len(),
        cert.data["spec"]["issuerRef"]["name"]
    );

    cs::eventually(&format!("listener for {name} certificateReady"), || async {
        let tgw = cs::get_tgw(&w.admin, ROOT).await?;
        let status = serde_json::to_value(&tgw.status)?;
        let listener = status["listeners"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|l| l["hostname"] == name)
            .cloned()
            .with_context(|| format!("no listener status for {name}: {status}"))?;
        ensure!(
            listener["certificateReady"] == true && listener["ready"] == true,
            "listener status {listener}"
        );
        let ready = cs::condition(&tgw, "Ready").map(|c| (c.status.as_str().to_owned(), c.reason.clone()));
        ensure!(
            ready.as_ref().is_some_and(|(s, _)| s == "True"),
            "TenantGateway Ready is {ready:?}"
        );
        Ok(true)
    })
    .await?;

    let gateway = SocketAddr::from((netns::ADDRESS, 443));
    let roots = w.pebble.roots()?;
    cs::eventually(&format!("https://{name}/ served with Pebble's chain"), || async {
        let got = https::get(gateway, name, "/", &roots).await?;
        ensure!(got.status == 200, "status {}", got.status);
        ensure!(
            got.header(BACKEND_HEADER) == Some(backend),
            "answered by {:?}",
            got.header(BACKEND_HEADER)
        );
        ensure!(
            got.chain.first() == chain.first(),
            "Traefik served another leaf than Secret {ROOT}/{secret}'s"
        );
        Ok(true)
    })
    .await?;
    eprintln!("  https://{name}/ -> 200 from {backend} with that leaf");
    Ok(())
}

/// Case 2: every ACME order placed (the front sees each newOrder on its way to Pebble, and
/// Pebble's own count agrees) is for exactly one served name, once; no Certificate anywhere asks
/// for a refused name; and a request for a refused name reaches no backend of Bob's.
async fn no_order_for_refused(w: &World) -> Result<()> {
    let front = w.front.log();
    let pebble_orders = w.pebble.orders_placed();
    eprintln!(
        "  orders seen by the front {:?}; Pebble accepted {pebble_orders}; refused CONNECTs {:?}",
        front.orders, front.refused
    );
    let mut problems = Vec::new();
    if front.orders.len() != pebble_orders {
        problems.push(format!(
            "the front forwarded {} newOrder requests, Pebble logged {pebble_orders} orders",
            front.orders.len()
        ));
    }
    let mut ordered = front.orders.clone();
    ordered.sort();
    let mut want: Vec<Vec<String>> = served_names().into_iter().map(|n| vec![n]).collect();
    want.sort();
    if ordered != want {
        problems.push(format!("orders {ordered:?}, expected one per served name {want:?}"));
    }
    if !front.refused.is_empty() {
        problems.push(format!(
            "cert-manager connected elsewhere through the front: {:?}",
            front.refused
        ));
    }
    for ns in [ROOT, ALICE, BOB] {
        for c in w.certificates(ns).await? {
            let names = dns_names(&c);
            if names.iter().any(|n| refused_names().contains(n)) {
                problems.push(format!(
                    "Certificate {ns}/{} asks for {names:?}",
                    c.metadata.name.clone().unwrap_or_default()
                ));
            }
        }
    }
    let gateway = SocketAddr::from((netns::ADDRESS, 443));
    for name in refused_names() {
        // No certificate is valid for the name: the handshake fails, or nothing of Bob's answers.
        match https::get(gateway, &name, "/", &w.pebble.roots()?).await {
            Err(e) => eprintln!("  https://{name}/ -> {e:#}"),
            Ok(got) if got.header(BACKEND_HEADER).is_some_and(|b| b.starts_with(BOB)) => {
                problems.push(format!("https://{name}/ reached {:?}", got.header(BACKEND_HEADER)));
            }
            Ok(got) => eprintln!(
                "  https://{name}/ -> {} from {:?}",
                got.status,
                got.header(BACKEND_HEADER)
            ),
        }
    }
    ensure!(problems.is_empty(), "{problems:#?}");
    Ok(())
}
