# Formatting, lints and the hermetic unit/integration tests.
.PHONY: fmt lint test-unit

fmt: ## Format the workspace
	$(CARGO) fmt --all

lint: ## rustfmt check and clippy with warnings denied (native and wasm32-wasip1)
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings
	$(CARGO) clippy --locked -p tgw-core -p tgw-policy -p tgw-policy-floor --target $(WASM_TARGET) -- -D warnings

test-unit: ## Hermetic tests: core tables, fuzz properties, policy fixtures, manifests, runner
	$(CARGO) test --locked -p tgw-core -p tgw-policy
