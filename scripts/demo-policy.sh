#!/usr/bin/env bash
# Demo part 1: the admission policy's verdicts on hijack attempts and legitimate writes, each
# evaluated by `kwctl run` (KWCTL, or the project's tgw-kwctl) on the annotated module, with the
# tenant's Namespace answered from a replay session. Prints one table.
set -euo pipefail
cd "$(dirname "$0")/.."
KWCTL="${KWCTL:-$PWD/target/release/tgw-kwctl}"
POLICY="$PWD/policy/annotated-policy.wasm"
DATA=policy/test_data

# case name | who tries what
attempts=(
  "httproute-v1-foreign|tenant-test routes attacker.com"
  "httproute-v1-no-hostnames|tenant-test route without hostnames (catch-all)"
  "httproute-v1-apex|tenant-test routes harbor.test.example.org"
  "gateway-v1-foreign-hostname|tenant-test Gateway listener for dashboard.example.org"
  "gateway-v1-parent-wildcard|tenant-test Gateway listener for *.example.org"
  "listenerset-v1-foreign|tenant-test ListenerSet listener for shop.example.org"
  "grpcroute-v1-foreign|tenant-test GRPCRoute for grpc.example.org"
  "tlsroute-v1-foreign|tenant-test TLSRoute (v1) for db.other.org"
  "tcproute-v1alpha2-tenant|tenant-test TCPRoute (no hostname can scope it)"
  "ingress-v1-sibling|tenant-test Ingress for dashboard.example.org"
  "ingress-v1-default-backend|tenant-test Ingress with a defaultBackend"
  "ingress-v1-custom-domain|tenant-test Ingress for its own domain shop.external-probe.invalid"
  "httproute-v1-namespace-not-found|route in a namespace the policy cannot read"
  "tenant-create-with-host-by-tenant|tenant SA sets Tenant.spec.host=foreign.example.org"
  "tenant-create-with-host-by-flux|Flux sets Tenant.spec.host=alice.example.org"
  "namespace-host-label-changed-by-tenant|tenant SA relabels its namespace host"
  "namespace-gateway-label-added-by-tenant|tenant SA attaches itself to tenant-root's Gateway"
  "tenantgateway-tenant-attached|TenantGateway attaching tenant-alice"
  "tenantgateway-apex-outside|TenantGateway in tenant-test claiming example.org"
)

printf '\n%-66s %-8s %s\n' "ATTEMPT" "VERDICT" "POLICY MESSAGE"
printf '%s\n' "$(printf '=%.0s' {1..160})"
for entry in "${attempts[@]}"; do
  name="${entry%%|*}"; what="${entry#*|}"
  case_json="$(jq -c --arg n "$name" '.[] | select(.name == $n)' $DATA/cases.json)"
  settings="$(jq -c '.settings' <<<"$case_json")"
  session="$(jq -r '.session // empty' <<<"$case_json")"
  args=(run -r "$DATA/requests/$name.json" --settings-json "$settings")
  [ -n "$session" ] && args+=(--allow-context-aware --replay-host-capabilities-interactions "$session")
  response="$("$KWCTL" "${args[@]}" "$POLICY" 2>/dev/null)"
  if [ "$(jq -r .allowed <<<"$response")" = "true" ]; then verdict="ALLOW"; else verdict="DENY"; fi
  message="$(jq -r '.status.message // "-"' <<<"$response")"
  [ "${#message}" -gt 150 ] && message="${message:0:147}..."
  printf '%-66s %-8s %s\n' "$what" "$verdict" "$message"
done
echo
