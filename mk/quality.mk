# Formatting, lints and the hermetic unit/integration tests.
.PHONY: fmt lint test-unit

fmt: ## Format the workspace
	$(CARGO) fmt --all

lint: ## rustfmt check and clippy with warnings denied (native and wasm32-wasip1)
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings
	$(CARGO) clippy --locked -p tgw-core -p tgw-policy -p tgw-policy-floor --target $(WASM_TARGET) -- -D warnings

test-unit: ## Hermetic tests: core tables and goldens, fuzz properties, policy fixtures, manifests, controller, harness units
	$(CARGO) test --locked -p tgw-core -p tgw-policy -p tgw-controller
	$(CARGO) test --locked -p tgw-e2e --lib
