#!/usr/bin/env bash
# Installs what the tests and the demo need on a fresh Debian machine (idempotent, quiet when
# everything is present): Debian packages, the wasm32-wasip1 and musl Rust targets, and the persistent
# cache directory. The local control plane binaries are built separately (make control-plane).
set -euo pipefail

need_apt=()
# umoci + skopeo: the controller image without a container engine (scripts/build-image.sh);
# musl-tools: musl-gcc for ring's C in the static build; bc/curl: the image/chart test.
# bind9: the authoritative DNS server (named) of the issuance suite's DNS-01 case.
for pkg in bats bc bind9 binaryen curl docker-registry jq musl-tools openssl skopeo umoci; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

for target in wasm32-wasip1 x86_64-unknown-linux-musl; do
  if ! rustup target list --installed | grep -qx "$target"; then
    echo "setup: adding Rust target $target"
    rustup target add "$target"
  fi
done
for component in clippy rustfmt; do
  rustup component list --installed | grep -q "^${component}" || rustup component add "$component"
done

cache="${TGW_CACHE:-$HOME/.cache/tenant-gateway}"
mkdir -p "$cache/target"
# Reuse one Cargo target directory across clones (CI clones afresh each run).
if [ ! -e target ]; then
  ln -s "$cache/target" target
fi
echo "setup: ok (cache $cache)"
