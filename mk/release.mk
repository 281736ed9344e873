# Release artefacts: the controller image (no container engine: cargo musl + umoci, pushed with
# skopeo), the chart as an OCI package, and keyed cosign signatures of the policy (see
# mk/runner.mk `publish`). README "What runs where" lists how users install each.
IMAGE_LAYOUT := $(CURDIR)/target/oci-image
IMAGE_TAG ?= $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
# make image-push IMAGE=<host:port>/<repo>   (SKOPEO_FLAGS=--dest-tls-verify=false for plain HTTP)
IMAGE ?=
SKOPEO_FLAGS ?=
# make chart-push CHART_REGISTRY=<host:port>/<path>   (HELM_PUSH_FLAGS=--plain-http for plain HTTP)
CHART_REGISTRY ?=
HELM_PUSH_FLAGS ?=
CHART_PACKAGE_DIR := $(CURDIR)/target/chart

.PHONY: image image-push chart-package chart-push signing-key test-image

image: setup ## Build the controller image (static musl, FROM scratch, user 65532) as an OCI layout in target/oci-image
	@scripts/build-image.sh $(IMAGE_LAYOUT)

image-push: ## Push target/oci-image to a registry: make image-push IMAGE=<host:port>/<repo> [SKOPEO_FLAGS=--dest-tls-verify=false]
	@test -n "$(IMAGE)" || { echo "usage: make image-push IMAGE=<host:port>/<repo>" >&2; exit 2; }
	skopeo copy $(SKOPEO_FLAGS) oci:$(IMAGE_LAYOUT):$(IMAGE_TAG) docker://$(IMAGE):$(IMAGE_TAG)

chart-package: helm ## helm package the chart into target/chart/
	@mkdir -p $(CHART_PACKAGE_DIR)
	$(HELM_BIN) package $(CHART_DIR) -d $(CHART_PACKAGE_DIR)

chart-push: chart-package ## Push the packaged chart as an OCI artifact: make chart-push CHART_REGISTRY=<host:port>/<path> [HELM_PUSH_FLAGS=--plain-http]
	@test -n "$(CHART_REGISTRY)" || { echo "usage: make chart-push CHART_REGISTRY=<host:port>/<path>" >&2; exit 2; }
	$(HELM_BIN) push $(CHART_PACKAGE_DIR)/tenant-gateway-$(IMAGE_TAG).tgz oci://$(CHART_REGISTRY) $(HELM_PUSH_FLAGS)

signing-key: ## Write an unencrypted P-256 key pair for `make publish`: cosign.key (PKCS#8 PEM) and cosign.pub
	@test ! -e cosign.key || { echo "cosign.key exists; not overwriting" >&2; exit 1; }
	umask 077 && openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt -out cosign.key
	openssl ec -in cosign.key -pubout -out cosign.pub 2>/dev/null
	@echo "wrote cosign.key (keep it secret) and cosign.pub"

test-image: image control-plane helm tgw-cluster-bin ## Image and chart end to end: registry push/pull, extracted binary vs the API server, helm push/install/upgrade/uninstall from oci://
	HELM=$(HELM_BIN) e2e/scripts/test-image-chart.sh $(IMAGE_LAYOUT)
