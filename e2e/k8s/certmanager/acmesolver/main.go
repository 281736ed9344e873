// Command acmesolver answers one ACME HTTP-01 challenge: the program cert-manager's solver Pods
// run, here started by the issuance e2e (which plays the kubelet for those Pods) with the Pod's own
// arguments. It serves the root module's solver (pkg/issuer/acme/http/solver) unchanged.
package main

import (
	"flag"
	"fmt"
	"os"

	"k8s.io/klog/v2"

	"github.com/cert-manager/cert-manager/pkg/issuer/acme/http/solver"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
)

func main() {
	s := &solver.HTTP01Solver{}
	flag.IntVar(&s.ListenPort, "listen-port", 8089, "port the challenge server listens on (all addresses)")
	flag.StringVar(&s.Domain, "domain", "", "the domain name being validated")
	flag.StringVar(&s.Token, "token", "", "the challenge token, the last path element of the request")
	flag.StringVar(&s.Key, "key", "", "the key authorization served for the token")
	klog.InitFlags(flag.CommandLine)
	flag.Parse()
	if s.Domain == "" || s.Token == "" || s.Key == "" {
		fmt.Fprintln(os.Stderr, "acmesolver: --domain, --token and --key are required")
		os.Exit(2)
	}
	if err := s.Listen(logf.Log.WithName("acmesolver")); err != nil {
		fmt.Fprintf(os.Stderr, "acmesolver: %v\n", err)
		os.Exit(1)
	}
}
