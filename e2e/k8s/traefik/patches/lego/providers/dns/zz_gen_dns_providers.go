// Replaces lego's generated registry of ACME DNS-01 challenge providers in the copy of
// github.com/go-acme/lego/v5 that the Traefik test build uses (see e2e/CONTROL-PLANE.md, "Traefik").
// Several of those providers' SDK modules are not served by the Go module proxy available here, and
// the data-plane suite never asks Traefik for a certificate (the tests write the certificate Secrets
// themselves), so no DNS provider is built in.
package dns

import (
	"fmt"

	"github.com/go-acme/lego/v5/challenge"
)

// NewDNSChallengeProviderByName refuses every provider: none is built into this binary.
func NewDNSChallengeProviderByName(name string) (challenge.Provider, error) {
	return nil, fmt.Errorf("ACME DNS-01 provider %q is not built into this test build of Traefik", name)
}
