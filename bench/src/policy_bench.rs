//! Per-request cost of the tenant-gateway policy in a waPC host (wasmtime, the same runtime
//! crates as kwctl/policy-server), next to a floor module that only parses the request, does the
//! same Namespace lookup and accepts. Each evaluation uses a fresh instance rehydrated from a
//! pre-compiled module, as policy-server does; the warm column reuses one instance.
//!
//! Usage: policy-bench [--policy <annotated.wasm>] [--floor <floor.wasm>] [--samples N] [--iters N]
//! Prints a Markdown table (median of N samples of `iters` evaluations each).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use tgw_runner::{AccessControl, ContextAwareResource, HostCapabilities, InMemoryHost, PolicyHost};

struct Options {
    policy: String,
    floor: String,
    samples: usize,
    iters: usize,
}

fn parse_args() -> Result<Options> {
    let mut o = Options {
        policy: "policy/annotated-policy.wasm".into(),
        floor: "target/wasm32-wasip1/wasm/tgw_policy_floor.wasm".into(),
        samples: 15,
        iters: 200,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--policy" => o.policy = value,
            "--floor" => o.floor = value,
            "--samples" => o.samples = value.parse()?,
            "--iters" => o.iters = value.parse()?,
            _ => bail!("unknown flag {flag}"),
        }
    }
    Ok(o)
}

fn request(kind: (&str, &str, &str), op: &str, ns: &str, object: Value, old: Option<Value>, user: &str) -> Value {
    let (group, version, kind) = kind;
    json!({
        "uid": "bench", "kind": {"group": group, "version": version, "kind": kind},
        "resource": {"group": group, "version": version, "resource": "x"},
        "operation": op, "namespace": ns, "name": "obj",
        "userInfo": {"username": user, "groups": ["system:serviceaccounts", "system:serviceaccounts:tenant-test"]},
        "object": object, "oldObject": old,
    })
}

/// The five request types of the issue, all legitimate (the policy's accept path does the most work).
fn workloads() -> Vec<(&'static str, Value)> {
    let gw = ("gateway.networking.k8s.io", "v1", "Gateway");
    let listeners: Vec<Value> = (0..10)
        .map(|i| json!({"name": format!("https-{i}"), "port": 443, "protocol": "HTTPS", "hostname": format!("app{i}.test.example.org")}))
        .collect();
    let route_hosts = [
        "a.test.example.org",
        "b.test.example.org",
        "*.c.test.example.org",
        "test.example.org",
    ];
    let ns_obj = |host: &str, team: &str| json!({"metadata": {"name": "tenant-test", "labels": {"namespace.cozystack.io/host": host, "team": team}}});
    let tenant = |host: &str, etcd: bool| json!({"metadata": {"name": "alice"}, "spec": {"host": host, "etcd": etcd}});
    let sa = "system:serviceaccount:tenant-test:default";
    vec![
        (
            "HTTPRoute, 4 hostnames",
            request(
                ("gateway.networking.k8s.io", "v1", "HTTPRoute"),
                "CREATE",
                "tenant-test",
                json!({"metadata": {"name": "r"}, "spec": {"hostnames": route_hosts, "parentRefs": [{"name": "gw"}]}}),
                None,
                sa,
            ),
        ),
        (
            "Gateway, 10 listeners",
            request(
                gw,
                "CREATE",
                "tenant-test",
                json!({"metadata": {"name": "gw"}, "spec": {"gatewayClassName": "cilium", "listeners": listeners}}),
                None,
                sa,
            ),
        ),
        (
            "Ingress, 2 rules + TLS",
            request(
                ("networking.k8s.io", "v1", "Ingress"),
                "CREATE",
                "tenant-test",
                json!({"metadata": {"name": "i"}, "spec": {"rules": [{"host": "a.test.example.org"}, {"host": "b.test.example.org"}], "tls": [{"hosts": ["a.test.example.org", "b.test.example.org"]}]}}),
                None,
                sa,
            ),
        ),
        (
            "Namespace label update",
            request(
                ("", "v1", "Namespace"),
                "UPDATE",
                "tenant-test",
                ns_obj("test.example.org", "b"),
                Some(ns_obj("test.example.org", "a")),
                sa,
            ),
        ),
        (
            "Tenant update",
            request(
                ("apps.cozystack.io", "v1alpha1", "Tenant"),
                "UPDATE",
                "tenant-root",
                tenant("alice.example.org", true),
                Some(tenant("alice.example.org", false)),
                sa,
            ),
        ),
    ]
}

fn load(path: &str) -> Result<PolicyHost> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {path} (run `make policy` first)"))?;
    let mut host = PolicyHost::new(&bytes).with_context(|| format!("loading {path}"))?;
    let access = AccessControl {
        context_aware_resources: BTreeSet::from([ContextAwareResource {
            api_version: "v1".into(),
            kind: "Namespace".into(),
        }]),
        ..AccessControl::default()
    };
    host.set_access_control(access);
    Ok(host)
}

/// Median over `samples` of the mean time per evaluation in a batch of `iters`.
fn measure(mut f: impl FnMut(), samples: usize, iters: usize) -> Duration {
    for _ in 0..iters.min(50) {
        f();
    }
    let mut times: Vec<Duration> = (0..samples)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iters {
                f();
            }
            start.elapsed() / iters as u32
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() -> Result<()> {
    let o = parse_args()?;
    let policy = load(&o.policy)?;
    let floor = load(&o.floor)?;
    let labels = BTreeMap::from([(
        "namespace.cozystack.io/host".to_string(),
        "test.example.org".to_string(),
    )]);
    let cluster: Arc<dyn HostCapabilities> = Arc::new(
        InMemoryHost::new()
            .with_namespace("tenant-test", &labels)
            .with_namespace("tenant-root", &BTreeMap::new()),
    );
    let settings = json!({});
    println!(
        "| request | verdict | policy, fresh instance (µs) | floor, fresh instance (µs) | policy/floor | policy, warm (µs) | floor, warm (µs) |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for (name, req) in workloads() {
        let verdict = policy.validate(&req, &settings, Arc::clone(&cluster));
        let p = measure(
            || drop(policy.validate(&req, &settings, Arc::clone(&cluster))),
            o.samples,
            o.iters,
        );
        let f = measure(
            || drop(floor.validate(&req, &settings, Arc::clone(&cluster))),
            o.samples,
            o.iters,
        );
        let warm = policy.instantiate(Arc::clone(&cluster))?;
        let w = measure(|| drop(warm.validate(&req, &settings)), o.samples, o.iters);
        let warm_floor = floor.instantiate(Arc::clone(&cluster))?;
        let wf = measure(|| drop(warm_floor.validate(&req, &settings)), o.samples, o.iters);
        let allowed = if verdict.allowed { "allow" } else { "deny" };
        println!(
            "| {name} | {allowed} | {:.1} | {:.1} | {:.2} | {:.1} | {:.1} |",
            micros(p),
            micros(f),
            p.as_secs_f64() / f.as_secs_f64(),
            micros(w),
            micros(wf)
        );
    }
    let size = |p: &str| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    println!(
        "\npolicy module: {} bytes; floor module: {} bytes",
        size(&o.policy),
        size(&o.floor)
    );
    Ok(())
}
