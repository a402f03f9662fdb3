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
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	apierrs "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	appsv1listers "k8s.io/client-go/listers/apps/v1"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/logging"
	pkgreconciler "knative.dev/pkg/reconciler"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	"github.com/serverless-mesh/ssm/pkg/identity"
)

// WorkloadReconciler issues the workload certificate of every
// ServiceAccount whose revision pods run the queue-proxy plugin (their
// Deployment carries the plugin switch the webhook sets): the identity
// pooled proxies and the activator verify on the plugin's mTLS port. Only
// the leader of a Deployment's bucket issues its certificate.
type WorkloadReconciler struct {
	pkgreconciler.LeaderAwareFuncs

	kube        kubernetes.Interface
	deployments appsv1listers.DeploymentLister
	secrets     corev1listers.SecretLister
	trustDomain string
	clock       clock.PassiveClock
}

var _ pkgreconciler.LeaderAware = (*WorkloadReconciler)(nil)

// Reconcile ensures the certificate of one revision Deployment's
// ServiceAccount; a Deployment without the plugin switch needs none. The
// Secret is shared by every revision of that ServiceAccount and is never
// deleted here: another revision may still mount it. A replica that does
// not lead the Deployment's bucket writes nothing.
func (r *WorkloadReconciler) Reconcile(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return fmt.Errorf("invalid key %q: %w", key, err)
	}
	if !r.IsLeaderFor(types.NamespacedName{Namespace: ns, Name: name}) {
		return controller.NewSkipKey(key)
	}
	dep, err := r.deployments.Deployments(ns).Get(name)
	if apierrs.IsNotFound(err) {
		return nil
	} else if err != nil {
		return fmt.Errorf("getting Deployment %s: %w", key, err)
	}
	if !needsWorkloadCertificate(dep) {
		return nil
	}
	sa := identity.ServiceAccountName(dep.Spec.Template.Spec.ServiceAccountName)
	now := r.clock.Now()
	ca, err := identity.LoadCA(r.secrets, identity.CANamespace, now)
	if err != nil {
		return fmt.Errorf("SSM's CA: %w", err)
	}
	spec := identity.LeafSpec{
		ID:       identity.NewID(r.trustDomain, ns, sa),
		DNSNames: []string{sa + "." + ns + ".svc"},
		Server:   true,
	}
	secret := identity.WorkloadSecretName(sa)
	changed, err := identity.EnsureLeaf(ctx, r.kube, r.secrets, ca, ns, secret, spec, now)
	if err != nil {
		return fmt.Errorf("workload certificate %s/%s for Deployment %s: %w", ns, secret, key, err)
	}
	if changed {
		logging.FromContext(ctx).Infow("issued workload certificate", "secret", ns+"/"+secret, "identity", spec.ID.String())
	}
	return controller.NewRequeueAfter(RecheckPeriod)
}

// needsWorkloadCertificate: the Deployment's pods run the queue-proxy
// plugin, which serves mTLS with their ServiceAccount's certificate.
func needsWorkloadCertificate(dep *appsv1.Deployment) bool {
	return dep.Spec.Template.Annotations[ssm.QueueProxyPluginAnnotationKey] == "enable"
}

// enqueueCertifiedDeployments hands enq, which keeps the keys of bkt
// (knative.dev/pkg's Impl.MaybeEnqueueBucketKey), the revision Deployments
// whose pods need a workload certificate.
func enqueueCertifiedDeployments(deployments appsv1listers.DeploymentLister, bkt pkgreconciler.Bucket, enq func(pkgreconciler.Bucket, types.NamespacedName)) error {
	all, err := deployments.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("listing revision Deployments: %w", err)
	}
	for _, dep := range all {
		if needsWorkloadCertificate(dep) {
			enq(bkt, types.NamespacedName{Namespace: dep.Namespace, Name: dep.Name})
		}
	}
	return nil
}
