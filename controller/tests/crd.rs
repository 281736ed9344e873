//! The generated CRD is a compatible superset of Cozystack's reference CRD (kept in
//! `controller/tests/reference/`), and the committed `deploy/crds/` file is what `crdgen` prints.

use std::path::PathBuf;

use serde_json::Value;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn generated() -> Value {
    serde_json::to_value(tgw_controller::crd::crd()).expect("crd to json")
}

fn reference() -> Value {
    let path = std::env::var_os("TGW_REFERENCE_CRD")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/reference/cozystack-tenantgateways-crd.yaml")
        });
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read reference CRD {}: {e}", path.display()));
    serde_yaml::from_str(&text).expect("reference CRD parses")
}

const COMPARED: [&str; 7] = [
    "type",
    "enum",
    "default",
    "format",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
];

/// Every schema node of `reference` exists in `ours` with the same compared keywords.
fn superset(path: &str, reference: &Value, ours: &Value, problems: &mut Vec<String>) {
    for key in COMPARED {
        if let Some(want) = reference.get(key)
            && ours.get(key) != Some(want)
        {
            problems.push(format!("{path}: {key} = {want}, ours {:?}", ours.get(key)));
        }
    }
    // Never require more than the reference (root `spec` aside: every object has one).
    let req = |v: &Value| -> Vec<String> {
        v["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    };
    let (want_req, our_req) = (req(reference), req(ours));
    for r in &our_req {
        if !want_req.contains(r) && (!path.is_empty() || r != "spec") {
            problems.push(format!("{path}: ours requires {r}"));
        }
    }
    for r in &want_req {
        if !our_req.contains(r) {
            problems.push(format!("{path}: reference requires {r}, ours does not"));
        }
    }
    if let Some(props) = reference.get("properties").and_then(Value::as_object) {
        for (k, v) in props {
            match ours.get("properties").and_then(|p| p.get(k)) {
                Some(o) => superset(&format!("{path}.{k}"), v, o, problems),
                None => problems.push(format!("{path}.{k}: missing")),
            }
        }
    }
    if let Some(items) = reference.get("items") {
        match ours.get("items") {
            Some(o) => superset(&format!("{path}[]"), items, o, problems),
            None => problems.push(format!("{path}[]: missing items")),
        }
    }
}

#[test]
fn generated_crd_is_superset_of_reference() {
    let (r, o) = (reference(), generated());
    assert_eq!(o["spec"]["names"], r["spec"]["names"]);
    assert_eq!(
        (&o["spec"]["group"], &o["spec"]["scope"], &o["metadata"]["name"]),
        (&r["spec"]["group"], &r["spec"]["scope"], &r["metadata"]["name"])
    );
    let (rv, ov) = (&r["spec"]["versions"][0], &o["spec"]["versions"][0]);
    assert_eq!(
        (
            &ov["name"],
            &ov["served"],
            &ov["storage"],
            &ov["subresources"],
            &ov["additionalPrinterColumns"]
        ),
        (
            &rv["name"],
            &rv["served"],
            &rv["storage"],
            &rv["subresources"],
            &rv["additionalPrinterColumns"]
        )
    );
    let mut problems = Vec::new();
    superset(
        "",
        &rv["schema"]["openAPIV3Schema"],
        &ov["schema"]["openAPIV3Schema"],
        &mut problems,
    );
    assert_eq!(problems, Vec::<String>::new());
}

#[test]
fn deployed_crd_is_up_to_date() {
    let path = workspace().join("deploy/crds/gateway.cozystack.io_tenantgateways.yaml");
    let on_disk = std::fs::read_to_string(&path).expect("deploy/crds file exists (run `make crd`)");
    assert_eq!(on_disk, tgw_controller::crd::yaml().expect("yaml"), "run `make crd`");
}

/// Every `x-kubernetes-validations` message, by schema path.
fn cel_messages(path: &str, schema: &Value, out: &mut Vec<(String, String)>) {
    for rule in schema["x-kubernetes-validations"].as_array().into_iter().flatten() {
        out.push((path.to_owned(), rule["message"].as_str().unwrap_or_default().to_owned()));
    }
    for (k, v) in schema["properties"].as_object().into_iter().flatten() {
        cel_messages(&format!("{path}.{k}"), v, out);
    }
    if let Some(items) = schema.get("items") {
        cel_messages(&format!("{path}[]"), items, out);
    }
}

#[test]
fn cel_rules_guard_what_a_tenant_controls() {
    let crd = generated();
    let mut got = Vec::new();
    cel_messages("", &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"], &mut got);
    let want: Vec<(String, String)> = [
        ("", "metadata.name must be at most 63 characters: it becomes the cozystack.io/tenantgateway label value of the per-host Certificates"),
        (".spec", "certMode=existingSecret requires spec.wildcardSecretRef.name to be set"),
        (".spec.apex", "apex must be a lowercase RFC 1123 DNS name"),
        (".spec.attachedNamespaces", "attachedNamespaces entries must be namespace names"),
        (".spec.dns01.rfc2136.nameserver", "nameserver must be host:port (a DNS name, an IPv4 address or a bracketed IPv6 address, and a port 1-65535)"),
        (".spec.gatewayClassName", "gatewayClassName must be a GatewayClass name (a lowercase RFC 1123 subdomain)"),
        (".spec.tlsPassthroughServices", "tlsPassthroughServices entries must be lowercase DNS labels"),
        (".spec.tlsPassthroughServices", "tlsPassthroughServices entries must be unique"),
    ]
    .iter()
    .map(|(p, m)| ((*p).to_owned(), (*m).to_owned()))
    .collect();
    got.sort();
    assert_eq!(got, want);
}
