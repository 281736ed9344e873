#!/usr/bin/env bash
# Builds (or finds cached) cert-manager's controller and HTTP-01 solver for the issuance e2e, from
# the root module github.com/cert-manager/cert-manager on the Go module proxy at the CERT_MANAGER
# version pinned in e2e/k8s/versions.env (the version the CRDs come from), through the wrapper
# module e2e/k8s/certmanager: upstream's cmd/* modules are not served, so the two mains there are
# our own (see e2e/CONTROL-PLANE.md, "cert-manager and Pebble"). Idempotent: rebuilt only when
# missing, built from another version, or built from another state of e2e/k8s/certmanager.
# Log lines go to stderr; stdout gets the directory holding both binaries.
#
# Layout (TGW_CACHE defaults to ~/.cache/tenant-gateway):
#   $TGW_CACHE/cert-manager/<version>/cert-manager-controller
#   $TGW_CACHE/cert-manager/<version>/acmesolver
#   $TGW_CACHE/cert-manager/<version>/inputs   hash of e2e/k8s/certmanager/ the binaries were built from
set -euo pipefail

e2e="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${TGW_CACHE:-$HOME/.cache/tenant-gateway}"

# shellcheck source=/dev/null  # e2e/k8s/versions.env
source "$e2e/k8s/versions.env"
: "${CERT_MANAGER:?CERT_MANAGER=... missing from e2e/k8s/versions.env}"

# Same reproducibility rules as build-control-plane.sh.
export GOTOOLCHAIN=local GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0

log() { printf 'cert-manager: %s\n' "$*" >&2; }
die() { printf 'cert-manager: error: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null || die "the Go toolchain is not on PATH (see e2e/CONTROL-PLANE.md)"

module=github.com/cert-manager/cert-manager
moddir="$e2e/k8s/certmanager"
grep -qE "^[[:space:]]*(require[[:space:]]+)?${module//./\\.} $CERT_MANAGER( |\$)" "$moddir/go.mod" ||
  die "e2e/k8s/certmanager/go.mod does not require $module $CERT_MANAGER; run: (cd e2e/k8s/certmanager && go get $module@$CERT_MANAGER && go mod tidy)"

dir="$cache/cert-manager/$CERT_MANAGER"
inputs="$(cd "$moddir" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
# built_from <binary>: its embedded build info names $module at $CERT_MANAGER.
built_from() {
  local info
  info="$(go version -m "$1" 2>/dev/null)" || return 1
  grep -qE "^[[:space:]]+dep[[:space:]]+${module//./\\.}[[:space:]]+$CERT_MANAGER([[:space:]]|\$)" <<<"$info"
}
if built_from "$dir/cert-manager-controller" && built_from "$dir/acmesolver" &&
  [[ "$("$dir/cert-manager-controller" --version 2>/dev/null)" == "cert-manager-controller $CERT_MANAGER" ]] &&
  [[ "$(cat "$dir/inputs" 2>/dev/null)" == "$inputs" ]]; then
  log "cert-manager $CERT_MANAGER is cached in $dir"
  printf '%s\n' "$dir"
  exit 0
fi

start=$SECONDS
mkdir -p "$dir"
for pair in controller:cert-manager-controller acmesolver:acmesolver; do
  pkg="${pair%%:*}" bin="${pair#*:}"
  tmp="$dir/$bin.tmp.$$"
  log "building $bin from $module $CERT_MANAGER (main e2e/k8s/certmanager/$pkg) -> $dir/$bin"
  (cd "$moddir" && go build -trimpath -ldflags "-s -w -X main.version=$CERT_MANAGER" -o "$tmp" "./$pkg") ||
    { rm -f "$tmp"; die "go build ./$pkg in e2e/k8s/certmanager failed"; }
  mv -f "$tmp" "$dir/$bin"
  built_from "$dir/$bin" || die "$dir/$bin does not record $module $CERT_MANAGER in its build info"
done
[[ "$("$dir/cert-manager-controller" --version)" == "cert-manager-controller $CERT_MANAGER" ]] ||
  die "built cert-manager-controller does not report version $CERT_MANAGER"
printf '%s\n' "$inputs" >"$dir/inputs"
log "built cert-manager $CERT_MANAGER in $((SECONDS - start))s"
printf '%s\n' "$dir"
