#!/usr/bin/env bash
# Static checks of the Helm chart (no cluster needed). Used by mk/helm.mk.
#
#   check-chart.sh lint      chart CRDs in sync with deploy/crds/, chart version = workspace
#                            version, `helm lint --strict` with the default and the full values
#   check-chart.sh template  renders several value sets into a temporary directory and checks that
#                            every document parses and is a well-formed object, that the Deployment
#                            is hardened, that the policies equal deploy/policy/*.yaml (and that
#                            their matchConditions follow other settings too), and that
#                            Dockerfile.controller's final stage runs as a non-root user
#
# HELM names the helm binary (default: the one e2e/scripts/build-helm.sh builds or reuses).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
chart="$root/deploy/helm/tenant-gateway"
helm="${HELM:-$("$root/e2e/scripts/build-helm.sh")}"

log() { printf 'chart: %s\n' "$*"; }
die() { printf 'chart: error: %s\n' "$*" >&2; exit 1; }

lint() {
  diff -r "$root/deploy/crds" "$chart/files/crds" >/dev/null ||
    die "deploy/helm/tenant-gateway/files/crds differs from deploy/crds; run \`make chart-crds\`"
  local ws chart_version app_version
  ws="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml")"
  chart_version="$(sed -n 's/^version: *//p' "$chart/Chart.yaml")"
  app_version="$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$chart/Chart.yaml")"
  [[ "$chart_version" == "$ws" && "$app_version" == "$ws" ]] ||
    die "Chart.yaml version/appVersion ($chart_version/$app_version) must equal the workspace version $ws"
  "$helm" lint --strict "$chart"
  "$helm" lint --strict "$chart" --namespace cozy-system \
    --set policy.enabled=true --set controller.watchNamespace=tenant-root --set replicaCount=2
  log "lint ok"
}

template() {
  out="$(mktemp -d)"
  trap 'rm -rf "$out"' EXIT
  # name|helm arguments
  local cases=(
    "default|"
    "policy|--set policy.enabled=true"
    "no-leader-election|--set controller.leaderElection.enabled=false --set crds.install=false"
    "watch-namespace|--set controller.watchNamespace=tenant-root --set replicaCount=2 --set metrics.service.enabled=false"
    "monitoring|--set metrics.serviceMonitor.enabled=true --set metrics.prometheusRule.enabled=true"
    "no-uninstall-hook|--set uninstall.releaseFinalizers=false"
  )
  local c name args
  for c in "${cases[@]}"; do
    name="${c%%|*}"
    args="${c#*|}"
    # shellcheck disable=SC2086  # args are whitespace-separated flags
    "$helm" template tenant-gateway "$chart" --namespace cozy-system $args >"$out/$name.yaml" ||
      die "helm template ($name) failed"
  done
  # Two value sets the chart must refuse.
  if "$helm" template tenant-gateway "$chart" --set replicaCount=2 \
    --set controller.leaderElection.enabled=false >/dev/null 2>&1; then
    die "replicaCount=2 without leader election rendered; it must fail"
  fi
  if "$helm" template tenant-gateway "$chart" --set controller.logFormat=xml >/dev/null 2>&1; then
    die "controller.logFormat=xml rendered; it must fail"
  fi
  if "$helm" template tenant-gateway "$chart" --set metrics.serviceMonitor.enabled=true \
    --set metrics.service.enabled=false >/dev/null 2>&1; then
    die "a ServiceMonitor without the metrics Service rendered; it must fail"
  fi
  python3 - "$out" "$root" <<'PY'
import glob, os, sys
import yaml

out, root = sys.argv[1], sys.argv[2]
def fail(msg):
    sys.exit(f"chart: error: {msg}")

def docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]

rendered = {}
for path in sorted(glob.glob(os.path.join(out, "*.yaml"))):
    name = os.path.basename(path)[:-5]
    ds = docs(path)
    for d in ds:
        if not isinstance(d, dict) or not d.get("apiVersion") or not d.get("kind") or not (d.get("metadata") or {}).get("name"):
            fail(f"{name}: a document without apiVersion/kind/metadata.name: {str(d)[:200]}")
    rendered[name] = {(d["kind"], d["metadata"]["name"]): d for d in ds}
    print(f"chart: {name}: {len(ds)} objects: {', '.join(sorted(k for k, _ in rendered[name]))}")

default = rendered["default"]
kinds = {k for k, _ in default}
for want in ["CustomResourceDefinition", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role",
             "RoleBinding", "Deployment", "Service"]:
    if want not in kinds:
        fail(f"default render lacks a {want}")
if any(k == "ClusterAdmissionPolicy" for k, _ in default):
    fail("default render has ClusterAdmissionPolicies; they are opt-in (policy.enabled)")
if any(k in ("Role", "RoleBinding", "CustomResourceDefinition") for k, _ in rendered["no-leader-election"]):
    fail("no-leader-election render still has the Lease Role/RoleBinding or the CRD")

# Monitoring is opt-in; when on, the ServiceMonitor scrapes the metrics Service's `metrics` port and
# every metric the alerts name is one the controller exposes (controller/README.md's table, itself
# checked against the exposition by a controller unit test).
if any(k in ("ServiceMonitor", "PrometheusRule") for k, _ in default):
    fail("default render has a ServiceMonitor or PrometheusRule; they are opt-in")
mon = rendered["monitoring"]
(sm,) = [d for (k, _), d in mon.items() if k == "ServiceMonitor"]
(svc,) = [d for (k, n), d in mon.items() if k == "Service" and n.endswith("-metrics")]
if not set(sm["spec"]["selector"]["matchLabels"].items()) <= set(svc["metadata"]["labels"].items()):
    fail(f"the ServiceMonitor does not select the metrics Service: {sm['spec']['selector']}")
if [e["port"] for e in sm["spec"]["endpoints"]] != [p["name"] for p in svc["spec"]["ports"]]:
    fail("the ServiceMonitor scrapes a port the metrics Service does not name")
import re
with open(os.path.join(root, "controller", "README.md")) as f:
    exposed = set(re.findall(r"^\| `(tgw_[a-z_]+)`", f.read(), re.M))
if len(exposed) < 15:
    fail(f"found only {len(exposed)} metrics in controller/README.md's table")
(rule,) = [d for (k, _), d in mon.items() if k == "PrometheusRule"]
alerts = [r for g in rule["spec"]["groups"] for r in g["rules"]]
for r in alerts:
    text = r["expr"] + " " + " ".join(r.get("annotations", {}).values())
    unknown = sorted({m for m in re.findall(r"tgw_[a-z_]+", text) if m not in exposed})
    if unknown:
        fail(f"alert {r['alert']} names metrics the controller does not expose: {unknown}")
    if r.get("labels", {}).get("severity") not in ("warning", "critical"):
        fail(f"alert {r['alert']} has no severity")
print(f"chart: monitoring: {len(alerts)} alerts name only exposed metrics")

# RBAC: no wildcards, no secrets, nothing beyond the controller's needs (the e2e proves the rest).
for (kind, name), d in default.items():
    if kind not in ("ClusterRole", "Role"):
        continue
    for rule in d.get("rules", []):
        for field in ("apiGroups", "resources", "verbs"):
            if "*" in rule.get(field, []):
                fail(f"{kind} {name} has a wildcard in {field}: {rule}")
        if "secrets" in rule.get("resources", []):
            fail(f"{kind} {name} grants access to secrets: {rule}")

# The Deployment is hardened.
deploy = next(d for (k, _), d in default.items() if k == "Deployment")
pod = deploy["spec"]["template"]["spec"]
psc = pod.get("securityContext", {})
if psc.get("runAsNonRoot") is not True or psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
    fail(f"pod securityContext is not hardened: {psc}")
(c,) = pod["containers"]
sc = c.get("securityContext", {})
checks = {
    "runAsNonRoot": sc.get("runAsNonRoot") is True,
    "runAsUser != 0": sc.get("runAsUser", 0) != 0,
    "readOnlyRootFilesystem": sc.get("readOnlyRootFilesystem") is True,
    "allowPrivilegeEscalation false": sc.get("allowPrivilegeEscalation") is False,
    "drop ALL": sc.get("capabilities", {}).get("drop") == ["ALL"],
    "seccomp RuntimeDefault": sc.get("seccompProfile", {}).get("type") == "RuntimeDefault",
    "liveness /healthz": c.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/healthz",
    "readiness /readyz": c.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/readyz",
    "resources": all(c.get("resources", {}).get(x, {}).get(r) for x in ("requests", "limits") for r in ("cpu", "memory")),
}
bad = [k for k, ok in checks.items() if not ok]
if bad:
    fail(f"Deployment container is not hardened: {bad}")
if pod.get("serviceAccountName") != "tenant-gateway-controller":
    fail(f"unexpected serviceAccountName {pod.get('serviceAccountName')}")

# The uninstall hook (templates/uninstall-hook.yaml): a pre-delete and post-delete Job running the
# controller image's release-finalizers mode, hardened like the Deployment, as its own ServiceAccount
# that may only get/list/patch tenantgateways; RBAC before the Job; gone with the value off.
hook_kinds = ("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Job")
hooks = {(k, n): d for (k, n), d in default.items() if "helm.sh/hook" in (d["metadata"].get("annotations") or {})}
if sorted(k for k, _ in hooks) != sorted(hook_kinds):
    fail(f"default render: uninstall hook objects {sorted(hooks)}, want one each of {hook_kinds}")
for (k, n), d in hooks.items():
    a = d["metadata"]["annotations"]
    if a["helm.sh/hook"] != "pre-delete,post-delete" or a.get("helm.sh/hook-delete-policy") != "before-hook-creation,hook-succeeded":
        fail(f"hook {k} {n}: annotations {a}")
    if (int(a.get("helm.sh/hook-weight", "0")) < 0) != (k != "Job"):
        fail(f"hook {k} {n}: weight {a.get('helm.sh/hook-weight')} (RBAC must come before the Job)")
(job,) = [d for (k, _), d in hooks.items() if k == "Job"]
(hook_role,) = [d for (k, _), d in hooks.items() if k == "ClusterRole"]
if hook_role["rules"] != [{"apiGroups": ["gateway.cozystack.io"], "resources": ["tenantgateways"], "verbs": ["get", "list", "patch"]}]:
    fail(f"the uninstall hook's ClusterRole grants more than get/list/patch of tenantgateways: {hook_role['rules']}")
jpod = job["spec"]["template"]["spec"]
(jc,) = jpod["containers"]
if jc.get("args") != ["release-finalizers"] or "command" in jc or jc.get("image") != c.get("image"):
    fail(f"the uninstall hook does not run the controller image's release-finalizers mode: {jc}")
if jpod.get("serviceAccountName") != hook_role["metadata"]["name"] or jpod.get("securityContext") != psc or jc.get("securityContext") != sc:
    fail("the uninstall hook Job is not hardened like the Deployment or not run as its own ServiceAccount")
if any("helm.sh/hook" in (d["metadata"].get("annotations") or {}) for d in rendered["no-uninstall-hook"].values()):
    fail("uninstall.releaseFinalizers=false still renders the uninstall hook")
print("chart: uninstall hook: pre/post-delete Job, hardened, own ServiceAccount with get/list/patch of tenantgateways only")

# The policies render exactly as deploy/policy/*.yaml (labels aside).
policy = rendered["policy"]
for f in ("hostnames.yaml", "identity.yaml"):
    (want,) = docs(os.path.join(root, "deploy", "policy", f))
    got = policy.get(("ClusterAdmissionPolicy", want["metadata"]["name"]))
    if got is None:
        fail(f"policy render lacks ClusterAdmissionPolicy {want['metadata']['name']}")
    if got["spec"] != want["spec"] or got["metadata"].get("annotations") != want["metadata"].get("annotations"):
        fail(f"ClusterAdmissionPolicy {want['metadata']['name']} differs from deploy/policy/{f}:\n"
             f"chart: {got['spec']}\ndeploy: {want['spec']}")
print("chart: policies match deploy/policy/*.yaml; Deployment hardened; RBAC has no wildcard or secrets")
PY
  # The matchConditions the chart templates from other settings equal the policy's own builder.
  HELM="$helm" "${CARGO:-cargo}" test -q --locked -p tgw-policy --test match_conditions chart_renders >/dev/null ||
    die "the chart's matchConditions differ from tgw_core::admission::match_conditions (cargo test -p tgw-policy --test match_conditions)"
  log "matchConditions rendered from custom settings match the policy's builder"
  dockerfile_user
  log "template ok"
}

# The final stage of Dockerfile.controller must set a non-root USER (no Docker engine here to
# build and inspect the image itself).
dockerfile_user() {
  local f="$root/Dockerfile.controller" user
  user="$(awk 'toupper($1) == "FROM" { user = "" } toupper($1) == "USER" { user = $2 } END { print user }' "$f")"
  [[ -n "$user" ]] || die "Dockerfile.controller: the final stage sets no USER"
  [[ "${user%%:*}" != "root" && "${user%%:*}" != "0" ]] || die "Dockerfile.controller: the final stage runs as $user"
  grep -qiE '^FROM[[:space:]]+(gcr\.io/distroless/static[^[:space:]]*|scratch)([[:space:]]|$)' <(awk 'toupper($1) == "FROM"' "$f" | tail -n1) ||
    die "Dockerfile.controller: the final stage must be distroless/static or scratch (no shell)"
  log "Dockerfile.controller final stage runs as USER $user without a shell"
}

case "${1:-}" in
  lint) lint ;;
  template) template ;;
  *) die "usage: $0 lint|template" ;;
esac
