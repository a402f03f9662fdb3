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

package proxypool

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	kubeclient "knative.dev/pkg/client/injection/kube/client"
	deploymentinformer "knative.dev/pkg/client/injection/kube/informers/apps/v1/deployment/filtered"
	configmapinformer "knative.dev/pkg/client/injection/kube/informers/core/v1/configmap/filtered"
	podinformer "knative.dev/pkg/client/injection/kube/informers/core/v1/pod/filtered"
	secretinformer "knative.dev/pkg/client/injection/kube/informers/core/v1/secret/filtered"
	serviceinformer "knative.dev/pkg/client/injection/kube/informers/core/v1/service/filtered"
	serviceaccountinformer "knative.dev/pkg/client/injection/kube/informers/core/v1/serviceaccount/filtered"
	pdbinformer "knative.dev/pkg/client/injection/kube/informers/policy/v1/poddisruptionbudget/filtered"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/injection"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	"github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
	proxypoolinformer "github.com/serverless-mesh/ssm/pkg/client/injection/informers/ssm/v1alpha1/proxypool"
	proxypoolreconciler "github.com/serverless-mesh/ssm/pkg/client/injection/reconciler/ssm/v1alpha1/proxypool"
	"github.com/serverless-mesh/ssm/pkg/identity"
	"github.com/serverless-mesh/ssm/pkg/reconciler/proxypool/resources"
)

// ObjectLabelSelector selects what the reconciler makes for pools: it
// watches ConfigMaps, Deployments, Services and PodDisruptionBudgets through
// informers filtered on it, not every one in the cluster. cmd/controller
// registers it with the filtered informer factory.
const ObjectLabelSelector = ssm.PoolLabelKey

// IdentityLabelSelector selects the Secrets SSM issues (its CA and the
// pools' certificates); cmd/controller registers it too.
const IdentityLabelSelector = ssm.ManagedByLabelKey + "=" + ssm.ManagedByLabelValue

// NewController returns the constructor of the ProxyPool controller.
// cfg says where ssm-pool is; sizer is the sizing model for History pools;
// stats reads the pools' counts from ssm-pool. A nil sizer keeps History
// pools at minSize, a nil stats leaves ProxiesWarm Unknown.
func NewController(cfg resources.Config, sizer Sizer, stats StatsReader) injection.ControllerConstructor {
	return func(ctx context.Context, _ configmap.Watcher) *controller.Impl {
		poolInformer := proxypoolinformer.Get(ctx)
		configMapInformer := configmapinformer.Get(ctx, ObjectLabelSelector)
		deploymentInformer := deploymentinformer.Get(ctx, ObjectLabelSelector)
		serviceInformer := serviceinformer.Get(ctx, ObjectLabelSelector)
		pdbInformer := pdbinformer.Get(ctx, ObjectLabelSelector)
		serviceAccountInformer := serviceaccountinformer.Get(ctx, ObjectLabelSelector)
		// The pools' pods, to mark those whose proxies hold a lease.
		podInformer := podinformer.Get(ctx, ObjectLabelSelector)
		// SSM's own Secrets (the CA and every certificate it issues).
		secretInformer := secretinformer.Get(ctx, IdentityLabelSelector)

		r := &Reconciler{
			kubeClient:           kubeclient.Get(ctx),
			configMapLister:      configMapInformer.Lister(),
			deploymentLister:     deploymentInformer.Lister(),
			serviceLister:        serviceInformer.Lister(),
			pdbLister:            pdbInformer.Lister(),
			secretLister:         secretInformer.Lister(),
			serviceAccountLister: serviceAccountInformer.Lister(),
			podLister:            podInformer.Lister(),
			cfg:                  cfg,
			sizer:                sizer,
			stats:                stats,
			now:                  time.Now,
		}
		r.ensureIdentity = r.ensurePoolIdentity
		impl := proxypoolreconciler.NewImpl(ctx, r)
		r.enqueueAfter = func(pool types.NamespacedName, after time.Duration) {
			impl.EnqueueKeyAfter(pool, after)
		}

		poolInformer.Informer().AddEventHandler(controller.HandleAll(impl.Enqueue))
		owned := cache.FilteringResourceEventHandler{
			FilterFunc: controller.FilterController(&v1alpha1.ProxyPool{}),
			Handler:    controller.HandleAll(impl.EnqueueControllerOf),
		}
		for _, inf := range []cache.SharedIndexInformer{
			configMapInformer.Informer(),
			deploymentInformer.Informer(),
			serviceInformer.Informer(),
			pdbInformer.Informer(),
		} {
			inf.AddEventHandler(owned)
		}
		// A CA rotation's new trust bundle must reach every pool's
		// certificate before the new CA signs.
		secretInformer.Informer().AddEventHandler(cache.FilteringResourceEventHandler{
			FilterFunc: identity.IsCASecret,
			Handler: controller.HandleAll(func(any) {
				impl.GlobalResync(poolInformer.Informer())
			}),
		})
		return impl
	}
}
