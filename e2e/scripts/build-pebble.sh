#!/usr/bin/env bash
# Builds (or finds cached) Pebble, the ACME test server, and pebble-challtestsrv, its DNS test
# server, for the issuance e2e: github.com/letsencrypt/pebble/v2 (cmd/pebble,
# cmd/pebble-challtestsrv) from the Go module proxy through the wrapper module e2e/k8s/pebble, at
# the PEBBLE version pinned in e2e/k8s/versions.env. Idempotent: rebuilt only when missing or built
# from another version. Log lines go to stderr; stdout gets the directory holding both binaries.
#
# Layout (TGW_CACHE defaults to ~/.cache/tenant-gateway):
#   $TGW_CACHE/pebble/<version>/pebble
#   $TGW_CACHE/pebble/<version>/pebble-challtestsrv
set -euo pipefail

e2e="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${TGW_CACHE:-$HOME/.cache/tenant-gateway}"

# shellcheck source=/dev/null  # e2e/k8s/versions.env
source "$e2e/k8s/versions.env"
: "${PEBBLE:?PEBBLE=... missing from e2e/k8s/versions.env}"

# Same reproducibility rules as build-control-plane.sh.
export GOTOOLCHAIN=local GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0

log() { printf 'pebble: %s\n' "$*" >&2; }
die() { printf 'pebble: error: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null || die "the Go toolchain is not on PATH (see e2e/CONTROL-PLANE.md)"

module=github.com/letsencrypt/pebble/v2
moddir="$e2e/k8s/pebble"
grep -qE "^[[:space:]]*(require[[:space:]]+)?${module//./\\.} $PEBBLE( |\$)" "$moddir/go.mod" ||
  die "e2e/k8s/pebble/go.mod does not require $module $PEBBLE; run: (cd e2e/k8s/pebble && go get $module@$PEBBLE && go mod tidy)"

dir="$cache/pebble/$PEBBLE"
# built_from <binary>: the binary's embedded build info names $module at $PEBBLE (pebble-challtestsrv
# has no version flag, so both are checked the same way).
built_from() {
  local info
  info="$(go version -m "$1" 2>/dev/null)" || return 1
  grep -qE "^[[:space:]]+(mod|dep)[[:space:]]+${module//./\\.}[[:space:]]+$PEBBLE([[:space:]]|\$)" <<<"$info"
}
if built_from "$dir/pebble" && built_from "$dir/pebble-challtestsrv" &&
  [[ "$("$dir/pebble" -version 2>/dev/null)" == "Pebble version: $PEBBLE" ]]; then
  log "pebble $PEBBLE is cached in $dir"
  printf '%s\n' "$dir"
  exit 0
fi

start=$SECONDS
mkdir -p "$dir"
for cmd in pebble pebble-challtestsrv; do
  tmp="$dir/$cmd.tmp.$$"
  log "building $cmd $PEBBLE from $module/cmd/$cmd (module e2e/k8s/pebble) -> $dir/$cmd"
  (cd "$moddir" && go build -trimpath -ldflags "-s -w -X main.version=$PEBBLE" -o "$tmp" "$module/cmd/$cmd") ||
    { rm -f "$tmp"; die "go build $module/cmd/$cmd failed"; }
  mv -f "$tmp" "$dir/$cmd"
  built_from "$dir/$cmd" || die "$dir/$cmd does not record $module $PEBBLE in its build info"
done
[[ "$("$dir/pebble" -version)" == "Pebble version: $PEBBLE" ]] || die "built pebble does not report version $PEBBLE"
log "built pebble $PEBBLE in $((SECONDS - start))s"
printf '%s\n' "$dir"
