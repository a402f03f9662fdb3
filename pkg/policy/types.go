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

package policy

import "time"

// Lifecycle is a revision's lifecycle class.
type Lifecycle string

const (
	// LifecycleAuto classifies the revision from observed execution time.
	LifecycleAuto Lifecycle = "auto"
	// LifecycleShortLived is for functions that finish quickly (< 1 s by default).
	LifecycleShortLived Lifecycle = "short-lived"
	// LifecycleLongLived is for functions that run long (> 10 s by default).
	LifecycleLongLived Lifecycle = "long-lived"
)

// MTLSMode says who terminates mTLS in a revision's pod.
type MTLSMode string

const (
	// MTLSLightweight terminates mTLS in the queue-proxy plugin: no sidecar.
	MTLSLightweight MTLSMode = "lightweight"
	// MTLSFull keeps an Istio sidecar in STRICT mode.
	MTLSFull MTLSMode = "full"
)

// NoProxyPool is the ssm.dev/proxy-pool value that opts out of pooled proxies.
const NoProxyPool = "none"

// ConnectionPool bounds gateway→revision connections. A zero field means
// "leave Istio's default".
type ConnectionPool struct {
	MaxConnections           int32
	MaxPendingRequests       int32
	MaxRequestsPerConnection int32
	IdleTimeout              time.Duration
}

// OutlierDetection ejects endpoints that fail at the gateway level (502, 503,
// 504, connect failures). ConsecutiveGatewayErrors == 0 means
// outlier detection is off.
type OutlierDetection struct {
	ConsecutiveGatewayErrors int32
	Interval                 time.Duration
	BaseEjectionTime         time.Duration
	MaxEjectionPercent       int32
}

// Overrides are the fields a user may set, from ssm.dev/* annotations or a
// ServerlessPolicy. A nil field is "not set here": resolution falls through to
// the next source.
type Overrides struct {
	Lifecycle        *Lifecycle
	Timeout          *time.Duration
	Retries          *int32
	MTLSMode         *MTLSMode
	ProxyPool        *string
	ConnectionPool   ConnectionPoolOverrides
	OutlierDetection OutlierDetectionOverrides
}

// ConnectionPoolOverrides are optional ConnectionPool fields.
type ConnectionPoolOverrides struct {
	MaxConnections           *int32
	MaxPendingRequests       *int32
	MaxRequestsPerConnection *int32
	IdleTimeout              *time.Duration
}

// OutlierDetectionOverrides are optional OutlierDetection fields.
type OutlierDetectionOverrides struct {
	ConsecutiveGatewayErrors *int32
	Interval                 *time.Duration
	BaseEjectionTime         *time.Duration
	MaxEjectionPercent       *int32
}

// ClassDefaults is what one lifecycle class gets when nothing overrides it.
type ClassDefaults struct {
	// Retries and RetryOn of the route. Retries == 0 turns retries off.
	Retries int32
	RetryOn string
	// MTLSMode of the class.
	MTLSMode MTLSMode
	// ProxyPool of the class ("" or NoProxyPool: no pooled proxy).
	ProxyPool        string
	ConnectionPool   ConnectionPool
	OutlierDetection OutlierDetection
}

// Defaults come from config-ssm.
type Defaults struct {
	// Lifecycle a revision gets when neither its annotations nor a
	// ServerlessPolicy declare one.
	Lifecycle Lifecycle
	// ShortLivedThreshold and LongLivedThreshold classify "auto" revisions by
	// observed p99 execution time; between them the previous class is kept.
	ShortLivedThreshold time.Duration
	LongLivedThreshold  time.Duration
	// TimeoutMultiplier × observed p99 is the derived route timeout
	// (never below MinTimeout, never above the revision's timeoutSeconds).
	TimeoutMultiplier float64
	MinTimeout        time.Duration
	// MinSamples is how many observations "auto" needs before it trusts them.
	MinSamples int
	// AutoInitial is the class an "auto" revision gets before it has
	// MinSamples observations and no previous class.
	AutoInitial Lifecycle
	ShortLived  ClassDefaults
	LongLived   ClassDefaults
}

// Observation summarises a revision's observed request durations.
type Observation struct {
	P50     time.Duration
	P99     time.Duration
	Samples int
}

// Observer supplies observed execution times. The autoscaler hook's History
// (pkg/reconciler/lifecycle) implements it; NoObservations stands in where
// nothing is observed.
type Observer interface {
	// Observe returns the observation for namespace/revision, and false when
	// there is none.
	Observe(namespace, revision string) (Observation, bool)
}

// Source names where a resolved value came from, for status and events.
type Source string

const (
	SourceAnnotation Source = "annotation"
	SourcePolicy     Source = "ServerlessPolicy"
	SourceDefault    Source = "config-ssm"
	SourceObserved   Source = "observed"
	// SourceRevision is the revision's own timeoutSeconds: the route timeout
	// when nothing declares one and nothing has been observed.
	SourceRevision Source = "Revision"
)

// Keys of Policy.Sources, one for each resolved field whose origin is reported.
const (
	SourceKeyLifecycle = "Lifecycle"
	SourceKeyTimeout   = "Timeout"
	SourceKeyRetries   = "Retries"
	SourceKeyMTLSMode  = "MTLSMode"
	SourceKeyProxyPool = "ProxyPool"
)

// Policy is the concrete, resolved policy of one revision. It is what the
// KIngress reconciler turns into Istio objects.
type Policy struct {
	// Declared is the class that was asked for (may be LifecycleAuto).
	Declared Lifecycle
	// Lifecycle is the concrete class: short-lived or long-lived.
	Lifecycle Lifecycle
	// Timeout is the route timeout; 0 means no route timeout.
	Timeout time.Duration
	// TimeoutCapped is true when the declared or derived timeout was longer
	// than the revision's timeoutSeconds and was cut down to it.
	TimeoutCapped bool
	// Retries and RetryOn; Retries == 0 means retries are off.
	Retries int32
	RetryOn string
	// PerTryTimeout bounds each attempt when retries are on; 0 = unset.
	PerTryTimeout    time.Duration
	MTLSMode         MTLSMode
	ProxyPool        string
	ConnectionPool   ConnectionPool
	OutlierDetection OutlierDetection
	// Sources records where each of Lifecycle, Timeout, Retries, MTLSMode and
	// ProxyPool came from, keyed by those names.
	Sources map[string]Source
	// ServerlessPolicy is "name/generation" of the ServerlessPolicy this
	// policy was resolved with, empty without one: what the routes carry,
	// so that the policy's status can tell when they carry its current spec.
	ServerlessPolicy string
}

// Input is everything Resolve needs for one revision.
type Input struct {
	// Annotations are the revision's parsed ssm.dev/* annotations.
	Annotations Overrides
	// Policy is the selecting ServerlessPolicy's spec, if any.
	Policy *Overrides
	// Defaults from config-ssm.
	Defaults Defaults
	// RevisionTimeout is the revision's timeoutSeconds; 0 = unknown.
	RevisionTimeout time.Duration
	// Observation, when present, drives "auto" and derived timeouts.
	Observation *Observation
	// Previous is the class last applied, for hysteresis ("" if none).
	Previous Lifecycle
}
