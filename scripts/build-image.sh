#!/usr/bin/env bash
# Builds the controller image without a container engine (the recipe of Dockerfile.controller):
# a static musl binary FROM scratch, user 65532:65532, entrypoint /tenant-gateway-controller,
# port 8080, OCI labels. Tools: cargo (x86_64-unknown-linux-musl, profile `image`), tar, umoci.
#
#   scripts/build-image.sh [OCI_LAYOUT_DIR]     (default target/oci-image)
#
# Writes an OCI image layout with the tag $IMAGE_TAG (default: the workspace version) and prints
# `<layout>:<tag> <size>`; push it with skopeo, e.g.
#   skopeo copy --dest-tls-verify=false oci:target/oci-image:0.1.0 docker://127.0.0.1:5000/tgw/controller:0.1.0
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=x86_64-unknown-linux-musl
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
TAG=${IMAGE_TAG:-$VERSION}
LAYOUT=${1:-target/oci-image}
SOURCE=https://github.com/tenant-gateway/tenant-gateway
for tool in umoci musl-gcc readelf; do
  command -v "$tool" >/dev/null || { echo "build-image: $tool not found (make setup)" >&2; exit 1; }
done

# ring's C and assembly need musl-gcc; the final link keeps rustc's self-contained static-pie
# (musl-gcc as the *linker* would add an ELF interpreter, which does not exist in scratch).
CC_x86_64_unknown_linux_musl=musl-gcc \
  ${CARGO:-cargo} build --locked --profile image --target "$TARGET" -p tgw-controller --bin tgw-controller
BIN=target/$TARGET/image/tgw-controller
if readelf -l "$BIN" | grep -q INTERP || readelf -d "$BIN" | grep -q NEEDED; then
  echo "build-image: $BIN is not a static executable" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
install -D -m 0555 "$BIN" "$root/tenant-gateway-controller"
# What distroless/static adds and the controller may need: CA roots (for a non-cluster API
# server), passwd/group naming the non-root user, a writable /tmp.
install -D -m 0444 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$work/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$work/group"
install -D -m 0444 "$work/passwd" "$root/etc/passwd"
install -D -m 0444 "$work/group" "$root/etc/group"
install -d -m 1777 "$root/tmp"
# Reproducible layer: fixed owner, order and mtime.
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$root" -cf "$work/layer.tar" .

rm -rf "$LAYOUT"
mkdir -p "$(dirname "$LAYOUT")"
umoci init --layout "$LAYOUT"
umoci new --image "$LAYOUT:$TAG"
umoci raw add-layer --image "$LAYOUT:$TAG" "$work/layer.tar"
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
umoci config --image "$LAYOUT:$TAG" \
  --os linux --architecture amd64 \
  --config.user 65532:65532 \
  --config.entrypoint /tenant-gateway-controller \
  --config.exposedports 8080/tcp \
  --config.workingdir / \
  --config.label "org.opencontainers.image.title=tenant-gateway-controller" \
  --config.label "org.opencontainers.image.description=TenantGateway controller: per-tenant Gateway API ingress" \
  --config.label "org.opencontainers.image.source=$SOURCE" \
  --config.label "org.opencontainers.image.version=$VERSION" \
  --config.label "org.opencontainers.image.revision=$revision" \
  --config.label "org.opencontainers.image.licenses=Apache-2.0" \
  --manifest.annotation "org.opencontainers.image.source=$SOURCE" \
  --manifest.annotation "org.opencontainers.image.version=$VERSION"
umoci gc --layout "$LAYOUT"
size=$(du -sb "$LAYOUT/blobs" | cut -f1)
echo "$LAYOUT:$TAG $size"
