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
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrs "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"knative.dev/pkg/kmeta"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
)

// notOwnedError stops a reconcile that would overwrite an object of the
// pool's name that the pool does not control.
type notOwnedError struct {
	kind string
	key  types.NamespacedName
}

func (e *notOwnedError) Error() string {
	return fmt.Sprintf("%s %s exists and is not owned by this ProxyPool", e.kind, e.key)
}

// objectOps is how reconcileObject reads and writes one kind.
type objectOps[T kmeta.Accessor] struct {
	kind string
	// get reads the informer cache, which holds only objects carrying the
	// pool label.
	get func(namespace, name string) (T, error)
	// fetch reads the API server, for an object the cache cannot see.
	fetch  func(ctx context.Context, namespace, name string) (T, error)
	create func(ctx context.Context, obj T) (T, error)
	update func(ctx context.Context, obj T) (T, error)
	// merge returns a copy of existing carrying what desired sets, and
	// whether that differs from existing.
	merge func(existing, desired T) (T, bool)
}

// reconcileObject makes the object desired names match desired: it creates
// it, updates it when it drifted, and writes nothing when it matches. It
// returns the object as it now is. An object of that name the pool does not
// control is never written: the result is a *notOwnedError.
func reconcileObject[T kmeta.Accessor](ctx context.Context, pool *v1alpha1.ProxyPool, ops objectOps[T], desired T) (T, error) {
	var zero T
	key := types.NamespacedName{Namespace: desired.GetNamespace(), Name: desired.GetName()}
	existing, err := ops.get(key.Namespace, key.Name)
	switch {
	case apierrs.IsNotFound(err):
		created, err := ops.create(ctx, desired)
		if err == nil {
			return created, nil
		}
		if !apierrs.IsAlreadyExists(err) {
			return zero, fmt.Errorf("creating %s %s: %w", ops.kind, key, err)
		}
		// Exists without the pool label (or the cache is behind): ask the
		// API server who owns it.
		existing, err = ops.fetch(ctx, key.Namespace, key.Name)
		if err != nil {
			return zero, fmt.Errorf("getting %s %s: %w", ops.kind, key, err)
		}
	case err != nil:
		return zero, fmt.Errorf("getting %s %s: %w", ops.kind, key, err)
	}
	if !metav1.IsControlledBy(existing, pool) {
		return zero, &notOwnedError{kind: ops.kind, key: key}
	}
	merged, changed := ops.merge(existing, desired)
	if !changed {
		return existing, nil
	}
	updated, err := ops.update(ctx, merged)
	if err != nil {
		return zero, fmt.Errorf("updating %s %s: %w", ops.kind, key, err)
	}
	return updated, nil
}

func (r *Reconciler) configMapOps() objectOps[*corev1.ConfigMap] {
	return objectOps[*corev1.ConfigMap]{
		kind: "ConfigMap",
		get: func(ns, name string) (*corev1.ConfigMap, error) {
			return r.configMapLister.ConfigMaps(ns).Get(name)
		},
		fetch: func(ctx context.Context, ns, name string) (*corev1.ConfigMap, error) {
			return r.kubeClient.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
		},
		create: func(ctx context.Context, o *corev1.ConfigMap) (*corev1.ConfigMap, error) {
			return r.kubeClient.CoreV1().ConfigMaps(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		},
		update: func(ctx context.Context, o *corev1.ConfigMap) (*corev1.ConfigMap, error) {
			return r.kubeClient.CoreV1().ConfigMaps(o.Namespace).Update(ctx, o, metav1.UpdateOptions{})
		},
		merge: mergeConfigMap,
	}
}

func (r *Reconciler) deploymentOps() objectOps[*appsv1.Deployment] {
	return objectOps[*appsv1.Deployment]{
		kind: "Deployment",
		get: func(ns, name string) (*appsv1.Deployment, error) {
			return r.deploymentLister.Deployments(ns).Get(name)
		},
		fetch: func(ctx context.Context, ns, name string) (*appsv1.Deployment, error) {
			return r.kubeClient.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		},
		create: func(ctx context.Context, o *appsv1.Deployment) (*appsv1.Deployment, error) {
			return r.kubeClient.AppsV1().Deployments(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		},
		update: func(ctx context.Context, o *appsv1.Deployment) (*appsv1.Deployment, error) {
			return r.kubeClient.AppsV1().Deployments(o.Namespace).Update(ctx, o, metav1.UpdateOptions{})
		},
		merge: mergeDeployment,
	}
}

func (r *Reconciler) serviceOps() objectOps[*corev1.Service] {
	return objectOps[*corev1.Service]{
		kind: "Service",
		get: func(ns, name string) (*corev1.Service, error) {
			return r.serviceLister.Services(ns).Get(name)
		},
		fetch: func(ctx context.Context, ns, name string) (*corev1.Service, error) {
			return r.kubeClient.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		},
		create: func(ctx context.Context, o *corev1.Service) (*corev1.Service, error) {
			return r.kubeClient.CoreV1().Services(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		},
		update: func(ctx context.Context, o *corev1.Service) (*corev1.Service, error) {
			return r.kubeClient.CoreV1().Services(o.Namespace).Update(ctx, o, metav1.UpdateOptions{})
		},
		merge: mergeService,
	}
}

func (r *Reconciler) podDisruptionBudgetOps() objectOps[*policyv1.PodDisruptionBudget] {
	return objectOps[*policyv1.PodDisruptionBudget]{
		kind: "PodDisruptionBudget",
		get: func(ns, name string) (*policyv1.PodDisruptionBudget, error) {
			return r.pdbLister.PodDisruptionBudgets(ns).Get(name)
		},
		fetch: func(ctx context.Context, ns, name string) (*policyv1.PodDisruptionBudget, error) {
			return r.kubeClient.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, name, metav1.GetOptions{})
		},
		create: func(ctx context.Context, o *policyv1.PodDisruptionBudget) (*policyv1.PodDisruptionBudget, error) {
			return r.kubeClient.PolicyV1().PodDisruptionBudgets(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		},
		update: func(ctx context.Context, o *policyv1.PodDisruptionBudget) (*policyv1.PodDisruptionBudget, error) {
			return r.kubeClient.PolicyV1().PodDisruptionBudgets(o.Namespace).Update(ctx, o, metav1.UpdateOptions{})
		},
		merge: mergePodDisruptionBudget,
	}
}
