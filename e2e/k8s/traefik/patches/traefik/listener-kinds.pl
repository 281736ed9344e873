# file: pkg/provider/kubernetes/gateway/kubernetes.go
# Applied with `perl -0pi` to that file of the Traefik copy the
# test build uses (e2e/scripts/traefik-module.sh; why: e2e/CONTROL-PLANE.md, "Traefik", and
# docs/architecture.md, "Traefik vs Cilium").
#
# Stock Traefik drops a listener entirely when its allowedRoutes.kinds names a kind the listener's
# protocol cannot serve. The controller pins kinds HTTPRoute and TLSRoute on every port-443
# listener (Cilium needs identical kinds there), so stock Traefik serves no port-443 listener at
# all. This edit keeps such a listener with the kinds it can serve; the ResolvedRefs=False
# InvalidRouteKinds condition Gateway API requires is still written. A listener left with no
# servable kind is still dropped.
s{(\t\tgatewayListeners\[i\]\.Status\.SupportedKinds = routeKinds\n\t\tif len\(conditions\) > 0 \{\n\t\t\tgatewayListeners\[i\]\.Status\.Conditions = append\(gatewayListeners\[i\]\.Status\.Conditions, conditions\.\.\.\)\n)\t\t\tcontinue\n}{$1\t\t\tif len(routeKinds) == 0 { // tenant-gateway e2e: keep listeners with some servable kind\n\t\t\t\tcontinue\n\t\t\t}\n};
