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
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestServerlessPolicyValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		spec ServerlessPolicySpec
		meta *metav1.ObjectMeta
		want string
	}{{
		name: "no name",
		meta: &metav1.ObjectMeta{Namespace: "default"},
		want: "name or generateName is required: metadata.name",
	}, {
		name: "unknown selector operator",
		spec: ServerlessPolicySpec{Selector: metav1.LabelSelector{
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Equals", Values: []string{"a"}}},
		}},
		want: "invalid value: Equals: spec.selector.matchExpressions[0].operator\nallowed values: In, NotIn, Exists, DoesNotExist",
	}, {
		name: "In without values",
		spec: ServerlessPolicySpec{Selector: metav1.LabelSelector{
			MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "tier", Operator: metav1.LabelSelectorOpExists},
				{Key: "app", Operator: metav1.LabelSelectorOpIn},
			},
		}},
		want: "invalid value: app In []: spec.selector.matchExpressions[1]\n" +
			"values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty",
	}, {
		name: "bad label key",
		spec: ServerlessPolicySpec{Selector: metav1.LabelSelector{
			MatchLabels: map[string]string{"good": "yes", "bad key": "x"},
		}},
		want: "invalid value: bad key: x: spec.selector.matchLabels[bad key]\n" +
			"key: Invalid value: \"bad key\": name part must consist of alphanumeric characters, '-', '_' or '.', " +
			"and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', " +
			"regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
	}, {
		name: "unknown lifecycle",
		spec: ServerlessPolicySpec{Lifecycle: "fast"},
		want: "invalid value: \"fast\": spec.lifecycle\nlifecycle must be one of: auto, short-lived, long-lived",
	}, {
		name: "zero timeout",
		spec: ServerlessPolicySpec{Timeout: &metav1.Duration{}},
		want: "invalid value: 0s: spec.timeout\n" +
			"timeout must be a Go duration (e.g. 500ms, 30s, 2m) greater than 0 and at most 1h0m0s",
	}, {
		name: "timeout above an hour",
		spec: ServerlessPolicySpec{Timeout: &metav1.Duration{Duration: 2 * time.Hour}},
		want: "invalid value: 2h0m0s: spec.timeout\n" +
			"timeout must be a Go duration (e.g. 500ms, 30s, 2m) greater than 0 and at most 1h0m0s",
	}, {
		name: "negative retries",
		spec: ServerlessPolicySpec{Retries: ptr.To[int32](-1)},
		want: "invalid value: -1: spec.retries\nretries must be an integer from 0 to 10",
	}, {
		name: "too many retries",
		spec: ServerlessPolicySpec{Retries: ptr.To[int32](11)},
		want: "invalid value: 11: spec.retries\nretries must be an integer from 0 to 10",
	}, {
		name: "unknown mtlsMode",
		spec: ServerlessPolicySpec{MTLSMode: "strict"},
		want: "invalid value: \"strict\": spec.mtlsMode\nmtlsMode must be one of: lightweight, full",
	}, {
		name: "proxyPool not a DNS label",
		spec: ServerlessPolicySpec{ProxyPool: "Bad_Pool"},
		want: "invalid value: \"Bad_Pool\": spec.proxyPool\n" +
			"proxyPool must be none or a ProxyPool name (a DNS-1123 label: at most 63 lowercase letters, digits and '-', " +
			"starting and ending with a letter or digit)",
	}, {
		name: "full mTLS with a pooled proxy",
		spec: ServerlessPolicySpec{MTLSMode: "full", ProxyPool: "default"},
		want: "mtlsMode \"full\" conflicts with proxyPool \"default\": a full-mTLS revision keeps its own Istio sidecar, " +
			"while a pooled proxy serves only sidecar-less (lightweight) pods; use mTLS mode lightweight or proxy pool none: " +
			"spec.mtlsMode, spec.proxyPool",
	}, {
		name: "negative connection pool fields",
		spec: ServerlessPolicySpec{ConnectionPool: &ConnectionPoolSpec{
			MaxConnections:           ptr.To[int32](-1),
			MaxPendingRequests:       ptr.To[int32](-2),
			MaxRequestsPerConnection: ptr.To[int32](-3),
			IdleTimeout:              &metav1.Duration{Duration: -time.Second},
		}},
		want: "invalid value: -1: spec.connectionPool.maxConnections\nmaxConnections must not be negative\n" +
			"invalid value: -1s: spec.connectionPool.idleTimeout\nidleTimeout must not be negative\n" +
			"invalid value: -2: spec.connectionPool.maxPendingRequests\nmaxPendingRequests must not be negative\n" +
			"invalid value: -3: spec.connectionPool.maxRequestsPerConnection\nmaxRequestsPerConnection must not be negative",
	}, {
		name: "outlier detection out of range",
		spec: ServerlessPolicySpec{OutlierDetection: &OutlierDetectionSpec{
			ConsecutiveGatewayErrors: ptr.To[int32](-1),
			Interval:                 &metav1.Duration{Duration: -time.Second},
			BaseEjectionTime:         &metav1.Duration{Duration: -2 * time.Second},
			MaxEjectionPercent:       ptr.To[int32](101),
		}},
		want: "invalid value: -1: spec.outlierDetection.consecutiveGatewayErrors\nconsecutiveGatewayErrors must not be negative\n" +
			"invalid value: -1s: spec.outlierDetection.interval\ninterval must not be negative\n" +
			"invalid value: -2s: spec.outlierDetection.baseEjectionTime\nbaseEjectionTime must not be negative\n" +
			"invalid value: 101: spec.outlierDetection.maxEjectionPercent\nmaxEjectionPercent must be from 0 to 100",
	}, {
		name: "negative maxEjectionPercent",
		spec: ServerlessPolicySpec{OutlierDetection: &OutlierDetectionSpec{MaxEjectionPercent: ptr.To[int32](-1)}},
		want: "invalid value: -1: spec.outlierDetection.maxEjectionPercent\nmaxEjectionPercent must be from 0 to 100",
	}, {
		name: "valid: empty spec selects every Service and sets nothing",
	}, {
		name: "valid: every field set",
		spec: ServerlessPolicySpec{
			Selector: metav1.LabelSelector{
				MatchLabels: map[string]string{"app": "thumbnailer"},
				MatchExpressions: []metav1.LabelSelectorRequirement{
					{Key: "tier", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"batch"}},
				},
			},
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
				ConsecutiveGatewayErrors: ptr.To[int32](0),
				Interval:                 &metav1.Duration{Duration: 10 * time.Second},
				BaseEjectionTime:         &metav1.Duration{Duration: 30 * time.Second},
				MaxEjectionPercent:       ptr.To[int32](100),
			},
		},
	}, {
		name: "valid: full mTLS without a pooled proxy",
		spec: ServerlessPolicySpec{Lifecycle: "long-lived", MTLSMode: "full", ProxyPool: "none", Retries: ptr.To[int32](10),
			Timeout: &metav1.Duration{Duration: time.Hour}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := &ServerlessPolicy{
				ObjectMeta: metav1.ObjectMeta{Name: "fast-functions", Namespace: "default"},
				Spec:       tc.spec,
			}
			if tc.meta != nil {
				p.ObjectMeta = *tc.meta
			}
			got := ""
			if err := p.Validate(context.Background()); err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Validate() error (-want +got):\n%s", diff)
			}
		})
	}
}
