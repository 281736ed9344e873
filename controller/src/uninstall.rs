//! Release mode (`tgw-controller release-finalizers`): removes our finalizer
//! ([`tgw_core::keys::FINALIZER`]) from every TenantGateway, so that once the controller is gone
//! (`helm uninstall`) deleting a TenantGateway, or the namespace holding it, does not hang
//! forever. The chart runs it as a `pre-delete` and `post-delete` hook Job.
//!
//! What it does, and only that: list the TenantGateways (all namespaces, or the watch namespace),
//! and for each one carrying our finalizer merge-patch `metadata.finalizers` to the same list
//! without ours, guarded by the resourceVersion it was computed from. A `409 Conflict` re-reads
//! the object and decides again (bounded backoff); other finalizers, the spec, labels, status and
//! the owned objects (Gateway, Issuer, Certificates, redirect route, which carry ownerReferences
//! and go with their TenantGateway through garbage collection) are left alone. The labels,
//! annotations and route-status entries the finalizer would have removed stay: the
//! TenantGateways keep serving until an operator deletes them.
//!
//! Idempotent: a second run finds nothing to release and exits 0. Output is a summary and at most
//! [`SHOWN`] object names per outcome.

use std::fmt::Write as _;
use std::time::Duration;

use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::core::{ApiResource, DynamicObject};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use tgw_core::keys::FINALIZER;
use tgw_core::tenantgateway::TenantGateway;

use crate::run::bounded;

/// Patch attempts per object (the first and the retries after a `409 Conflict`).
pub const ATTEMPTS: u32 = 6;
/// First delay after a conflict; doubles per attempt (0.1 + 0.2 + 0.4 + 0.8 + 1.6 s at most).
const BACKOFF_START: Duration = Duration::from_millis(100);
/// TenantGateways per list page.
const PAGE: u32 = 500;
/// Object names printed per outcome; the rest are counted.
pub const SHOWN: usize = 20;
/// Longest API error text quoted per failed object.
const MAX_ERROR: usize = 300;

/// The finalizers an object keeps once ours is released (in their order), or `None` when it does
/// not carry ours (nothing to write).
pub fn without_ours(finalizers: &[String]) -> Option<Vec<String>> {
    finalizers
        .iter()
        .any(|f| f == FINALIZER)
        .then(|| finalizers.iter().filter(|f| *f != FINALIZER).cloned().collect())
}

/// The merge patch releasing our finalizer: the whole list without ours, valid only against the
/// resourceVersion it was computed from (the API server answers `409 Conflict` otherwise, so a
/// finalizer another writer added meanwhile is never dropped).
pub fn release_patch(resource_version: &str, kept: &[String]) -> Value {
    json!({"metadata": {"finalizers": kept, "resourceVersion": resource_version}})
}

/// What happened to one TenantGateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Our finalizer was removed after `attempts` patches (more than 1: a conflict was retried);
    /// `kept` are the finalizers left on the object.
    Released { attempts: u32, kept: Vec<String> },
    /// The object did not carry our finalizer (or no longer did when re-read).
    NotCarried,
    /// The object was gone when written or re-read.
    Gone,
}

/// One object that could not be released.
#[derive(Debug)]
pub struct Failure {
    /// `namespace/name`.
    pub object: String,
    pub error: String,
}

/// The result of a run.
#[derive(Debug, Default)]
pub struct Summary {
    /// `namespace/name` and the finalizers left on it.
    pub released: Vec<(String, Vec<String>)>,
    /// Conflicts retried over all objects.
    pub conflicts: u32,
    /// Objects that did not carry our finalizer (or were gone).
    pub untouched: usize,
    pub failed: Vec<Failure>,
    /// The TenantGateway API is not served (no CRD): nothing can carry the finalizer.
    pub api_absent: bool,
}

impl Summary {
    pub fn ok(&self) -> bool {
        self.failed.is_empty()
    }

    /// The report: one summary line, then at most [`SHOWN`] released and failed objects each.
    pub fn render(&self, scope: &str) -> String {
        let mut out = String::new();
        if self.api_absent {
            let _ = writeln!(
                out,
                "release-finalizers: TenantGateways are not served (no CRD) in {scope}: nothing to release"
            );
            return out;
        }
        let _ = writeln!(
            out,
            "release-finalizers: {scope}: released {FINALIZER} from {} TenantGateway(s) ({} conflict(s) retried), {} without it, {} failed",
            self.released.len(),
            self.conflicts,
            self.untouched,
            self.failed.len()
        );
        for (object, kept) in self.released.iter().take(SHOWN) {
            let _ = writeln!(out, "  released {object} (finalizers left: {kept:?})");
        }
        if self.released.len() > SHOWN {
            let _ = writeln!(out, "  … and {} more released", self.released.len() - SHOWN);
        }
        for f in self.failed.iter().take(SHOWN) {
            let _ = writeln!(out, "  FAILED {}: {}", f.object, f.error);
        }
        if self.failed.len() > SHOWN {
            let _ = writeln!(out, "  … and {} more failed", self.failed.len() - SHOWN);
        }
        out
    }
}

fn resource() -> ApiResource {
    ApiResource::erase::<TenantGateway>(&())
}

fn key(obj: &DynamicObject) -> String {
    format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any())
}

/// The API server's message (`403 Forbidden: … cannot patch …`) rather than the whole response.
fn api_error(e: &kube::Error) -> String {
    bounded(&crate::kube_message(e), MAX_ERROR)
}

/// Releases our finalizer from one TenantGateway, starting from `observed` (as listed). On a
/// `409 Conflict` the object is re-read and the decision made again, at most [`ATTEMPTS`] times.
/// The error names the object.
pub async fn release_one(client: &Client, observed: DynamicObject) -> Result<Outcome, Failure> {
    let object = key(&observed);
    let ns = observed.namespace().unwrap_or_default();
    let name = observed.name_any();
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &resource());
    let fail = |error: String| Failure {
        object: object.clone(),
        error,
    };
    let mut obj = observed;
    let mut delay = BACKOFF_START;
    for attempt in 1..=ATTEMPTS {
        let Some(kept) = without_ours(obj.finalizers()) else {
            return Ok(Outcome::NotCarried);
        };
        let rv = obj
            .resource_version()
            .ok_or_else(|| fail("the object has no resourceVersion".to_owned()))?;
        match api
            .patch(&name, &PatchParams::default(), &Patch::Merge(release_patch(&rv, &kept)))
            .await
        {
            Ok(_) => {
                return Ok(Outcome::Released {
                    attempts: attempt,
                    kept,
                });
            }
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(Outcome::Gone),
            Err(kube::Error::Api(s)) if s.code == 409 && attempt < ATTEMPTS => {
                tokio::time::sleep(delay).await;
                delay *= 2;
                obj = match api.get_opt(&name).await {
                    Ok(Some(o)) => o,
                    Ok(None) => return Ok(Outcome::Gone),
                    Err(e) => return Err(fail(format!("re-reading after a conflict: {}", api_error(&e)))),
                };
            }
            Err(e) => {
                return Err(fail(format!(
                    "removing finalizer {FINALIZER} (attempt {attempt} of {ATTEMPTS}): {}",
                    api_error(&e)
                )));
            }
        }
    }
    Err(fail(format!(
        "still conflicting after {ATTEMPTS} attempts (another writer keeps changing it)"
    )))
}

/// Releases our finalizer from every TenantGateway in `namespace` (all namespaces when empty).
/// A failure to list is an error; per-object failures are in the summary.
pub async fn release_all(client: &Client, namespace: &str) -> anyhow::Result<Summary> {
    let ar = resource();
    let api: Api<DynamicObject> = if namespace.is_empty() {
        Api::all_with(client.clone(), &ar)
    } else {
        Api::namespaced_with(client.clone(), namespace, &ar)
    };
    let mut summary = Summary::default();
    let mut params = ListParams::default().limit(PAGE);
    loop {
        let page = match api.list(&params).await {
            Ok(p) => p,
            Err(kube::Error::Api(s)) if s.code == 404 => {
                summary.api_absent = true;
                return Ok(summary);
            }
            Err(e) => anyhow::bail!("listing TenantGateways: {}", api_error(&e)),
        };
        for obj in page.items {
            let object = key(&obj);
            match release_one(client, obj).await {
                Ok(Outcome::Released { attempts, kept }) => {
                    summary.conflicts += attempts - 1;
                    summary.released.push((object, kept));
                }
                Ok(Outcome::NotCarried | Outcome::Gone) => summary.untouched += 1,
                Err(f) => summary.failed.push(f),
            }
        }
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(c) => params = params.continue_token(&c),
            None => return Ok(summary),
        }
    }
}

/// The `release-finalizers` mode of the binary: exit 0 when nothing is left to release, 1 when
/// the list or an object failed (each named), 2 on an invalid namespace.
pub async fn run_mode(namespace: &str) -> std::process::ExitCode {
    use std::process::ExitCode;
    let namespace = namespace.trim();
    if !namespace.is_empty() && !tgw_core::dns::is_dns_label(namespace) {
        eprintln!("release-finalizers: --watch-namespace/TGW_WATCH_NAMESPACE={namespace:?} is not a namespace name");
        return ExitCode::from(2);
    }
    let scope = if namespace.is_empty() {
        "all namespaces".to_owned()
    } else {
        format!("namespace {namespace}")
    };
    let client = match Client::try_default().await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("release-finalizers: no Kubernetes client configuration: {e}");
            return ExitCode::FAILURE;
        }
    };
    match release_all(&client, namespace).await {
        Ok(summary) => {
            print!("{}", summary.render(&scope));
            if summary.ok() {
                ExitCode::SUCCESS
            } else {
                let names: Vec<&str> = summary.failed.iter().take(SHOWN).map(|f| f.object.as_str()).collect();
                eprintln!(
                    "release-finalizers: error: {} TenantGateway(s) still carry {FINALIZER}: {}{}",
                    summary.failed.len(),
                    names.join(", "),
                    if summary.failed.len() > SHOWN { ", …" } else { "" }
                );
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("release-finalizers: error in {scope}: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn only_ours_is_removed_and_the_order_of_the_rest_kept() {
        assert_eq!(without_ours(&s(&[FINALIZER])), Some(vec![]));
        assert_eq!(
            without_ours(&s(&["example.com/a", FINALIZER, "example.com/b"])),
            Some(s(&["example.com/a", "example.com/b"]))
        );
        // A duplicate of ours (a hand edit) goes too.
        assert_eq!(
            without_ours(&s(&[FINALIZER, "example.com/keep", FINALIZER])),
            Some(s(&["example.com/keep"]))
        );
    }

    #[test]
    fn nothing_to_write_without_ours() {
        assert_eq!(without_ours(&[]), None);
        assert_eq!(without_ours(&s(&["example.com/keep"])), None);
        // A look-alike is not ours.
        assert_eq!(
            without_ours(&s(&[&format!("{FINALIZER}-x"), "foregroundDeletion"])),
            None
        );
    }

    #[test]
    fn the_patch_is_guarded_by_the_resource_version() {
        assert_eq!(
            release_patch("42", &s(&["example.com/keep"])),
            json!({"metadata": {"finalizers": ["example.com/keep"], "resourceVersion": "42"}})
        );
        // An empty list clears the field (the API server stores no finalizers).
        assert_eq!(
            release_patch("7", &[]),
            json!({"metadata": {"finalizers": [], "resourceVersion": "7"}})
        );
    }

    #[test]
    fn the_report_is_bounded() {
        let mut summary = Summary::default();
        for i in 0..50 {
            summary.released.push((format!("tenant-{i}/cozystack"), vec![]));
        }
        for i in 0..30 {
            summary.failed.push(Failure {
                object: format!("tenant-f{i}/cozystack"),
                error: "forbidden".to_owned(),
            });
        }
        let text = summary.render("all namespaces");
        assert_eq!(text.lines().count(), 1 + SHOWN + 1 + SHOWN + 1, "{text}");
        assert!(
            text.contains("released gateway.cozystack.io/tenantgateway-cleanup from 50"),
            "{text}"
        );
        assert!(text.contains("… and 30 more released"), "{text}");
        assert!(text.contains("FAILED tenant-f0/cozystack: forbidden"), "{text}");
        assert!(text.contains("… and 10 more failed"), "{text}");
        assert!(!summary.ok());
        assert!(Summary::default().ok());
        let absent = Summary {
            api_absent: true,
            ..Summary::default()
        };
        assert!(absent.render("namespace x").contains("nothing to release"));
    }
}
