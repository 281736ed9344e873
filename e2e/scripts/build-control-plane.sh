#!/usr/bin/env bash
# Builds (or finds cached) the local e2e control plane: kube-apiserver and kubectl from
# k8s.io/kubernetes, etcd from go.etcd.io/etcd/server/v3, all from the Go module proxy through the
# wrapper modules under e2e/k8s/, and prepares the Gateway API and cert-manager CRDs from their Go
# modules. Idempotent: each artefact is rebuilt only when missing or reporting the wrong version.
#
# Layout (TGW_CACHE defaults to ~/.cache/tenant-gateway):
#   $TGW_CACHE/k8s/<kubernetes>/{kube-apiserver,kubectl}
#   $TGW_CACHE/etcd/<etcd>/etcd
#   $TGW_CACHE/crds/gateway-api-<version>-experimental/*.yaml
#   $TGW_CACHE/crds/cert-manager-<version>/*.yaml
#
# See e2e/CONTROL-PLANE.md for what a fresh machine needs and how long this takes.
set -euo pipefail

e2e="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${TGW_CACHE:-$HOME/.cache/tenant-gateway}"

# shellcheck source=/dev/null  # e2e/k8s/versions.env
source "$e2e/k8s/versions.env"
: "${KUBERNETES:?} ${ETCD:?} ${GATEWAY_API:?} ${CERT_MANAGER:?}"

# Reproducible module builds with the installed toolchain only: no toolchain downloads, go.sum
# must already hold every hash, no workspace files or VCS stamping from the surrounding tree.
export GOTOOLCHAIN=local GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0

log() { printf 'control-plane: %s\n' "$*"; }
die() { printf 'control-plane: error: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null || die "the Go toolchain is not on PATH (see e2e/CONTROL-PLANE.md)"

# The wrapper modules must pin the same versions as versions.env.
grep -qE "^require k8s.io/kubernetes $KUBERNETES\$|^[[:space:]]k8s.io/kubernetes $KUBERNETES( |\$)" \
  "$e2e/k8s/apiserver/go.mod" ||
  die "e2e/k8s/apiserver/go.mod does not require k8s.io/kubernetes $KUBERNETES; run e2e/scripts/gen-k8s-gomod.sh $KUBERNETES"
grep -qE "^require go.etcd.io/etcd/server/v3 $ETCD\$" "$e2e/k8s/etcd/go.mod" ||
  die "e2e/k8s/etcd/go.mod does not require go.etcd.io/etcd/server/v3 $ETCD"

# build <module dir> <package> <output> <extra ldflags>: atomic build into the cache.
build() {
  local dir="$1" pkg="$2" out="$3" ldflags="$4" start tmp
  start=$SECONDS
  mkdir -p "$(dirname "$out")"
  tmp="$out.tmp.$$"
  log "building $(basename "$out") from $pkg (module ${dir#"$e2e"/}) -> $out"
  (cd "$dir" && go build -trimpath -ldflags "-s -w $ldflags" -o "$tmp" "$pkg") || { rm -f "$tmp"; die "go build $pkg failed"; }
  mv -f "$tmp" "$out"
  log "built $(basename "$out") in $((SECONDS - start))s"
}

# has_version <binary> <expected substring> <version args...>
has_version() {
  local bin="$1" want="$2"
  shift 2
  [[ -x "$bin" ]] && "$bin" "$@" 2>/dev/null | grep -qF -- "$want"
}

# Kubernetes binaries report their version through ldflags-stamped variables, as release builds do.
minor="${KUBERNETES#v1.}"
minor="${minor%%.*}"
k8s_ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X $pkg.gitVersion=$KUBERNETES -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
done

k8s_dir="$cache/k8s/$KUBERNETES"
if has_version "$k8s_dir/kube-apiserver" "Kubernetes $KUBERNETES" --version; then
  log "kube-apiserver $KUBERNETES is cached at $k8s_dir"
else
  build "$e2e/k8s/apiserver" k8s.io/kubernetes/cmd/kube-apiserver "$k8s_dir/kube-apiserver" "$k8s_ldflags"
fi
if has_version "$k8s_dir/kubectl" "Client Version: $KUBERNETES" version --client; then
  log "kubectl $KUBERNETES is cached at $k8s_dir"
else
  build "$e2e/k8s/apiserver" k8s.io/kubernetes/cmd/kubectl "$k8s_dir/kubectl" "$k8s_ldflags"
fi

etcd_dir="$cache/etcd/$ETCD"
if has_version "$etcd_dir/etcd" "etcd Version: ${ETCD#v}" --version; then
  log "etcd $ETCD is cached at $etcd_dir"
else
  build "$e2e/k8s/etcd" . "$etcd_dir/etcd" ""
fi

# module_dir <module>@<version>: the unpacked module directory (downloaded and checksum-verified).
module_dir() {
  local scratch json
  scratch="$(mktemp -d)"
  json="$(cd "$scratch" && GOFLAGS=-mod=mod go mod download -json "$1")" || { rm -rf "$scratch"; die "go mod download $1 failed"; }
  rm -rf "$scratch"
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$json"
}

# prepare_crds <source dir> <dest dir>: copies the CustomResourceDefinition documents only,
# dropping Helm template lines if a release ever ships templated files. Writes a .complete marker
# last so a half-written directory is never taken for a finished one.
prepare_crds() {
  local src="$1" dest="$2" tmp f n=0 skipped=()
  tmp="$dest.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  for f in "$src"/*.yaml; do
    if ! grep -qE '^kind: CustomResourceDefinition' "$f"; then
      skipped+=("$(basename "$f")")
      continue
    fi
    grep -vE '^[[:space:]]*\{\{.*\}\}[[:space:]]*$' "$f" >"$tmp/$(basename "$f")"
    n=$((n + 1))
  done
  [[ $n -gt 0 ]] || die "no CRDs found in $src"
  date -u +%FT%TZ >"$tmp/.complete"
  rm -rf "$dest"
  mv "$tmp" "$dest"
  log "prepared $n CRD files in $dest${skipped:+ (skipped non-CRD files: ${skipped[*]})}"
}

crd_root="$cache/crds"
gw_dest="$crd_root/gateway-api-$GATEWAY_API-experimental"
if [[ -f "$gw_dest/.complete" ]]; then
  log "Gateway API $GATEWAY_API experimental CRDs are cached at $gw_dest"
else
  dir="$(module_dir "sigs.k8s.io/gateway-api@$GATEWAY_API")"
  [[ -d "$dir/config/crd/experimental" ]] || die "sigs.k8s.io/gateway-api@$GATEWAY_API has no config/crd/experimental"
  prepare_crds "$dir/config/crd/experimental" "$gw_dest"
fi

cm_dest="$crd_root/cert-manager-$CERT_MANAGER"
if [[ -f "$cm_dest/.complete" ]]; then
  log "cert-manager $CERT_MANAGER CRDs are cached at $cm_dest"
else
  dir="$(module_dir "github.com/cert-manager/cert-manager@$CERT_MANAGER")"
  [[ -d "$dir/deploy/crds" ]] || die "github.com/cert-manager/cert-manager@$CERT_MANAGER has no deploy/crds"
  prepare_crds "$dir/deploy/crds" "$cm_dest"
fi

log "ready: TGW_K8S_BIN_DIR=$k8s_dir etcd=$etcd_dir crds=$crd_root"
