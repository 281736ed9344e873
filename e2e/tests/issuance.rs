//! Certificates really issued: cert-manager's controller (built from the root module
//! `github.com/cert-manager/cert-manager`, e2e/k8s/certmanager) answers the Issuers and
//! Certificates the controller renders by ordering from Pebble (the ACME test server), presenting
//! the HTTP-01 challenge through the tenant Gateway's own `http` listener in Traefik, and storing
//! the issued chain; Traefik then serves it.
//!
//! The controller runs with Pebble as the ACME directory of `letsencrypt-stage` (issue 20 item 5:
//! `Settings.acme`, what `--acme-directories` and `--acme-ca-bundle-file` set): the Issuers name
//! Pebble's own directory URL and carry the CA of Pebble's TLS listener as `spec.acme.caBundle`,
//! the only way cert-manager can trust it (that CA exists for this run only).
//!
//! Everything — etcd, kube-apiserver, Traefik, the controller (in-process), Pebble, two
//! challtestsrv DNS servers (the public view Pebble validates with, the cluster view cert-manager
//! self-checks with), cert-manager, the solver processes and the client — runs inside a network
//! namespace the test creates itself (`unshare --net`, as the data-plane suite). There is no
//! kubelet: the test runs cert-manager's `acmesolver` for each solver Pod with the Pod's own
//! arguments and publishes it in an EndpointSlice for the solver Service. See e2e/CONTROL-PLANE.md
//! ("cert-manager and Pebble").
//!
//! The cast: tenant-root (apex example.org, http01, route `www`), its inheriting children
//! tenant-alice (routes `shop.alice` and `elsewhere.alice`) and tenant-bob, whose route for
//! Alice's `shop` and `pay` names is written past admission, tenant-dave and tenant-erin (one host
//! label `team.example.org`, a route each for `app.team`, Dave's older); the child tenant
//! tenant-carol with a
//! TenantGateway of its own (apex carol.example.org, http01, routes `app.carol` and
//! `elsewhere.carol`). The public DNS sends both `elsewhere` names to an address where nothing
//! listens, so Pebble's validation of them fails. Every case runs, then the suite fails naming
//! each failed one.

mod controller_support;
mod issuance_support;

use std::net::SocketAddr;
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use base64::Engine;
use issuance_support::*;
use serde_json::{Value, json};
use tgw_core::naming;
use tgw_e2e::acme::https;
use tgw_e2e::acme::pebble::{LONG_PROFILE, SHORT_PROFILE};
use tgw_e2e::dataplane::{BACKEND_HEADER, netns};
use tgw_e2e::report::Report;

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
    let mut report = Report::new("issuance suite");
    let settled = report
        .case(
            "setup: every served name issued, every name whose validation fails given up",
            every_certificate_settled(&mut world),
        )
        .await;
    if settled {
        for (owner, name, backend) in [
            (ROOT, host("www"), "tenant-root/www"),
            (ROOT, host("shop.alice"), "tenant-alice/shop"),
            (ROOT, host("app.team"), "tenant-dave/app"),
            (CAROL, host("app.carol"), "tenant-carol/app"),
        ] {
            report
                .case(
                    &format!("1 {name}: Pebble's chain in the Secret, on the listener and served"),
                    issued_and_served(&world, owner, &name, backend),
                )
                .await;
        }
        report
            .case(
                "2 one ACME account per TenantGateway: root's and its children Carol's, Frank's and Gina's, keys in their own namespaces",
                one_account_per_tenantgateway(&world),
            )
            .await;
        report
            .case(
                "3 Pebble's orders: one per claimed name on its TenantGateway's account, none for a refused name",
                orders_per_claimed_name_only(&world),
            )
            .await;
        report
            .case(
                "4 an ACME failure: CertificatesReady names the Certificate, its listener stays not ready; the parent's Ready is the parent's",
                acme_failure_on_the_conditions(&world),
            )
            .await;
        report
            .case(
                "5 a name moving to another tenant: Dave deletes his route, Erin's wins and is served with the name's certificate, no new order",
                name_moves_to_the_other_claimant(&world),
            )
            .await;
        report
            .case(
                "6 DNS-01: Frank's wildcard Certificate for his apex and his child's, validated through TSIG-signed rfc2136 updates to BIND, served for both",
                dns01_wildcard_issued_and_served(&world),
            )
            .await;
        report
            .case(
                "7 renewal: Gina's short-lived certificate is renewed and served without a gap (a bounded request loop sees only valid certificates)",
                renewed_without_a_gap(&world),
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

/// Setup: the controller asks, in each owner namespace, for one Certificate per claimed name,
/// through that TenantGateway's Issuer; cert-manager gets each served name's Certificate Ready
/// and gives up on each failing name's (its order invalid at Pebble).
async fn every_certificate_settled(w: &mut World) -> Result<()> {
    let started = Instant::now();
    w.await_settled().await?;
    eprintln!(
        "tgw-e2e: every Certificate settled after {:.1}s",
        started.elapsed().as_secs_f64()
    );
    for (route, parents) in &w.solver_routes {
        eprintln!("  solver route {route}: {parents}");
    }
    Ok(())
}

/// The TenantGateway of `owner`'s status entry for the listener serving `name`.
async fn listener_status(w: &World, owner: &str, name: &str) -> Result<Value> {
    let tgw = cs::get_tgw(&w.admin, owner).await?;
    let status = serde_json::to_value(&tgw.status)?;
    status["listeners"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|l| l["hostname"] == name)
        .cloned()
        .with_context(|| format!("no listener status for {name} on {owner}/{TGW}: {status}"))
}

/// Case 1: the Certificate for `name` in `owner`'s namespace holds a chain Pebble issued
/// (verified for the name against Pebble's root, nothing else), its listener reports
/// `certificateReady` and `ready`, and an HTTPS request through Traefik gets exactly that chain's
/// leaf from `backend`.
async fn issued_and_served(w: &World, owner: &str, name: &str, backend: &str) -> Result<()> {
    let secret = certificate_name(name);
    let cert = cs::get(&w.admin, cs::CM, "Certificate", owner, &secret)
        .await?
        .with_context(|| format!("no Certificate {owner}/{secret}"))?;
    ensure!(
        cert.data["spec"]["secretName"] == secret.as_str() && dns_names(&cert) == [name],
        "Certificate {owner}/{secret}: spec {}",
        cert.data["spec"]
    );
    let chain = w.tls_chain(owner, &secret).await?;
    verify_chain(&chain, name, w.acme.pebble.roots()?).with_context(|| format!("Secret {owner}/{secret}"))?;
    eprintln!(
        "  Secret {owner}/{secret}: {} certificates, chains to Pebble's root for {name} (issuer {})",
        chain.len(),
        cert.data["spec"]["issuerRef"]["name"]
    );

    let want = json!({
        "name": naming::host_listener(name),
        "hostname": name,
        "ready": true,
        "certificateName": secret,
        "certificateReady": true,
    });
    cs::eventually(&format!("listener for {name} ready"), || async {
        let got = listener_status(w, owner, name).await?;
        ensure!(got == want, "listener status {got}, expected {want}");
        Ok(true)
    })
    .await?;

    let gateway = SocketAddr::from((netns::ADDRESS, 443));
    let roots = w.acme.pebble.roots()?;
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
            "Traefik served another leaf than Secret {owner}/{secret}'s"
        );
        Ok(true)
    })
    .await?;
    eprintln!("  https://{name}/ -> 200 from {backend} with that leaf");
    Ok(())
}

/// Case 2: each TenantGateway's Issuer names Pebble's own directory with the CA of Pebble's TLS
/// listener as `caBundle`, the profile of its issuer name and its account key Secret in its own
/// namespace; cert-manager registered
/// one account per Issuer; Pebble holds exactly those two, each answering to the key in that
/// Secret.
async fn one_account_per_tenantgateway(w: &World) -> Result<()> {
    let mut got = Vec::new();
    let mut want = Vec::new();
    let mut urls = Vec::new();
    for ns in ACCOUNT_HOLDERS {
        let issuer_name = naming::issuer(TGW);
        let issuer = cs::get(&w.admin, cs::CM, "Issuer", ns, &issuer_name)
            .await?
            .with_context(|| format!("no Issuer {ns}/{issuer_name}"))?;
        let acme = &issuer.data["spec"]["acme"];
        let ca_bundle = base64::engine::general_purpose::STANDARD
            .decode(acme["caBundle"].as_str().unwrap_or(""))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let key = w.account_key(ns).await?;
        let account = w.acme.pebble.account(&key).await?;
        eprintln!(
            "  {ns}: Issuer {issuer_name} account {}: {}",
            key.url, account["status"]
        );
        urls.push(key.url.clone());
        got.push(json!({
            "namespace": ns,
            "server": acme["server"],
            "caBundle is the CA of Pebble's listener": ca_bundle == w.acme.pebble_ca.pem(),
            "account key Secret": acme["privateKeySecretRef"]["name"],
            "profile": acme["profile"],
            "account at Pebble": account["status"],
        }));
        want.push(json!({
            "namespace": ns,
            "server": w.acme.pebble.directory_url(),
            "caBundle is the CA of Pebble's listener": true,
            "account key Secret": naming::acme_account_key(TGW),
            // letsencrypt-stage -> classic, Gina's letsencrypt-prod -> shortlived (--acme-profiles).
            "profile": if ns == GINA { SHORT_PROFILE } else { LONG_PROFILE },
            "account at Pebble": "valid",
        }));
    }
    ensure!(got == want, "Issuers and accounts {got:#?}, expected {want:#?}");
    let distinct: std::collections::BTreeSet<&String> = urls.iter().collect();
    ensure!(distinct.len() == urls.len(), "Issuers share accounts: {urls:?}");
    ensure!(
        w.acme.pebble.accounts() == ACCOUNT_HOLDERS.len(),
        "Pebble holds {} accounts, expected one per TenantGateway ({})",
        w.acme.pebble.accounts(),
        ACCOUNT_HOLDERS.len()
    );
    Ok(())
}

/// Case 3: every order Pebble accepted, read back from Pebble with the key of the account that
/// placed it, is for one claimed name, once, on the account of the TenantGateway that claims it:
/// `valid` for the served names; `invalid` for the failing ones, their challenge failed with a
/// connection problem (Pebble's own validation request was refused); none for a refused name
/// (rate-limit safety). No Certificate anywhere asks for a refused name, and a request for one reaches no
/// backend of Bob's.
async fn orders_per_claimed_name_only(w: &World) -> Result<()> {
    let ledger = w.http01_orders().await?;
    for o in &ledger {
        eprintln!(
            "  order {} on {}'s account: {:?} {} {:?}",
            o.id, o.account, o.identifiers, o.status, o.problems
        );
    }
    // (account holder, identifiers, status, ACME error types of its failed challenges)
    type Row = (String, Vec<String>, String, Vec<String>);
    let mut got: Vec<Row> = ledger
        .into_iter()
        .map(|o| {
            let problems = o.problems.into_iter().map(|(t, _)| t).collect();
            (o.account, o.identifiers, o.status, problems)
        })
        .collect();
    got.sort();
    let mut want: Vec<Row> = Vec::new();
    for ns in OWNERS {
        for n in served_names(ns) {
            want.push((ns.to_owned(), vec![n], "valid".to_owned(), vec![]));
        }
        for n in failing_names(ns) {
            // Pebble's HTTP-01 request to the address its DNS gave was refused.
            let refused = "urn:ietf:params:acme:error:connection".to_owned();
            want.push((ns.to_owned(), vec![n], "invalid".to_owned(), vec![refused]));
        }
    }
    want.sort();
    let mut problems = Vec::new();
    if got != want {
        problems.push(format!("Pebble's orders {got:#?}, expected {want:#?}"));
    }
    for ns in [ROOT, ALICE, BOB, DAVE, ERIN, CAROL] {
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
        match https::get(gateway, &name, "/", &w.acme.pebble.roots()?).await {
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

/// `(type, status, reason, message)` of the TenantGateway's condition `ty`.
fn tgw_condition(tgw: &tgw_core::tenantgateway::TenantGateway, ty: &str) -> Value {
    cs::condition(tgw, ty).map_or(Value::Null, |c| json!([ty, c.status.as_str(), c.reason, c.message]))
}

/// Case 4: Pebble refused each failing name's challenge (its order is `invalid`) and
/// cert-manager gave the Certificate up for an hour. Each TenantGateway then reports
/// `CertificatesReady=False/Pending` naming that Certificate, and that name's listener entry is
/// not ready, names the Certificate, and has `certificateReady: false` (its reason is the
/// Gateway's: Traefik does not accept a listener whose Secret does not exist). The parent's Ready is the parent's
/// (controller/README.md): root stays `Ready=True` while its attached tenant Alice's listener is
/// not ready, which `AttachedNamespacesReady` names; Carol's own listener turns Carol's `Ready`
/// False.
async fn acme_failure_on_the_conditions(w: &World) -> Result<()> {
    for ns in OWNERS {
        for name in failing_names(ns) {
            let cert = cs::get(&w.admin, cs::CM, "Certificate", ns, &certificate_name(&name))
                .await?
                .with_context(|| format!("no Certificate for {name}"))?;
            eprintln!(
                "  Certificate {ns}/{}: Ready={:?} Issuing={:?} failedIssuanceAttempts={}",
                certificate_name(&name),
                condition(&cert.data, "Ready"),
                condition(&cert.data, "Issuing"),
                cert.data["status"]["failedIssuanceAttempts"]
            );
        }
    }
    let root_failing = host("elsewhere.alice");
    let carol_failing = host("elsewhere.carol");
    let attached = format!(
        "Not ready for attached namespaces (their own objects; the TenantGateway stays Ready): {ALICE}: listener {} NotAccepted",
        naming::host_listener(&root_failing)
    );
    let expected = [
        (
            ROOT,
            &root_failing,
            json!([
                [
                    "Ready",
                    "True",
                    "Reconciled",
                    format!("Gateway {ROOT}/{TGW} programmed with 5 listeners")
                ],
                [
                    "CertificatesReady",
                    "False",
                    "Pending",
                    format!("Certificates not ready: {}", certificate_name(&root_failing))
                ],
                ["AttachedNamespacesReady", "False", "NotReady", attached],
            ]),
        ),
        (
            CAROL,
            &carol_failing,
            json!([
                [
                    "Ready",
                    "False",
                    "ListenersNotReady",
                    format!("One or more listeners on Gateway {CAROL}/{TGW} are not ready")
                ],
                [
                    "CertificatesReady",
                    "False",
                    "Pending",
                    format!("Certificates not ready: {}", certificate_name(&carol_failing))
                ],
                [
                    "AttachedNamespacesReady",
                    "True",
                    "Ready",
                    "Every attached namespace's listeners are ready and its routes' status is written"
                ],
            ]),
        ),
    ];
    for (ns, failing, want_conditions) in expected {
        let want_listener = json!({
            "name": naming::host_listener(failing),
            "hostname": failing,
            "ready": false,
            "certificateName": certificate_name(failing),
            "certificateReady": false,
            // Traefik does not accept an HTTPS listener whose Secret does not exist; the
            // Gateway's verdict comes first in the reason.
            "reason": "NotAccepted",
        });
        cs::eventually(&format!("{ns}/{TGW} reporting the failed Certificate"), || async {
            let tgw = cs::get_tgw(&w.admin, ns).await?;
            let got = json!(["Ready", "CertificatesReady", "AttachedNamespacesReady"].map(|t| tgw_condition(&tgw, t)));
            ensure!(
                got == want_conditions,
                "{ns}/{TGW} conditions {got:#}, expected {want_conditions:#}"
            );
            let listener = listener_status(w, ns, failing).await?;
            ensure!(
                listener == want_listener,
                "listener {listener}, expected {want_listener}"
            );
            Ok(true)
        })
        .await?;
        eprintln!("  {ns}/{TGW}: {want_conditions}");
    }
    Ok(())
}

/// Our controller's parent status on `ns/name` (route kind HTTPRoute): `[status, reason]` of
/// its `Accepted` condition.
async fn accepted_by_us(w: &World, ns: &str, name: &str) -> Result<Value> {
    let ours = tgw_core::decide::Settings::default().controller_name;
    let route = cs::get(&w.admin, cs::GW, "HTTPRoute", ns, name)
        .await?
        .with_context(|| format!("no HTTPRoute {ns}/{name}"))?;
    let entry = route.data["status"]["parents"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["controllerName"] == ours.as_str())
        .cloned()
        .unwrap_or(Value::Null);
    let accepted = entry["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "Accepted")
        .map_or(Value::Null, |c| json!([c["status"], c["reason"]]));
    Ok(accepted)
}

/// Case 5: `app.team` is Dave's (his route is the older claim; Erin's lost it) and served with
/// its Pebble-issued certificate from Dave's backend. Dave deletes his route: Erin's claim wins,
/// the name's listener admits Erin's namespace alone, and the same Certificate (same object,
/// same leaf) now serves Erin's backend. No new ACME order is placed: the name's certificate
/// belongs to the TenantGateway, not to the tenant that routes it.
async fn name_moves_to_the_other_claimant(w: &World) -> Result<()> {
    let name = host("app.team");
    let listener = naming::host_listener(&name);
    let cert_name = certificate_name(&name);
    let before = cs::get(&w.admin, cs::CM, "Certificate", ROOT, &cert_name)
        .await?
        .with_context(|| format!("no Certificate {ROOT}/{cert_name}"))?;
    let orders_before = w.http01_orders().await?.into_iter().map(|o| o.id).collect::<Vec<_>>();
    let leaf = w.tls_chain(ROOT, &cert_name).await?.into_iter().next();
    let claims = json!([
        accepted_by_us(w, DAVE, "app").await?,
        accepted_by_us(w, ERIN, "app").await?
    ]);
    let want = json!([["True", "Accepted"], ["False", "HostnameConflict"]]);
    ensure!(
        claims == want,
        "before: Dave's and Erin's routes accepted {claims}, expected {want}"
    );
    ensure!(
        admitted(w, &listener).await? == json!([DAVE]),
        "before: listener {listener} admits {}",
        admitted(w, &listener).await?
    );

    cs::dynapi(&w.admin, cs::GW, "HTTPRoute", DAVE)
        .await?
        .delete("app", &Default::default())
        .await
        .context("deleting Dave's route")?;

    cs::eventually(
        "Erin's route accepted, the listener admitting Erin's namespace",
        || async {
            let erin = accepted_by_us(w, ERIN, "app").await?;
            ensure!(erin == json!(["True", "Accepted"]), "Erin's route accepted {erin}");
            let ns = admitted(w, &listener).await?;
            ensure!(ns == json!([ERIN]), "listener {listener} admits {ns}");
            Ok(true)
        },
    )
    .await?;
    let gateway = SocketAddr::from((netns::ADDRESS, 443));
    let roots = w.acme.pebble.roots()?;
    cs::eventually(&format!("https://{name}/ served by Erin"), || async {
        let got = https::get(gateway, &name, "/", &roots).await?;
        ensure!(
            (got.status, got.header(BACKEND_HEADER)) == (200, Some("tenant-erin/app")),
            "{} from {:?}",
            got.status,
            got.header(BACKEND_HEADER)
        );
        ensure!(got.chain.first() == leaf.as_ref(), "Traefik served another leaf");
        Ok(true)
    })
    .await?;
    let after = cs::get(&w.admin, cs::CM, "Certificate", ROOT, &cert_name)
        .await?
        .with_context(|| format!("Certificate {ROOT}/{cert_name} gone"))?;
    ensure!(
        after.metadata.uid == before.metadata.uid && condition(&after.data, "Ready").0 == "True",
        "Certificate {ROOT}/{cert_name} replaced or not Ready: {:?}",
        condition(&after.data, "Ready")
    );
    let orders_after = w.http01_orders().await?.into_iter().map(|o| o.id).collect::<Vec<_>>();
    ensure!(
        orders_after == orders_before,
        "new orders after the move: {orders_after:?}, before {orders_before:?}"
    );
    eprintln!(
        "  https://{name}/ -> 200 from tenant-erin/app with the same leaf; {} orders, unchanged",
        orders_before.len()
    );
    Ok(())
}

/// The namespaces root's Gateway listener `listener` admits (its `kubernetes.io/metadata.name In`
/// values).
async fn admitted(w: &World, listener: &str) -> Result<Value> {
    let gw = cs::get(&w.admin, cs::GW, "Gateway", ROOT, &naming::gateway(TGW))
        .await?
        .context("no Gateway")?;
    let l = gw.data["spec"]["listeners"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|l| l["name"] == listener)
        .cloned()
        .with_context(|| format!("no listener {listener}"))?;
    let values = l["allowedRoutes"]["namespaces"]["selector"]["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["key"] == "kubernetes.io/metadata.name")
        .map_or(Value::Null, |e| e["values"].clone());
    Ok(values)
}

/// Case 6: Frank's dns01 TenantGateway has one Certificate, for his apex, its wildcard, his
/// child's apex and its wildcard, issued by Pebble through his Issuer's rfc2136 solver: BIND
/// logged cert-manager's TSIG-signed TXT updates for both `_acme-challenge` names (and their
/// removal), and Traefik serves that certificate for a name of Frank's and one of his child's.
async fn dns01_wildcard_issued_and_served(w: &World) -> Result<()> {
    let cert_name = naming::wildcard_certificate(TGW);
    w.await_ready(FRANK, &cert_name).await?;
    let cert = cs::get(&w.admin, cs::CM, "Certificate", FRANK, &cert_name)
        .await?
        .with_context(|| format!("no Certificate {FRANK}/{cert_name}"))?;
    ensure!(
        dns_names(&cert) == wildcard_names(),
        "Certificate {FRANK}/{cert_name} asks for {:?}, expected {:?}",
        dns_names(&cert),
        wildcard_names()
    );
    let issuer = cs::get(&w.admin, cs::CM, "Issuer", FRANK, &naming::issuer(TGW))
        .await?
        .context("no Issuer of Frank's")?;
    let rfc2136 = &issuer.data["spec"]["acme"]["solvers"][0]["dns01"]["rfc2136"];
    let want_solver = json!({
        "nameserver": w.acme.public_dns.addr.to_string(),
        "tsigKeyName": TSIG_KEY_NAME,
        "tsigAlgorithm": tgw_e2e::acme::bind::TSIG_ALGORITHM,
        "tsigSecretSecretRef": {"name": TSIG_SECRET.0, "key": TSIG_SECRET.1},
    });
    ensure!(
        *rfc2136 == want_solver,
        "Frank's solver {rfc2136}, expected {want_solver}"
    );

    let updates = w.acme.public_dns.updates();
    for n in [host("frank"), host("kid.frank")] {
        // As named logs them: the added record's name quoted, the deleted one's not.
        for change in [
            format!("adding an RR at '_acme-challenge.{n}' TXT"),
            format!("deleting an RR at _acme-challenge.{n} TXT"),
        ] {
            ensure!(
                updates
                    .iter()
                    .any(|u| u.starts_with(&format!("{TSIG_KEY_NAME}: ")) && u.contains(&change)),
                "BIND logged no update by key {TSIG_KEY_NAME} {change}: {updates:#?}"
            );
        }
    }
    ensure!(
        updates
            .iter()
            .all(|u| u.contains(" at '_acme-challenge.") || u.contains(" at _acme-challenge."))
            && updates.iter().all(|u| u.contains(" TXT")),
        "BIND applied updates other than challenge TXT records: {updates:#?}"
    );
    eprintln!("  BIND applied {} TSIG-signed TXT updates", updates.len());

    let gateway = SocketAddr::from((netns::ADDRESS, 443));
    let roots = w.acme.pebble.roots()?;
    for (name, backend) in [
        (host("app.frank"), "tenant-frank/app"),
        (host("toy.kid.frank"), "tenant-frank-kid/toy"),
    ] {
        cs::eventually(&format!("https://{name}/ served with Frank's certificate"), || async {
            let chain = w.tls_chain(FRANK, &cert_name).await?;
            verify_chain(&chain, &name, w.acme.pebble.roots()?)?;
            let got = https::get(gateway, &name, "/", &roots).await?;
            ensure!(
                (got.status, got.header(BACKEND_HEADER)) == (200, Some(backend)),
                "{} from {:?}",
                got.status,
                got.header(BACKEND_HEADER)
            );
            ensure!(
                got.chain.first() == chain.first(),
                "Traefik served another leaf than Secret {FRANK}/{cert_name}'s"
            );
            Ok(true)
        })
        .await?;
        eprintln!("  https://{name}/ -> 200 from {backend} with the wildcard leaf");
    }
    Ok(())
}

/// Case 7: Pebble's short-lived profile gives Gina's certificate [`SHORT_VALIDITY_SECS`] of
/// validity, and cert-manager renews it at two thirds of that (HTTP-01 through her Gateway's
/// `http` listener while its HTTPS listener serves the old one). Requests to Gina's name,
/// one every 250 ms, at most 1,200 and for at most three validity periods, each verified against
/// Pebble's root at the time it is made, go on until a renewed leaf has been served for 5 s:
/// every one succeeds (a gap would be a failed handshake or an expired certificate).
async fn renewed_without_a_gap(w: &World) -> Result<()> {
    const MAX_REQUESTS: usize = 1_200;
    let name = host("app.gina");
    let gateway = SocketAddr::from((netns::ADDRESS, 443));
    let roots = w.acme.pebble.roots()?;
    let deadline = Instant::now() + std::time::Duration::from_secs(3 * SHORT_VALIDITY_SECS);
    let started = Instant::now();
    let mut leaves: Vec<(f64, Vec<u8>)> = Vec::new();
    let mut requests = 0;
    let renewed_and_served = |leaves: &[(f64, Vec<u8>)]| {
        leaves.len() >= 2
            && leaves
                .last()
                .is_some_and(|(t, _)| started.elapsed().as_secs_f64() - t >= 5.0)
    };
    while !renewed_and_served(&leaves) && requests < MAX_REQUESTS && Instant::now() < deadline {
        requests += 1;
        let got = https::get(gateway, &name, "/", &roots)
            .await
            .with_context(|| format!("request {requests} after {:.1}s", started.elapsed().as_secs_f64()))?;
        ensure!(
            (got.status, got.header(BACKEND_HEADER)) == (200, Some("tenant-gina/app")),
            "request {requests}: {} from {:?}",
            got.status,
            got.header(BACKEND_HEADER)
        );
        let leaf = got.chain.first().context("no leaf")?.to_vec();
        if leaves.last().is_none_or(|(_, l)| *l != leaf) {
            leaves.push((started.elapsed().as_secs_f64(), leaf));
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let changes: Vec<String> = leaves.iter().map(|(t, _)| format!("{t:.1}s")).collect();
    eprintln!(
        "  {requests} requests in {:.1}s, all valid; leaves served from {changes:?}",
        started.elapsed().as_secs_f64()
    );
    ensure!(
        renewed_and_served(&leaves),
        "no renewal served for 5 s in {requests} requests over {:.1}s (leaves from {changes:?})",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
