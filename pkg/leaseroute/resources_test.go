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

package leaseroute

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
)

func testRevision(name string, h2c bool) *servingv1.Revision {
	c := corev1.Container{Image: "example.com/fn"}
	if h2c {
		c.Ports = []corev1.ContainerPort{{Name: "h2c", ContainerPort: 8080}}
	}
	return &servingv1.Revision{
		ObjectMeta: metav1.ObjectMeta{Namespace: "fn-ns", Name: name, UID: "rev-uid"},
		Spec:       servingv1.RevisionSpec{PodSpec: corev1.PodSpec{Containers: []corev1.Container{c}}},
	}
}

func revisionOwner(name string) []metav1.OwnerReference {
	return []metav1.OwnerReference{{
		APIVersion:         "serving.knative.dev/v1",
		Kind:               "Revision",
		Name:               name,
		UID:                "rev-uid",
		Controller:         ptr.To(true),
		BlockOwnerDeletion: ptr.To(true),
	}}
}

func TestMakeService(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		rev  *servingv1.Revision
		want *corev1.Service
	}{{
		name: "HTTP/1 revision: port 80 named http",
		rev:  testRevision("hello-00001", false),
		want: &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{
				Name:      "hello-00001-ssm",
				Namespace: "fn-ns",
				Labels: map[string]string{
					"serving.knative.dev/revision": "hello-00001",
					"app.kubernetes.io/managed-by": "ssm",
				},
				OwnerReferences: revisionOwner("hello-00001"),
			},
			Spec: corev1.ServiceSpec{
				Type:  corev1.ServiceTypeClusterIP,
				Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(80)}},
			},
		},
	}, {
		name: "h2c revision: port 81 named http2 with the h2c application protocol",
		rev:  testRevision("hello-00002", true),
		want: &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{
				Name:      "hello-00002-ssm",
				Namespace: "fn-ns",
				Labels: map[string]string{
					"serving.knative.dev/revision": "hello-00002",
					"app.kubernetes.io/managed-by": "ssm",
				},
				OwnerReferences: revisionOwner("hello-00002"),
			},
			Spec: corev1.ServiceSpec{
				Type: corev1.ServiceTypeClusterIP,
				Ports: []corev1.ServicePort{{
					Name: "http2", Protocol: corev1.ProtocolTCP, Port: 81, TargetPort: intstr.FromInt32(81), AppProtocol: ptr.To("kubernetes.io/h2c"),
				}},
			},
		},
	}, {
		name: "a long revision name gives a shortened Service name; the label keeps the whole name",
		rev:  testRevision(longRevision, false),
		want: &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{
				Name:      "a-very-long-revision-name-t16aaa1a7ee13f2a16c001ba51130e188-ssm",
				Namespace: "fn-ns",
				Labels: map[string]string{
					"serving.knative.dev/revision": longRevision,
					"app.kubernetes.io/managed-by": "ssm",
				},
				OwnerReferences: revisionOwner(longRevision),
			},
			Spec: corev1.ServiceSpec{
				Type:  corev1.ServiceTypeClusterIP,
				Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(80)}},
			},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, MakeService(tc.rev)); diff != "" {
				t.Errorf("MakeService() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMakeLeaseSlice(t *testing.T) {
	t.Parallel()
	tcp := ptr.To(corev1.ProtocolTCP)
	ready := discoveryv1.EndpointConditions{Ready: ptr.To(true)}
	tests := []struct {
		name string
		in   LeaseSlice
		want *discoveryv1.EndpointSlice
	}{{
		name: "proxies sorted and deduplicated, at the pooled proxy's port named like the revision's",
		in: LeaseSlice{
			Namespace: "fn-ns", Revision: "hello-00001", PortName: "http",
			Replica: "ssm-pool-6f7c9d8b4-abcde",
			Proxies: []string{"10.244.3.9", "10.244.3.10", "10.244.3.9"},
		},
		want: &discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{
				Name:      "hello-00001-ssm-7a74a774d2",
				Namespace: "fn-ns",
				Labels: map[string]string{
					"serving.knative.dev/revision":           "hello-00001",
					"app.kubernetes.io/managed-by":           "ssm",
					"kubernetes.io/service-name":             "hello-00001-ssm",
					"endpointslice.kubernetes.io/managed-by": "ssm-pool.ssm.dev",
					"ssm.dev/pool-replica":                   "7a74a774d2",
				},
			},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Protocol: tcp, Port: ptr.To[int32](8081)}},
			Endpoints: []discoveryv1.Endpoint{
				{Addresses: []string{"10.244.3.10"}, Conditions: ready},
				{Addresses: []string{"10.244.3.9"}, Conditions: ready},
			},
		},
	}, {
		name: "h2c, another replica",
		in: LeaseSlice{
			Namespace: "other-ns", Revision: "hello-00002", PortName: "http2",
			Replica: "ssm-pool-6f7c9d8b4-fghij",
			Proxies: []string{"10.244.3.11"},
		},
		want: &discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{
				Name:      "hello-00002-ssm-62f9025bcd",
				Namespace: "other-ns",
				Labels: map[string]string{
					"serving.knative.dev/revision":           "hello-00002",
					"app.kubernetes.io/managed-by":           "ssm",
					"kubernetes.io/service-name":             "hello-00002-ssm",
					"endpointslice.kubernetes.io/managed-by": "ssm-pool.ssm.dev",
					"ssm.dev/pool-replica":                   "62f9025bcd",
				},
			},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http2"), Protocol: tcp, Port: ptr.To[int32](8081)}},
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.244.3.11"}, Conditions: ready}},
		},
	}, {
		name: "a long revision name",
		in: LeaseSlice{
			Namespace: "fn-ns", Revision: longRevision, PortName: "http",
			Replica: "ssm-pool-6f7c9d8b4-abcde",
			Proxies: []string{"10.244.3.9"},
		},
		want: &discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{
				Name:      "a-very-long-revi16aaa1a7ee13f2a16c001ba51130e188-ssm-7a74a774d2",
				Namespace: "fn-ns",
				Labels: map[string]string{
					"serving.knative.dev/revision":           longRevision,
					"app.kubernetes.io/managed-by":           "ssm",
					"kubernetes.io/service-name":             "a-very-long-revision-name-t16aaa1a7ee13f2a16c001ba51130e188-ssm",
					"endpointslice.kubernetes.io/managed-by": "ssm-pool.ssm.dev",
					"ssm.dev/pool-replica":                   "7a74a774d2",
				},
			},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Protocol: tcp, Port: ptr.To[int32](8081)}},
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.244.3.9"}, Conditions: ready}},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			proxies := slices.Clone(tc.in.Proxies)
			if diff := cmp.Diff(tc.want, MakeLeaseSlice(tc.in)); diff != "" {
				t.Errorf("MakeLeaseSlice() (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(proxies, tc.in.Proxies); diff != "" {
				t.Errorf("MakeLeaseSlice() reordered its input (-before +after):\n%s", diff)
			}
		})
	}
}

func TestReady(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		ready *bool
		want  bool
	}{
		{name: "nil means ready", ready: nil, want: true},
		{name: "true", ready: ptr.To(true), want: true},
		{name: "false", ready: ptr.To(false), want: false},
	}
	for _, tc := range tests {
		ep := discoveryv1.Endpoint{Addresses: []string{"10.0.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: tc.ready}}
		if got := Ready(ep); got != tc.want {
			t.Errorf("%s: Ready() = %t, want %t", tc.name, got, tc.want)
		}
	}
}

func TestHasReadyEndpoint(t *testing.T) {
	t.Parallel()
	managed := func(by string, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
		return &discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"endpointslice.kubernetes.io/managed-by": by}},
			Endpoints:  eps,
		}
	}
	ep := func(ready *bool, ips ...string) discoveryv1.Endpoint {
		return discoveryv1.Endpoint{Addresses: ips, Conditions: discoveryv1.EndpointConditions{Ready: ready}}
	}
	tests := []struct {
		name string
		list []*discoveryv1.EndpointSlice
		want bool
	}{{
		name: "no slices",
		want: false,
	}, {
		name: "a ready endpoint, any manager",
		list: []*discoveryv1.EndpointSlice{managed("ssm-controller.ssm.dev", ep(ptr.To(true), "10.0.0.1"))},
		want: true,
	}, {
		name: "nil Ready counts as ready",
		list: []*discoveryv1.EndpointSlice{managed("ssm-pool.ssm.dev", ep(nil, "10.0.0.1"))},
		want: true,
	}, {
		name: "only not-ready endpoints",
		list: []*discoveryv1.EndpointSlice{managed("ssm-pool.ssm.dev", ep(ptr.To(false), "10.0.0.1"), ep(ptr.To(false), "10.0.0.2"))},
		want: false,
	}, {
		name: "the last of several slices has the ready endpoint",
		list: []*discoveryv1.EndpointSlice{
			managed("ssm-controller.ssm.dev"),
			managed("ssm-pool.ssm.dev", ep(ptr.To(false), "10.0.0.2")),
			managed("ssm-pool.ssm.dev", ep(ptr.To(true), "10.0.0.3")),
		},
		want: true,
	}, {
		name: "a ready endpoint without an address does not count",
		list: []*discoveryv1.EndpointSlice{managed("ssm-pool.ssm.dev", ep(ptr.To(true)))},
		want: false,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := HasReadyEndpoint(tc.list); got != tc.want {
				t.Errorf("HasReadyEndpoint() = %t, want %t", got, tc.want)
			}
		})
	}
}

// SliceUpdate asks for a write only when labels, endpoints or ports differ,
// and then keeps everything else of the stored slice.
func TestSliceUpdate(t *testing.T) {
	t.Parallel()
	stored := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "s", Namespace: "ns", ResourceVersion: "7", Labels: map[string]string{"a": "1"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}}},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8081)}},
	}
	same := stored.DeepCopy()
	same.ResourceVersion = ""
	if got := SliceUpdate(stored, same); got != nil {
		t.Errorf("SliceUpdate(equal) = %v, want nil", got)
	}
	moved := same.DeepCopy()
	moved.Endpoints = []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.2"}}}
	want := stored.DeepCopy()
	want.Endpoints = []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.2"}}}
	if diff := cmp.Diff(want, SliceUpdate(stored, moved)); diff != "" {
		t.Errorf("SliceUpdate(moved endpoint) (-want +got):\n%s", diff)
	}
	relabelled := same.DeepCopy()
	relabelled.Labels = map[string]string{"a": "2"}
	if got := SliceUpdate(stored, relabelled); got == nil || got.Labels["a"] != "2" || got.ResourceVersion != "7" {
		t.Errorf("SliceUpdate(relabelled) = %v, want the stored slice with label a=2", got)
	}
}
