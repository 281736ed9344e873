#!/usr/bin/env bash
# Demo part 2: a real kube-apiserver + etcd (built from the Go module proxy and cached), the
# TenantGateway controller and the admission policy as a webhook, a sample tenant tree, a report.
set -euo pipefail
cd "$(dirname "$0")/.."
make --no-print-directory control-plane crd >/dev/null
cargo build --locked -q -p tgw-e2e --bin tgw-demo
exec target/debug/tgw-demo
