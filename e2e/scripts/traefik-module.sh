# Sourced by e2e/scripts/gen-traefik-gomod.sh and e2e/scripts/build-traefik.sh: assembles the
# directory the Traefik test binary is built in (see e2e/CONTROL-PLANE.md, "Traefik").
#
# Traefik itself (github.com/traefik/traefik/v3) is not copied or modified: the build uses the
# released module straight from the Go module proxy/cache, checked against e2e/k8s/traefik/go.sum.
# The wrapper module e2e/k8s/traefik still cannot be built in place, because the Go module proxy here
# does not serve everything Traefik's go.mod names:
#   - github.com/go-acme/lego/v5 (Traefik's ACME library) imports the SDKs of ~200 DNS providers from
#     one generated file, and several of those SDK modules are not served;
#   - Traefik replaces github.com/abbot/go-http-auth by a fork that is not served.
# So the build directory holds
#   go.mod, go.sum     from e2e/k8s/traefik (committed; `replace ... => ./<dir>` for the copies below)
#   ext/               e2e/k8s/traefik/ext, the stand-in for Traefik's nested dynamic/ext module
#   lego/              lego at the version Traefik requires without providers/dns/*/, plus
#                      e2e/k8s/traefik/patches/lego (an empty DNS-01 provider registry)
#   go-http-auth/      github.com/abbot/go-http-auth v0.4.0 plus e2e/k8s/traefik/patches/go-http-auth
#                      (a go.mod, and the two functions of the fork's API that Traefik calls)
# None of them changes Traefik's Gateway API behaviour: ext only declares two empty structs, the
# go-http-auth functions serve only the basic/digest auth middlewares, and the DNS-01 registry only
# Traefik's ACME resolver; the suite uses none of these.
# Each copy is downloaded and checksum-verified through the proxy and must match the h1: sum pinned
# in e2e/k8s/traefik/patched.sum.
#
# Callers set: e2e (the e2e directory), and define log/die.

# The patched copies: <module> <directory in the build dir> <path removed before patching or ->.
traefik_patched_modules() {
  printf '%s\n' "github.com/go-acme/lego/v5 lego providers/dns" "github.com/abbot/go-http-auth go-http-auth -"
}

# module_copy <module> <version> <expected h1: sum or empty> <dest> <path to remove or ->
# Copies the verified module into dest, removes the path, overlays patches/<basename dest>.
# Prints the module's h1: sum.
module_copy() {
  local module="$1" version="$2" want_sum="$3" dest="$4" prune="$5" scratch json dir sum
  scratch="$(mktemp -d)"
  json="$(cd "$scratch" && GOFLAGS=-mod=mod go mod download -json "$module@$version")" ||
    { rm -rf "$scratch"; die "go mod download $module@$version failed"; }
  rm -rf "$scratch"
  dir="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$json")"
  sum="$(sed -n 's/^[[:space:]]*"Sum": "\(.*\)",$/\1/p' <<<"$json")"
  [[ -d "$dir" && -n "$sum" ]] || die "cannot locate $module@$version in the module cache"
  [[ -z "$want_sum" || "$sum" == "$want_sum" ]] ||
    die "$module@$version has checksum $sum, e2e/k8s/traefik/patched.sum pins $want_sum"
  rm -rf "$dest"
  mkdir -p "$dest"
  cp -R "$dir/." "$dest/"
  chmod -R u+w "$dest"
  if [[ "$prune" != "-" ]]; then
    rm -rf "${dest:?}/$prune"
  fi
  local patches="$e2e/k8s/traefik/patches/$(basename "$dest")"
  find "$patches" -type f -printf '%P\n' | while read -r f; do
    mkdir -p "$(dirname "$dest/$f")"
    cp "$patches/$f" "$dest/$f"
  done
  printf '%s\n' "$sum"
}

# assemble_traefik_module <dest dir> <versions file>: the build directory without go.mod/go.sum.
# The versions file has lines "<module> <version> <h1 sum or ->" (patched.sum, or generated).
assemble_traefik_module() {
  local dest="$1" versions="$2" module name prune version sum
  rm -rf "$dest"
  mkdir -p "$dest"
  cp -R "$e2e/k8s/traefik/ext" "$dest/ext"
  while read -r module name prune; do
    read -r version sum < <(awk -v m="$module" '$1 == m { print $2, $3 }' "$versions")
    [[ -n "$version" ]] || die "no version for $module in $versions"
    [[ "$sum" == "-" ]] && sum=""
    module_copy "$module" "$version" "$sum" "$dest/$name" "$prune" >/dev/null
  done < <(traefik_patched_modules)
}
