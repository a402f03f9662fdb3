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

package leaseroute

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	kubeclient "knative.dev/pkg/client/injection/kube/client"
	deploymentfilteredinformer "knative.dev/pkg/client/injection/kube/informers/apps/v1/deployment/filtered"
	endpointsinformer "knative.dev/pkg/client/injection/kube/informers/core/v1/endpoints"
	servicefilteredinformer "knative.dev/pkg/client/injection/kube/informers/core/v1/service/filtered"
	slicefilteredinformer "knative.dev/pkg/client/injection/kube/informers/discovery/v1/endpointslice/filtered"
	networkpolicyfilteredinformer "knative.dev/pkg/client/injection/kube/informers/networking/v1/networkpolicy/filtered"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/logging"
	pkgreconciler "knative.dev/pkg/reconciler"
	"knative.dev/pkg/system"
	"knative.dev/serving/pkg/apis/serving"
	revisioninformer "knative.dev/serving/pkg/client/injection/informers/serving/v1/revision"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
)

// Label selectors of the filtered informers this controller uses;
// cmd/controller registers them.
const (
	// ObjectLabelSelector selects SSM's own objects: lease Services, their
	// slices and the revisions' NetworkPolicies.
	ObjectLabelSelector = ssm.ManagedByLabelKey + "=" + ssm.ManagedByLabelValue
	// ActivatorSliceSelector selects the activator Service's slices.
	ActivatorSliceSelector = discoveryv1.LabelServiceName + "=" + ActivatorServiceName
	// RevisionDeploymentSelector selects Knative revision Deployments.
	RevisionDeploymentSelector = serving.RevisionLabelKey
)

// NewController wires the lease Service reconciler. It is keyed by
// revision.
func NewController(ctx context.Context, _ configmap.Watcher) *controller.Impl {
	revisions := revisioninformer.Get(ctx)
	deployments := deploymentfilteredinformer.Get(ctx, RevisionDeploymentSelector)
	services := servicefilteredinformer.Get(ctx, ObjectLabelSelector)
	slices := slicefilteredinformer.Get(ctx, ObjectLabelSelector)
	networkPolicies := networkpolicyfilteredinformer.Get(ctx, ObjectLabelSelector)
	activatorSlices := slicefilteredinformer.Get(ctx, ActivatorSliceSelector)
	endpoints := endpointsinformer.Get(ctx)
	namespace := system.Namespace()

	r := &Reconciler{
		LeaderAwareFuncs: pkgreconciler.LeaderAwareFuncs{
			// The new leader of a bucket looks at all its revisions: their
			// events, and ssm-pool's, may have gone to the previous leader.
			PromoteFunc: func(bkt pkgreconciler.Bucket, enq func(pkgreconciler.Bucket, types.NamespacedName)) error {
				return enqueueRevisions(revisions.Lister(), bkt, enq)
			},
		},
		kube:            kubeclient.Get(ctx),
		revisions:       revisions.Lister(),
		deployments:     deployments.Lister(),
		services:        services.Lister(),
		slices:          slices.Lister(),
		networkPolicies: networkPolicies.Lister(),
		activatorSlices: activatorSlices.Lister(),
		endpoints:       endpoints.Lister(),
		namespace:       namespace,
	}
	impl := controller.NewContext(ctx, r, controller.ControllerOptions{
		WorkQueueName: "LeaseRoutes",
		Logger:        logging.FromContext(ctx),
	})

	revisions.Informer().AddEventHandler(controller.HandleAll(impl.Enqueue))
	// Deployments, lease Services, slices and NetworkPolicies name their
	// revision in a label.
	byRevisionLabel := func(obj any) {
		if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tomb.Obj
		}
		if o, ok := obj.(interface {
			GetNamespace() string
			GetLabels() map[string]string
		}); ok {
			if name := o.GetLabels()[serving.RevisionLabelKey]; name != "" {
				impl.EnqueueKey(types.NamespacedName{Namespace: o.GetNamespace(), Name: name})
			}
		}
	}
	for _, inf := range []cache.SharedIndexInformer{deployments.Informer(), services.Informer(), slices.Informer(), networkPolicies.Informer()} {
		inf.AddEventHandler(controller.HandleAll(byRevisionLabel))
	}
	// The activator's pods and ssm-pool's replicas matter to every lease
	// Service.
	everyLeaseService := func(any) {
		list, err := services.Lister().List(labels.SelectorFromSet(labels.Set{ssm.ManagedByLabelKey: ssm.ManagedByLabelValue}))
		if err != nil {
			return
		}
		for _, svc := range list {
			byRevisionLabel(svc)
		}
	}
	activatorSlices.Informer().AddEventHandler(cache.FilteringResourceEventHandler{
		FilterFunc: func(obj any) bool {
			s, ok := obj.(*discoveryv1.EndpointSlice)
			return ok && s.Namespace == namespace
		},
		Handler: controller.HandleAll(everyLeaseService),
	})
	endpoints.Informer().AddEventHandler(cache.FilteringResourceEventHandler{
		FilterFunc: func(obj any) bool {
			e, ok := obj.(*corev1.Endpoints)
			return ok && e.Namespace == namespace && e.Name == ssm.PoolServerName
		},
		Handler: controller.HandleAll(everyLeaseService),
	})
	return impl
}
