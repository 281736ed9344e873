# Helm chart (deploy/helm/tenant-gateway) and the helm CLI built from the Go module proxy.
# HELM_BIN is the cached binary; `make helm` builds it (idempotent, see e2e/scripts/build-helm.sh).
HELM_VERSION := $(shell sed -n 's/^HELM=//p' e2e/k8s/versions.env)
HELM_BIN := $(TGW_CACHE)/helm/$(HELM_VERSION)/helm
CHART_DIR := deploy/helm/tenant-gateway

.PHONY: helm helm-lint helm-template chart-crds chart-check e2e-chart

helm: ## build (or reuse cached) helm $(HELM_VERSION) from helm.sh/helm/v3 under $TGW_CACHE/helm
	@e2e/scripts/build-helm.sh >/dev/null

chart-crds: ## copy deploy/crds/*.yaml into the chart (files/crds/); run after `make crd`
	@rm -f $(CHART_DIR)/files/crds/*.yaml
	@mkdir -p $(CHART_DIR)/files/crds
	cp deploy/crds/*.yaml $(CHART_DIR)/files/crds/

helm-lint: helm ## helm lint --strict the chart (and check its CRDs and version are in sync)
	@HELM=$(HELM_BIN) deploy/helm/check-chart.sh lint

helm-template: helm ## render the chart's value sets to a temp dir, check they parse, are hardened, match deploy/policy/; check Dockerfile.controller's USER
	@HELM=$(HELM_BIN) deploy/helm/check-chart.sh template

chart-check: helm-lint helm-template ## all static chart checks (lint + template)

e2e-chart: control-plane helm ## the chart's CRD and RBAC in the local control plane: SSAR proof and the controller as its ServiceAccount
	$(CARGO) test -p tgw-e2e --test cluster_chart_rbac
