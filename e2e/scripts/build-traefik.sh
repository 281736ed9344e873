#!/usr/bin/env bash
# Builds (or finds cached) the Traefik binary for the data-plane e2e and the demo, from
# github.com/traefik/traefik/v3 on the Go module proxy through the wrapper module e2e/k8s/traefik,
# at the TRAEFIK version pinned in e2e/k8s/versions.env. Idempotent: rebuilt only when missing or
# reporting another version. Log lines go to stderr; stdout gets the binary's path.
#
# Layout (TGW_CACHE defaults to ~/.cache/tenant-gateway):
#   $TGW_CACHE/traefik/<version>/traefik
#   $TGW_CACHE/traefik/<version>/traefik.inputs  hash of e2e/k8s/traefik/ the binary was built from
#   $TGW_CACHE/traefik/<version>/module/   the assembled build directory (see traefik-module.sh)
#
# See e2e/CONTROL-PLANE.md ("Traefik") for why the build needs more than the wrapper's go.mod.
set -euo pipefail

e2e="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${TGW_CACHE:-$HOME/.cache/tenant-gateway}"

# shellcheck source=/dev/null  # e2e/k8s/versions.env
source "$e2e/k8s/versions.env"
: "${TRAEFIK:?TRAEFIK=... missing from e2e/k8s/versions.env}"

# Same reproducibility rules as build-control-plane.sh.
export GOTOOLCHAIN=local GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0

log() { printf 'traefik: %s\n' "$*" >&2; }
die() { printf 'traefik: error: %s\n' "$*" >&2; exit 1; }
# shellcheck source=traefik-module.sh
source "$e2e/scripts/traefik-module.sh"

command -v go >/dev/null || die "the Go toolchain is not on PATH (see e2e/CONTROL-PLANE.md)"

moddir="$e2e/k8s/traefik"
grep -qE "^[[:space:]]*(require[[:space:]]+)?github\.com/traefik/traefik/v3 $TRAEFIK( |\$)" "$moddir/go.mod" ||
  die "e2e/k8s/traefik/go.mod does not require github.com/traefik/traefik/v3 $TRAEFIK; run e2e/scripts/gen-traefik-gomod.sh $TRAEFIK"
[[ -f "$moddir/patched.sum" ]] || die "e2e/k8s/traefik/patched.sum is missing; run e2e/scripts/gen-traefik-gomod.sh $TRAEFIK"

dir="$cache/traefik/$TRAEFIK"
out="$dir/traefik"
# The committed inputs besides the version: a change to the wrapper or a patch means a rebuild.
inputs="$(cd "$moddir" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
# reports_version <binary>: `traefik version` names $TRAEFIK. (Output captured first: with
# pipefail, `grep -q` closing the pipe early would fail the check.)
reports_version() {
  local text
  text="$("$1" version 2>/dev/null)" || return 1
  grep -qE "^Version:[[:space:]]+${TRAEFIK#v}\$" <<<"$text"
}
if [[ -x "$out" ]] && reports_version "$out" && [[ "$(cat "$out.inputs" 2>/dev/null)" == "$inputs" ]]; then
  log "traefik $TRAEFIK is cached at $out"
  printf '%s\n' "$out"
  exit 0
fi

start=$SECONDS
build="$dir/module"
assemble_traefik_module "$build" "$moddir/patched.sum"
cp "$moddir/go.mod" "$moddir/go.sum" "$build/"
tmp="$out.tmp.$$"
log "building traefik $TRAEFIK from github.com/traefik/traefik/v3/cmd/traefik (module e2e/k8s/traefik) -> $out"
ldflags="-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=${TRAEFIK#v}"
(cd "$build" && go build -trimpath -ldflags "$ldflags" -o "$tmp" github.com/traefik/traefik/v3/cmd/traefik) ||
  { rm -f "$tmp"; die "go build github.com/traefik/traefik/v3/cmd/traefik failed"; }
mv -f "$tmp" "$out"
printf '%s\n' "$inputs" >"$out.inputs"
reports_version "$out" || die "built traefik does not report version ${TRAEFIK#v}"
log "built traefik $TRAEFIK in $((SECONDS - start))s"
printf '%s\n' "$out"
