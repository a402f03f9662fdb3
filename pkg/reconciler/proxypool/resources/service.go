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

package resources

import (
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	"github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
	"github.com/serverless-mesh/ssm/pkg/reconciler/proxypool/resources/names"
)

// MakeService builds the ClusterIP Service in front of pool's proxies.
func MakeService(pool *v1alpha1.ProxyPool) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: objectMeta(pool, names.Service(pool.Name)),
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: SelectorLabels(pool),
			Ports: []corev1.ServicePort{{
				Name:       ProxyPortName,
				Protocol:   corev1.ProtocolTCP,
				Port:       ssm.PoolProxyPort,
				TargetPort: intstr.FromString(ProxyPortName),
			}},
		},
	}
}

// MakePodDisruptionBudget builds the budget for voluntary evictions of pool's
// proxies. At most one is evicted at a time, so a node drain never takes a
// pool's warm proxies away at once; a leased proxy that is evicted costs its
// revision only the pool's speed-up, because the revision falls back to the
// plain Knative path. A minAvailable would block every drain of a pool of
// one; a percentage would let a large pool lose many proxies at once. Unhealthy pods may always be evicted: a
// proxy that is not Ready is not warm, and must not block a drain.
func MakePodDisruptionBudget(pool *v1alpha1.ProxyPool) *policyv1.PodDisruptionBudget {
	return &policyv1.PodDisruptionBudget{
		ObjectMeta: objectMeta(pool, names.PodDisruptionBudget(pool.Name)),
		Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable:             ptr.To(intstr.FromInt32(1)),
			Selector:                   &metav1.LabelSelector{MatchLabels: SelectorLabels(pool)},
			UnhealthyPodEvictionPolicy: ptr.To(policyv1.AlwaysAllow),
		},
	}
}
