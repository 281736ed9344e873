# The Gateway API data plane: Traefik v3 built from the Go module proxy (cached under $TGW_CACHE)
# and the data-plane e2e suite, which proves isolation by real requests inside a private network
# namespace it creates itself. See e2e/CONTROL-PLANE.md ("Data plane").

.PHONY: traefik e2e-dataplane

traefik: ## build (or reuse cached) the Traefik binary for the data-plane suite and the demo
	@e2e/scripts/build-traefik.sh >/dev/null

e2e-dataplane: control-plane traefik policy ## isolation by real requests: Traefik, backends, controller and client in a network namespace
	$(CARGO) test -p tgw-e2e --test dataplane
