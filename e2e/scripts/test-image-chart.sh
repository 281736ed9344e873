#!/usr/bin/env bash
# The release artefacts end to end, with no container engine and no kubelet:
#
#  image  the OCI layout from scripts/build-image.sh is pushed to Debian's docker-registry on
#         loopback (skopeo), pulled back by digest, unpacked (umoci); the test checks user,
#         entrypoint and labels, runs the extracted binary's --help, and starts it against the
#         local kube-apiserver as the chart's ServiceAccount until it is ready and holds the Lease,
#         then stops it with SIGTERM (exit 0, Lease released).
#  chart  helm package + helm push to the same registry (oci://, --plain-http); a wrong value
#         fails at install time through values.schema.json; helm install from oci:// with the
#         pushed image's digest, helm upgrade with a changed value, helm uninstall --no-hooks; after each
#         step the objects are checked: CRD kept, RBAC/policies/Deployment gone, nothing stray.
#
# Usage: e2e/scripts/test-image-chart.sh [OCI_LAYOUT_DIR]   (default target/oci-image; `make image`)
# Prints timings and the image size. Everything temporary lives under one directory, removed at exit.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

layout=${1:-target/oci-image}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
tag=${IMAGE_TAG:-$version}
cache=${TGW_CACHE:-$HOME/.cache/tenant-gateway}
k8s_version=$(sed -n 's/^KUBERNETES=//p' e2e/k8s/versions.env)
kubectl_bin=${KUBECTL:-$cache/k8s/$k8s_version/kubectl}
helm=${HELM:-$(e2e/scripts/build-helm.sh)}
cluster_bin=${TGW_CLUSTER:-target/debug/tgw-cluster}
ns=cozy-system
release=tgw

work=$(mktemp -d /tmp/tgw-release-test.XXXXXX)
registry_pid=""
controller_pid=""
cleanup() {
  [[ -n "$controller_pid" ]] && kill "$controller_pid" 2>/dev/null || true
  [[ -n "$registry_pid" ]] && kill "$registry_pid" 2>/dev/null || true
  [[ -f "$work/cluster/kubeconfig" ]] && "$cluster_bin" down --dir "$work/cluster" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
log() { echo "test-image-chart: $*"; }
die() { echo "test-image-chart: FAIL: $*" >&2; exit 1; }
t0=$(date +%s.%N)
lap() { printf '%.1fs' "$(echo "$(date +%s.%N) - $t0" | bc)"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

for tool in skopeo umoci jq curl python3 bc; do
  command -v "$tool" >/dev/null || die "$tool not found (make setup)"
done
[[ -d "$layout" ]] || die "no image layout at $layout (make image)"
[[ -x "$kubectl_bin" ]] || die "kubectl missing at $kubectl_bin (make control-plane)"
[[ -x "$cluster_bin" ]] || die "$cluster_bin missing (make tgw-cluster-bin)"

# --- registry on loopback -------------------------------------------------------------------
port=$(free_port)
reg=127.0.0.1:$port
mkdir -p "$work/registry"
cat >"$work/registry/config.yml" <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $work/registry/storage
http:
  addr: $reg
EOF
/usr/bin/docker-registry serve "$work/registry/config.yml" >"$work/registry/log" 2>&1 &
registry_pid=$!
for _ in $(seq 100); do curl -sf "http://$reg/v2/" >/dev/null && break; sleep 0.1; done
curl -sf "http://$reg/v2/" >/dev/null || die "registry did not start on $reg"

# --- image: push, pull by digest, inspect, extract ------------------------------------------
image=$reg/tenant-gateway/controller
skopeo copy -q --dest-tls-verify=false "oci:$layout:$tag" "docker://$image:$tag"
digest=$(skopeo inspect --tls-verify=false "docker://$image:$tag" | jq -r .Digest)
[[ "$digest" == sha256:* ]] || die "no digest for $image:$tag"
manifest=$(skopeo inspect --raw --tls-verify=false "docker://$image@$digest")
size=$(jq '[.config.size] + [.layers[].size] | add' <<<"$manifest")
log "pushed $image@$digest ($(jq '.layers | length' <<<"$manifest") layer, $size bytes compressed) at $(lap)"
skopeo copy -q --src-tls-verify=false "docker://$image@$digest" "oci:$work/pulled:$tag"
config=$(skopeo inspect --config "oci:$work/pulled:$tag")
[[ $(jq -r .config.User <<<"$config") == 65532:65532 ]] || die "image user: $(jq -c .config.User <<<"$config")"
[[ $(jq -c .config.Entrypoint <<<"$config") == '["/tenant-gateway-controller"]' ]] ||
  die "entrypoint: $(jq -c .config.Entrypoint <<<"$config")"
[[ $(jq -r '.config.Labels["org.opencontainers.image.source"]' <<<"$config") == https://github.com/tenant-gateway/tenant-gateway ]] ||
  die "labels: $(jq -c .config.Labels <<<"$config")"
[[ $(jq -r '.config.Labels["org.opencontainers.image.version"]' <<<"$config") == "$version" ]] || die "version label"
rootless=(); [[ $(id -u) -eq 0 ]] || rootless=(--rootless)
umoci unpack "${rootless[@]}" --image "$work/pulled:$tag" "$work/bundle" >/dev/null
bin=$work/bundle/rootfs/tenant-gateway-controller
[[ -x "$bin" ]] || die "no /tenant-gateway-controller in the pulled image"
files=$(cd "$work/bundle/rootfs" && find . -mindepth 1 -not -type d | sort | tr '\n' ' ')
[[ "$files" == "./etc/group ./etc/passwd ./etc/ssl/certs/ca-certificates.crt ./tenant-gateway-controller " ]] ||
  die "unexpected files in the image: $files"
! readelf -l "$bin" | grep -q INTERP || die "the binary needs a dynamic loader"
"$bin" --help >"$work/help" || die "--help failed"
grep -q -- '--leader-election' "$work/help" || die "--help does not list --leader-election"
log "pulled back, unpacked; --help ok; files: $files"

# --- cluster ------------------------------------------------------------------------------
"$cluster_bin" up --detach --dir "$work/cluster" >/dev/null
export KUBECONFIG=$work/cluster/kubeconfig
k() { "$kubectl_bin" "$@"; }
log "control plane up at $(lap)"
# Kubewarden is not installed here: a stand-in CRD for ClusterAdmissionPolicy lets the chart's
# policies be created and their removal checked.
k apply -f - >/dev/null <<'EOF'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: clusteradmissionpolicies.policies.kubewarden.io
spec:
  group: policies.kubewarden.io
  scope: Cluster
  names: {plural: clusteradmissionpolicies, singular: clusteradmissionpolicy, kind: ClusterAdmissionPolicy}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
EOF
k wait --for condition=Established crd/clusteradmissionpolicies.policies.kubewarden.io >/dev/null

# --- chart: package, push, schema -----------------------------------------------------------
"$helm" package deploy/helm/tenant-gateway -d "$work" >/dev/null
tgz=$work/tenant-gateway-$version.tgz
[[ -f "$tgz" ]] || die "helm package wrote no $tgz"
"$helm" push "$tgz" "oci://$reg/charts" --plain-http >"$work/push.log" 2>&1 || die "helm push: $(cat "$work/push.log")"
chart=oci://$reg/charts/tenant-gateway
log "chart pushed: $(grep -o 'Digest: .*' "$work/push.log")"
# helm prints "Pulled: …" on stderr for oci:// charts; keep it in a log shown on failure.
h() { "$helm" --kube-context admin "$@" 2>>"$work/helm.log" || { cat "$work/helm.log" >&2; return 1; }; }
if "$helm" install bad "$chart" --version "$version" --plain-http -n "$ns" --create-namespace \
  --set controller.logFormat=xml >"$work/bad.log" 2>&1; then
  die "a wrong value was accepted"
fi
grep -q "at '/controller/logFormat': value must be one of 'json', 'text'" "$work/bad.log" ||
  die "unexpected schema error: $(cat "$work/bad.log")"
log "wrong value refused: $(grep -o "at '/controller/logFormat'.*" "$work/bad.log")"

# --- install ------------------------------------------------------------------------------
h install "$release" "$chart" --version "$version" --plain-http -n "$ns" --create-namespace \
  --set image.repository="$image" --set image.digest="$digest" --set policy.enabled=true --wait=false >/dev/null
dep=$release-tenant-gateway-controller
got=$(k -n "$ns" get deployment "$dep" -o jsonpath='{.spec.template.spec.containers[0].image}')
[[ "$got" == "$image@$digest" ]] || die "Deployment image $got, want $image@$digest"
crd=tenantgateways.gateway.cozystack.io
[[ $(k get crd "$crd" -o jsonpath='{.metadata.annotations.helm\.sh/resource-policy}') == keep ]] || die "CRD not marked keep"
sel=app.kubernetes.io/instance=$release
count() { k get "$@" -l "$sel" -o name 2>/dev/null | wc -l; }
for kind in clusterrole clusterrolebinding clusteradmissionpolicy; do
  [[ $(count "$kind") -ge 1 ]] || die "no $kind after install"
done
for kind in role rolebinding serviceaccount service deployment; do
  [[ $(count -n "$ns" "$kind") -ge 1 ]] || die "no $kind in $ns after install"
done
log "installed from oci:// at $(lap): Deployment image $got; CRD, RBAC, policies present"

# --- the extracted binary against the API server, as the chart's ServiceAccount ----------------
metrics=127.0.0.1:$(free_port)
# The context `controller` authenticates as system:serviceaccount:cozy-system:tenant-gateway-controller.
cp "$KUBECONFIG" "$work/controller.kubeconfig"
k --kubeconfig "$work/controller.kubeconfig" config use-context controller >/dev/null
[[ $(k --kubeconfig "$work/controller.kubeconfig" auth whoami -o jsonpath='{.status.userInfo.username}') == \
  system:serviceaccount:$ns:tenant-gateway-controller ]] || die "the controller context is not the chart's ServiceAccount"
KUBECONFIG=$work/controller.kubeconfig TGW_LEADER_ELECTION=true TGW_LEADER_ELECTION_NAMESPACE=$ns TGW_POD_NAME=image-test \
  "$bin" --metrics-addr "$metrics" --log-format text >"$work/controller.log" 2>&1 \
  < /dev/null &
controller_pid=$!
ready=""
for _ in $(seq 300); do
  kill -0 "$controller_pid" 2>/dev/null || die "the controller exited: $(tail -20 "$work/controller.log")"
  if curl -sf "http://$metrics/readyz" >/dev/null; then ready=1; break; fi
  sleep 0.1
done
[[ -n "$ready" ]] || die "the controller never became ready: $(tail -20 "$work/controller.log")"
holder=$(k -n "$ns" get lease tenant-gateway-controller -o jsonpath='{.spec.holderIdentity}')
[[ "$holder" == image-test ]] || die "Lease holder '$holder'"
curl -sf "http://$metrics/metrics" | grep -q '^tgw_leader 1' || die "/metrics lacks tgw_leader 1"
kill -TERM "$controller_pid"
status=0; wait "$controller_pid" || status=$?
controller_pid=""
[[ $status -eq 0 ]] || die "the controller exited with $status after SIGTERM: $(tail -20 "$work/controller.log")"
[[ -z $(k -n "$ns" get lease tenant-gateway-controller -o jsonpath='{.spec.holderIdentity}') ]] ||
  die "the Lease was not released"
log "extracted binary: ready as the chart's ServiceAccount, held the Lease, SIGTERM -> exit 0, Lease released at $(lap)"

# --- upgrade ------------------------------------------------------------------------------
h upgrade "$release" "$chart" --version "$version" --plain-http -n "$ns" --reuse-values \
  --set controller.logLevel=debug --wait=false >/dev/null
rust_log=$(k -n "$ns" get deployment "$dep" -o jsonpath='{.spec.template.spec.containers[0].env[?(@.name=="RUST_LOG")].value}')
[[ "$rust_log" == debug ]] || die "RUST_LOG after upgrade: '$rust_log'"
[[ $(h -n "$ns" history "$release" -o json | jq length) -eq 2 ]] || die "expected 2 revisions"
got=$(k -n "$ns" get deployment "$dep" -o jsonpath='{.spec.template.spec.containers[0].image}')
[[ "$got" == "$image@$digest" ]] || die "image changed on upgrade: $got"
log "upgraded (controller.logLevel=debug -> RUST_LOG=debug, revision 2) at $(lap)"

# --- uninstall ----------------------------------------------------------------------------
# --no-hooks: the chart's uninstall hook is a Job, and no kubelet runs one here (helm would wait
# for it until --timeout). e2e/tests/cluster_uninstall.rs runs the hook's Jobs and checks them.
h uninstall "$release" -n "$ns" --no-hooks >/dev/null
k get crd "$crd" >/dev/null || die "the CRD was deleted by uninstall"
# The image's binary has the mode the hook runs (the manual command after --no-hooks).
"$bin" release-finalizers >"$work/release.log" 2>&1 || die "release-finalizers failed: $(cat "$work/release.log")"
grep -q 'released gateway.cozystack.io/tenantgateway-cleanup from 0 TenantGateway' "$work/release.log" ||
  die "release-finalizers: $(cat "$work/release.log")"
stray=""
for res in $(k api-resources --verbs=list -o name); do
  case "$res" in events|events.events.k8s.io) continue ;; esac
  found=$(k get "$res" -A -l "$sel" -o name 2>/dev/null || true)
  [[ -z "$found" ]] || stray+="$found "
done
# The CRD carries the release labels and is kept on purpose; anything else is stray.
stray=${stray//customresourcedefinition.apiextensions.k8s.io\/$crd /}
[[ -z "$stray" ]] || die "objects left after uninstall: $stray"
[[ -z $(k -n "$ns" get secret -l owner=helm,name="$release" -o name) ]] || die "helm release secrets left"
log "uninstalled (--no-hooks) at $(lap): CRD kept; RBAC, policies, Deployment, Service, ServiceAccount, release secrets gone; the image's release-finalizers: nothing to release"
log "ok: image $size bytes compressed ($(du -sb "$bin" | cut -f1) bytes binary), total $(lap)"
