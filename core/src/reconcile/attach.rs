//! Namespace attachment: which namespaces get the gateway label written, which get it removed,
//! and which annotation value marks the label as ours.
//!
//! The annotation `cozystack.io/gateway-attached-by` records who wrote a gateway label. Cozystack's
//! controller writes, and its cleanup only recognises, the owner namespace `<ns>`; this controller
//! used to write `<ns>/<tgw>`. Both forms are read. Which one is written is
//! [`AttachedByFormat`]; the default, [`AttachedByFormat::Auto`], writes Cozystack's form
//! whenever the TenantGateway is the only one in its namespace, so a rollback to Cozystack's
//! controller cleans up every label we wrote (see docs/migration.md, "Rolling back").
//!
//! Ownership is per owner namespace, as the label value is: a label annotated `<ns>` or
//! `<ns>/<anything>` belongs to the TenantGateways of `<ns>` together, and it is removed only
//! when none of them (this one and its peers in the same namespace) wants the namespace any more.
//! A label that already names another owner is never overwritten — that is reported instead.

use std::collections::BTreeSet;

use crate::keys::{ANNOTATION_ATTACHED_BY, LABEL_GATEWAY};
use crate::snapshot::NamespaceView;
use crate::tenantgateway::TgwInput;

/// Outcome of the namespace-attachment step.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttachReport {
    /// (namespace, current owner value) left alone because another owner holds it.
    pub conflicts: Vec<(String, String)>,
    /// Wanted namespaces that do not exist.
    pub missing: Vec<String>,
    /// `attachedNamespaces` entries the controller does not honour, with the reason.
    pub refused: Vec<(String, String)>,
}

/// Which `cozystack.io/gateway-attached-by` value the controller writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AttachedByFormat {
    /// `<ns>`: Cozystack's form, what its cleanup recognises after a rollback.
    Cozystack,
    /// `<ns>/<tgw>`: names the TenantGateway.
    Qualified,
    /// Cozystack's form while the TenantGateway is the only one in its namespace, else qualified.
    #[default]
    Auto,
}

impl AttachedByFormat {
    /// Parses the command-line/Helm value: `cozystack`, `qualified` or `auto`.
    pub fn parse(s: &str) -> Option<AttachedByFormat> {
        match s {
            "cozystack" => Some(AttachedByFormat::Cozystack),
            "qualified" => Some(AttachedByFormat::Qualified),
            "auto" => Some(AttachedByFormat::Auto),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AttachedByFormat::Cozystack => "cozystack",
            AttachedByFormat::Qualified => "qualified",
            AttachedByFormat::Auto => "auto",
        }
    }
}

/// Label changes to apply.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttachPlan {
    /// Namespaces to label (`gateway=<tgw ns>`) and annotate (`attached-by=<writer>`): unlabelled
    /// ones, and ones labelled by us whose annotation is in the other form.
    pub add: Vec<String>,
    /// Namespaces whose label and annotation the TenantGateways of this namespace wrote and none
    /// of them wants any more.
    pub remove: Vec<String>,
    /// The annotation value to write on `add`.
    pub writer: String,
    pub report: AttachReport,
}

/// The annotation value identifying `tgw` as writer. `peers`: how many other TenantGateways
/// live in the same namespace (decides [`AttachedByFormat::Auto`]).
pub fn writer(tgw: &TgwInput, format: AttachedByFormat, peers: usize) -> String {
    match (format, peers) {
        (AttachedByFormat::Cozystack, _) | (AttachedByFormat::Auto, 0) => tgw.meta.namespace.clone(),
        (AttachedByFormat::Qualified, _) | (AttachedByFormat::Auto, _) => tgw.key(),
    }
}

/// Whether `value` marks a label written by a TenantGateway of namespace `owner` (either form).
pub fn written_by_namespace(value: &str, owner: &str) -> bool {
    value == owner || value.strip_prefix(owner).is_some_and(|rest| rest.starts_with('/'))
}

fn wanted(tgw: &TgwInput) -> impl Iterator<Item = &str> {
    std::iter::once(tgw.meta.namespace.as_str()).chain(tgw.spec.attached())
}

/// `peers`: the other TenantGateways in `tgw`'s namespace. `deleting`: `tgw` is being deleted,
/// so it wants nothing any more (its peers still may).
pub fn plan(
    tgw: &TgwInput,
    namespaces: &[NamespaceView],
    peers: &[TgwInput],
    format: AttachedByFormat,
    deleting: bool,
) -> AttachPlan {
    let owner = tgw.meta.namespace.as_str();
    let mine: BTreeSet<&str> = if deleting {
        BTreeSet::new()
    } else {
        wanted(tgw).collect()
    };
    let theirs: BTreeSet<&str> = peers
        .iter()
        .filter(|p| p.meta.namespace == owner && p.meta.name != tgw.meta.name)
        .flat_map(wanted)
        .collect();
    let peer_count = peers
        .iter()
        .filter(|p| p.meta.namespace == owner && p.meta.name != tgw.meta.name)
        .count();
    let mut out = AttachPlan {
        writer: writer(tgw, format, peer_count),
        ..AttachPlan::default()
    };
    for w in &mine {
        let Some(ns) = namespaces.iter().find(|n| n.name == *w) else {
            out.report.missing.push((*w).to_owned());
            continue;
        };
        let annotation = ns.annotations.get(ANNOTATION_ATTACHED_BY).map(String::as_str);
        match ns.label(LABEL_GATEWAY) {
            None | Some("") => out.add.push((*w).to_owned()),
            // Ours in the other form: rewrite, so a rollback recognises it (or, with Qualified,
            // so it names us). A label without our annotation (Helm's) is left as it is.
            Some(v) if v == owner => {
                let rewrite = match annotation {
                    Some(a) if a == out.writer => false,
                    Some(a) if a == tgw.key() => true,
                    // `<ns>` may be a peer's; only an explicit Qualified setting rewrites it.
                    Some(a) if a == owner => format == AttachedByFormat::Qualified,
                    _ => false,
                };
                if rewrite {
                    out.add.push((*w).to_owned());
                }
            }
            Some(other) => out.report.conflicts.push(((*w).to_owned(), other.to_owned())),
        }
    }
    for ns in namespaces {
        let ours = ns
            .annotations
            .get(ANNOTATION_ATTACHED_BY)
            .is_some_and(|a| written_by_namespace(a, owner));
        let name = ns.name.as_str();
        if ours && !mine.contains(name) && !theirs.contains(name) {
            out.remove.push(ns.name.clone());
        }
    }
    out.remove.sort();
    out
}
