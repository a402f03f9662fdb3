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
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
	istiov1beta1 "istio.io/api/networking/v1beta1"
	"istio.io/client-go/pkg/apis/networking/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"

	"github.com/serverless-mesh/ssm/pkg/policy"
)

func TestMakeDestinationRules(t *testing.T) {
	t.Parallel()
	longName := "hello-" + strings.Repeat("b", 64)
	longLived := policy.Policy{
		Lifecycle: policy.LifecycleLongLived,
		MTLSMode:  policy.MTLSFull,
		ConnectionPool: policy.ConnectionPool{
			MaxConnections: 100, MaxPendingRequests: 10, MaxRequestsPerConnection: 1, IdleTimeout: 5 * time.Minute,
		},
		OutlierDetection: policy.OutlierDetection{
			ConsecutiveGatewayErrors: 5, Interval: 30 * time.Second, BaseEjectionTime: 30 * time.Second, MaxEjectionPercent: 50,
		},
	}
	shortLived := policy.Policy{
		Lifecycle:      policy.LifecycleShortLived,
		MTLSMode:       policy.MTLSLightweight,
		ConnectionPool: policy.ConnectionPool{IdleTimeout: 30 * time.Second},
		// ConsecutiveGatewayErrors 0: outlier detection off, other fields ignored.
		OutlierDetection: policy.OutlierDetection{Interval: 10 * time.Second, MaxEjectionPercent: 50},
	}
	mtls := &istiov1beta1.ClientTLSSettings{Mode: istiov1beta1.ClientTLSSettings_ISTIO_MUTUAL}

	tests := []struct {
		name     string
		ing      *v1alpha1.Ingress
		policies map[Backend]policy.Policy
		leased   sets.Set[Backend]
		want     []*v1beta1.DestinationRule
	}{{
		name: "no SSM backend: no DestinationRule",
		ing:  ingressWith(knativeRules()...),
		want: []*v1beta1.DestinationRule{},
	}, {
		name: "SSM backends sorted, non-SSM backend skipped, each referenced once",
		ing: ingressWith(
			rule(v1alpha1.IngressVisibilityExternalIP, []string{"hello.example.com"}, helloPath(
				split("default", "hello-00002", 80, 50), split("default", "hello-00001", 80, 30), split("default", "plain", 80, 20))),
			rule(v1alpha1.IngressVisibilityClusterLocal, []string{"hello.default.svc.cluster.local"}, helloPath(
				split("default", "hello-00002", 80, 50), split("default", "hello-00001", 80, 50))),
		),
		policies: map[Backend]policy.Policy{
			{Namespace: "default", Name: "hello-00001"}: longLived,
			{Namespace: "default", Name: "hello-00002"}: shortLived,
		},
		want: []*v1beta1.DestinationRule{{
			ObjectMeta: metav1.ObjectMeta{
				Name: "hello-hello-00001-941decb0", Namespace: "default", Labels: helloLabels(), OwnerReferences: ownerRefs(),
				Annotations: map[string]string{"ssm.dev/lifecycle-class": "long-lived", "ssm.dev/revision": "hello-00001"},
			},
			Spec: istiov1beta1.DestinationRule{
				Host: "hello-00001.default.svc.cluster.local",
				TrafficPolicy: &istiov1beta1.TrafficPolicy{
					ConnectionPool: &istiov1beta1.ConnectionPoolSettings{
						Tcp: &istiov1beta1.ConnectionPoolSettings_TCPSettings{MaxConnections: 100},
						Http: &istiov1beta1.ConnectionPoolSettings_HTTPSettings{
							Http1MaxPendingRequests: 10, MaxRequestsPerConnection: 1, IdleTimeout: durationpb.New(5 * time.Minute),
						},
					},
					OutlierDetection: &istiov1beta1.OutlierDetection{
						ConsecutiveGatewayErrors: wrapperspb.UInt32(5),
						Consecutive_5XxErrors:    wrapperspb.UInt32(0),
						Interval:                 durationpb.New(30 * time.Second),
						BaseEjectionTime:         durationpb.New(30 * time.Second),
						MaxEjectionPercent:       50,
					},
					Tls: mtls,
				},
			},
		}, {
			ObjectMeta: metav1.ObjectMeta{
				Name: "hello-hello-00002-596f1b65", Namespace: "default", Labels: helloLabels(), OwnerReferences: ownerRefs(),
				Annotations: map[string]string{"ssm.dev/lifecycle-class": "short-lived", "ssm.dev/revision": "hello-00002"},
			},
			Spec: istiov1beta1.DestinationRule{
				Host: "hello-00002.default.svc.cluster.local",
				TrafficPolicy: &istiov1beta1.TrafficPolicy{
					ConnectionPool: &istiov1beta1.ConnectionPoolSettings{
						Http: &istiov1beta1.ConnectionPoolSettings_HTTPSettings{IdleTimeout: durationpb.New(30 * time.Second)},
					},
					Tls: mtls,
				},
			},
		}},
	}, {
		name: "backend in another namespace: no owner reference, ingress namespace in the name; empty pool omitted",
		ing: ingressWith(rule(v1alpha1.IngressVisibilityExternalIP, []string{"hello.example.com"},
			helloPath(split("other", "svc", 80, 100)))),
		policies: map[Backend]policy.Policy{
			{Namespace: "other", Name: "svc"}: {Lifecycle: policy.LifecycleShortLived, MTLSMode: policy.MTLSLightweight},
		},
		want: []*v1beta1.DestinationRule{{
			ObjectMeta: metav1.ObjectMeta{
				Name: "default-hello-svc-55a1fb91", Namespace: "other", Labels: helloLabels(),
				Annotations: map[string]string{"ssm.dev/lifecycle-class": "short-lived", "ssm.dev/revision": "svc"},
			},
			Spec: istiov1beta1.DestinationRule{
				Host:          "svc.other.svc.cluster.local",
				TrafficPolicy: &istiov1beta1.TrafficPolicy{Tls: mtls},
			},
		}},
	}, {
		name: "long backend name is hashed to 63 characters; unknown mTLS mode still mutual",
		ing: ingressWith(rule(v1alpha1.IngressVisibilityExternalIP, []string{"hello.example.com"},
			helloPath(split("default", longName, 80, 100)))),
		policies: map[Backend]policy.Policy{
			{Namespace: "default", Name: longName}: {MTLSMode: "plaintext-please"},
		},
		want: []*v1beta1.DestinationRule{{
			ObjectMeta: metav1.ObjectMeta{
				// 22 characters of "hello-" + longName, md5 of all of it, then
				// sha256("default/hello/default/" + longName)[:4 bytes].
				Name: "hello-hello-bbbbbbbbbb" + "f5f3dc390ab9ff9f4c1e660d4cc3ad4a" + "-60b473dd", Namespace: "default",
				Labels: helloLabels(), OwnerReferences: ownerRefs(),
				// The full name: an annotation value is not limited to 63 characters.
				Annotations: map[string]string{"ssm.dev/revision": longName},
			},
			Spec: istiov1beta1.DestinationRule{
				Host:          longName + ".default.svc.cluster.local",
				TrafficPolicy: &istiov1beta1.TrafficPolicy{Tls: mtls},
			},
		}},
	}, {
		name: "leased backend: its lease Service, with no TLS mode (pooled proxies have no sidecar)",
		ing: ingressWith(rule(v1alpha1.IngressVisibilityExternalIP, []string{"hello.example.com"},
			helloPath(split("default", "hello-00002", 80, 100)))),
		policies: map[Backend]policy.Policy{{Namespace: "default", Name: "hello-00002"}: shortLived},
		leased:   sets.New(Backend{Namespace: "default", Name: "hello-00002"}),
		want: []*v1beta1.DestinationRule{{
			ObjectMeta: metav1.ObjectMeta{
				Name: "hello-hello-00002-596f1b65", Namespace: "default", Labels: helloLabels(), OwnerReferences: ownerRefs(),
				Annotations: map[string]string{"ssm.dev/lifecycle-class": "short-lived", "ssm.dev/revision": "hello-00002"},
			},
			Spec: istiov1beta1.DestinationRule{
				Host: "hello-00002-ssm.default.svc.cluster.local",
				TrafficPolicy: &istiov1beta1.TrafficPolicy{
					ConnectionPool: &istiov1beta1.ConnectionPoolSettings{
						Http: &istiov1beta1.ConnectionPoolSettings_HTTPSettings{IdleTimeout: durationpb.New(30 * time.Second)},
					},
				},
			},
		}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			before := tc.ing.DeepCopy()
			got := MakeDestinationRules(tc.ing, tc.policies, tc.leased)
			if diff := cmp.Diff(tc.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("MakeDestinationRules (-want, +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, tc.ing); diff != "" {
				t.Errorf("MakeDestinationRules mutated the KIngress (-before, +after):\n%s", diff)
			}
		})
	}
}

// TestDestinationRuleOutlierDetectionJSON checks the outlier detection as the
// API server (and so istiod) receives it: consecutive5xxErrors must be
// written out as 0. Left out, Istio applies its default of 5 consecutive 5xx
// and ejects an endpoint for a function's own errors.
func TestDestinationRuleOutlierDetectionJSON(t *testing.T) {
	t.Parallel()
	ing := ingressWith(rule(v1alpha1.IngressVisibilityExternalIP, []string{"hello.example.com"},
		helloPath(split("default", "hello-00001", 80, 100))))
	policies := map[Backend]policy.Policy{{Namespace: "default", Name: "hello-00001"}: {
		Lifecycle: policy.LifecycleLongLived,
		MTLSMode:  policy.MTLSFull,
		OutlierDetection: policy.OutlierDetection{
			ConsecutiveGatewayErrors: 5, Interval: 30 * time.Second, BaseEjectionTime: 30 * time.Second, MaxEjectionPercent: 50,
		},
	}}
	drs := MakeDestinationRules(ing, policies, nil)
	if len(drs) != 1 {
		t.Fatalf("MakeDestinationRules made %d DestinationRules, want 1", len(drs))
	}
	raw, err := json.Marshal(drs[0].Spec.TrafficPolicy.OutlierDetection)
	if err != nil {
		t.Fatal("marshal outlier detection:", err)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("unmarshal %s: %v", raw, err)
	}
	want := map[string]any{
		"consecutiveGatewayErrors": 5.0,
		"consecutive5xxErrors":     0.0,
		"interval":                 "30s",
		"baseEjectionTime":         "30s",
		"maxEjectionPercent":       50.0,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outlier detection JSON %s (-want, +got):\n%s", raw, diff)
	}
}
