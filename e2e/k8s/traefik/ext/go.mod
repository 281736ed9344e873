// Stand-in for Traefik's nested module github.com/traefik/traefik/dynamic/ext (see
// e2e/CONTROL-PLANE.md, "Traefik"): the traefik/v3 module zip on the Go module proxy leaves nested
// modules out and the proxy does not serve this one, so the wrapper module replaces it with this
// directory. Upstream it only declares empty extension points for other builds of Traefik.
module github.com/traefik/traefik/dynamic/ext

go 1.24.0
