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

package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	"knative.dev/pkg/kmeta"
)

// ProxyPool is a pool of warm Envoy proxies, fed by ssm-pool's xDS server,
// that revisions lease while they scale from zero.
//
// +genclient
// +genreconciler
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type ProxyPool struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ProxyPoolSpec   `json:"spec,omitempty"`
	Status ProxyPoolStatus `json:"status,omitempty"`
}

var (
	_ apis.Validatable   = (*ProxyPool)(nil)
	_ apis.Defaultable   = (*ProxyPool)(nil)
	_ kmeta.OwnerRefable = (*ProxyPool)(nil)
	_ duckv1.KRShaped    = (*ProxyPool)(nil)
)

// SizingPolicy says how the pool's size between MinSize and MaxSize is chosen.
type SizingPolicy string

const (
	// SizingFixed keeps the pool at MinSize.
	SizingFixed SizingPolicy = "Fixed"
	// SizingHistory sizes the pool from invocation history.
	SizingHistory SizingPolicy = "History"
)

// ProxyPoolSpec is the desired pool.
type ProxyPoolSpec struct {
	// MinSize is the number of warm proxies kept even with no traffic (≥ 0).
	// +optional
	MinSize *int32 `json:"minSize,omitempty"`
	// MaxSize bounds the pool (≥ 1, ≥ MinSize).
	// +optional
	MaxSize *int32 `json:"maxSize,omitempty"`
	// Image is the Envoy image the pool's pods run.
	Image string `json:"image"`
	// Resources of each Envoy container.
	// +optional
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`
	// IdleTimeout returns a leased proxy to the pool after this long without
	// traffic or renewal. Default 5m.
	// +optional
	IdleTimeout *metav1.Duration `json:"idleTimeout,omitempty"`
	// Sizing chooses the sizing policy.
	// +optional
	Sizing ProxyPoolSizing `json:"sizing,omitempty"`
}

// ProxyPoolSizing configures the sizing model.
type ProxyPoolSizing struct {
	// Policy is "Fixed" or "History" (default).
	// +optional
	Policy SizingPolicy `json:"policy,omitempty"`
	// HeadroomPercent is added on top of the predicted concurrent cold starts
	// (0–1000, default 25).
	// +optional
	HeadroomPercent *int32 `json:"headroomPercent,omitempty"`
}

// ProxyPoolStatus counts the pool's proxies.
type ProxyPoolStatus struct {
	duckv1.Status `json:",inline"`

	// Replicas is the size the pool is being driven to.
	// +optional
	Replicas int32 `json:"replicas"`
	// ReadyProxies have a running, ready Envoy.
	// +optional
	ReadyProxies int32 `json:"readyProxies"`
	// WarmProxies have ACKed their base configuration and hold no lease.
	// +optional
	WarmProxies int32 `json:"warmProxies"`
	// LeasedProxies currently serve a revision.
	// +optional
	LeasedProxies int32 `json:"leasedProxies"`
	// LastScaleReason says why Replicas last changed.
	// +optional
	LastScaleReason string `json:"lastScaleReason,omitempty"`
}

// ProxyPoolList is a list of ProxyPool.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type ProxyPoolList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata"`

	Items []ProxyPool `json:"items"`
}

// GetStatus retrieves the status of the ProxyPool. Implements the KRShaped interface.
func (p *ProxyPool) GetStatus() *duckv1.Status {
	return &p.Status.Status
}
