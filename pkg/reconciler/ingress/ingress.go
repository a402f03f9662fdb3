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

package ingress

import (
	"context"
	"errors"
	"fmt"
	"time"

	istioclientset "istio.io/client-go/pkg/clientset/versioned"
	istiolisters "istio.io/client-go/pkg/listers/networking/v1beta1"
	securitylisters "istio.io/client-go/pkg/listers/security/v1beta1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/kubernetes"
	corev1listers "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"
	ingressreconciler "knative.dev/networking/pkg/client/injection/reconciler/networking/v1alpha1/ingress"
	netconfig "knative.dev/networking/pkg/config"
	"knative.dev/networking/pkg/status"
	"knative.dev/pkg/apis"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/logging"
	pkgreconciler "knative.dev/pkg/reconciler"
	"knative.dev/pkg/tracker"
	servinglisters "knative.dev/serving/pkg/client/listers/serving/v1"

	ssmlisters "github.com/serverless-mesh/ssm/pkg/client/listers/ssm/v1alpha1"
	"github.com/serverless-mesh/ssm/pkg/config"
	"github.com/serverless-mesh/ssm/pkg/policy"
	"github.com/serverless-mesh/ssm/pkg/reconciler/ingress/resources"
)

// Reasons SSM sets on a KIngress's conditions, beyond Knative's own.
const (
	// ReasonInvalidPolicy: a backend revision's ssm.dev/* annotations or its
	// ServerlessPolicy are invalid; the last good Istio objects stay in place.
	ReasonInvalidPolicy = "InvalidPolicy"
	// ReasonNoGatewayPods: nothing serves the gateways yet, so readiness
	// cannot be confirmed.
	ReasonNoGatewayPods = "NoGatewayPods"
)

// noGatewayPodsRetry is how soon readiness is checked again when no gateway
// pod exists; gateway pods appearing do not enqueue KIngresses by themselves.
const noGatewayPodsRetry = 15 * time.Second

// ingressConditions manages the conditions of a KIngress status; it is the
// condition set knative.dev/networking declares, which exports no helper for
// a NetworkConfigured failure other than "not owned".
var ingressConditions = apis.NewLivingConditionSet(
	v1alpha1.IngressConditionNetworkConfigured,
	v1alpha1.IngressConditionLoadBalancerReady,
)

// Reconciler turns KIngresses of class ssm.ingress.networking.knative.dev
// into Istio Gateways, VirtualServices and DestinationRules.
type Reconciler struct {
	kubeClient  kubernetes.Interface
	istioClient istioclientset.Interface

	virtualServiceLister  istiolisters.VirtualServiceLister
	destinationRuleLister istiolisters.DestinationRuleLister
	peerAuthLister        securitylisters.PeerAuthenticationLister
	gatewayLister         istiolisters.GatewayLister
	secretLister          corev1listers.SecretLister
	gatewayServiceLister  corev1listers.ServiceLister
	revisionLister        servinglisters.RevisionLister
	knServiceLister       servinglisters.ServiceLister
	policyLister          ssmlisters.ServerlessPolicyLister
	// leaseSliceLister holds the slices of lease Services (SSM's own).
	leaseSliceLister discoverylisters.EndpointSliceLister

	tracker       tracker.Interface
	statusManager status.Manager
	observer      policy.Observer
}

var (
	_ ingressreconciler.Interface = (*Reconciler)(nil)
	_ ingressreconciler.Finalizer = (*Reconciler)(nil)
)

// ReconcileKind makes the Istio objects of ing match it, then reports
// whether the gateways serve them.
func (r *Reconciler) ReconcileKind(ctx context.Context, ing *v1alpha1.Ingress) pkgreconciler.Event {
	// The stored object may predate defaults the builders rely on; this
	// copy is ours, and defaults are never written back.
	ing.SetDefaults(ctx)
	ing.Status.InitializeConditions()
	cfg := config.FromContext(ctx)

	// 1. Policy first: bad input stops here, before any Istio object
	//    changes, so the last good configuration keeps serving.
	policies, err := r.resolvePolicies(ctx, ing)
	var invalid *invalidPolicyError
	if errors.As(err, &invalid) {
		ingressConditions.Manage(&ing.Status).MarkFalse(v1alpha1.IngressConditionNetworkConfigured,
			ReasonInvalidPolicy, "%s; the previous Istio configuration is kept", invalid.Error())
		controller.GetEventRecorder(ctx).Event(ing, corev1.EventTypeWarning, ReasonInvalidPolicy, invalid.Error())
		return nil
	} else if err != nil {
		return err
	}

	leased, err := r.leasedBackends(ing, policies)
	if err != nil {
		return err
	}

	// 2. Gateways, and the TLS secrets they need next to them.
	selected := selectGateways(cfg, ing)
	external, local, err := r.gatewayServices(selected)
	if err != nil {
		return err
	}
	bound, err := r.reconcileGateways(ctx, ing, cfg, selected, external, local)
	if err != nil {
		return err
	}

	// 3. Traffic policy before routes, so a new route never runs without it.
	if err := syncObjects(ctx, ing, r.destinationRuleOps(), resources.MakeDestinationRules(ing, policies, leased)); err != nil {
		return err
	}
	// After the DestinationRules, so the routes speak mTLS before the pods
	// refuse plaintext.
	if err := syncObjects(ctx, ing, r.peerAuthenticationOps(), resources.MakePeerAuthentications(ing, policies, leased)); err != nil {
		return err
	}
	vses, err := resources.MakeVirtualServices(ing, bound, policies, leased)
	if err != nil {
		return fmt.Errorf("building VirtualServices: %w", err)
	}
	if err := syncObjects(ctx, ing, r.virtualServiceOps(), vses); err != nil {
		ing.Status.MarkLoadBalancerFailed("VirtualServiceNotReconciled", err.Error())
		return err
	}
	ing.Status.MarkNetworkConfigured()

	// 4. Readiness.
	return r.reconcileReadiness(withBoundGateways(ctx, bound), ing, selected)
}

// reconcileReadiness asks the status prober whether every gateway serves
// this generation of ing, and publishes the gateway addresses when it does.
func (r *Reconciler) reconcileReadiness(ctx context.Context, ing *v1alpha1.Ingress, selected *selectedGateways) pkgreconciler.Event {
	ready := ing.IsReady()
	if ready {
		logger := logging.FromContext(ctx)
		// Already probed for this generation: a resync after a restart must
		// not turn into a probe storm.
		logger.Debug("KIngress is ready for this generation; not probing again")
	} else {
		var err error
		ready, err = r.statusManager.IsReady(ctx, ing)
		if errors.Is(err, errNoGatewayPods) {
			ingressConditions.Manage(&ing.Status).MarkUnknown(v1alpha1.IngressConditionLoadBalancerReady,
				ReasonNoGatewayPods, "cannot confirm the routes are served: %v", err)
			return controller.NewRequeueAfter(noGatewayPodsRetry)
		} else if err != nil {
			return fmt.Errorf("probing KIngress %s/%s: %w", ing.Namespace, ing.Name, err)
		}
	}
	if !ready {
		ing.Status.MarkLoadBalancerNotReady()
		return nil
	}
	ing.Status.MarkLoadBalancerReady(loadBalancerStatus(selected.external), loadBalancerStatus(selected.local))
	return nil
}

// loadBalancerStatus is the address Knative publishes for a visibility: the
// Service of the first gateway selected for the KIngress, or mesh-only when
// there is none.
func loadBalancerStatus(gateways []config.Gateway) []v1alpha1.LoadBalancerIngressStatus {
	if len(gateways) == 0 {
		return []v1alpha1.LoadBalancerIngressStatus{{MeshOnly: true}}
	}
	return []v1alpha1.LoadBalancerIngressStatus{{DomainInternal: gateways[0].ServiceURL}}
}

// FinalizeKind removes everything SSM made for ing. Owner references would
// clean up what is in ing's namespace, but not the Secret copies, Gateways
// and DestinationRules elsewhere; deleting all of it here leaves one path to
// reason about. (The controller's delete handler stops probing ing.)
func (r *Reconciler) FinalizeKind(ctx context.Context, ing *v1alpha1.Ingress) pkgreconciler.Event {
	if err := deleteOwned(ctx, ing, r.virtualServiceOps()); err != nil {
		return err
	}
	if err := deleteOwned(ctx, ing, r.peerAuthenticationOps()); err != nil {
		return err
	}
	if err := deleteOwned(ctx, ing, r.destinationRuleOps()); err != nil {
		return err
	}
	if err := deleteOwned(ctx, ing, r.gatewayOps()); err != nil {
		return err
	}
	return deleteOwned(ctx, ing, r.secretOps())
}

// clusterLocalTLS says whether cluster-local hosts are served over TLS.
func clusterLocalTLS(cfg *config.Config) bool {
	return cfg.Network != nil && cfg.Network.ClusterLocalDomainTLS == netconfig.EncryptionEnabled
}

type boundGatewaysKey struct{}

// withBoundGateways hands the gateways ing was bound to to the probe target
// lister, which the status prober calls synchronously from IsReady.
func withBoundGateways(ctx context.Context, bound map[v1alpha1.IngressVisibility]sets.Set[string]) context.Context {
	return context.WithValue(ctx, boundGatewaysKey{}, bound)
}

func (r *Reconciler) boundGateways(ctx context.Context, _ *v1alpha1.Ingress) map[v1alpha1.IngressVisibility]sets.Set[string] {
	bound, _ := ctx.Value(boundGatewaysKey{}).(map[v1alpha1.IngressVisibility]sets.Set[string])
	return bound
}
