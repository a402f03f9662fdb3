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
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/serverless-mesh/ssm/pkg/policy"
)

// Overrides converts the spec into the form pkg/policy resolves and validates.
// An empty string or a nil pointer is "not set" and stays nil, so that
// resolution falls through to config-ssm. The result shares no memory with
// the spec: the resolver may keep it after the informer's copy changes.
// Values are converted, not checked; Validate reports bad ones.
func (s *ServerlessPolicySpec) Overrides() policy.Overrides {
	o := policy.Overrides{
		Timeout: durationPtr(s.Timeout),
		Retries: int32Ptr(s.Retries),
	}
	if s.Lifecycle != "" {
		l := policy.Lifecycle(s.Lifecycle)
		o.Lifecycle = &l
	}
	if s.MTLSMode != "" {
		m := policy.MTLSMode(s.MTLSMode)
		o.MTLSMode = &m
	}
	if s.ProxyPool != "" {
		p := s.ProxyPool
		o.ProxyPool = &p
	}
	if cp := s.ConnectionPool; cp != nil {
		o.ConnectionPool = policy.ConnectionPoolOverrides{
			MaxConnections:           int32Ptr(cp.MaxConnections),
			MaxPendingRequests:       int32Ptr(cp.MaxPendingRequests),
			MaxRequestsPerConnection: int32Ptr(cp.MaxRequestsPerConnection),
			IdleTimeout:              durationPtr(cp.IdleTimeout),
		}
	}
	if od := s.OutlierDetection; od != nil {
		o.OutlierDetection = policy.OutlierDetectionOverrides{
			ConsecutiveGatewayErrors: int32Ptr(od.ConsecutiveGatewayErrors),
			Interval:                 durationPtr(od.Interval),
			BaseEjectionTime:         durationPtr(od.BaseEjectionTime),
			MaxEjectionPercent:       int32Ptr(od.MaxEjectionPercent),
		}
	}
	return o
}

// int32Ptr copies *v into a new pointer; nil stays nil.
func int32Ptr(v *int32) *int32 {
	if v == nil {
		return nil
	}
	c := *v
	return &c
}

// durationPtr unwraps a metav1.Duration into a new *time.Duration; nil stays nil.
func durationPtr(d *metav1.Duration) *time.Duration {
	if d == nil {
		return nil
	}
	c := d.Duration
	return &c
}
