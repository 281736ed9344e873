# TenantGateway controller targets.
CRD_FILE := deploy/crds/gateway.cozystack.io_tenantgateways.yaml

.PHONY: crd e2e-controller e2e-faults bench-controller bench-render test-controller

crd: ## Generate deploy/crds/ from the Rust TenantGateway types
	@mkdir -p deploy/crds
	$(CARGO) run -q -p tgw-controller --bin crdgen > $(CRD_FILE).tmp && mv $(CRD_FILE).tmp $(CRD_FILE)
	@$(MAKE) --no-print-directory chart-crds

test-controller: ## Unit tests of tgw-core and tgw-controller (no cluster)
	$(CARGO) test -p tgw-core -p tgw-controller

e2e-controller: control-plane ## Controller e2e suite against the local kube-apiserver+etcd
	$(CARGO) test -p tgw-e2e --test 'controller_*' -- --test-threads=2

e2e-faults: control-plane ## Fault-injection suite against the local kube-apiserver+etcd (e2e/tests/faults*.rs)
	$(CARGO) test -p tgw-e2e --test 'faults*'

bench-render: ## Render time per TenantGateway (tgw-core, release)
	$(CARGO) run --release -p tgw-core --example render_bench

bench-controller: control-plane ## Controller (release, own process) converging N TenantGateways x M routes (BENCH_TGWS=50,200,1000 BENCH_ROUTES=10 BENCH_CERT_MODE=http01|dns01)
	$(CARGO) build --release -p tgw-controller --bin tgw-controller
	TGW_CONTROLLER_BIN=$(CURDIR)/target/release/tgw-controller $(CARGO) run -q -p tgw-e2e --bin tgw-bench-controller
