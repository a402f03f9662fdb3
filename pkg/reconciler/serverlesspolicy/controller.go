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

package serverlesspolicy

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/kmeta"
	"knative.dev/pkg/logging"
	pkgreconciler "knative.dev/pkg/reconciler"
	revisioninformer "knative.dev/serving/pkg/client/injection/informers/serving/v1/revision"
	knserviceinformer "knative.dev/serving/pkg/client/injection/informers/serving/v1/service"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	policyinformer "github.com/serverless-mesh/ssm/pkg/client/injection/informers/ssm/v1alpha1/serverlesspolicy"
	policyreconciler "github.com/serverless-mesh/ssm/pkg/client/injection/reconciler/ssm/v1alpha1/serverlesspolicy"
	destinationruleinformer "github.com/serverless-mesh/ssm/pkg/client/istio/injection/informers/networking/v1beta1/destinationrule"
	"github.com/serverless-mesh/ssm/pkg/config"
)

// NewController wires the ServerlessPolicy reconciler.
func NewController(ctx context.Context, cmw configmap.Watcher) *controller.Impl {
	logger := logging.FromContext(ctx)
	policyInformer := policyinformer.Get(ctx)
	serviceInformer := knserviceinformer.Get(ctx)
	revisionInformer := revisioninformer.Get(ctx)
	drInformer := destinationruleinformer.Get(ctx)

	r := &Reconciler{
		policyLister:     policyInformer.Lister(),
		serviceLister:    serviceInformer.Lister(),
		revisionLister:   revisionInformer.Lister(),
		destinationRules: drInformer.Lister(),
		now:              metav1.Now,
	}
	impl := policyreconciler.NewImpl(ctx, r, func(impl *controller.Impl) controller.Options {
		store := config.NewStore(logger.Named("config-store"), configmap.TypeFilter(&config.SSM{})(func(string, interface{}) {
			impl.GlobalResync(policyInformer.Informer())
		}))
		store.WatchConfigs(cmw)
		return controller.Options{ConfigStore: store}
	})

	// A policy's selection and conflicts change with any policy, Service or
	// Revision in its namespace: re-reconcile every policy there.
	enqueueNamespace := func(obj interface{}) {
		acc, err := kmeta.DeletionHandlingAccessor(obj)
		if err != nil {
			return
		}
		policies, err := policyInformer.Lister().ServerlessPolicies(acc.GetNamespace()).List(labels.Everything())
		if err != nil {
			return
		}
		for _, p := range policies {
			impl.EnqueueKey(types.NamespacedName{Namespace: p.Namespace, Name: p.Name})
		}
	}
	policyInformer.Informer().AddEventHandler(controller.HandleAll(enqueueNamespace))
	serviceInformer.Informer().AddEventHandler(controller.HandleAll(enqueueNamespace))
	revisionInformer.Informer().AddEventHandler(controller.HandleAll(enqueueNamespace))
	// PolicyApplied follows the routes: SSM's DestinationRules say which
	// policy generation each routed revision was resolved with.
	drInformer.Informer().AddEventHandler(cache.FilteringResourceEventHandler{
		FilterFunc: pkgreconciler.LabelFilterFunc(ssm.ManagedByLabelKey, ssm.ManagedByLabelValue, false),
		Handler:    controller.HandleAll(enqueueNamespace),
	})
	return impl
}
