# Local Kubernetes control plane (etcd + kube-apiserver built from the Go module proxy) for the
# e2e suites and the demo. Included by the top-level Makefile; see e2e/CONTROL-PLANE.md.
# Other areas can depend on `cluster-up` and use $(CLUSTER_KUBECONFIG).

CLUSTER_DIR := $(CURDIR)/.cluster
CLUSTER_KUBECONFIG := $(CLUSTER_DIR)/kubeconfig
TGW_CLUSTER := $(CURDIR)/target/debug/tgw-cluster

.PHONY: control-plane cluster-up cluster-down cluster-status e2e-cluster tgw-cluster-bin

control-plane: ## build (or reuse cached) kube-apiserver, kubectl, etcd and the CRD bundles under $TGW_CACHE
	@e2e/scripts/build-control-plane.sh

tgw-cluster-bin:
	@$(CARGO) build -q -p tgw-e2e --bin tgw-cluster

cluster-up: control-plane tgw-cluster-bin ## start a local control plane in the background (kubeconfig in .cluster/kubeconfig)
	@$(TGW_CLUSTER) up --detach --dir $(CLUSTER_DIR)

cluster-down: ## stop the control plane started by cluster-up
	@if [ -x $(TGW_CLUSTER) ]; then $(TGW_CLUSTER) down --dir $(CLUSTER_DIR); else echo "no cluster running"; fi

cluster-status: ## say whether the local control plane is running
	@if [ -x $(TGW_CLUSTER) ]; then $(TGW_CLUSTER) status --dir $(CLUSTER_DIR); else echo "not running"; fi

e2e-cluster: control-plane policy helm ## control-plane smoke test, admission through the real API server, chart RBAC and uninstall hook (cluster_*)
	$(CARGO) test -p tgw-e2e --test 'cluster_*'
