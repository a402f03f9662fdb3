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

// Command controller runs SSM's reconcilers: KIngress → Istio for ingress
// class ssm.ingress.networking.knative.dev, ServerlessPolicy status,
// ProxyPools (Envoy Deployments sized from invocation history) and the
// certificates of SSM's own CA.
package main

import (
	"context"
	"log"
	"time"

	"go.opentelemetry.io/otel"
	"google.golang.org/grpc/credentials"
	"k8s.io/apimachinery/pkg/types"
	endpointsinformer "knative.dev/pkg/client/injection/kube/informers/core/v1/endpoints"
	secretfilteredinformer "knative.dev/pkg/client/injection/kube/informers/core/v1/secret/filtered"
	filteredfactory "knative.dev/pkg/client/injection/kube/informers/factory/filtered"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/injection"
	"knative.dev/pkg/injection/sharedmain"
	"knative.dev/pkg/signals"
	"knative.dev/pkg/system"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	"github.com/serverless-mesh/ssm/pkg/identity"
	"github.com/serverless-mesh/ssm/pkg/pool/sizing"
	"github.com/serverless-mesh/ssm/pkg/pool/stats"
	"github.com/serverless-mesh/ssm/pkg/reconciler/certificates"
	"github.com/serverless-mesh/ssm/pkg/reconciler/defaultpool"
	"github.com/serverless-mesh/ssm/pkg/reconciler/ingress"
	leaseroutes "github.com/serverless-mesh/ssm/pkg/reconciler/leaseroute"
	"github.com/serverless-mesh/ssm/pkg/reconciler/lifecycle"
	"github.com/serverless-mesh/ssm/pkg/reconciler/proxypool"
	"github.com/serverless-mesh/ssm/pkg/reconciler/proxypool/resources"
	"github.com/serverless-mesh/ssm/pkg/reconciler/serverlesspolicy"
)

func main() {
	// Secrets, ConfigMaps, Deployments, Services, EndpointSlices and
	// PodDisruptionBudgets are watched through informers filtered on labels
	// (SSM's own, Knative's revision label, the activator Service's name),
	// never every one in the cluster. WithSelectors replaces earlier
	// selectors, so all of them are registered here at once. (The lease
	// route controller's ObjectLabelSelector and RevisionDeploymentSelector
	// equal certificates' SecretLabelSelector and RevisionDeploymentSelector.)
	ctx := filteredfactory.WithSelectors(signals.NewContext(),
		ingress.SecretLabelSelector,
		certificates.SecretLabelSelector,
		certificates.RevisionDeploymentSelector,
		proxypool.ObjectLabelSelector,
		leaseroutes.ActivatorSliceSelector,
	)
	// The autoscaler hook's history feeds two consumers: observed execution
	// times classify "auto" revisions for the KIngress reconciler, and cold
	// starts size History pools.
	history := lifecycle.NewHistory(lifecycle.Options{})
	// The global meter provider delegates to the one sharedmain installs
	// from config-observability, so the history's metrics leave with the
	// controller's others.
	if _, err := history.RegisterMetrics(otel.GetMeterProvider()); err != nil {
		log.Fatalf("Registering the autoscaler hook's metrics: %v", err)
	}
	sharedmain.MainWithContext(ctx, "ssm-controller",
		ingress.NewControllerWithObservations(history),
		serverlesspolicy.NewController,
		certificates.NewController,
		certificates.NewWorkloadController,
		leaseroutes.NewController,
		lifecycle.NewController(history),
		proxyPoolController(history),
		defaultpool.NewController,
	)
}

// poolSizer adapts the history's recommendation to the ProxyPool
// reconciler. History is kept per pool name: the revisions' ssm.dev/proxy-pool
// values name pools, not namespaces.
type poolSizer struct{ history *lifecycle.History }

func (s poolSizer) Recommend(pool types.NamespacedName, minSize, maxSize, headroomPercent int32, idleTimeout time.Duration, leased int32, now time.Time) (int32, string) {
	r := s.history.Recommend(pool.Name, now, minSize, maxSize, headroomPercent, sizing.Held{IdleTimeout: idleTimeout, Leased: leased})
	return r.Replicas, r.Reason
}

// proxyPoolController reads pool counts from every ssm-pool replica with
// the controller's own certificate (Secret ssm-controller-tls).
func proxyPoolController(history *lifecycle.History) injection.ControllerConstructor {
	return func(ctx context.Context, cmw configmap.Watcher) *controller.Impl {
		return newProxyPoolController(ctx, cmw, poolSizer{history: history})
	}
}

func newProxyPoolController(ctx context.Context, cmw configmap.Watcher, sizer proxypool.Sizer) *controller.Impl {
	namespace := system.Namespace()
	cfg := resources.DefaultConfig()
	cfg.SystemNamespace = namespace
	cfg.TrustDomain = certificates.TrustDomain()
	cfg.PoolServerHost = ssm.PoolServerName + "." + namespace + ".svc.cluster.local"

	secrets := secretfilteredinformer.Get(ctx, certificates.SecretLabelSelector).Lister()
	tlsConfig := identity.ClientConfig(
		identity.NewSecretSource(secrets, namespace, certificates.ControllerSecret),
		ssm.PoolServerName+"."+namespace+".svc")
	reader := stats.NewReader(endpointsinformer.Get(ctx).Lister(), namespace, credentials.NewTLS(tlsConfig))
	return proxypool.NewController(cfg, sizer, reader)(ctx, cmw)
}
