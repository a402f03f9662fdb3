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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	"knative.dev/pkg/kmeta"
)

// ServerlessPolicy declares the lifecycle policy of the Knative Services it
// selects. ssm.dev/* annotations on a Revision take precedence over it, and it
// takes precedence over the defaults in config-ssm.
//
// +genclient
// +genreconciler
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type ServerlessPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ServerlessPolicySpec   `json:"spec,omitempty"`
	Status ServerlessPolicyStatus `json:"status,omitempty"`
}

var (
	_ apis.Validatable   = (*ServerlessPolicy)(nil)
	_ apis.Defaultable   = (*ServerlessPolicy)(nil)
	_ kmeta.OwnerRefable = (*ServerlessPolicy)(nil)
	_ duckv1.KRShaped    = (*ServerlessPolicy)(nil)
)

// ServerlessPolicySpec is the desired policy. Every field but Selector is
// optional; an unset field falls through to config-ssm's default.
type ServerlessPolicySpec struct {
	// Selector picks the Knative Services (by their labels, in the policy's
	// namespace) whose revisions this policy governs. An empty selector
	// selects every Service in the namespace.
	Selector metav1.LabelSelector `json:"selector"`

	// Lifecycle is "auto", "short-lived" or "long-lived".
	// +optional
	Lifecycle string `json:"lifecycle,omitempty"`

	// Timeout is the route timeout (a Go duration, e.g. "2s"). It is always
	// capped by the revision's own timeoutSeconds.
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Retries is the number of retries (≥ 0). Retries only ever happen on
	// connection failures and refused streams, never on responses.
	// +optional
	Retries *int32 `json:"retries,omitempty"`

	// MTLSMode is "lightweight" (mTLS terminated by the queue-proxy plugin)
	// or "full" (an Istio sidecar in STRICT mode).
	// +optional
	MTLSMode string `json:"mtlsMode,omitempty"`

	// ProxyPool names the ProxyPool that cold starts lease from, or "none".
	// +optional
	ProxyPool string `json:"proxyPool,omitempty"`

	// ConnectionPool overrides the DestinationRule connection pool.
	// +optional
	ConnectionPool *ConnectionPoolSpec `json:"connectionPool,omitempty"`

	// OutlierDetection overrides the DestinationRule outlier detection.
	// +optional
	OutlierDetection *OutlierDetectionSpec `json:"outlierDetection,omitempty"`
}

// ConnectionPoolSpec bounds the connections and requests from the gateway to
// one revision. Unset fields keep the lifecycle class's default.
type ConnectionPoolSpec struct {
	// MaxConnections bounds TCP connections to the revision.
	// +optional
	MaxConnections *int32 `json:"maxConnections,omitempty"`
	// MaxPendingRequests bounds requests queued while waiting for a connection.
	// +optional
	MaxPendingRequests *int32 `json:"maxPendingRequests,omitempty"`
	// MaxRequestsPerConnection bounds requests per connection (1 disables keep-alive).
	// +optional
	MaxRequestsPerConnection *int32 `json:"maxRequestsPerConnection,omitempty"`
	// IdleTimeout closes upstream connections idle for this long.
	// +optional
	IdleTimeout *metav1.Duration `json:"idleTimeout,omitempty"`
}

// OutlierDetectionSpec ejects failing endpoints of a revision.
// Unset fields keep the lifecycle class's default.
type OutlierDetectionSpec struct {
	// ConsecutiveGatewayErrors (502, 503, 504 or a failed connection) before an
	// endpoint is ejected; 0 disables ejection. Application 5xx never eject: the
	// endpoint may be the activator, which passes them through.
	// +optional
	ConsecutiveGatewayErrors *int32 `json:"consecutiveGatewayErrors,omitempty"`
	// Interval between ejection sweeps.
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`
	// BaseEjectionTime is the minimum ejection duration.
	// +optional
	BaseEjectionTime *metav1.Duration `json:"baseEjectionTime,omitempty"`
	// MaxEjectionPercent bounds the share of endpoints ejected at once (0–100).
	// +optional
	MaxEjectionPercent *int32 `json:"maxEjectionPercent,omitempty"`
}

// ServerlessPolicyStatus reports what the policy resolved to and where it applies.
type ServerlessPolicyStatus struct {
	duckv1.Status `json:",inline"`

	// LastUpdated is when the resolved policy last changed.
	// +optional
	LastUpdated *metav1.Time `json:"lastUpdated,omitempty"`

	// Resolved is the concrete policy this spec yields, defaults filled in.
	// +optional
	Resolved *ResolvedPolicy `json:"resolved,omitempty"`

	// Revisions are the revisions (by name) this policy currently governs,
	// sorted. Revisions whose own ssm.dev/* annotations override a field
	// still appear here.
	// +optional
	Revisions []string `json:"revisions,omitempty"`
}

// ResolvedPolicy is a concrete policy, as reported in status.
type ResolvedPolicy struct {
	Lifecycle string `json:"lifecycle"`
	// Timeout is empty when no route timeout is set.
	// +optional
	Timeout string `json:"timeout,omitempty"`
	Retries int32  `json:"retries"`
	// +optional
	RetryOn  string `json:"retryOn,omitempty"`
	MTLSMode string `json:"mtlsMode"`
	// +optional
	ProxyPool string `json:"proxyPool,omitempty"`
}

// ServerlessPolicyList is a list of ServerlessPolicy.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type ServerlessPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata"`

	Items []ServerlessPolicy `json:"items"`
}

// GetStatus retrieves the status of the ServerlessPolicy. Implements the KRShaped interface.
func (p *ServerlessPolicy) GetStatus() *duckv1.Status {
	return &p.Status.Status
}
