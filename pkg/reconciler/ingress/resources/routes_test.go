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
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"
	istiov1beta1 "istio.io/api/networking/v1beta1"
	"istio.io/client-go/pkg/apis/networking/v1beta1"
	"k8s.io/apimachinery/pkg/util/sets"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"

	"github.com/serverless-mesh/ssm/pkg/policy"
)

func TestMakeRoute(t *testing.T) {
	t.Parallel()
	gateways := []string{externalGateway}
	tests := []struct {
		name  string
		hosts sets.Set[string]
		path  v1alpha1.HTTPIngressPath
		want  *istiov1beta1.HTTPRoute
	}{{
		name:  "path and header match",
		hosts: sets.New("hello.example.com"),
		path: v1alpha1.HTTPIngressPath{
			Path:    "/api",
			Headers: map[string]v1alpha1.HeaderMatch{"X-User": {Exact: "alice"}, "X-Tier": {Exact: "gold"}},
			Splits:  []v1alpha1.IngressBackendSplit{split("default", "hello-00001", 80, 100)},
		},
		want: &istiov1beta1.HTTPRoute{
			Match: []*istiov1beta1.HTTPMatchRequest{{
				Gateways:  []string{externalGateway},
				Authority: prefix("hello.example.com"),
				Uri:       prefix("/api"),
				Headers:   map[string]*istiov1beta1.StringMatch{"X-User": exact("alice"), "X-Tier": exact("gold")},
			}},
			Route:   []*istiov1beta1.HTTPRouteDestination{destination("hello-00001.default.svc.cluster.local", 80, 100)},
			Retries: &istiov1beta1.HTTPRetry{},
		},
	}, {
		name:  "weighted split with path-level and per-split request headers",
		hosts: sets.New("hello.example.com"),
		path: v1alpha1.HTTPIngressPath{
			AppendHeaders: map[string]string{"Knative-Serving-Namespace": "default"},
			Splits: []v1alpha1.IngressBackendSplit{{
				IngressBackend: split("default", "hello-00001", 80, 0).IngressBackend,
				Percent:        90,
				AppendHeaders:  map[string]string{"Knative-Serving-Revision": "hello-00001"},
			}, {
				IngressBackend: split("default", "hello-00002", 8080, 0).IngressBackend,
				Percent:        10,
				AppendHeaders:  map[string]string{"Knative-Serving-Revision": "hello-00002"},
			}},
		},
		want: &istiov1beta1.HTTPRoute{
			Match: []*istiov1beta1.HTTPMatchRequest{{Gateways: []string{externalGateway}, Authority: prefix("hello.example.com")}},
			Route: []*istiov1beta1.HTTPRouteDestination{{
				Destination: &istiov1beta1.Destination{
					Host: "hello-00001.default.svc.cluster.local", Port: &istiov1beta1.PortSelector{Number: 80},
				},
				Weight:  90,
				Headers: setHeaders(map[string]string{"Knative-Serving-Revision": "hello-00001"}),
			}, {
				Destination: &istiov1beta1.Destination{
					Host: "hello-00002.default.svc.cluster.local", Port: &istiov1beta1.PortSelector{Number: 8080},
				},
				Weight:  10,
				Headers: setHeaders(map[string]string{"Knative-Serving-Revision": "hello-00002"}),
			}},
			Headers: setHeaders(map[string]string{"Knative-Serving-Namespace": "default"}),
			Retries: &istiov1beta1.HTTPRetry{},
		},
	}, {
		name:  "rewrite host",
		hosts: sets.New("vanity.example.com"),
		path: v1alpha1.HTTPIngressPath{
			RewriteHost: "hello.default.svc.cluster.local",
			Splits:      []v1alpha1.IngressBackendSplit{split("default", "hello", 80, 100)},
		},
		want: &istiov1beta1.HTTPRoute{
			Match:   []*istiov1beta1.HTTPMatchRequest{{Gateways: []string{externalGateway}, Authority: prefix("vanity.example.com")}},
			Route:   []*istiov1beta1.HTTPRouteDestination{destination("hello.default.svc.cluster.local", 80, 100)},
			Rewrite: &istiov1beta1.HTTPRewrite{Authority: "hello.default.svc.cluster.local"},
			Retries: &istiov1beta1.HTTPRetry{},
		},
	}, {
		name:  "cluster-local names collapse to one prefix; covered external prefixes too",
		hosts: sets.New("hello.default", "hello.default.svc", "hello.default.svc.cluster.local", "hello.defaulted.example.com", "other.example.com"),
		path:  helloPath(),
		want: &istiov1beta1.HTTPRoute{
			Match: []*istiov1beta1.HTTPMatchRequest{
				{Gateways: []string{externalGateway}, Authority: prefix("hello.default")},
				{Gateways: []string{externalGateway}, Authority: prefix("other.example.com")},
			},
			Route:   []*istiov1beta1.HTTPRouteDestination{destination("hello-00001.default.svc.cluster.local", 80, 100)},
			Retries: &istiov1beta1.HTTPRetry{},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := makeRoute(tc.hosts, &tc.path, gateways, nil, nil)
			if diff := cmp.Diff(tc.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("makeRoute (-want, +got):\n%s", diff)
			}
		})
	}
}

func TestRouteResilience(t *testing.T) {
	t.Parallel()
	a := Backend{Namespace: "default", Name: "a"}
	b := Backend{Namespace: "default", Name: "b"}
	splits := []v1alpha1.IngressBackendSplit{split("default", "a", 80, 50), split("default", "b", 80, 50)}
	tests := []struct {
		name        string
		splits      []v1alpha1.IngressBackendSplit
		policies    map[Backend]policy.Policy
		wantTimeout *durationpb.Duration
		wantRetries *istiov1beta1.HTTPRetry
	}{{
		name:        "no SSM backend: retries off, no timeout",
		splits:      splits,
		wantRetries: &istiov1beta1.HTTPRetry{},
	}, {
		name:   "one split without policy: net-istio behaviour",
		splits: splits,
		policies: map[Backend]policy.Policy{
			a: {Timeout: 10 * time.Second, Retries: 3, RetryOn: "connect-failure"},
		},
		wantRetries: &istiov1beta1.HTTPRetry{},
	}, {
		name:        "single SSM split with retries off keeps its timeout",
		splits:      splits[:1],
		policies:    map[Backend]policy.Policy{a: {Timeout: 10 * time.Second, Retries: 0, RetryOn: "connect-failure"}},
		wantTimeout: durationpb.New(10 * time.Second),
		wantRetries: &istiov1beta1.HTTPRetry{},
	}, {
		name:   "single SSM split without timeout, with per-try timeout",
		splits: splits[:1],
		policies: map[Backend]policy.Policy{
			a: {Retries: 2, RetryOn: "connect-failure,refused-stream", PerTryTimeout: time.Second},
		},
		wantRetries: &istiov1beta1.HTTPRetry{
			Attempts: 2, RetryOn: "connect-failure,refused-stream", PerTryTimeout: durationpb.New(time.Second),
		},
	}, {
		name:   "largest timeout, smallest retries with their own retry-on",
		splits: splits,
		policies: map[Backend]policy.Policy{
			a: {Timeout: 2 * time.Second, Retries: 1, RetryOn: "connect-failure", PerTryTimeout: 500 * time.Millisecond},
			b: {Timeout: 45 * time.Second, Retries: 3, RetryOn: "connect-failure,refused-stream"},
		},
		wantTimeout: durationpb.New(45 * time.Second),
		wantRetries: &istiov1beta1.HTTPRetry{
			Attempts: 1, RetryOn: "connect-failure", PerTryTimeout: durationpb.New(500 * time.Millisecond),
		},
	}, {
		name:   "any split without timeout: no route timeout",
		splits: splits,
		policies: map[Backend]policy.Policy{
			a: {Timeout: 2 * time.Second, Retries: 1, RetryOn: "connect-failure"},
			b: {Retries: 1, RetryOn: "connect-failure"},
		},
		wantRetries: &istiov1beta1.HTTPRetry{Attempts: 1, RetryOn: "connect-failure"},
	}, {
		name:   "tie on retries: the first split's retry-on",
		splits: splits,
		policies: map[Backend]policy.Policy{
			a: {Timeout: time.Second, Retries: 2, RetryOn: "connect-failure"},
			b: {Timeout: time.Second, Retries: 2, RetryOn: "refused-stream"},
		},
		wantTimeout: durationpb.New(time.Second),
		wantRetries: &istiov1beta1.HTTPRetry{Attempts: 2, RetryOn: "connect-failure"},
	}, {
		name:   "one split with retries off turns them off for the path",
		splits: splits,
		policies: map[Backend]policy.Policy{
			a: {Timeout: time.Second, Retries: 3, RetryOn: "connect-failure"},
			b: {Timeout: time.Second, Retries: 0},
		},
		wantTimeout: durationpb.New(time.Second),
		wantRetries: &istiov1beta1.HTTPRetry{},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			timeout, retries := routeResilience(tc.splits, tc.policies)
			if diff := cmp.Diff(tc.wantTimeout, timeout, protocmp.Transform()); diff != "" {
				t.Errorf("timeout (-want, +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantRetries, retries, protocmp.Transform()); diff != "" {
				t.Errorf("retries (-want, +got):\n%s", diff)
			}
		})
	}
}

// TestRouteResilienceJSON checks the timeout and retries as the API server
// (and so istiod) receives them. Istio fills in what is absent: no "retries"
// is its default policy of 2 attempts on connect-failure, refused-stream,
// unavailable, cancelled and retriable-status-codes (gRPC responses
// included), so a route without retries must carry "retries": {} (attempts
// 0, off); no "timeout" is no route timeout, which is what net-istio gives.
func TestRouteResilienceJSON(t *testing.T) {
	t.Parallel()
	ssm := Backend{Namespace: "default", Name: "hello-00001"}
	tests := []struct {
		name     string
		policies map[Backend]policy.Policy
		want     map[string]any
	}{{
		name: "not an SSM backend: retries off, no timeout",
		want: map[string]any{"retries": map[string]any{}},
	}, {
		name:     "SSM backend with retries off",
		policies: map[Backend]policy.Policy{ssm: {Timeout: 2 * time.Second}},
		want:     map[string]any{"timeout": "2s", "retries": map[string]any{}},
	}, {
		name:     "SSM backend with retries",
		policies: map[Backend]policy.Policy{ssm: {Timeout: 2 * time.Second, Retries: 1, RetryOn: "connect-failure"}},
		want:     map[string]any{"timeout": "2s", "retries": map[string]any{"attempts": 1.0, "retryOn": "connect-failure"}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := helloPath(split("default", "hello-00001", 80, 100))
			raw, err := json.Marshal(makeRoute(sets.New("hello.example.com"), &path, []string{externalGateway}, tc.policies, nil))
			if err != nil {
				t.Fatal("marshal route:", err)
			}
			var route map[string]any
			if err := json.Unmarshal(raw, &route); err != nil {
				t.Fatalf("unmarshal %s: %v", raw, err)
			}
			got := map[string]any{}
			for _, key := range []string{"timeout", "retries"} {
				if v, ok := route[key]; ok {
					got[key] = v
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("route JSON %s: timeout and retries (-want, +got):\n%s", raw, diff)
			}
		})
	}
}

// TestMakeVirtualServicesRichPath checks, end to end, the probe twin of a path
// that already matches headers and sets request headers, and that nothing of
// the KIngress is modified or shared with the output.
func TestMakeVirtualServicesRichPath(t *testing.T) {
	t.Parallel()
	ing := ingressWith(rule(v1alpha1.IngressVisibilityExternalIP, []string{"hello.example.com"}, v1alpha1.HTTPIngressPath{
		Path:          "/api",
		Headers:       map[string]v1alpha1.HeaderMatch{"X-User": {Exact: "alice"}},
		AppendHeaders: map[string]string{"Knative-Serving-Namespace": "default"},
		Splits: []v1alpha1.IngressBackendSplit{{
			IngressBackend: split("default", "hello-00001", 80, 0).IngressBackend,
			Percent:        100,
			AppendHeaders:  map[string]string{"Knative-Serving-Revision": "hello-00001"},
		}},
	}))
	before := ing.DeepCopy()
	hash := upstreamHash(t, ing)
	dest := []*istiov1beta1.HTTPRouteDestination{{
		Destination: &istiov1beta1.Destination{Host: "hello-00001.default.svc.cluster.local", Port: &istiov1beta1.PortSelector{Number: 80}},
		Weight:      100,
		Headers:     setHeaders(map[string]string{"Knative-Serving-Revision": "hello-00001"}),
	}}
	want := []*v1beta1.VirtualService{{
		ObjectMeta: vsMeta("hello-ingress"),
		Spec: istiov1beta1.VirtualService{
			Hosts:    []string{"hello.example.com"},
			Gateways: []string{externalGateway},
			Http: []*istiov1beta1.HTTPRoute{{
				Match: []*istiov1beta1.HTTPMatchRequest{{
					Gateways:  []string{externalGateway},
					Authority: prefix("hello.example.com"),
					Uri:       prefix("/api"),
					Headers:   map[string]*istiov1beta1.StringMatch{"X-User": exact("alice"), "K-Network-Hash": exact("override")},
				}},
				Route:   dest,
				Headers: setHeaders(map[string]string{"Knative-Serving-Namespace": "default", "K-Network-Hash": hash}),
				Retries: &istiov1beta1.HTTPRetry{},
			}, {
				Match: []*istiov1beta1.HTTPMatchRequest{{
					Gateways:  []string{externalGateway},
					Authority: prefix("hello.example.com"),
					Uri:       prefix("/api"),
					Headers:   map[string]*istiov1beta1.StringMatch{"X-User": exact("alice")},
				}},
				Route:   dest,
				Headers: setHeaders(map[string]string{"Knative-Serving-Namespace": "default"}),
				Retries: &istiov1beta1.HTTPRetry{},
			}},
		},
	}}
	got, err := MakeVirtualServices(ing, bothGateways(), nil, nil)
	if err != nil {
		t.Fatalf("MakeVirtualServices: %v", err)
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("MakeVirtualServices (-want, +got):\n%s", diff)
	}

	// Writing to the output must not reach the KIngress.
	got[0].Spec.Http[1].Headers.Request.Set["Knative-Serving-Namespace"] = "changed"
	got[0].Spec.Http[1].Route[0].Headers.Request.Set["Knative-Serving-Revision"] = "changed"
	if diff := cmp.Diff(before, ing); diff != "" {
		t.Errorf("KIngress shares state with the output or was mutated (-before, +after):\n%s", diff)
	}
}
