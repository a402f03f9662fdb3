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
	"net/http"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	endpointsinformer "knative.dev/pkg/client/injection/kube/informers/core/v1/endpoints"
	"knative.dev/pkg/system"
	revisioninformer "knative.dev/serving/pkg/client/injection/informers/serving/v1/revision"

	"github.com/serverless-mesh/ssm/pkg/activator"
	"github.com/serverless-mesh/ssm/pkg/pool/identity"
	"github.com/serverless-mesh/ssm/pkg/pool/leaseapi"
)

// proxyPath is what Knative's activation handler is built from: the
// throttler it asks for a destination, the transport it proxies with, and
// what wraps the handler. Without the hook it is the stock one.
type proxyPath struct {
	throttler activator.Throttler
	transport http.RoundTripper
	wrap      func(http.Handler) http.Handler
	close     func()
	// ssmConfig observes config-ssm; nil when nothing reads it.
	ssmConfig func(*corev1.ConfigMap)
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
	conn, err := activator.DialPool(address, s.SSMIdentityDir, serverName)
	if err != nil {
		logger.Warnw("SSM lease hook disabled; Knative's path serves every request", zap.Error(err))
		return stock
	}
	opts := s.hookOptions()
	opts.MeterProvider, opts.TracerProvider = mp, tp
	opts.Logger = logger.Named("ssm")
	// DialPool has just read this identity; rotations reach both clients.
	opts.Identity = identity.NewFileSource(s.SSMIdentityDir)
	// Knative's throttler watches every Endpoints already; the hook reads
	// the same informer's cache.
	opts.Endpoints = endpointsinformer.Get(ctx).Lister()
	hook, err := activator.New(stock.throttler, leaseapi.NewLeasesClient(conn),
		revisioninformer.Get(ctx).Lister(), opts)
	if err != nil {
		conn.Close()
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
			conn.Close()
		},
		ssmConfig: hook.UpdateFromConfigMap,
	}
}
