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

package source

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
	autoscalingv1alpha1 "knative.dev/serving/pkg/apis/autoscaling/v1alpha1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	ssmv1alpha1 "github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
	"github.com/serverless-mesh/ssm/pkg/policy"
	"github.com/serverless-mesh/ssm/pkg/pool/revision"
	rtesting "github.com/serverless-mesh/ssm/pkg/reconciler/testing"
)

func rev(ns, name string, annotations map[string]string, sa string) *servingv1.Revision {
	return &servingv1.Revision{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: annotations},
		Spec: servingv1.RevisionSpec{
			TimeoutSeconds: ptr.To[int64](300),
			PodSpec:        corev1PodSpec(sa),
		},
	}
}

func slice(ns, name, revName, serviceType string, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{
			"serving.knative.dev/revision":                revName,
			"networking.internal.knative.dev/serviceType": serviceType,
		}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   eps,
	}
}

func h2c(r *servingv1.Revision) *servingv1.Revision {
	r.Spec.Containers[0].Ports = []corev1.ContainerPort{{Name: "h2c", ContainerPort: 8080}}
	return r
}

func podAutoscaler(ns, name string, desired *int32) *autoscalingv1alpha1.PodAutoscaler {
	return &autoscalingv1alpha1.PodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Status:     autoscalingv1alpha1.PodAutoscalerStatus{DesiredScale: desired},
	}
}

func endpoint(ready *bool, ips ...string) discoveryv1.Endpoint {
	return discoveryv1.Endpoint{Addresses: ips, Conditions: discoveryv1.EndpointConditions{Ready: ready}}
}

func pool(ns, name string, idle time.Duration) *ssmv1alpha1.ProxyPool {
	p := &ssmv1alpha1.ProxyPool{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: ssmv1alpha1.ProxyPoolSpec{Image: "envoy"}}
	if idle > 0 {
		p.Spec.IdleTimeout = &metav1.Duration{Duration: idle}
	}
	return p
}

// newSource is a Source over objs with config-ssm's built-in defaults and
// sidecarless-revisions on, the switch that lets revisions lease.
func newSource(t *testing.T, objs ...runtime.Object) *Source {
	t.Helper()
	s := newSourceSwitchOff(t, objs...)
	s.SetConfig(policy.NewDefaults(), true)
	return s
}

// newSourceSwitchOff is a Source as New leaves it: config-ssm's shipped
// sidecarless-revisions "false".
func newSourceSwitchOff(t *testing.T, objs ...runtime.Object) *Source {
	t.Helper()
	l, err := rtesting.NewListers(objs)
	if err != nil {
		t.Fatal(err)
	}
	return New(Listers{
		Revisions:      l.GetRevisionLister(),
		Services:       l.GetKnativeServiceLister(),
		Policies:       l.GetServerlessPolicyLister(),
		Pools:          l.GetProxyPoolLister(),
		EndpointSlices: l.GetEndpointSliceLister(),
		PodAutoscalers: l.GetPodAutoscalerLister(),
	}, "knative-serving")
}

// shortLived2s is what policy.Resolve gives for ssm.dev/lifecycle:
// short-lived + ssm.dev/timeout: 2s under the built-in defaults, written out.
var shortLived2s = policy.Policy{
	Declared:  policy.LifecycleShortLived,
	Lifecycle: policy.LifecycleShortLived,
	Timeout:   2 * time.Second,
	Retries:   1,
	RetryOn:   "connect-failure",
	MTLSMode:  policy.MTLSLightweight,
	ProxyPool: "default",
	ConnectionPool: policy.ConnectionPool{
		IdleTimeout: 30 * time.Second,
	},
	OutlierDetection: policy.OutlierDetection{
		ConsecutiveGatewayErrors: 5,
		Interval:                 10 * time.Second,
		BaseEjectionTime:         30 * time.Second,
		MaxEjectionPercent:       50,
	},
	Sources: map[string]policy.Source{
		"Lifecycle": policy.SourceAnnotation,
		"Timeout":   policy.SourceAnnotation,
		"Retries":   policy.SourceDefault,
		"MTLSMode":  policy.SourceDefault,
		"ProxyPool": policy.SourceDefault,
	},
}

func TestGet(t *testing.T) {
	t.Parallel()
	// short is admitted by ssm-webhook with the switch on: its pods are born
	// sidecar-less for pool "default". shortAsOff is the same revision
	// admitted while the switch was off; unstamped was never admitted by SSM.
	short := map[string]string{"ssm.dev/lifecycle": "short-lived", "ssm.dev/timeout": "2s",
		"resolved.ssm.dev/pods": "sidecarless", "resolved.ssm.dev/proxy-pool": "default"}
	shortAsOff := map[string]string{"ssm.dev/lifecycle": "short-lived", "ssm.dev/timeout": "2s", "resolved.ssm.dev/pods": "sidecar"}
	unstamped := map[string]string{"ssm.dev/lifecycle": "short-lived", "ssm.dev/timeout": "2s"}
	yes, no := ptr.To(true), ptr.To(false)
	tests := []struct {
		name     string
		objs     []runtime.Object
		key      revision.Key
		want     revision.Config
		wantErr  string
		notFound bool
		// switchOff leaves config-ssm's sidecarless-revisions off.
		switchOff bool
	}{{
		name:     "unknown revision",
		key:      revision.Key{Namespace: "ns", Name: "gone"},
		wantErr:  "revision ns/gone: revision not found",
		notFound: true,
	}, {
		name: "revision SSM does not govern is not pooled",
		objs: []runtime.Object{rev("ns", "plain", nil, "")},
		key:  revision.Key{Namespace: "ns", Name: "plain"},
		want: revision.Config{
			Key:            revision.Key{Namespace: "ns", Name: "plain"},
			Policy:         policy.Policy{ProxyPool: "none"},
			ServiceAccount: "default",
			PortName:       "http",
			Unleasable:     "it was admitted without SSM's decision (ssm-webhook was unavailable, or the revision predates it), so its pods keep their Istio sidecar",
		},
	}, {
		name:      "with sidecar-less revisions off (the shipped default) a short-lived revision keeps its sidecar and may not lease",
		objs:      []runtime.Object{rev("ns", "fn-00001", shortAsOff, "")},
		key:       revision.Key{Namespace: "ns", Name: "fn-00001"},
		switchOff: true,
		want: revision.Config{
			Key:            revision.Key{Namespace: "ns", Name: "fn-00001"},
			Pool:           revision.PoolKey{Namespace: "knative-serving", Name: "default"},
			Policy:         shortLived2s,
			ServiceAccount: "default",
			PortName:       "http",
			Unleasable:     "its pods were created with their Istio sidecar (config-ssm's sidecarless-revisions off, full mTLS, or long-lived without a named pool)",
		},
	}, {
		name: "a revision admitted while the switch was off stays unleasable after it is turned on: its pods have a sidecar",
		objs: []runtime.Object{rev("ns", "fn-00001", shortAsOff, "")},
		key:  revision.Key{Namespace: "ns", Name: "fn-00001"},
		want: revision.Config{
			Key:            revision.Key{Namespace: "ns", Name: "fn-00001"},
			Pool:           revision.PoolKey{Namespace: "knative-serving", Name: "default"},
			Policy:         shortLived2s,
			ServiceAccount: "default",
			PortName:       "http",
			Unleasable:     "its pods were created with their Istio sidecar (config-ssm's sidecarless-revisions off, full mTLS, or long-lived without a named pool)",
		},
	}, {
		name: "a governed revision SSM never admitted is not leased",
		objs: []runtime.Object{rev("ns", "fn-00001", unstamped, "")},
		key:  revision.Key{Namespace: "ns", Name: "fn-00001"},
		want: revision.Config{
			Key:            revision.Key{Namespace: "ns", Name: "fn-00001"},
			Pool:           revision.PoolKey{Namespace: "knative-serving", Name: "default"},
			Policy:         shortLived2s,
			ServiceAccount: "default",
			PortName:       "http",
			Unleasable:     "it was admitted without SSM's decision (ssm-webhook was unavailable, or the revision predates it), so its pods keep their Istio sidecar",
		},
	}, {
		name: "short-lived revision: shared pool, ready private endpoints only, sorted, deduplicated",
		objs: []runtime.Object{
			rev("ns", "fn-00001", short, "fn-sa"),
			slice("ns", "fn-00001-private-a", "fn-00001", "Private", endpoint(nil, "10.244.0.9"), endpoint(no, "10.244.0.5")),
			slice("ns", "fn-00001-private-b", "fn-00001", "Private", endpoint(yes, "10.244.0.3", "10.244.0.9")),
			slice("ns", "fn-00001-public", "fn-00001", "Public", endpoint(yes, "10.244.0.7")),
			slice("ns", "other-private", "other", "Private", endpoint(yes, "10.244.0.8")),
		},
		key: revision.Key{Namespace: "ns", Name: "fn-00001"},
		want: revision.Config{
			Key:            revision.Key{Namespace: "ns", Name: "fn-00001"},
			Pool:           revision.PoolKey{Namespace: "knative-serving", Name: "default"},
			Policy:         shortLived2s,
			ServiceAccount: "fn-sa",
			Endpoints:      []revision.Endpoint{{IP: "10.244.0.3", Port: 8113}, {IP: "10.244.0.9", Port: 8113}},
			PortName:       "http",
		},
	}, {
		name: "Knative is taking it to zero; an h2c revision's port is http2",
		objs: []runtime.Object{h2c(rev("ns", "fn-00002", short, "")), podAutoscaler("ns", "fn-00002", ptr.To[int32](0))},
		key:  revision.Key{Namespace: "ns", Name: "fn-00002"},
		want: revision.Config{
			Key:            revision.Key{Namespace: "ns", Name: "fn-00002"},
			Pool:           revision.PoolKey{Namespace: "knative-serving", Name: "default"},
			Policy:         shortLived2s,
			ServiceAccount: "default",
			PortName:       "http2",
			ScaledToZero:   true,
		},
	}, {
		name: "a PodAutoscaler that wants a pod, or has not decided, is not taking it to zero",
		objs: []runtime.Object{rev("ns", "fn-00003", short, ""), podAutoscaler("ns", "fn-00003", ptr.To[int32](1)),
			rev("ns", "fn-00004", short, ""), podAutoscaler("ns", "fn-00004", nil)},
		key: revision.Key{Namespace: "ns", Name: "fn-00003"},
		want: revision.Config{
			Key:            revision.Key{Namespace: "ns", Name: "fn-00003"},
			Pool:           revision.PoolKey{Namespace: "knative-serving", Name: "default"},
			Policy:         shortLived2s,
			ServiceAccount: "default",
			PortName:       "http",
		},
	}, {
		name: "a pool in the revision's own namespace wins over the shared one",
		objs: []runtime.Object{rev("ns", "fn-00001", short, ""), pool("ns", "default", 0), pool("knative-serving", "default", 0)},
		key:  revision.Key{Namespace: "ns", Name: "fn-00001"},
		want: revision.Config{
			Key:            revision.Key{Namespace: "ns", Name: "fn-00001"},
			Pool:           revision.PoolKey{Namespace: "ns", Name: "default"},
			Policy:         shortLived2s,
			ServiceAccount: "default",
			PortName:       "http",
		},
	}, {
		name:    "an invalid annotation is an error naming it, not a missing revision",
		objs:    []runtime.Object{rev("ns", "bad", map[string]string{"ssm.dev/timeout": "soon"}, "")},
		key:     revision.Key{Namespace: "ns", Name: "bad"},
		wantErr: `resolving the policy of revision ns/bad: invalid value: "soon": metadata.annotations[ssm.dev/timeout]`,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := newSource(t, tc.objs...)
			if tc.switchOff {
				src = newSourceSwitchOff(t, tc.objs...)
			}
			got, err := src.Get(tc.key)
			if err == nil && got.Pooled() != (got.Unleasable == "" && tc.want.Pool != revision.PoolKey{}) {
				t.Errorf("Pooled() = %v with Unleasable %q and pool %v", got.Pooled(), got.Unleasable, got.Pool)
			}
			if tc.wantErr != "" {
				if err == nil || !containsLine(err.Error(), tc.wantErr) {
					t.Fatalf("Get() error = %v, want %q", err, tc.wantErr)
				}
				if errors.Is(err, revision.ErrNotFound) != tc.notFound {
					t.Errorf("errors.Is(err, ErrNotFound) = %v, want %v", !tc.notFound, tc.notFound)
				}
				return
			}
			if err != nil {
				t.Fatalf("Get() = %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Get() (-want, +got):\n%s", diff)
			}
		})
	}
}

func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	s := newSource(t, pool("knative-serving", "default", 0), pool("ns", "fast", 30*time.Second))
	for _, tc := range []struct {
		pool revision.PoolKey
		want time.Duration
	}{
		{revision.PoolKey{Namespace: "knative-serving", Name: "default"}, 5 * time.Minute},
		{revision.PoolKey{Namespace: "ns", Name: "fast"}, 30 * time.Second},
		{revision.PoolKey{Namespace: "ns", Name: "unknown"}, 5 * time.Minute},
	} {
		if got := s.IdleTimeout(tc.pool); got != tc.want {
			t.Errorf("IdleTimeout(%v) = %v, want %v", tc.pool, got, tc.want)
		}
	}
}

func TestRevisionOfSlice(t *testing.T) {
	t.Parallel()
	if got, ok := RevisionOfSlice(slice("ns", "a", "fn-00001", "Private")); !ok || got != (revision.Key{Namespace: "ns", Name: "fn-00001"}) {
		t.Errorf("private slice: got %v, %v", got, ok)
	}
	if _, ok := RevisionOfSlice(slice("ns", "a", "fn-00001", "Public")); ok {
		t.Error("a public slice was taken for a revision's private one")
	}
}

func corev1PodSpec(sa string) corev1.PodSpec {
	return corev1.PodSpec{ServiceAccountName: sa, Containers: []corev1.Container{{Image: "fn"}}}
}

func containsLine(got, want string) bool { return strings.Contains(got, want) }

// appliedRule is the metadata of a DestinationRule the controller wrote for
// revision with class.
func appliedRule(name, revision, class string) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name,
		Labels:      map[string]string{"app.kubernetes.io/managed-by": "ssm"},
		Annotations: map[string]string{"ssm.dev/revision": revision, "ssm.dev/lifecycle-class": class}}}
}

// TestGetResolvesWithTheAppliedClass: ssm-pool has no observations, but
// resolving an "auto" revision with the class the controller's routes
// carry gives the leased proxy that class's retries, as on the gateway;
// without one, or with routes that disagree, it is auto-initial's.
func TestGetResolvesWithTheAppliedClass(t *testing.T) {
	t.Parallel()
	auto := map[string]string{"ssm.dev/lifecycle": "auto", "ssm.dev/mtls-mode": "lightweight", "ssm.dev/proxy-pool": "default",
		"resolved.ssm.dev/pods": "sidecarless", "resolved.ssm.dev/proxy-pool": "default"}
	type answer struct {
		Lifecycle policy.Lifecycle
		Retries   int32
		RetryOn   string
		Timeout   time.Duration
	}
	tests := []struct {
		name  string
		rules []*metav1.PartialObjectMetadata
		want  answer
	}{{
		name: "no route yet: auto-initial (long-lived)",
		want: answer{Lifecycle: "long-lived", Retries: 3, RetryOn: "connect-failure,refused-stream", Timeout: 300 * time.Second},
	}, {
		name:  "the routes carry short-lived: so does the leased proxy, with the revision's timeout",
		rules: []*metav1.PartialObjectMetadata{appliedRule("a-fn", "fn-00001", "short-lived"), appliedRule("b-fn", "fn-00001", "short-lived"), appliedRule("a-other", "other-00001", "long-lived")},
		want:  answer{Lifecycle: "short-lived", Retries: 1, RetryOn: "connect-failure", Timeout: 300 * time.Second},
	}, {
		name:  "routes that disagree are no evidence",
		rules: []*metav1.PartialObjectMetadata{appliedRule("a-fn", "fn-00001", "short-lived"), appliedRule("b-fn", "fn-00001", "long-lived")},
		want:  answer{Lifecycle: "long-lived", Retries: 3, RetryOn: "connect-failure,refused-stream", Timeout: 300 * time.Second},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newSource(t, rev("ns", "fn-00001", auto, ""))
			indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, DestinationRuleIndexers())
			for _, r := range tc.rules {
				if err := indexer.Add(r); err != nil {
					t.Fatal(err)
				}
			}
			s.listers.DestinationRules = indexer
			got, err := s.Get(revision.Key{Namespace: "ns", Name: "fn-00001"})
			if err != nil {
				t.Fatal(err)
			}
			p := got.Policy
			if diff := cmp.Diff(tc.want, answer{Lifecycle: p.Lifecycle, Retries: p.Retries, RetryOn: p.RetryOn, Timeout: p.Timeout}); diff != "" {
				t.Errorf("Get() policy (-want +got):\n%s", diff)
			}
		})
	}
}
