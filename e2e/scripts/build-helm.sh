#!/usr/bin/env bash
# Builds (or finds cached) the helm CLI from helm.sh/helm/v3 on the Go module proxy, through the
# wrapper module e2e/k8s/helm, at the HELM version pinned in e2e/k8s/versions.env. Idempotent: the
# binary is rebuilt only when missing or reporting another version. Prints nothing but log lines
# on stderr and, on stdout, the path of the binary (so callers can do `helm=$(build-helm.sh)`).
#
# Layout (TGW_CACHE defaults to ~/.cache/tenant-gateway):
#   $TGW_CACHE/helm/<version>/helm
set -euo pipefail

e2e="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${TGW_CACHE:-$HOME/.cache/tenant-gateway}"

# shellcheck source=/dev/null  # e2e/k8s/versions.env
source "$e2e/k8s/versions.env"
: "${HELM:?HELM=... missing from e2e/k8s/versions.env}"

# Same reproducibility rules as build-control-plane.sh: installed toolchain only, go.sum must hold
# every hash, no workspace files or VCS stamping from the surrounding tree, a static binary.
export GOTOOLCHAIN=local GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0

log() { printf 'helm: %s\n' "$*" >&2; }
die() { printf 'helm: error: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null || die "the Go toolchain is not on PATH (see e2e/CONTROL-PLANE.md)"

moddir="$e2e/k8s/helm"
grep -qE "^[[:space:]]*(require[[:space:]]+)?helm\.sh/helm/v3 $HELM( |\$)" "$moddir/go.mod" ||
  die "e2e/k8s/helm/go.mod does not require helm.sh/helm/v3 $HELM; run: (cd e2e/k8s/helm && go get helm.sh/helm/v3@$HELM && go mod tidy)"

out="$cache/helm/$HELM/helm"
if [[ -x "$out" ]] && [[ "$("$out" version --template '{{.Version}}' 2>/dev/null)" == "$HELM" ]]; then
  log "helm $HELM is cached at $out"
  printf '%s\n' "$out"
  exit 0
fi

# Stamp the version as upstream release builds do, and the default Kubernetes version that
# `helm template` and `helm lint` assume (upstream derives it from the client-go it links).
client_go="$(awk '$1 == "k8s.io/client-go" { print $2 }' "$moddir/go.mod")"
[[ "$client_go" =~ ^v0\.([0-9]+)\. ]] || die "cannot read the k8s.io/client-go version from $moddir/go.mod"
k8s_minor="${BASH_REMATCH[1]}"
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$k8s_minor"
done

start=$SECONDS
mkdir -p "$(dirname "$out")"
tmp="$out.tmp.$$"
log "building helm $HELM from helm.sh/helm/v3/cmd/helm (module e2e/k8s/helm) -> $out"
(cd "$moddir" && go build -trimpath -ldflags "$ldflags" -o "$tmp" helm.sh/helm/v3/cmd/helm) ||
  { rm -f "$tmp"; die "go build helm.sh/helm/v3/cmd/helm failed"; }
mv -f "$tmp" "$out"
got="$("$out" version --template '{{.Version}}')"
[[ "$got" == "$HELM" ]] || die "built helm reports version '$got', expected $HELM"
log "built helm $HELM in $((SECONDS - start))s"
printf '%s\n' "$out"
