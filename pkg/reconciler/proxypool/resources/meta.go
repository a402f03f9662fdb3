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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/kmeta"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	"github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
)

// Labels are on every object made for pool and on its pods. The controller's
// informers select on ssm.PoolLabelKey, so an object without it is invisible
// to them.
func Labels(pool *v1alpha1.ProxyPool) map[string]string {
	return map[string]string{
		ssm.ManagedByLabelKey: ssm.ManagedByLabelValue,
		ssm.PoolLabelKey:      pool.Name,
	}
}

// SelectorLabels select pool's pods.
func SelectorLabels(pool *v1alpha1.ProxyPool) map[string]string {
	return map[string]string{ssm.PoolLabelKey: pool.Name}
}

// objectMeta is the metadata of an object named name that pool controls, so
// that deleting the pool garbage-collects it.
func objectMeta(pool *v1alpha1.ProxyPool, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:            name,
		Namespace:       pool.Namespace,
		Labels:          Labels(pool),
		OwnerReferences: []metav1.OwnerReference{*kmeta.NewControllerRef(pool)},
	}
}
