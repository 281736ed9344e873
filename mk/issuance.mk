# Certificates really issued: Pebble (the ACME test server) and cert-manager's controller, both
# built from the Go module proxy (cached under $TGW_CACHE), and the issuance e2e suite, which runs
# them with Traefik and the controller in a private network namespace it creates itself. See
# e2e/CONTROL-PLANE.md ("cert-manager and Pebble").

.PHONY: pebble cert-manager e2e-issuance

pebble: ## build (or reuse cached) Pebble and pebble-challtestsrv for the issuance suite
	@e2e/scripts/build-pebble.sh >/dev/null

cert-manager: ## build (or reuse cached) cert-manager's controller and acmesolver (our mains over its root module)
	@e2e/scripts/build-certmanager.sh >/dev/null

e2e-issuance: control-plane traefik pebble cert-manager ## HTTP-01 issuance: Pebble as the controller's ACME directory; accounts, orders, a failure and a moving name through Traefik
	$(CARGO) test -p tgw-e2e --test issuance
