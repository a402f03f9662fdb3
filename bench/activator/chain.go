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

package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	networkingcfg "knative.dev/networking/pkg/config"
	netprobe "knative.dev/networking/pkg/http/probe"
	pkgnet "knative.dev/pkg/network"
	activatorconfig "knative.dev/serving/pkg/activator/config"
	activatorhandler "knative.dev/serving/pkg/activator/handler"
	apiconfig "knative.dev/serving/pkg/apis/config"
	asmetrics "knative.dev/serving/pkg/autoscaler/metrics"
	revisioninformer "knative.dev/serving/pkg/client/injection/informers/serving/v1/revision"
	pkghttp "knative.dev/serving/pkg/http"
	"knative.dev/serving/pkg/http/handler"

	ssmactivator "github.com/serverless-mesh/ssm/pkg/activator"
	"github.com/serverless-mesh/ssm/pkg/pool/leaseapi"
)

// The activator's defaults (cmd/activator's settings).
const (
	maxIdleProxyConns        = 1000
	maxIdleProxyConnsPerHost = 100
	systemNamespace          = "knative-serving"
	podName                  = "activator-bench"
)

// proxyPath is what Knative's activation handler is built from: the
// throttler, the transport, and what wraps the handler (cmd/activator's
// proxyPath).
type proxyPath struct {
	throttler activatorhandler.Throttler
	transport http.RoundTripper
	wrap      func(http.Handler) http.Handler
}

// stockPath is Knative's: its throttler and a proxy transport of its own.
func stockPath(k *knative) proxyPath {
	return proxyPath{
		throttler: k.throttler,
		transport: pkgnet.NewProxyAutoTransport(maxIdleProxyConns, maxIdleProxyConnsPerHost),
		wrap:      func(h http.Handler) http.Handler { return h },
	}
}

// hookPath is cmd/activator's with the lease hook: the hook around the same
// throttler, its Transport around a proxy transport of its own, its Handler
// around the activation handler; the benchmark's revision carries no SSM
// stamp, so it is neither leased nor reached over mTLS. The lease API is
// reached over plaintext gRPC here; no Lease or Renew call is on a measured
// request's path.
func hookPath(ctx context.Context, k *knative, leases string) (proxyPath, func(), error) {
	conn, err := grpc.NewClient(leases, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return proxyPath{}, nil, fmt.Errorf("lease API client: %w", err)
	}
	hook, err := ssmactivator.New(k.throttler, leaseapi.NewLeasesClient(conn),
		revisioninformer.Get(k.ctx).Lister(), ssmactivator.Options{})
	if err != nil {
		conn.Close()
		return proxyPath{}, nil, fmt.Errorf("lease hook: %w", err)
	}
	go hook.Run(ctx)
	stock := pkgnet.NewProxyAutoTransport(maxIdleProxyConns, maxIdleProxyConnsPerHost)
	return proxyPath{throttler: hook, transport: hook.Transport(stock), wrap: hook.Handler},
		func() { hook.Close(); conn.Close() }, nil
}

// serveActivator serves Knative's activator request chain over p on a
// loopback port until ctx ends, and returns its address. The chain is
// cmd/activator's requestChain, handler for handler and in its order, with
// no-op metrics and traces (Knative's defaults: no exporter) and the request
// log off (its default).
func serveActivator(ctx context.Context, k *knative, logger *zap.SugaredLogger, p proxyPath) (string, error) {
	mp, tp := metricnoop.NewMeterProvider(), tracenoop.NewTracerProvider()
	store := activatorconfig.NewStore(logger)
	store.OnConfigChanged(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
		Name: networkingcfg.ConfigMapName, Namespace: systemNamespace}})
	// The reporter's stats would go to the autoscaler; here they are read
	// and dropped.
	stats := make(chan []asmetrics.StatMessage)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-stats:
			}
		}
	}()
	reporter := activatorhandler.NewConcurrencyReporter(k.ctx, podName, stats, mp)
	go reporter.Run(ctx.Done())

	var h http.Handler = activatorhandler.New(ctx, p.throttler, p.transport, false, logger, false, tp, mp)
	h = p.wrap(h)
	h = handler.NewTimeoutHandler(h, "activator request timeout", revisionTimeouts, logger)
	h = reporter.Handler(h)
	h = activatorhandler.NewTracingAttributeHandler(tp, h)
	requestLog, err := pkghttp.NewRequestLogHandler(h, io.Discard, "", requestLogInput, false)
	if err != nil {
		return "", fmt.Errorf("request log handler: %w", err)
	}
	h = activatorhandler.NewMetricAttributeHandler(podName, requestLog)
	h = activatorhandler.WrapActivatorHandlerWithFullDuplex(h, logger)
	h = activatorhandler.NewContextHandler(k.ctx, h, store)
	h = otelhttp.NewHandler(h, "handle", otelhttp.WithTracerProvider(tp), otelhttp.WithMeterProvider(mp))
	h = &activatorhandler.ProbeHandler{NextHandler: h}
	h = netprobe.NewHandler(h)
	h = &activatorhandler.HealthHandler{HealthCheck: func() error { return nil }, NextHandler: h, Logger: logger}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("activator listener: %w", err)
	}
	server := pkgnet.NewServer(l.Addr().String(), h)
	go func() { _ = server.Serve(l) }()
	go func() {
		<-ctx.Done()
		server.Close()
	}()
	return l.Addr().String(), nil
}

// revisionTimeouts are the revision's request timeout and Knative's
// defaults for the others, as cmd/activator's.
func revisionTimeouts(r *http.Request) (request, responseStart, idle time.Duration) {
	request = apiconfig.DefaultRevisionTimeoutSeconds * time.Second
	if rev := activatorhandler.RevisionFrom(r.Context()); rev != nil && rev.Spec.TimeoutSeconds != nil {
		request = time.Duration(*rev.Spec.TimeoutSeconds) * time.Second
	}
	return request, 0, 0
}

func requestLogInput(req *http.Request, resp *pkghttp.RequestLogResponse) *pkghttp.RequestLogTemplateInput {
	rev := activatorhandler.RevisionFrom(req.Context())
	return &pkghttp.RequestLogTemplateInput{Request: req, Response: resp,
		Revision: &pkghttp.RequestLogRevision{Namespace: rev.Namespace, Name: rev.Name}}
}
