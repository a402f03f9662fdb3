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

	"istio.io/client-go/pkg/apis/networking/v1beta1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"knative.dev/networking/pkg/apis/networking"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"
	ingressinformer "knative.dev/networking/pkg/client/injection/informers/networking/v1alpha1/ingress"
	ingressreconciler "knative.dev/networking/pkg/client/injection/reconciler/networking/v1alpha1/ingress"
	netconfig "knative.dev/networking/pkg/config"
	"knative.dev/networking/pkg/status"
	kubeclient "knative.dev/pkg/client/injection/kube/client"
	endpointsinformer "knative.dev/pkg/client/injection/kube/informers/core/v1/endpoints"
	podinformer "knative.dev/pkg/client/injection/kube/informers/core/v1/pod"
	secretfilteredinformer "knative.dev/pkg/client/injection/kube/informers/core/v1/secret/filtered"
	serviceinformer "knative.dev/pkg/client/injection/kube/informers/core/v1/service"
	slicefilteredinformer "knative.dev/pkg/client/injection/kube/informers/discovery/v1/endpointslice/filtered"
	filteredfactory "knative.dev/pkg/client/injection/kube/informers/factory/filtered"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/injection"
	"knative.dev/pkg/logging"
	pkgreconciler "knative.dev/pkg/reconciler"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	revisioninformer "knative.dev/serving/pkg/client/injection/informers/serving/v1/revision"
	knserviceinformer "knative.dev/serving/pkg/client/injection/informers/serving/v1/service"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	ssmv1alpha1 "github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
	serverlesspolicyinformer "github.com/serverless-mesh/ssm/pkg/client/injection/informers/ssm/v1alpha1/serverlesspolicy"
	istioclient "github.com/serverless-mesh/ssm/pkg/client/istio/injection/client"
	destinationruleinformer "github.com/serverless-mesh/ssm/pkg/client/istio/injection/informers/networking/v1beta1/destinationrule"
	gatewayinformer "github.com/serverless-mesh/ssm/pkg/client/istio/injection/informers/networking/v1beta1/gateway"
	virtualserviceinformer "github.com/serverless-mesh/ssm/pkg/client/istio/injection/informers/networking/v1beta1/virtualservice"
	peerauthenticationinformer "github.com/serverless-mesh/ssm/pkg/client/istio/injection/informers/security/v1beta1/peerauthentication"
	"github.com/serverless-mesh/ssm/pkg/config"
	"github.com/serverless-mesh/ssm/pkg/policy"
	"github.com/serverless-mesh/ssm/pkg/reconciler/ingress/resources"
	"github.com/serverless-mesh/ssm/pkg/xdsprobe"
)

// SecretLabelSelector selects the Secrets the controller watches: the TLS
// certificates Knative issues for KIngresses (and the copies SSM makes of
// them, which keep the label). cmd/controller registers it with the
// filtered informer factory.
const SecretLabelSelector = networking.CertificateUIDLabelKey

// LeaseSliceLabelSelector selects SSM's own objects, among them the
// EndpointSlices of lease Services; cmd/controller registers it (it is the
// certificates controller's selector too).
const LeaseSliceLabelSelector = ssm.ManagedByLabelKey + "=" + ssm.ManagedByLabelValue

// NewController wires the KIngress reconciler for ingress class
// ssm.ingress.networking.knative.dev, with no observed execution times.
func NewController(ctx context.Context, cmw configmap.Watcher) *controller.Impl {
	return NewControllerWithObservations(policy.NoObservations{})(ctx, cmw)
}

// ObservedLifecycles supplies observed execution times (the autoscaler
// hook's history) and says when a revision's observed class changes.
type ObservedLifecycles interface {
	policy.Observer
	SetClassChangeCallback(func(namespace, revision string))
}

// NewControllerWithObservations wires the reconciler so that "auto"
// revisions are classified from obs, and every KIngress routing to a
// revision is reconciled again when its observed class changes.
func NewControllerWithObservations(obs policy.Observer) injection.ControllerConstructor {
	return func(ctx context.Context, cmw configmap.Watcher) *controller.Impl {
		return newController(ctx, cmw, obs)
	}
}

func newController(ctx context.Context, cmw configmap.Watcher, obs policy.Observer) *controller.Impl {
	logger := logging.FromContext(ctx)

	ingressInformer := ingressinformer.Get(ctx)
	virtualServiceInformer := virtualserviceinformer.Get(ctx)
	destinationRuleInformer := destinationruleinformer.Get(ctx)
	gatewayInformer := gatewayinformer.Get(ctx)
	peerAuthenticationInformer := peerauthenticationinformer.Get(ctx)
	secretInformer := secretfilteredinformer.Get(ctx, SecretLabelSelector)
	serviceInformer := serviceinformer.Get(ctx)
	endpointsInformer := endpointsinformer.Get(ctx)
	podInformer := podinformer.Get(ctx)
	revisionInformer := revisioninformer.Get(ctx)
	knServiceInformer := knserviceinformer.Get(ctx)
	policyInformer := serverlesspolicyinformer.Get(ctx)
	leaseSliceInformer := slicefilteredinformer.Get(ctx, LeaseSliceLabelSelector)

	r := &Reconciler{
		kubeClient:            kubeclient.Get(ctx),
		istioClient:           istioclient.Get(ctx),
		virtualServiceLister:  virtualServiceInformer.Lister(),
		destinationRuleLister: destinationRuleInformer.Lister(),
		gatewayLister:         gatewayInformer.Lister(),
		peerAuthLister:        peerAuthenticationInformer.Lister(),
		secretLister:          secretInformer.Lister(),
		gatewayServiceLister:  serviceInformer.Lister(),
		revisionLister:        revisionInformer.Lister(),
		knServiceLister:       knServiceInformer.Lister(),
		policyLister:          policyInformer.Lister(),
		leaseSliceLister:      leaseSliceInformer.Lister(),
		observer:              obs,
	}

	isOurs := pkgreconciler.AnnotationFilterFunc(networking.IngressClassAnnotationKey, ssm.IngressClassName, false)
	impl := ingressreconciler.NewImpl(ctx, r, ssm.IngressClassName, func(impl *controller.Impl) controller.Options {
		resync := configmap.TypeFilter(&config.SSM{}, &netconfig.Config{})(func(string, interface{}) {
			impl.FilteredGlobalResync(isOurs, ingressInformer.Informer())
		})
		store := config.NewStore(logger.Named("config-store"), resync)
		store.WatchConfigs(cmw)
		return controller.Options{ConfigStore: store, PromoteFilterFunc: isOurs}
	})
	r.tracker = impl.Tracker

	ingressInformer.Informer().AddEventHandler(cache.FilteringResourceEventHandler{
		FilterFunc: isOurs,
		Handler:    controller.HandleAll(impl.Enqueue),
	})

	// Objects in the KIngress's namespace carry a controller reference;
	// those elsewhere (copied secrets, TLS gateways, DestinationRules and
	// PeerAuthentications of another namespace) are found by their labels.
	enqueueByLabels := impl.EnqueueLabelOfNamespaceScopedResource(resources.IngressNamespaceLabelKey, networking.IngressLabelKey)
	for _, inf := range []cache.SharedIndexInformer{
		virtualServiceInformer.Informer(),
		destinationRuleInformer.Informer(),
		peerAuthenticationInformer.Informer(),
		gatewayInformer.Informer(),
		secretInformer.Informer(),
	} {
		inf.AddEventHandler(cache.FilteringResourceEventHandler{
			FilterFunc: pkgreconciler.LabelFilterFunc(ssm.ManagedByLabelKey, ssm.ManagedByLabelValue, false),
			Handler:    controller.HandleAll(enqueueByLabels),
		})
	}

	// Inputs a KIngress tracks: the TLS secrets it names, and the
	// Revisions, Knative Services and ServerlessPolicies its policy comes from.
	secretInformer.Informer().AddEventHandler(controller.HandleAll(
		controller.EnsureTypeMeta(r.tracker.OnChanged, corev1.SchemeGroupVersion.WithKind("Secret"))))
	revisionInformer.Informer().AddEventHandler(controller.HandleAll(
		controller.EnsureTypeMeta(r.tracker.OnChanged, servingv1.SchemeGroupVersion.WithKind("Revision"))))
	knServiceInformer.Informer().AddEventHandler(controller.HandleAll(
		controller.EnsureTypeMeta(r.tracker.OnChanged, servingv1.SchemeGroupVersion.WithKind("Service"))))
	policyInformer.Informer().AddEventHandler(controller.HandleAll(
		controller.EnsureTypeMeta(r.tracker.OnChanged, ssmv1alpha1.SchemeGroupVersion.WithKind("ServerlessPolicy"))))
	gatewayInformer.Informer().AddEventHandler(controller.HandleAll(
		controller.EnsureTypeMeta(r.tracker.OnChanged, v1beta1.SchemeGroupVersion.WithKind("Gateway"))))
	leaseSliceInformer.Informer().AddEventHandler(controller.HandleAll(
		controller.EnsureTypeMeta(r.tracker.OnChanged, discoveryv1.SchemeGroupVersion.WithKind("EndpointSlice"))))

	probeTargets := &gatewayProbeTargets{
		gatewayLister:   gatewayInformer.Lister(),
		serviceLister:   serviceInformer.Lister(),
		endpointsLister: endpointsInformer.Lister(),
		gatewaysFor:     r.boundGateways,
	}
	enqueue := func(ing *v1alpha1.Ingress) {
		impl.EnqueueKey(types.NamespacedName{Namespace: ing.Namespace, Name: ing.Name})
	}
	prober := status.NewProber(logger.Named("status-prober"), probeTargets, enqueue)
	prober.Start(ctx.Done())
	// config-ssm's readiness-mode picks the prober or xDS at each reconcile.
	readinessManager := &readiness{
		probe: prober,
		newXDS: func(address string) (*xdsprobe.Manager, error) {
			return xdsprobe.NewManager(ctx, xdsprobe.Options{Address: address}, &gatewayWorkloads{targets: probeTargets}, enqueue)
		},
	}
	r.statusManager = readinessManager

	if lifecycles, ok := obs.(ObservedLifecycles); ok {
		// KIngresses track the Revisions they route to; a class change is
		// reported to the tracker as a change of that Revision.
		revisionChanged := controller.EnsureTypeMeta(r.tracker.OnChanged, servingv1.SchemeGroupVersion.WithKind("Revision"))
		lifecycles.SetClassChangeCallback(func(namespace, name string) {
			if rev, err := revisionInformer.Lister().Revisions(namespace).Get(name); err == nil {
				revisionChanged(rev)
			}
		})
	}

	podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: prober.CancelPodProbing})
	ingressInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		DeleteFunc: func(obj interface{}) {
			readinessManager.CancelIngressProbing(obj)
			r.tracker.OnDeletedObserver(obj)
		},
	})
	return impl
}

// WithSecretSelector returns ctx prepared for the filtered Secret informer.
func WithSecretSelector(ctx context.Context) context.Context {
	return filteredfactory.WithSelectors(ctx, SecretLabelSelector)
}
