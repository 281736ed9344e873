//! Rough per-request timing of the policy-server model (fresh instance per
//! request) vs a warm instance, using the in-memory Namespace host.
//!
//! cargo run --release -p tgw-runner --example validate_timing -- \
//!     <module.wasm> <request.json> '<namespaces: {"name": {"label": "value"}}>' [iterations]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use tgw_runner::{AccessControl, InMemoryHost, PolicyHost};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [module, request, namespaces, rest @ ..] = args.as_slice() else {
        anyhow::bail!("usage: validate_timing <module.wasm> <request.json> '<namespaces json>' [iterations]");
    };
    let iterations: u32 = rest.first().map(|s| s.parse()).transpose()?.unwrap_or(2000);
    let wasm = std::fs::read(module)?;
    let request = tgw_runner::request::parse_request(&std::fs::read_to_string(request)?)?;
    let namespaces: BTreeMap<String, BTreeMap<String, String>> = serde_json::from_str(namespaces)?;
    let host = namespaces
        .iter()
        .fold(InMemoryHost::new(), |h, (name, labels)| h.with_namespace(name, labels));
    let host = Arc::new(host);
    let settings = serde_json::json!({});

    let t = Instant::now();
    let mut policy = PolicyHost::new(&wasm)?;
    let compile = t.elapsed();
    let resources = policy
        .metadata()
        .map(|m| m.context_aware_resources.clone())
        .unwrap_or_default();
    policy.set_access_control(AccessControl {
        context_aware_resources: resources,
        ..AccessControl::default()
    });
    policy.set_log_sink(Arc::new(|_: &[u8]| {}));

    let first = policy.validate(&request, &settings, host.clone());
    println!("compile+build_pre: {compile:?}");
    println!("response: {}", first.to_line());

    let t = Instant::now();
    for _ in 0..iterations {
        std::hint::black_box(policy.validate(&request, &settings, host.clone()));
    }
    let fresh = t.elapsed() / iterations;

    let t = Instant::now();
    for _ in 0..iterations {
        std::hint::black_box(policy.instantiate(host.clone())?);
    }
    let instantiate = t.elapsed() / iterations;

    let warm = policy.instantiate(host.clone())?;
    let t = Instant::now();
    for _ in 0..iterations {
        std::hint::black_box(warm.validate(&request, &settings));
    }
    let warm_validate = t.elapsed() / iterations;
    println!("fresh instance per request: {fresh:?}/req");
    println!("instantiate only:           {instantiate:?}");
    println!("warm instance validate:     {warm_validate:?}/req  ({iterations} iterations each)");
    Ok(())
}
