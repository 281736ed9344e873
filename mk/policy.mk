# The Kubewarden policy: build, size-optimise, annotate, test through `kwctl run`.
WASM_TARGET := wasm32-wasip1
POLICY_RAW := target/$(WASM_TARGET)/wasm/tgw_policy.wasm
POLICY_OPT := target/$(WASM_TARGET)/wasm/tgw_policy.opt.wasm
POLICY_WASM := policy/annotated-policy.wasm
FLOOR_RAW := target/$(WASM_TARGET)/wasm/tgw_policy_floor.wasm
# Feature flags wasmtime accepts; never `-all` (it enables GC heap types wasmtime refuses).
WASM_OPT_FLAGS := -Oz --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int \
	--enable-mutable-globals --enable-multivalue --enable-reference-types
# The annotator: kwctl-compatible; the project runner unless ANNOTATOR points at a real kwctl.
ANNOTATOR ?= $(CURDIR)/target/release/tgw-kwctl

.PHONY: setup policy policy-raw check-wasm fixtures check-fixtures e2e-policy

setup: ## Install Debian packages and the wasm target this project needs (idempotent)
	@scripts/setup.sh

policy-raw:
	$(CARGO) build --locked -p tgw-policy --target $(WASM_TARGET) --profile wasm

# No -u: the usage text is the io.kubewarden.policy.usage annotation in policy/metadata.yml (a short
# summary linking the README), not the whole README.
policy: policy-raw runner ## Build policy/annotated-policy.wasm (size profile + wasm-opt + annotate)
	wasm-opt $(WASM_OPT_FLAGS) $(POLICY_RAW) -o $(POLICY_OPT)
	$(ANNOTATOR) annotate $(POLICY_OPT) -m policy/metadata.yml -o $(POLICY_WASM)
	@echo "policy: $(POLICY_WASM) $$(stat -c %s $(POLICY_WASM)) bytes (raw $$(stat -c %s $(POLICY_RAW)), wasm-opt $$(stat -c %s $(POLICY_OPT)))"

check-wasm: ## Check that core (both halves) and the policy build for wasm32-wasip1, and the policy never links gateway-api
	$(CARGO) check --locked -p tgw-core -p tgw-policy --target $(WASM_TARGET)
	$(CARGO) check --locked -p tgw-core --features controller --target $(WASM_TARGET)
	@if $(CARGO) tree --locked -p tgw-policy --target $(WASM_TARGET) -e normal --prefix none | grep -E '^(gateway-api|kube-core|kube-derive) '; then \
	  echo "check-wasm: the policy module depends on the crates above; core's 'controller' feature leaked into it" >&2; exit 1; \
	else echo "check-wasm: the policy module links no gateway-api/kube crates"; fi

fixtures: ## Regenerate policy/test_data and e2e/policy.bats from the case table
	python3 policy/test_data/generate.py

check-fixtures: fixtures ## Fail when the generated fixtures are out of date
	git diff --exit-code -- policy/test_data e2e/policy.bats

e2e-policy: policy ## Run e2e/policy.bats through kwctl run (KWCTL=/path/to/kwctl for a real one)
	KWCTL="$(KWCTL)" bats e2e/policy.bats

.PHONY: bench-policy
bench-policy: policy ## Per-request validate time of the policy vs the floor module (Markdown table)
	$(CARGO) build --locked -p tgw-policy-floor --target $(WASM_TARGET) --profile wasm
	$(CARGO) run --locked --release -p tgw-bench --bin policy-bench -- --policy $(POLICY_WASM) --floor $(FLOOR_RAW)
