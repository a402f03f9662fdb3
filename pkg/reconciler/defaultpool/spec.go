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
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	"github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
)

const (
	// CreatedByAnnotationKey marks a ProxyPool this package created, so a
	// user who finds a pool they never applied can tell where it came from.
	CreatedByAnnotationKey = ssm.GroupName + "/created-by"
	// CreatedByController is CreatedByAnnotationKey's value.
	CreatedByController = "ssm-controller"
)

// Spec is the spec of a pool this package creates. Its values are those
// config/510-proxypool-default.yaml installed before the controller made the
// pool, kept so that a fresh install gets the same pool as before. The image
// is an Envoy whose xDS API matches the protos ssm-pool is built with: the
// API has no default for it, because the Envoy build is an installation
// choice. Every other field is written out even where it equals the API's
// default, so that the created object shows users what they may edit.
func Spec() v1alpha1.ProxyPoolSpec {
	return v1alpha1.ProxyPoolSpec{
		Image:       "envoyproxy/envoy:v1.37.0",
		MinSize:     ptr.To[int32](2),
		MaxSize:     ptr.To[int32](10),
		IdleTimeout: &metav1.Duration{Duration: v1alpha1.DefaultProxyPoolIdleTimeout},
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("50m"),
				corev1.ResourceMemory: resource.MustParse("64Mi"),
			},
			Limits: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("1"),
				corev1.ResourceMemory: resource.MustParse("256Mi"),
			},
		},
		Sizing: v1alpha1.ProxyPoolSizing{
			Policy:          v1alpha1.SizingHistory,
			HeadroomPercent: ptr.To[int32](25),
		},
	}
}

// makePool returns the ProxyPool namespace/name that this package creates.
func makePool(namespace, name string) *v1alpha1.ProxyPool {
	return &v1alpha1.ProxyPool{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: namespace,
			Labels: map[string]string{
				"app.kubernetes.io/name":      "ssm",
				"app.kubernetes.io/component": "proxy",
			},
			Annotations: map[string]string{
				CreatedByAnnotationKey: CreatedByController,
			},
		},
		Spec: Spec(),
	}
}
