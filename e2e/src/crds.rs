//! Installs the CRD bundles prepared by the build script, with server-side apply, as a user would.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use kube::api::{Patch, PatchParams};
use kube::runtime::wait::Condition;
use kube::runtime::wait::conditions::is_crd_established;
use serde::Deserialize;

/// Field manager of everything the harness applies.
pub const FIELD_MANAGER: &str = "tgw-e2e";

/// Reads every CustomResourceDefinition document of the `*.yaml` files in `dirs`.
pub fn load(dirs: &[PathBuf]) -> anyhow::Result<Vec<serde_json::Value>> {
    let mut crds = Vec::new();
    for dir in dirs {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("listing {}", dir.display()))?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .with_context(|| format!("listing {}", dir.display()))?;
        files.retain(|p| p.extension().is_some_and(|e| e == "yaml"));
        files.sort();
        for file in files {
            crds.extend(load_file(&file)?);
        }
    }
    anyhow::ensure!(!crds.is_empty(), "no CRDs found in {dirs:?}");
    Ok(crds)
}

fn load_file(file: &Path) -> anyhow::Result<Vec<serde_json::Value>> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let mut out = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let value = serde_json::Value::deserialize(doc).with_context(|| format!("parsing {}", file.display()))?;
        if value.get("kind").and_then(|k| k.as_str()) == Some("CustomResourceDefinition") {
            out.push(value);
        }
    }
    Ok(out)
}

/// Applies every CRD and waits until each is Established.
pub async fn install(
    client: &kube::Client,
    crds: Vec<serde_json::Value>,
    timeout: Duration,
) -> anyhow::Result<Vec<String>> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut tasks = tokio::task::JoinSet::new();
    for crd in crds {
        let api = api.clone();
        tasks.spawn(async move {
            let name = crd
                .pointer("/metadata/name")
                .and_then(|n| n.as_str())
                .context("a CRD without metadata.name")?
                .to_owned();
            api.patch(&name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&crd))
                .await
                .with_context(|| format!("applying CRD {name}"))?;
            let established = is_crd_established();
            crate::wait::await_condition(api, &name, |crd| established.matches_object(crd), timeout)
                .await
                .with_context(|| format!("waiting for CRD {name} to be Established"))?;
            anyhow::Ok(name)
        });
    }
    let mut names = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        names.push(joined.context("a CRD install task panicked")??);
    }
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_crd_documents_are_loaded() -> anyhow::Result<()> {
        let dir = crate::process::TempDir::new("tgw-e2e-test-")?;
        let yaml = "---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: a.example.com\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n---\n";
        std::fs::write(dir.path().join("x.yaml"), yaml)?;
        std::fs::write(dir.path().join("README.md"), "not yaml: [")?;
        let crds = load(&[dir.path().to_path_buf()])?;
        assert_eq!(crds.len(), 1);
        assert_eq!(
            crds[0].pointer("/metadata/name").and_then(|n| n.as_str()),
            Some("a.example.com")
        );
        Ok(())
    }
}
