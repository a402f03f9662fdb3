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
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
	"github.com/serverless-mesh/ssm/pkg/reconciler/proxypool/resources"
)

// PodDeletionCostAnnotationKey is Kubernetes' hint to a ReplicaSet that is
// scaling down: among otherwise equal pods it removes the cheapest first.
const PodDeletionCostAnnotationKey = "controller.kubernetes.io/pod-deletion-cost"

// LeasedPodDeletionCost marks the pod of a proxy that holds a lease; the
// annotation is absent on the others, whose cost is 0.
const LeasedPodDeletionCost = "1000"

// keepLeasedPods gives the pods of pool whose proxies hold a lease (leased,
// by pod name) a deletion cost, and takes it from those that no longer do,
// so that a scale-down removes warm proxies and never a leased one while a
// warm one is left. Only marks SSM set are removed.
func (r *Reconciler) keepLeasedPods(ctx context.Context, pool *v1alpha1.ProxyPool, leased []string) error {
	if r.podLister == nil {
		return nil
	}
	pods, err := r.podLister.Pods(pool.Namespace).List(labels.SelectorFromSet(resources.SelectorLabels(pool)))
	if err != nil {
		return fmt.Errorf("listing the pods of ProxyPool %s/%s: %w", pool.Namespace, pool.Name, err)
	}
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	for _, pod := range pods {
		have := pod.Annotations[PodDeletionCostAnnotationKey]
		var value *string
		switch {
		case slices.Contains(leased, pod.Name) && have != LeasedPodDeletionCost:
			v := LeasedPodDeletionCost
			value = &v
		case !slices.Contains(leased, pod.Name) && have == LeasedPodDeletionCost:
			value = nil // JSON null removes the annotation
		default:
			continue
		}
		if err := r.patchDeletionCost(ctx, pod, value); err != nil {
			return err
		}
	}
	return nil
}

func (r *Reconciler) patchDeletionCost(ctx context.Context, pod *corev1.Pod, value *string) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"annotations": map[string]*string{PodDeletionCostAnnotationKey: value},
	}})
	if err != nil {
		return err
	}
	if _, err := r.kubeClient.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("marking the deletion cost of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}
