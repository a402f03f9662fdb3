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

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc/credentials"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	ssmv1alpha1 "github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
	"github.com/serverless-mesh/ssm/pkg/identity"
	"github.com/serverless-mesh/ssm/pkg/pool"
	"github.com/serverless-mesh/ssm/pkg/pool/revision"
	"github.com/serverless-mesh/ssm/pkg/pool/snapshot"
)

func newPoolServer(ctx context.Context, w *watches, f flags, reg prometheus.Registerer, kube kubernetes.Interface,
	routes pool.RoutePublisher, logger *zap.SugaredLogger,
) *pool.Server {
	opts := snapshot.DefaultOptions()
	opts.TrustDomain = f.trustDomain
	events := eventRecorder(ctx, kube, f.podName)
	return pool.New(pool.Options{
		Snapshot:    opts,
		Source:      w.src,
		IdleTimeout: w.src.IdleTimeout,
		Registerer:  reg,
		Logger:      logger,
		Routes:      routes,
		// Flags of 0 take pkg/pool's defaults.
		DrainPeriod:     f.drainPeriod,
		MaxFallbackWait: f.maxFallbackWait,
		// A proxy that rejects configuration is the pool operator's
		// business: say so on the ProxyPool, where they look.
		OnUnhealthy: func(proxy string, p revision.PoolKey, reason string) {
			ref := &corev1.ObjectReference{
				APIVersion: ssmv1alpha1.SchemeGroupVersion.String(),
				Kind:       "ProxyPool",
				Namespace:  p.Namespace,
				Name:       p.Name,
			}
			events.Eventf(ref, corev1.EventTypeWarning, "ProxyRejectedConfig",
				"pooled proxy %s rejected its configuration and gets no new leases until it reconnects: %s", proxy, reason)
		},
	})
}

func eventRecorder(ctx context.Context, kube kubernetes.Interface, podName string) record.EventRecorder {
	b := record.NewBroadcaster(record.WithContext(ctx))
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: kube.CoreV1().Events("")})
	return b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "ssm-pool", Host: podName})
}

// serverSecurity is mTLS with SSM's CA, plus who may call what: pooled
// proxies (ServiceAccount ssm-proxy of any namespace; pkg/pool checks that a
// proxy's namespace is its pool's) may only stream xDS and load reports, the lease clients may
// lease and renew, the stats clients may read counts.
func serverSecurity(w *watches, f flags, leaseClients, statsClients [][2]string) (credentials.TransportCredentials, *identity.Authorizer, error) {
	ids := func(sas [][2]string) []identity.ID {
		out := make([]identity.ID, 0, len(sas))
		for _, sa := range sas {
			out = append(out, identity.NewID(f.trustDomain, sa[0], sa[1]))
		}
		return out
	}
	proxies := identity.AllowServiceAccount(f.trustDomain, ssm.PoolProxyServiceAccount)
	authz, err := identity.NewAuthorizer(identity.Policy{
		"/envoy.service.discovery.v3.AggregatedDiscoveryService/": proxies,
		"/envoy.service.load_stats.v3.LoadReportingService/":      proxies,
		"/ssm.pool.v1alpha1.Leases/Lease":                         identity.AllowIDs(ids(leaseClients)...),
		"/ssm.pool.v1alpha1.Leases/Renew":                         identity.AllowIDs(ids(leaseClients)...),
		"/ssm.pool.v1alpha1.Leases/Stats":                         identity.AllowIDs(ids(statsClients)...),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("authorisation policy: %w", err)
	}
	src := identity.NewSecretSource(w.secrets, f.namespace, f.tlsSecret)
	return credentials.NewTLS(identity.ServerConfig(src)), authz, nil
}
