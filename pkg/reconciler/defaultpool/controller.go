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

package defaultpool

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/logging"
	"knative.dev/pkg/system"

	ssmclient "github.com/serverless-mesh/ssm/pkg/client/injection/client"
	proxypoolinformer "github.com/serverless-mesh/ssm/pkg/client/injection/informers/ssm/v1alpha1/proxypool"
	"github.com/serverless-mesh/ssm/pkg/config"
)

// NewController returns the controller that creates the pools config-ssm
// names in the system namespace. config-ssm is watched without a default,
// as the KIngress reconciler's store watches it: a default registered here
// would apply to every watcher of config-ssm in the process, turning a
// deleted config-ssm into built-in defaults for the KIngress reconciler too.
// sharedmain therefore starts the controller only once config-ssm exists;
// until it has been read, the built-in defaults apply.
func NewController(ctx context.Context, cmw configmap.Watcher) *controller.Impl {
	namespace := system.Namespace()
	poolInformer := proxypoolinformer.Get(ctx)
	r := newReconciler(namespace, ssmclient.Get(ctx), poolInformer.Lister())

	const queueName = "DefaultProxyPool"
	logger := logging.FromContext(ctx).Named(queueName)
	impl := controller.NewContext(ctx, r, controller.ControllerOptions{WorkQueueName: queueName, Logger: logger})

	// Deleting a pool is the only change to pools that can leave one
	// missing; adding or editing one never calls for a create.
	poolInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		DeleteFunc: func(obj interface{}) {
			if inNamespace(obj, namespace) {
				impl.EnqueueKey(r.key)
			}
		},
	})
	cmw.Watch(config.SSMConfigName, func(cm *corev1.ConfigMap) {
		r.setConfig(cm)
		impl.EnqueueKey(r.key)
	})
	return impl
}

// inNamespace says whether a deleted object, possibly only known from its
// tombstone, was in namespace.
func inNamespace(obj interface{}, namespace string) bool {
	if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	m, ok := obj.(metav1.Object)
	return ok && m.GetNamespace() == namespace
}
