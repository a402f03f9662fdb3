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
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/serverless-mesh/ssm/pkg/policy"
)

func TestServerlessPolicySpecOverrides(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		spec ServerlessPolicySpec
		want policy.Overrides
	}{{
		name: "nothing set",
		spec: ServerlessPolicySpec{Selector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "a"}}},
		want: policy.Overrides{},
	}, {
		name: "empty blocks set nothing",
		spec: ServerlessPolicySpec{ConnectionPool: &ConnectionPoolSpec{}, OutlierDetection: &OutlierDetectionSpec{}},
		want: policy.Overrides{},
	}, {
		name: "every field set",
		spec: ServerlessPolicySpec{
			Lifecycle: "short-lived",
			Timeout:   &metav1.Duration{Duration: 2 * time.Second},
			Retries:   ptr.To[int32](0),
			MTLSMode:  "lightweight",
			ProxyPool: "default",
			ConnectionPool: &ConnectionPoolSpec{
				MaxConnections:           ptr.To[int32](100),
				MaxPendingRequests:       ptr.To[int32](10),
				MaxRequestsPerConnection: ptr.To[int32](1),
				IdleTimeout:              &metav1.Duration{Duration: 30 * time.Second},
			},
			OutlierDetection: &OutlierDetectionSpec{
				ConsecutiveGatewayErrors: ptr.To[int32](5),
				Interval:                 &metav1.Duration{Duration: 10 * time.Second},
				BaseEjectionTime:         &metav1.Duration{Duration: 30 * time.Second},
				MaxEjectionPercent:       ptr.To[int32](50),
			},
		},
		want: policy.Overrides{
			Lifecycle: ptr.To(policy.LifecycleShortLived),
			Timeout:   ptr.To(2 * time.Second),
			Retries:   ptr.To[int32](0),
			MTLSMode:  ptr.To(policy.MTLSLightweight),
			ProxyPool: ptr.To("default"),
			ConnectionPool: policy.ConnectionPoolOverrides{
				MaxConnections:           ptr.To[int32](100),
				MaxPendingRequests:       ptr.To[int32](10),
				MaxRequestsPerConnection: ptr.To[int32](1),
				IdleTimeout:              ptr.To(30 * time.Second),
			},
			OutlierDetection: policy.OutlierDetectionOverrides{
				ConsecutiveGatewayErrors: ptr.To[int32](5),
				Interval:                 ptr.To(10 * time.Second),
				BaseEjectionTime:         ptr.To(30 * time.Second),
				MaxEjectionPercent:       ptr.To[int32](50),
			},
		},
	}, {
		name: "zero values that are set stay set",
		spec: ServerlessPolicySpec{
			Timeout:          &metav1.Duration{},
			Retries:          ptr.To[int32](0),
			ConnectionPool:   &ConnectionPoolSpec{MaxConnections: ptr.To[int32](0)},
			OutlierDetection: &OutlierDetectionSpec{ConsecutiveGatewayErrors: ptr.To[int32](0)},
		},
		want: policy.Overrides{
			Timeout:          ptr.To(time.Duration(0)),
			Retries:          ptr.To[int32](0),
			ConnectionPool:   policy.ConnectionPoolOverrides{MaxConnections: ptr.To[int32](0)},
			OutlierDetection: policy.OutlierDetectionOverrides{ConsecutiveGatewayErrors: ptr.To[int32](0)},
		},
	}, {
		name: "values are converted, not checked",
		spec: ServerlessPolicySpec{Lifecycle: "fast", MTLSMode: "strict", ProxyPool: "none"},
		want: policy.Overrides{
			Lifecycle: ptr.To(policy.Lifecycle("fast")),
			MTLSMode:  ptr.To(policy.MTLSMode("strict")),
			ProxyPool: ptr.To("none"),
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, tc.spec.Overrides()); diff != "" {
				t.Errorf("Overrides() (-want +got):\n%s", diff)
			}
		})
	}
}

// The resolver may hold Overrides after the informer's object changes, so
// they must not alias the spec.
func TestServerlessPolicySpecOverridesDoNotAlias(t *testing.T) {
	t.Parallel()
	spec := ServerlessPolicySpec{
		Retries:        ptr.To[int32](2),
		Timeout:        &metav1.Duration{Duration: time.Second},
		ConnectionPool: &ConnectionPoolSpec{MaxConnections: ptr.To[int32](7)},
	}
	o := spec.Overrides()
	*spec.Retries = 9
	spec.Timeout.Duration = time.Minute
	*spec.ConnectionPool.MaxConnections = 8

	want := policy.Overrides{
		Retries:        ptr.To[int32](2),
		Timeout:        ptr.To(time.Second),
		ConnectionPool: policy.ConnectionPoolOverrides{MaxConnections: ptr.To[int32](7)},
	}
	if diff := cmp.Diff(want, o); diff != "" {
		t.Errorf("Overrides() after the spec changed (-want +got):\n%s", diff)
	}
}
