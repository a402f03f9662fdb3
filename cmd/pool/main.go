/*
Copyright 2026 The SSM Authors

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Command pool runs ssm-pool: the xDS server that feeds SSM's pooled Envoys
// and the lease API the activator calls when a revision scales from zero.
// Both are served on one gRPC port with mTLS; peers are authorised by the
// SPIFFE identity in their certificate, which SSM's controller issues.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"knative.dev/pkg/system"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	"github.com/serverless-mesh/ssm/pkg/pool"
	"github.com/serverless-mesh/ssm/pkg/pool/leaseslice"
)

type flags struct {
	kubeconfig    string
	namespace     string
	listen        string
	metricsListen string
	// trustDomain is not a flag: it is read from the serving certificate
	// (servingTrustDomain).
	trustDomain  string
	tlsSecret    string
	leaseClients string
	statsClients string
	podName      string
	// drainPeriod and maxFallbackWait: how a lease whose proxy the gateway
	// may be using hands the revision's traffic back (pkg/pool).
	drainPeriod     time.Duration
	maxFallbackWait time.Duration
}

func parseFlags() flags {
	var f flags
	flag.StringVar(&f.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig file; empty: in-cluster configuration")
	flag.StringVar(&f.namespace, "namespace", envOr("SYSTEM_NAMESPACE", "knative-serving"), "SSM's system namespace: config-ssm, the serving certificate, shared pools")
	flag.StringVar(&f.listen, "listen", fmt.Sprintf(":%d", ssm.PoolServerPort), "gRPC address: ADS for pooled Envoys and the lease API, mTLS")
	flag.StringVar(&f.metricsListen, "metrics-listen", fmt.Sprintf(":%d", ssm.PoolServerMetricsPort), "HTTP address of /metrics, /healthz and /readyz")
	flag.StringVar(&f.tlsSecret, "tls-secret", "ssm-pool-tls", "Secret in --namespace with the serving certificate (tls.crt, tls.key, ca.crt)")
	flag.StringVar(&f.leaseClients, "lease-clients", "knative-serving/activator",
		"comma-separated namespace/serviceaccount identities allowed to call Lease and Renew")
	flag.StringVar(&f.statsClients, "stats-clients", "knative-serving/ssm-controller",
		"comma-separated namespace/serviceaccount identities allowed to call Stats")
	flag.StringVar(&f.podName, "pod-name", envOr("POD_NAME", "ssm-pool"), "this replica's name, in logs and Events")
	flag.DurationVar(&f.drainPeriod, "drain-period", pool.DefaultDrainPeriod,
		"how long a proxy keeps an ended lease's configuration after the revision's traffic has gone back to the activator (istiod's push and the gateways' update)")
	flag.DurationVar(&f.maxFallbackWait, "max-fallback-wait", pool.DefaultMaxFallbackWait,
		"longest wait for SSM's controller to publish the activator for a revision whose proxy is withdrawn; keep drain-period + this under the pod's termination grace period")
	flag.Parse()
	return f
}

// maxStreamsPerConnection bounds the concurrent gRPC streams of one peer
// connection.
const maxStreamsPerConnection = 256

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// serviceAccounts parses "ns/sa,ns/sa".
func serviceAccounts(list string) ([][2]string, error) {
	var out [][2]string
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		ns, sa, ok := strings.Cut(item, "/")
		if !ok || ns == "" || sa == "" || strings.Contains(sa, "/") {
			return nil, fmt.Errorf("%q is not namespace/serviceaccount", item)
		}
		out = append(out, [2]string{ns, sa})
	}
	return out, nil
}

func kubeConfig(path string) (*rest.Config, error) {
	if path == "" {
		return rest.InClusterConfig()
	}
	return clientcmd.BuildConfigFromFlags("", path)
}

func main() {
	f := parseFlags()
	zl, err := zap.NewProduction()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ssm-pool: logger:", err)
		os.Exit(1)
	}
	logger := zl.Sugar().Named("ssm-pool").With("pod", f.podName)
	if err := run(f, logger); err != nil {
		logger.Fatalw("ssm-pool stopped", zap.Error(err))
	}
}

func run(f flags, logger *zap.SugaredLogger) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	// config-ssm's parser reads the system namespace the way every Knative
	// binary does, from the environment; --namespace is the one truth here.
	if err := os.Setenv(system.NamespaceEnvKey, f.namespace); err != nil {
		return fmt.Errorf("setting %s: %w", system.NamespaceEnvKey, err)
	}
	leaseClients, err := serviceAccounts(f.leaseClients)
	if err != nil {
		return fmt.Errorf("--lease-clients: %w", err)
	}
	statsClients, err := serviceAccounts(f.statsClients)
	if err != nil {
		return fmt.Errorf("--stats-clients: %w", err)
	}
	cfg, err := kubeConfig(f.kubeconfig)
	if err != nil {
		return fmt.Errorf("kubernetes client configuration: %w", err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	if f.trustDomain, err = servingTrustDomain(ctx, kube, f.namespace, f.tlsSecret, logger); err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	w, err := newWatches(cfg, kube, f, logger)
	if err != nil {
		return err
	}
	routes := leaseslice.New(leaseslice.Options{Kube: kube, Slices: w.leaseSlices, Replica: f.podName, Logger: logger})
	srv := newPoolServer(ctx, w, f, reg, kube, routes, logger)
	changed := srv.RevisionChanged
	w.notify.Store(&changed)
	w.run(ctx)

	creds, authz, err := serverSecurity(w, f, leaseClients, statsClients)
	if err != nil {
		return err
	}
	g := grpc.NewServer(
		grpc.Creds(creds),
		grpc.ChainUnaryInterceptor(authz.Unary),
		grpc.ChainStreamInterceptor(authz.Stream),
		// Pooled Envoys hold one ADS stream for their whole life; keepalives
		// find a dead peer (and so re-place its leases) within ~40 s.
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		// A pooled Envoy holds one ADS stream (and one load-report stream)
		// per connection and an activator a few unary calls at a time; the
		// cap only stops one peer from opening streams without end.
		grpc.MaxConcurrentStreams(maxStreamsPerConnection),
	)
	srv.Register(g)

	lis, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", f.listen, err)
	}
	metrics := &http.Server{Addr: f.metricsListen, Handler: httpHandler(reg, w), ReadHeaderTimeout: 5 * time.Second}

	// The publisher outlives srv.Run, which withdraws the published proxies
	// while it stops.
	routesCtx, stopRoutes := context.WithCancel(context.Background())
	defer stopRoutes()
	errs := make(chan error, 4)
	ranServer := make(chan struct{})
	go func() {
		defer close(ranServer)
		errs <- srv.Run(ctx)
	}()
	go func() {
		if err := routes.Run(routesCtx, 2); err != nil {
			errs <- fmt.Errorf("lease slice publisher: %w", err)
		}
	}()
	go func() { errs <- g.Serve(lis) }()
	go func() {
		if err := metrics.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
			errs <- fmt.Errorf("metrics server: %w", err)
		}
	}()
	logger.Infow("serving", "grpc", f.listen, "metrics", f.metricsListen)

	select {
	case <-ctx.Done():
	case err = <-errs:
	}
	// Stopping srv.Run first withdraws the published proxies and waits for
	// the activator to take their revisions' traffic back, then closes every
	// proxy's stream (they reconnect to another replica). GracefulStop then
	// stops accepting and waits for in-flight calls, which answer at once: a
	// Lease whose proxy is gone says NOT_ACKED, and its caller takes the
	// plain Knative path.
	stop()
	<-ranServer
	done := make(chan struct{})
	go func() { g.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		g.Stop()
	}
	stopRoutes()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = metrics.Shutdown(shutdownCtx)
	return err
}

func httpHandler(reg *prometheus.Registry, w *watches) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(rw http.ResponseWriter, _ *http.Request) { rw.WriteHeader(http.StatusOK) })
	mux.HandleFunc("/readyz", func(rw http.ResponseWriter, _ *http.Request) {
		if err := w.ready(); err != nil {
			http.Error(rw, err.Error(), http.StatusServiceUnavailable)
			return
		}
		rw.WriteHeader(http.StatusOK)
	})
	return mux
}
