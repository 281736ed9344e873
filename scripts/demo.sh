#!/usr/bin/env bash
# The main job: builds what is needed, then shows the product working.
#  1. the admission policy's verdicts on hijack attempts (kwctl run on the annotated module);
#  2. a real local control plane with the controller and the policy webhook, a sample tenant tree,
#     and a report of Gateways, Certificates, Issuers, route status and hijack attempts (with real
#     requests when a network namespace can be made); fails when a hijack attempt gets traffic or,
#     with that data plane, a TenantGateway does not end Ready=True.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== building the policy and the kwctl-compatible runner"
make --no-print-directory policy >/dev/null
echo "== 1. admission policy verdicts (kwctl run, Namespace lookups replayed)"
scripts/demo-policy.sh
if [ -x scripts/demo-cluster.sh ]; then
  echo "== 2. the controller and the policy on a real kube-apiserver"
  scripts/demo-cluster.sh
fi
