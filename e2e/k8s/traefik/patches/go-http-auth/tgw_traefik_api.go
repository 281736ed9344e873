// Added to the copy of github.com/abbot/go-http-auth v0.4.0 that the Traefik test build uses (see
// e2e/CONTROL-PLANE.md, "Traefik"). Traefik depends on a fork of this library that the Go module
// proxy here does not serve; the fork's API adds the two functions below, which Traefik's basic and
// digest auth middlewares call. The data-plane suite configures neither middleware.

package auth

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// CheckSecret reports whether password matches secret (an htpasswd entry), choosing the
// comparison by the secret's prefix exactly as BasicAuth.CheckAuth does.
func CheckSecret(password, secret string) bool {
	compare := compareFuncs[0].compare
	for _, cmp := range compareFuncs[1:] {
		if strings.HasPrefix(secret, cmp.prefix) {
			compare = cmp.compare
			break
		}
	}
	return compare([]byte(secret), []byte(password)) == nil
}

// RequireAuthStale answers like RequireAuth, marking the challenge stale (RFC 7616: the
// credentials were right but the nonce was not, so the client may retry without asking the user).
func (a *DigestAuth) RequireAuthStale(w http.ResponseWriter, r *http.Request) {
	if len(a.clients) > a.ClientCacheSize+a.ClientCacheTolerance {
		a.Purge(a.ClientCacheTolerance * 2)
	}
	nonce := RandomKey()
	a.clients[nonce] = &digest_client{nc: 0, last_seen: time.Now().UnixNano()}
	w.Header().Set(contentType, a.Headers.V().UnauthContentType)
	w.Header().Set(a.Headers.V().Authenticate,
		fmt.Sprintf(`Digest realm="%s", nonce="%s", opaque="%s", algorithm="MD5", qop="auth", stale=true`,
			a.Realm, nonce, a.Opaque))
	w.WriteHeader(a.Headers.V().UnauthCode)
	_, _ = w.Write([]byte(a.Headers.V().UnauthResponse))
}
