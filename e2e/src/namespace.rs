//! Per-test namespaces.

use std::collections::BTreeMap;

use anyhow::Context;
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::{DeleteParams, ObjectMeta, PostParams};

/// Creates a fresh uniquely-named namespace (`<prefix>-<random>`, server-generated) carrying
/// `labels`, runs `f` with a clone of `client` and the namespace name, then deletes the namespace
/// whatever `f` returned. `f`'s error wins over a deletion error.
///
/// Without kube-controller-manager a deleted namespace stays `Terminating` and its objects stay in
/// etcd; each test therefore sees only its own objects as long as it uses its own namespace.
pub async fn with_temp_ns<F, Fut>(
    client: &kube::Client,
    prefix: &str,
    labels: &[(&str, &str)],
    f: F,
) -> anyhow::Result<()>
where
    F: FnOnce(kube::Client, String) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let api: Api<Namespace> = Api::all(client.clone());
    let labels: BTreeMap<String, String> = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let ns = Namespace {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}-", prefix.trim_end_matches('-'))),
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    let created = api
        .create(&PostParams::default(), &ns)
        .await
        .with_context(|| format!("creating a namespace with prefix {prefix}"))?;
    let name = created.metadata.name.context("the created namespace has no name")?;
    let result = f(client.clone(), name.clone()).await;
    let deleted = api
        .delete(&name, &DeleteParams::default())
        .await
        .with_context(|| format!("deleting namespace {name}"));
    match (result, deleted) {
        (Err(e), _) => Err(e.context(format!("in namespace {name}"))),
        (Ok(()), Err(e)) => Err(e),
        (Ok(()), Ok(_)) => Ok(()),
    }
}
