// Command cert-manager-controller runs cert-manager's controllers for the issuance e2e: the ones an
// ACME Issuer needs (Issuer setup, the Certificate lifecycle, CertificateRequest approval and the
// ACME CertificateRequest issuer, Orders, Challenges with the HTTP-01/DNS-01 solvers), each built
// from the root module github.com/cert-manager/cert-manager exactly as released. Upstream's own main
// (cmd/controller) lives in a module the Go module proxy does not serve; this one is ours: it parses
// a few flags, builds the root module's controller ContextFactory, constructs the named controllers
// from the package registry, starts the shared informers and runs the controllers until SIGTERM.
// No leader election, webhook, metrics or health servers: one process per test cluster.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/klog/v2"

	"github.com/cert-manager/cert-manager/pkg/controller"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	utilfeature "github.com/cert-manager/cert-manager/pkg/util/feature"

	// Each controller package registers its constructor with pkg/controller in init().
	"github.com/cert-manager/cert-manager/pkg/controller/acmechallenges"
	"github.com/cert-manager/cert-manager/pkg/controller/acmeorders"
	cracme "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/acme"
	"github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	"github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	"github.com/cert-manager/cert-manager/pkg/controller/issuers"
	// The ACME issuer registers itself with pkg/issuer (used by the issuers controllers).
	_ "github.com/cert-manager/cert-manager/pkg/issuer/acme"
)

// version is stamped by the build script (-X main.version=...) with the root module's version.
var version = "unknown"

var defaultControllers = []string{
	issuers.ControllerName,
	clusterissuers.ControllerName,
	trigger.ControllerName,
	keymanager.ControllerName,
	requestmanager.ControllerName,
	issuing.ControllerName,
	readiness.ControllerName,
	revisionmanager.ControllerName,
	approver.ControllerName,
	cracme.CRControllerName,
	acmeorders.ControllerName,
	acmechallenges.ControllerName,
}

type flags struct {
	kubeconfig, namespace, clusterResourceNamespace, featureGates string
	controllers, http01Nameservers, dns01Nameservers              string
	enableGatewayAPI, printVersion, dns01RecursiveOnly            bool
	workers                                                       int
	minBackoff, maxBackoff, dns01RetryPeriod                      time.Duration
}

func parseFlags() flags {
	var f flags
	flag.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig of the API server (its current context)")
	flag.StringVar(&f.namespace, "namespace", "", "watch only this namespace (default: all)")
	flag.StringVar(&f.clusterResourceNamespace, "cluster-resource-namespace", "cert-manager", "namespace of ClusterIssuer secrets")
	flag.StringVar(&f.featureGates, "feature-gates", "", "cert-manager feature gates, key=value,...")
	flag.StringVar(&f.controllers, "controllers", strings.Join(defaultControllers, ","), "controllers to run")
	flag.StringVar(&f.http01Nameservers, "acme-http01-solver-nameservers", "", "host:port DNS servers for the HTTP-01 self check, comma separated")
	flag.StringVar(&f.dns01Nameservers, "dns01-recursive-nameservers", "", "host:port DNS servers for the DNS-01 self check, comma separated")
	flag.BoolVar(&f.enableGatewayAPI, "enable-gateway-api", false, "enable the Gateway API HTTP-01 solver (gatewayHTTPRoute)")
	flag.BoolVar(&f.printVersion, "version", false, "print the cert-manager version and exit")
	flag.IntVar(&f.workers, "workers", 5, "workers per controller")
	flag.DurationVar(&f.minBackoff, "certificate-request-minimum-backoff-duration", time.Hour, "first back-off after a failed issuance")
	flag.DurationVar(&f.maxBackoff, "certificate-request-maximum-backoff-duration", 32*time.Hour, "longest back-off after failed issuances")
	flag.DurationVar(&f.dns01RetryPeriod, "dns01-check-retry-period", 10*time.Second, "pause between DNS-01 self checks")
	flag.BoolVar(&f.dns01RecursiveOnly, "dns01-recursive-nameservers-only", false, "DNS-01 self check through --dns01-recursive-nameservers only, not the zone's authoritative nameservers")
	klog.InitFlags(flag.CommandLine)
	flag.Parse()
	return f
}

func main() {
	f := parseFlags()
	if f.printVersion {
		fmt.Printf("cert-manager-controller %s\n", version)
		return
	}
	if err := run(f); err != nil {
		fmt.Fprintf(os.Stderr, "cert-manager-controller: %v\n", err)
		os.Exit(1)
	}
}

func run(f flags) error {
	if f.featureGates != "" {
		if err := utilfeature.DefaultMutableFeatureGate.Set(f.featureGates); err != nil {
			return fmt.Errorf("--feature-gates: %w", err)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log := logf.Log.WithName("controller")
	ctx = logf.NewContext(ctx, log)

	factory, err := controller.NewContextFactory(ctx, options(f))
	if err != nil {
		return err
	}
	type named struct {
		name string
		c    controller.Interface
	}
	var loops []named
	for _, name := range split(f.controllers) {
		construct, ok := controller.Known()[name]
		if !ok {
			return fmt.Errorf("unknown controller %q (known: %s)", name, strings.Join(defaultControllers, ","))
		}
		c, err := construct(factory)
		if err != nil {
			return fmt.Errorf("constructing controller %q: %w", name, err)
		}
		loops = append(loops, named{name, c})
	}
	// The constructors registered their informers with the factories every Context shares; start
	// them now (each controller's Run waits for its own caches to sync).
	shared, err := factory.Build()
	if err != nil {
		return err
	}
	shared.KubeSharedInformerFactory.Start(ctx.Done())
	shared.SharedInformerFactory.Start(ctx.Done())
	shared.HTTP01ResourceMetadataInformersFactory.Start(ctx.Done())
	if shared.GatewaySolverEnabled {
		shared.GWShared.Start(ctx.Done())
	}
	log.Info("starting controllers", "version", version, "controllers", f.controllers, "gatewaySolver", shared.GatewaySolverEnabled)

	errs := make(chan error, len(loops))
	var wg sync.WaitGroup
	for _, l := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.c.Run(f.workers, ctx); err != nil {
				errs <- fmt.Errorf("controller %q: %w", l.name, err)
				stop()
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func options(f flags) controller.ContextOptions {
	return controller.ContextOptions{
		Kubeconfig:         f.kubeconfig,
		KubernetesAPIQPS:   50,
		KubernetesAPIBurst: 100,
		Namespace:          f.namespace,
		IssuerOptions: controller.IssuerOptions{
			ClusterResourceNamespace: f.clusterResourceNamespace,
		},
		ACMEOptions: controller.ACMEOptions{
			// Solver Pods are never run by a kubelet here: the e2e reads their arguments.
			HTTP01SolverImage:                 "acmesolver",
			HTTP01SolverResourceRequestCPU:    resource.MustParse("10m"),
			HTTP01SolverResourceRequestMemory: resource.MustParse("64Mi"),
			HTTP01SolverResourceLimitsCPU:     resource.MustParse("100m"),
			HTTP01SolverResourceLimitsMemory:  resource.MustParse("64Mi"),
			ACMEHTTP01SolverRunAsNonRoot:      true,
			HTTP01SolverNameservers:           split(f.http01Nameservers),
			DNS01CheckAuthoritative:           !f.dns01RecursiveOnly,
			DNS01Nameservers:                  split(f.dns01Nameservers),
			DNS01CheckRetryPeriod:             f.dns01RetryPeriod,
		},
		CertificateOptions: controller.CertificateOptions{
			CertificateRequestMinimumBackoffDuration: f.minBackoff,
			CertificateRequestMaximumBackoffDuration: f.maxBackoff,
		},
		SchedulerOptions: controller.SchedulerOptions{MaxConcurrentChallenges: 60},
		ConfigOptions:    controller.ConfigOptions{EnableGatewayAPI: f.enableGatewayAPI},
	}
}

func split(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
