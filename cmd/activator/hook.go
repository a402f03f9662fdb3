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
	"net"
	"net/http"
	"slices"
	"strconv"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	corev1 "k8s.io/api/core/v1"
	corev1listers "k8s.io/client-go/listers/core/v1"
	endpointsinformer "knative.dev/pkg/client/injection/kube/informers/core/v1/endpoints"
	"knative.dev/pkg/system"
	revisioninformer "knative.dev/serving/pkg/client/injection/informers/serving/v1/revision"

	"github.com/serverless-mesh/ssm/pkg/activator"
	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	"github.com/serverless-mesh/ssm/pkg/identity"
)

// proxyPath is what Knative's activation handler is built from: the
// throttler it asks for a destination, the transport it proxies with, and
// what wraps the handler. Without the hook it is the stock one.
type proxyPath struct {
	throttler activator.Throttler
	transport http.RoundTripper
	wrap      func(http.Handler) http.Handler
	close     func()
}

func stockPath(throttler activator.Throttler, transport http.RoundTripper) proxyPath {
	return proxyPath{
		throttler: throttler,
		transport: transport,
		wrap:      func(h http.Handler) http.Handler { return h },
		close:     func() {},
	}
}

// withLeaseHook puts SSM's hook around the stock path, or leaves it alone,
// with one log line saying why, when the hook cannot work: without the
// activator's identity there is no talking to ssm-pool, and with Knative's
// system-internal-tls the handler would send leased requests to the HTTPS
// port of the proxy's address, where no proxy listens. Without the hook the
// pods of sidecar-less revisions refuse the activator's plaintext: they
// fail closed, and only leased proxies (if any) reach them.
func withLeaseHook(ctx context.Context, logger *zap.SugaredLogger, s settings, stock proxyPath,
	internalTLS bool, mp metric.MeterProvider, tp trace.TracerProvider,
) proxyPath {
	if internalTLS {
		logger.Warn("SSM lease hook disabled: system-internal-tls is on; Knative's path serves every request")
		return stock
	}
	address, serverName := s.poolEndpoint(system.Namespace())
	dial := func(addr string) (*grpc.ClientConn, error) {
		return activator.DialPool(addr, s.SSMIdentityDir, serverName)
	}
	// Dialled once here so that a missing identity turns the hook off at
	// start rather than failing every lease.
	conn, err := dial(address)
	if err != nil {
		logger.Warnw("SSM lease hook disabled; Knative's path serves every request", zap.Error(err))
		return stock
	}
	conn.Close()
	endpoints := endpointsinformer.Get(ctx).Lister()
	replicas := activator.NewPoolReplicas(func() []string {
		return poolReplicaAddresses(endpoints, system.Namespace())
	}, address, dial)
	opts := s.hookOptions()
	opts.MeterProvider, opts.TracerProvider = mp, tp
	opts.Logger = logger.Named("ssm")
	// DialPool has just read this identity; rotations reach both clients.
	opts.Identity = identity.NewFileSource(s.SSMIdentityDir)
	// Knative's throttler watches every Endpoints already; the hook reads
	// the same informer's cache.
	opts.Endpoints = endpoints
	hook, err := activator.New(stock.throttler, replicas, revisioninformer.Get(ctx).Lister(), opts)
	if err != nil {
		replicas.Close()
		logger.Warnw("SSM lease hook disabled; Knative's path serves every request", zap.Error(err))
		return stock
	}
	go hook.Run(ctx)
	logger.Infow("SSM lease hook enabled", zap.String("pool", address))
	return proxyPath{
		throttler: hook,
		transport: hook.Transport(stock.transport),
		wrap:      hook.Handler,
		close: func() {
			hook.Close()
			replicas.Close()
		},
	}
}

// poolReplicaAddresses are the lease API addresses of ssm-pool's ready
// replicas, from its Service's Endpoints in the system namespace (which
// Knative's Endpoints informer already caches).
func poolReplicaAddresses(endpoints corev1listers.EndpointsLister, namespace string) []string {
	eps, err := endpoints.Endpoints(namespace).Get(ssm.PoolServerName)
	if err != nil {
		return nil
	}
	var out []string
	port := strconv.Itoa(ssm.PoolServerPort)
	for _, subset := range eps.Subsets {
		if !slices.ContainsFunc(subset.Ports, func(p corev1.EndpointPort) bool { return p.Port == ssm.PoolServerPort }) {
			continue
		}
		for _, a := range subset.Addresses {
			out = append(out, net.JoinHostPort(a.IP, port))
		}
	}
	return out
}
