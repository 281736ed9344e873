//! Pinned control-plane versions and where the build script caches each artefact.
//!
//! The versions come from `e2e/k8s/versions.env`, the file `e2e/scripts/build-control-plane.sh`
//! reads, so the harness and the script cannot disagree.

use std::path::PathBuf;

use anyhow::{Context, bail};

const VERSIONS_ENV: &str = include_str!("../k8s/versions.env");

/// The build script, named in every "not built yet" error.
pub const BUILD_HINT: &str = "run `make control-plane` (e2e/scripts/build-control-plane.sh) first";

/// Versions pinned in `e2e/k8s/versions.env`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versions {
    pub kubernetes: String,
    pub etcd: String,
    pub gateway_api: String,
    pub cert_manager: String,
    /// The helm CLI for the chart checks (`e2e/scripts/build-helm.sh`).
    pub helm: String,
    /// Traefik, the data plane (`e2e/scripts/build-traefik.sh`).
    pub traefik: String,
    /// Pebble, the ACME test server of the issuance e2e (`e2e/scripts/build-pebble.sh`).
    pub pebble: String,
}

impl Versions {
    /// The versions this crate was compiled with.
    pub fn pinned() -> anyhow::Result<Versions> {
        Self::parse(VERSIONS_ENV).context("parsing e2e/k8s/versions.env")
    }

    fn parse(text: &str) -> anyhow::Result<Versions> {
        let get = |key: &str| -> anyhow::Result<String> {
            text.lines()
                .map(str::trim)
                .filter(|l| !l.starts_with('#'))
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('=').map(str::trim))
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .with_context(|| format!("missing {key}=..."))
        };
        Ok(Versions {
            kubernetes: get("KUBERNETES")?,
            etcd: get("ETCD")?,
            gateway_api: get("GATEWAY_API")?,
            cert_manager: get("CERT_MANAGER")?,
            helm: get("HELM")?,
            traefik: get("TRAEFIK")?,
            pebble: get("PEBBLE")?,
        })
    }
}

/// Where the binaries and CRDs for one run are taken from.
#[derive(Debug, Clone)]
pub struct Artefacts {
    pub kube_apiserver: PathBuf,
    pub etcd: PathBuf,
    pub crd_dirs: Vec<PathBuf>,
}

impl Artefacts {
    /// Locates the cached artefacts. `TGW_K8S_BIN_DIR` overrides the kube-apiserver directory (an
    /// `etcd` binary there is used too), `TGW_ETCD_BIN_DIR` the etcd one, `TGW_CACHE` the root.
    pub fn locate() -> anyhow::Result<Artefacts> {
        let v = Versions::pinned()?;
        let cache = cache_root()?;
        let k8s_dir = env_dir("TGW_K8S_BIN_DIR").unwrap_or_else(|| cache.join("k8s").join(&v.kubernetes));
        let etcd_dir = env_dir("TGW_ETCD_BIN_DIR")
            .or_else(|| k8s_dir.join("etcd").is_file().then(|| k8s_dir.clone()))
            .unwrap_or_else(|| cache.join("etcd").join(&v.etcd));
        let crd_root = cache.join("crds");
        let artefacts = Artefacts {
            kube_apiserver: k8s_dir.join("kube-apiserver"),
            etcd: etcd_dir.join("etcd"),
            crd_dirs: vec![
                crd_root.join(format!("gateway-api-{}-experimental", v.gateway_api)),
                crd_root.join(format!("cert-manager-{}", v.cert_manager)),
            ],
        };
        artefacts.check()?;
        Ok(artefacts)
    }

    fn check(&self) -> anyhow::Result<()> {
        for bin in [&self.kube_apiserver, &self.etcd] {
            if !bin.is_file() {
                bail!("{} is missing: {BUILD_HINT}", bin.display());
            }
        }
        for dir in &self.crd_dirs {
            if !dir.join(".complete").is_file() {
                bail!("CRD directory {} is missing or incomplete: {BUILD_HINT}", dir.display());
            }
        }
        Ok(())
    }
}

/// The helm binary at the pinned version, built or reused by `e2e/scripts/build-helm.sh` (which
/// returns at once when it is cached, and otherwise takes a couple of minutes).
pub fn helm() -> anyhow::Result<PathBuf> {
    let v = Versions::pinned()?;
    let cached = cache_root()?.join("helm").join(&v.helm).join("helm");
    if cached.is_file() {
        return Ok(cached);
    }
    built_by("build-helm.sh")
}

/// The Traefik binary at the pinned version, built or reused by `e2e/scripts/build-traefik.sh`
/// (which returns within a tenth of a second when the binary is cached and was built from the
/// committed `e2e/k8s/traefik/`; a cold build takes minutes). Call it outside the data-plane
/// network namespace first: a build may download modules.
pub fn traefik() -> anyhow::Result<PathBuf> {
    built_by("build-traefik.sh")
}

/// The directory holding `pebble` and `pebble-challtestsrv` at the pinned version, built or reused
/// by `e2e/scripts/build-pebble.sh` (under a tenth of a second when cached; about a minute cold).
/// Call it outside the data-plane network namespace: a build may download modules.
pub fn pebble() -> anyhow::Result<PathBuf> {
    built_dir_by("build-pebble.sh", &["pebble", "pebble-challtestsrv"])
}

/// The directory holding `cert-manager-controller` and `acmesolver` built from the root module
/// `github.com/cert-manager/cert-manager` at the pinned `CERT_MANAGER` version (the one the CRDs
/// come from), built or reused by `e2e/scripts/build-certmanager.sh` (a tenth of a second when
/// cached; minutes cold). Call it outside the data-plane network namespace.
pub fn cert_manager() -> anyhow::Result<PathBuf> {
    built_dir_by("build-certmanager.sh", &["cert-manager-controller", "acmesolver"])
}

/// Runs `e2e/scripts/<script>`, which builds or reuses `binaries` and prints their directory.
fn built_dir_by(script: &str, binaries: &[&str]) -> anyhow::Result<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts").join(script);
    let out = std::process::Command::new(&path)
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", path.display()))?;
    if !out.status.success() {
        bail!("{} failed ({})", path.display(), out.status);
    }
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    for b in binaries {
        if !dir.join(b).is_file() {
            bail!("{} printed {}, which holds no {b}", path.display(), dir.display());
        }
    }
    Ok(dir)
}

/// Runs `e2e/scripts/<script>`, which builds or reuses a binary and prints its path.
fn built_by(script: &str) -> anyhow::Result<PathBuf> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts").join(script);
    let out = std::process::Command::new(&script)
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !out.status.success() {
        bail!("{} failed ({})", script.display(), out.status);
    }
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if !path.is_file() {
        bail!("{} printed {}, which is not a file", script.display(), path.display());
    }
    Ok(path)
}

/// `$TGW_CACHE`, else `$HOME/.cache/tenant-gateway`.
pub fn cache_root() -> anyhow::Result<PathBuf> {
    if let Some(dir) = env_dir("TGW_CACHE") {
        return Ok(dir);
    }
    let home = std::env::var_os("HOME").context("neither TGW_CACHE nor HOME is set")?;
    Ok(PathBuf::from(home).join(".cache").join("tenant-gateway"))
}

fn env_dir(name: &str) -> Option<PathBuf> {
    std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_versions_parse() -> anyhow::Result<()> {
        let v = Versions::pinned()?;
        assert!(v.kubernetes.starts_with("v1."), "{v:?}");
        assert!(v.etcd.starts_with("v3."), "{v:?}");
        assert!(v.helm.starts_with("v3."), "{v:?}");
        assert!(v.traefik.starts_with("v3."), "{v:?}");
        assert!(v.pebble.starts_with("v2."), "{v:?}");
        Ok(())
    }

    #[test]
    fn missing_key_is_an_error() {
        let err = Versions::parse("KUBERNETES=v1.35.4\n# ETCD=v3\n").err();
        assert!(err.is_some_and(|e| e.to_string().contains("ETCD")));
    }
}
