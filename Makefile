# tenant-gateway top-level Makefile. Area-specific targets live in mk/*.mk.
SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

# Persistent caches under $HOME, reused across clones (see README "Caches").
TGW_CACHE ?= $(HOME)/.cache/tenant-gateway
export TGW_CACHE

include $(sort $(wildcard mk/*.mk))

.PHONY: help
help:
	@echo "make demo   - build everything, start a local control plane, run the demo (main job)"
	@echo "make test   - install prerequisites and run every test suite (what CI runs)"
	@grep -hE '^[a-z][a-z0-9-]*:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | sort

# The README's test command: everything CI runs, from a fresh machine.
.PHONY: test
test: setup lint chart-check test-unit check-wasm check-fixtures e2e-policy test-runner e2e-cluster e2e-controller e2e-faults e2e-dataplane e2e-issuance test-image ## Set up and run every test suite (what CI runs)
	@echo "make test: all suites passed"

# The README's main job.
.PHONY: demo
demo: setup ## Set up, build and run the demo
	@scripts/demo.sh
