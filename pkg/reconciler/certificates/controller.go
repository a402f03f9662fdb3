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

package certificates

import (
	"context"
	"os"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
	kubeclient "knative.dev/pkg/client/injection/kube/client"
	deploymentfilteredinformer "knative.dev/pkg/client/injection/kube/informers/apps/v1/deployment/filtered"
	secretfilteredinformer "knative.dev/pkg/client/injection/kube/informers/core/v1/secret/filtered"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/logging"
	pkgreconciler "knative.dev/pkg/reconciler"
	"knative.dev/pkg/system"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	"github.com/serverless-mesh/ssm/pkg/identity"
)

// SecretLabelSelector selects the Secrets SSM itself makes. cmd/controller
// registers it with the filtered informer factory.
const SecretLabelSelector = ssm.ManagedByLabelKey + "=" + ssm.ManagedByLabelValue

// TrustDomainEnv names the environment variable with the SPIFFE trust domain
// of every identity SSM issues; DefaultTrustDomain when unset.
const TrustDomainEnv = "SSM_TRUST_DOMAIN"

// DefaultTrustDomain is Kubernetes' and Istio's default.
const DefaultTrustDomain = "cluster.local"

// TrustDomain is the configured trust domain.
func TrustDomain() string {
	if td := os.Getenv(TrustDomainEnv); td != "" {
		return td
	}
	return DefaultTrustDomain
}

// NewController wires the certificates reconciler. Its work queue holds one
// key: every change to an SSM Secret in the system namespace, and a timer,
// lead to one look at all of them.
func NewController(ctx context.Context, _ configmap.Watcher) *controller.Impl {
	secretInformer := secretfilteredinformer.Get(ctx, SecretLabelSelector)
	namespace := system.Namespace()
	r := &Reconciler{
		kube:        kubeclient.Get(ctx),
		secrets:     secretInformer.Lister(),
		namespace:   namespace,
		trustDomain: TrustDomain(),
		clock:       clock.RealClock{},
	}
	caKey := r.caKey()
	// The new leader of the CA key looks at every Secret at once.
	r.PromoteFunc = func(bkt pkgreconciler.Bucket, enq func(pkgreconciler.Bucket, types.NamespacedName)) error {
		enq(bkt, caKey)
		return nil
	}
	impl := controller.NewContext(ctx, r, controller.ControllerOptions{
		WorkQueueName: "Certificates",
		Logger:        logging.FromContext(ctx),
	})
	enqueue := func(any) { impl.EnqueueKey(caKey) }
	secretInformer.Informer().AddEventHandler(cache.FilteringResourceEventHandler{
		FilterFunc: func(obj any) bool {
			s, ok := obj.(*corev1.Secret)
			return ok && r.manages(s.Namespace, s.Name)
		},
		Handler: controller.HandleAll(enqueue),
	})
	impl.EnqueueKey(caKey)
	return impl
}

func (r *Reconciler) manages(namespace, name string) bool {
	if namespace == identity.CANamespace {
		return name == identity.CASecretName
	}
	if namespace != r.namespace {
		return false
	}
	for _, leaf := range r.Leaves() {
		if leaf.Secret == name {
			return true
		}
	}
	return false
}

// RevisionDeploymentSelector selects Knative revision Deployments for the
// filtered informer of the workload certificate controller.
const RevisionDeploymentSelector = "serving.knative.dev/revision"

// NewWorkloadController wires the workload certificate reconciler.
func NewWorkloadController(ctx context.Context, _ configmap.Watcher) *controller.Impl {
	deploymentInformer := deploymentfilteredinformer.Get(ctx, RevisionDeploymentSelector)
	secretInformer := secretfilteredinformer.Get(ctx, SecretLabelSelector)
	deployments := deploymentInformer.Lister()
	r := &WorkloadReconciler{
		LeaderAwareFuncs: pkgreconciler.LeaderAwareFuncs{
			// The new leader of a bucket issues what its Deployments need:
			// their events may have gone to the previous leader.
			PromoteFunc: func(bkt pkgreconciler.Bucket, enq func(pkgreconciler.Bucket, types.NamespacedName)) error {
				return enqueueCertifiedDeployments(deployments, bkt, enq)
			},
		},
		kube:        kubeclient.Get(ctx),
		deployments: deployments,
		secrets:     secretInformer.Lister(),
		trustDomain: TrustDomain(),
		clock:       clock.RealClock{},
	}
	impl := controller.NewContext(ctx, r, controller.ControllerOptions{
		WorkQueueName: "WorkloadCertificates",
		Logger:        logging.FromContext(ctx),
	})
	deploymentInformer.Informer().AddEventHandler(controller.HandleAll(impl.Enqueue))
	// A new trust bundle (a CA rotation) must reach every workload
	// certificate before the new CA signs.
	secretInformer.Informer().AddEventHandler(cache.FilteringResourceEventHandler{
		FilterFunc: identity.IsCASecret,
		Handler: controller.HandleAll(func(any) {
			impl.GlobalResync(deploymentInformer.Informer())
		}),
	})
	return impl
}
