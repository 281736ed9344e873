# tgw-kwctl: the kwctl-compatible waPC runner (crate runner/, package tgw-runner).
# Included by the top-level Makefile. Other areas use $(KWCTL_RUNNER) as the
# `kwctl` binary (and may list it as a prerequisite to get it built).

KWCTL_RUNNER := $(CURDIR)/target/release/tgw-kwctl
RUNNER_SOURCES := runner/Cargo.toml $(wildcard runner/src/*.rs) Cargo.lock
# make publish REGISTRY=<host:port>/<repo> TAG=<tag> SIGN_KEY=<cosign.key>
REGISTRY ?=
TAG ?= latest
# Extra flags for `tgw-kwctl push`/`sign` (e.g. --insecure for a non-loopback HTTP registry).
PUSH_FLAGS ?=
# Private key (unencrypted PKCS#8 P-256 PEM; `make signing-key`) that signs the pushed policy.
SIGN_KEY ?= cosign.key

.PHONY: runner publish test-registry test-runner

runner: $(KWCTL_RUNNER) ## build the kwctl-compatible runner (target/release/tgw-kwctl)

$(KWCTL_RUNNER): $(RUNNER_SOURCES)
	$(CARGO) build --locked --release -p tgw-runner --bin tgw-kwctl
	@touch $@

publish: policy $(KWCTL_RUNNER) ## push and sign policy/annotated-policy.wasm: make publish REGISTRY=<host:port>/<repo> TAG=<tag> [SIGN_KEY=cosign.key]
	@test -n "$(REGISTRY)" || { echo "usage: make publish REGISTRY=<host:port>/<repo> TAG=<tag> SIGN_KEY=<cosign.key>" >&2; exit 2; }
	@test -f "$(SIGN_KEY)" || { echo "publish: no signing key $(SIGN_KEY): make signing-key, or SIGN_KEY=<PKCS#8 P-256 PEM>" >&2; exit 2; }
	@set -euo pipefail; \
	ref=$$($(KWCTL_RUNNER) push -o json $(PUSH_FLAGS) policy/annotated-policy.wasm registry://$(REGISTRY):$(TAG) | jq -r .immutable_ref); \
	echo "pushed $$ref"; \
	$(KWCTL_RUNNER) sign $(PUSH_FLAGS) --key $(SIGN_KEY) registry://$$ref

# Tests run in the release profile so they reuse the release wasmtime build.
test-registry: policy ## push/pull round trip of the policy artifact against a local docker-registry
	TGW_POLICY_WASM=$(CURDIR)/policy/annotated-policy.wasm $(CARGO) test --locked --release -p tgw-runner --test registry_roundtrip

test-runner: policy ## unit + integration tests of the runner (generated waPC guests, registry round trip of the real policy)
	TGW_POLICY_WASM=$(CURDIR)/policy/annotated-policy.wasm $(CARGO) test --locked --release -p tgw-runner
