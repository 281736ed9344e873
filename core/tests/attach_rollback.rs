//! Namespace attachment that survives a rollback to Cozystack's controller (issue 13 item 3):
//! both annotation forms are read, the written form is a setting, and with several
//! TenantGateways in one namespace none removes a label another still wants.

mod common;

use common::*;
use rstest::rstest;
use tgw_core::attach::{self, AttachPlan, AttachedByFormat};
use tgw_core::keys::{ANNOTATION_ATTACHED_BY, LABEL_GATEWAY};
use tgw_core::snapshot::NamespaceView;
use tgw_core::tenantgateway::{TenantGatewaySpec, TgwInput};
use tgw_core::tgw_status::AttachReport;

fn named(name: &str, attached: &[&str]) -> TgwInput {
    let mut s = TenantGatewaySpec::with_apex("example.org");
    s.attached_namespaces = Some(attached.iter().map(|a| (*a).to_owned()).collect());
    let mut t = tgw("tenant-root", s);
    t.meta.name = name.into();
    t
}

fn annotated(name: &str, owner: &str, by: &str) -> NamespaceView {
    let mut n = ns(name, Some(owner), None);
    n.annotations.insert(ANNOTATION_ATTACHED_BY.into(), by.into());
    n
}

#[rstest]
#[case::cozystack_alone(AttachedByFormat::Cozystack, 0, "tenant-root")]
#[case::cozystack_with_peer(AttachedByFormat::Cozystack, 1, "tenant-root")]
#[case::qualified_alone(AttachedByFormat::Qualified, 0, "tenant-root/cozystack")]
#[case::auto_alone(AttachedByFormat::Auto, 0, "tenant-root")]
#[case::auto_with_peer(AttachedByFormat::Auto, 1, "tenant-root/cozystack")]
fn written_form(#[case] format: AttachedByFormat, #[case] peers: usize, #[case] want: &str) {
    assert_eq!(attach::writer(&named("cozystack", &[]), format, peers), want);
}

#[test]
fn auto_is_the_default_and_formats_parse() {
    assert_eq!(AttachedByFormat::default(), AttachedByFormat::Auto);
    for f in [
        AttachedByFormat::Cozystack,
        AttachedByFormat::Qualified,
        AttachedByFormat::Auto,
    ] {
        assert_eq!(AttachedByFormat::parse(f.as_str()), Some(f));
    }
    assert_eq!(AttachedByFormat::parse("legacy"), None);
}

#[test]
fn auto_rewrites_our_qualified_annotation_to_cozystacks_form() {
    let t = named("cozystack", &["cozy-a", "helm"]);
    let namespaces = vec![
        annotated("tenant-root", "tenant-root", "tenant-root/cozystack"),
        annotated("cozy-a", "tenant-root", "tenant-root"),
        // Helm's label without our annotation stays untouched.
        ns("helm", Some("tenant-root"), None),
    ];
    assert_eq!(
        attach::plan(&t, &namespaces, &[], AttachedByFormat::Auto, false),
        AttachPlan {
            add: vec!["tenant-root".into()],
            remove: vec![],
            writer: "tenant-root".into(),
            report: AttachReport::default(),
        }
    );
}

/// What Cozystack's controller does after a rollback: it strips label and annotation from every
/// namespace annotated with exactly `<ns>` that it does not expect.
fn cozystack_cleanup(namespaces: &mut [NamespaceView], owner: &str, expected: &[&str]) {
    for n in namespaces.iter_mut() {
        if n.annotations.get(ANNOTATION_ATTACHED_BY).map(String::as_str) == Some(owner)
            && !expected.contains(&n.name.as_str())
        {
            n.labels.remove(LABEL_GATEWAY);
            n.annotations.remove(ANNOTATION_ATTACHED_BY);
        }
    }
}

/// Applies a plan the way the controller does (label + annotation on add).
fn apply(namespaces: &mut [NamespaceView], owner: &str, p: &AttachPlan) {
    for n in namespaces.iter_mut() {
        if p.add.contains(&n.name) {
            n.labels.insert(LABEL_GATEWAY.into(), owner.into());
            n.annotations.insert(ANNOTATION_ATTACHED_BY.into(), p.writer.clone());
        }
        if p.remove.contains(&n.name) {
            n.labels.remove(LABEL_GATEWAY);
            n.annotations.remove(ANNOTATION_ATTACHED_BY);
        }
    }
}

#[test]
fn after_a_rollback_cozystacks_cleanup_removes_what_we_labelled() {
    let t = named("cozystack", &["cozy-a", "cozy-b"]);
    let mut namespaces = vec![
        ns("tenant-root", None, None),
        ns("cozy-a", None, None),
        ns("cozy-b", None, None),
    ];
    let p = attach::plan(&t, &namespaces, &[], AttachedByFormat::default(), false);
    apply(&mut namespaces, "tenant-root", &p);
    // Rolled back: Cozystack's controller now expects only tenant-root and cozy-a.
    cozystack_cleanup(&mut namespaces, "tenant-root", &["tenant-root", "cozy-a"]);
    let labelled: Vec<&str> = namespaces
        .iter()
        .filter(|n| n.label(LABEL_GATEWAY).is_some())
        .map(|n| n.name.as_str())
        .collect();
    assert_eq!(labelled, vec!["tenant-root", "cozy-a"]);
}

#[test]
fn with_two_tenantgateways_in_one_namespace_neither_removes_the_others_label() {
    // Both wrote Cozystack's namespace-keyed form (e.g. before the second one existed).
    let a = named("a", &["cozy-a"]);
    let b = named("b", &["cozy-b"]);
    let namespaces = vec![
        annotated("tenant-root", "tenant-root", "tenant-root"),
        annotated("cozy-a", "tenant-root", "tenant-root"),
        annotated("cozy-b", "tenant-root", "tenant-root"),
        annotated("cozy-stale", "tenant-root", "tenant-root/gone"),
    ];
    let pa = attach::plan(
        &a,
        &namespaces,
        &[a.clone(), b.clone()],
        AttachedByFormat::Cozystack,
        false,
    );
    assert_eq!((pa.add, pa.remove), (vec![], vec!["cozy-stale".to_owned()]));
    // Deleting a: cozy-a goes, tenant-root and cozy-b stay (b wants them).
    let gone = attach::plan(
        &a,
        &namespaces,
        std::slice::from_ref(&b),
        AttachedByFormat::Cozystack,
        true,
    );
    assert_eq!(gone.remove, vec!["cozy-a".to_owned(), "cozy-stale".to_owned()]);
    // The last one deleted removes everything of the namespace.
    let last = attach::plan(&b, &namespaces, &[], AttachedByFormat::Cozystack, true);
    assert_eq!(
        last.remove,
        vec![
            "cozy-a".to_owned(),
            "cozy-b".to_owned(),
            "cozy-stale".to_owned(),
            "tenant-root".to_owned()
        ]
    );
}

#[test]
fn a_label_of_another_owner_is_reported_not_taken() {
    let t = named("cozystack", &["cozy-x"]);
    let namespaces = vec![
        annotated("tenant-root", "tenant-root", "tenant-root"),
        annotated("cozy-x", "tenant-other", "tenant-other"),
        // `tenant-rootx/…` is not `tenant-root`'s.
        annotated("cozy-y", "tenant-rootx", "tenant-rootx/cozystack"),
    ];
    let p = attach::plan(&t, &namespaces, &[], AttachedByFormat::Auto, false);
    assert_eq!(
        (p.add, p.remove, p.report.conflicts),
        (vec![], vec![], vec![("cozy-x".to_owned(), "tenant-other".to_owned())])
    );
}
