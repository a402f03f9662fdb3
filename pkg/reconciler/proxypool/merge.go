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
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/kmeta"
)

// Drift is judged with equality.Semantic.DeepDerivative(desired, existing):
// the fields a builder leaves empty are the ones the API server defaults
// (clusterIP, terminationMessagePath, probe thresholds, ...), and comparing
// them would rewrite every object on every reconcile. The cost is that a
// field a builder sets can be seen emptied only where it is compared
// exactly; resources, which a user may remove from the spec, are.

// mergeMeta merges desired's labels and annotations into existing's (keys
// other writers added are kept) and says whether that changes them.
func mergeMeta(existing, desired metav1.ObjectMeta) (labels, annotations map[string]string, changed bool) {
	labels = kmeta.UnionMaps(existing.Labels, desired.Labels)
	annotations = kmeta.UnionMaps(existing.Annotations, desired.Annotations)
	changed = !equality.Semantic.DeepEqual(labels, existing.Labels) ||
		!equality.Semantic.DeepEqual(annotations, existing.Annotations)
	return labels, annotations, changed
}

func mergeConfigMap(existing, desired *corev1.ConfigMap) (*corev1.ConfigMap, bool) {
	labels, annotations, metaChanged := mergeMeta(existing.ObjectMeta, desired.ObjectMeta)
	if !metaChanged && equality.Semantic.DeepEqual(existing.Data, desired.Data) && len(existing.BinaryData) == 0 {
		return existing, false
	}
	out := existing.DeepCopy()
	out.Labels, out.Annotations = labels, annotations
	out.Data = desired.Data
	out.BinaryData = nil
	return out, true
}

func mergeDeployment(existing, desired *appsv1.Deployment) (*appsv1.Deployment, bool) {
	labels, annotations, metaChanged := mergeMeta(existing.ObjectMeta, desired.ObjectMeta)
	if !metaChanged &&
		equality.Semantic.DeepDerivative(desired.Spec, existing.Spec) &&
		sameResources(desired.Spec.Template.Spec.Containers, existing.Spec.Template.Spec.Containers) {
		return existing, false
	}
	out := existing.DeepCopy()
	out.Labels, out.Annotations = labels, annotations
	out.Spec.Replicas = desired.Spec.Replicas
	out.Spec.Selector = desired.Spec.Selector
	out.Spec.Strategy = desired.Spec.Strategy
	// The template's metadata is merged, not replaced: replacing it would
	// drop `kubectl rollout restart`'s annotation and restart the pods.
	template := desired.Spec.Template.DeepCopy()
	template.Labels, template.Annotations, _ = mergeMeta(existing.Spec.Template.ObjectMeta, desired.Spec.Template.ObjectMeta)
	out.Spec.Template = *template
	return out, true
}

// sameResources compares the containers' resources exactly: a limit removed
// from the ProxyPool must be removed from the pods.
func sameResources(desired, existing []corev1.Container) bool {
	if len(desired) != len(existing) {
		return false
	}
	for i := range desired {
		if !equality.Semantic.DeepEqual(desired[i].Resources, existing[i].Resources) {
			return false
		}
	}
	return true
}

func mergeService(existing, desired *corev1.Service) (*corev1.Service, bool) {
	labels, annotations, metaChanged := mergeMeta(existing.ObjectMeta, desired.ObjectMeta)
	if !metaChanged && equality.Semantic.DeepDerivative(desired.Spec, existing.Spec) {
		return existing, false
	}
	out := existing.DeepCopy()
	out.Labels, out.Annotations = labels, annotations
	// clusterIP and the other allocated fields are kept.
	out.Spec.Type = desired.Spec.Type
	out.Spec.Selector = desired.Spec.Selector
	out.Spec.Ports = desired.Spec.Ports
	return out, true
}

func mergePodDisruptionBudget(existing, desired *policyv1.PodDisruptionBudget) (*policyv1.PodDisruptionBudget, bool) {
	labels, annotations, metaChanged := mergeMeta(existing.ObjectMeta, desired.ObjectMeta)
	if !metaChanged && equality.Semantic.DeepDerivative(desired.Spec, existing.Spec) {
		return existing, false
	}
	out := existing.DeepCopy()
	out.Labels, out.Annotations = labels, annotations
	out.Spec = desired.Spec
	return out, true
}
