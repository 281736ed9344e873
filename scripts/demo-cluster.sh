#!/usr/bin/env bash
# Demo part 2: a real kube-apiserver + etcd (built from the Go module proxy and cached), the
# TenantGateway controller and the admission policy as a webhook, Traefik as the data plane, and
# Pebble, cert-manager and BIND issuing the certificates for real (also
# from the Go module proxy), a sample tenant tree, a report with real requests. tgw-demo runs
# itself inside a private network namespace (unshare --net) when it can, and exits non-zero when a
# hijack attempt gets traffic or (with the data plane) a TenantGateway does not end Ready=True.
set -euo pipefail
cd "$(dirname "$0")/.."
make --no-print-directory control-plane crd traefik pebble cert-manager >/dev/null
cargo build --locked -q -p tgw-e2e --bin tgw-demo
exec target/debug/tgw-demo
