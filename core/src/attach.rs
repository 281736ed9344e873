//! Namespace attachment: which namespaces get the gateway label written, which get it removed.
//!
//! The controller only removes what it wrote (the `cozystack.io/gateway-attached-by` annotation
//! names the writer as `<ns>/<tgw>`; Cozystack's legacy value `<ns>` is accepted as ours) and
//! never overwrites a label that already names another owner — that is reported instead.

use crate::keys::{ANNOTATION_ATTACHED_BY, LABEL_GATEWAY};
use crate::snapshot::NamespaceView;
use crate::tenantgateway::TgwInput;
use crate::tgw_status::AttachReport;

/// Label changes to apply.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttachPlan {
    /// Namespaces to label (`gateway=<tgw ns>`) and annotate (`attached-by=<tgw key>`).
    pub add: Vec<String>,
    /// Namespaces whose label and annotation this TenantGateway wrote and no longer wants.
    pub remove: Vec<String>,
    pub report: AttachReport,
}

/// The annotation value identifying `tgw` as writer.
pub fn writer(tgw: &TgwInput) -> String {
    tgw.key()
}

fn written_by(ns: &NamespaceView, tgw: &TgwInput) -> bool {
    ns.annotations
        .get(ANNOTATION_ATTACHED_BY)
        .is_some_and(|v| *v == writer(tgw) || *v == tgw.meta.namespace)
}

/// `deleting`: the TenantGateway is being deleted, so nothing is wanted any more.
pub fn plan(tgw: &TgwInput, namespaces: &[NamespaceView], deleting: bool) -> AttachPlan {
    let mut wanted: Vec<&str> = Vec::new();
    if !deleting {
        wanted.push(&tgw.meta.namespace);
        wanted.extend(tgw.spec.attached());
        wanted.sort();
        wanted.dedup();
    }
    let mut out = AttachPlan::default();
    for w in &wanted {
        let Some(ns) = namespaces.iter().find(|n| n.name == *w) else {
            out.report.missing.push((*w).to_owned());
            continue;
        };
        match ns.label(LABEL_GATEWAY) {
            None | Some("") => out.add.push((*w).to_owned()),
            Some(v) if v == tgw.meta.namespace => {}
            Some(other) => out.report.conflicts.push(((*w).to_owned(), other.to_owned())),
        }
    }
    for ns in namespaces {
        if written_by(ns, tgw) && !wanted.contains(&ns.name.as_str()) {
            out.remove.push(ns.name.clone());
        }
    }
    out.remove.sort();
    out
}
