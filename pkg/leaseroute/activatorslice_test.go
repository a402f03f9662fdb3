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
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
)

func podRef(name string) *corev1.ObjectReference {
	return &corev1.ObjectReference{Kind: "Pod", Namespace: "knative-serving", Name: name, UID: types.UID("uid-" + name)}
}

// activatorPorts are the ports of Knative's activator Service as its
// slices carry them: the Service's port names with the pod's port numbers.
func activatorPorts() []discoveryv1.EndpointPort {
	tcp := ptr.To(corev1.ProtocolTCP)
	return []discoveryv1.EndpointPort{
		{Name: ptr.To("http-metrics"), Protocol: tcp, Port: ptr.To[int32](9090)},
		{Name: ptr.To("http-profiling"), Protocol: tcp, Port: ptr.To[int32](8008)},
		{Name: ptr.To("http"), Protocol: tcp, Port: ptr.To[int32](8012)},
		{Name: ptr.To("http2"), Protocol: tcp, Port: ptr.To[int32](8013)},
		{Name: ptr.To("https"), Protocol: tcp, Port: ptr.To[int32](8112)},
	}
}

func activatorSlice(name string, family discoveryv1.AddressType, ports []discoveryv1.EndpointPort, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "knative-serving",
			Name:      name,
			Labels:    map[string]string{"kubernetes.io/service-name": "activator-service"},
		},
		AddressType: family,
		Ports:       ports,
		Endpoints:   eps,
	}
}

// activatorSlices: two IPv4 slices that overlap (10.244.0.7 is in both),
// where one endpoint is not ready in the first and ready in the second,
// plus an IPv6 slice.
func activatorSlices() []*discoveryv1.EndpointSlice {
	return []*discoveryv1.EndpointSlice{
		activatorSlice("activator-service-a", discoveryv1.AddressTypeIPv4, activatorPorts(),
			discoveryv1.Endpoint{
				Addresses:  []string{"10.244.0.7"},
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true), Serving: ptr.To(true)},
				Hostname:   ptr.To("not-copied"),
				TargetRef:  podRef("activator-a"),
				NodeName:   ptr.To("node-a"),
				Zone:       ptr.To("zone-1"),
			},
			discoveryv1.Endpoint{
				Addresses:  []string{"10.244.0.9"},
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false)},
				TargetRef:  podRef("activator-c"),
			},
			discoveryv1.Endpoint{
				// A nil Ready condition means ready.
				Addresses: []string{"10.244.0.12"},
				TargetRef: podRef("activator-b"),
			},
			discoveryv1.Endpoint{Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}},
		),
		activatorSlice("activator-service-b", discoveryv1.AddressTypeIPv4, activatorPorts(),
			discoveryv1.Endpoint{
				Addresses:  []string{"10.244.0.7"},
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
				TargetRef:  podRef("activator-a"),
				NodeName:   ptr.To("node-a"),
				Zone:       ptr.To("zone-1"),
			},
			discoveryv1.Endpoint{
				Addresses:  []string{"10.244.0.9"},
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
				TargetRef:  podRef("activator-c"),
			},
			discoveryv1.Endpoint{
				Addresses:  []string{"10.244.0.20"},
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
			},
		),
		activatorSlice("activator-service-v6", discoveryv1.AddressTypeIPv6, activatorPorts(),
			discoveryv1.Endpoint{
				Addresses:  []string{"fd00::7"},
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
				TargetRef:  podRef("activator-a"),
			},
		),
	}
}

func activatorSliceMeta(revision string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:      revision + "-ssm-activator",
		Namespace: "fn-ns",
		Labels: map[string]string{
			"serving.knative.dev/revision":           revision,
			"app.kubernetes.io/managed-by":           "ssm",
			"kubernetes.io/service-name":             revision + "-ssm",
			"endpointslice.kubernetes.io/managed-by": "ssm-controller.ssm.dev",
		},
		OwnerReferences: revisionOwner(revision),
	}
}

// wantActivatorEndpoints are the ready IPv4 endpoints of activatorSlices,
// once each, sorted by address as strings.
func wantActivatorEndpoints() []discoveryv1.Endpoint {
	ready := discoveryv1.EndpointConditions{Ready: ptr.To(true)}
	return []discoveryv1.Endpoint{
		{Addresses: []string{"10.244.0.12"}, Conditions: ready, TargetRef: podRef("activator-b")},
		{Addresses: []string{"10.244.0.20"}, Conditions: ready},
		{Addresses: []string{"10.244.0.7"}, Conditions: ready, TargetRef: podRef("activator-a"), NodeName: ptr.To("node-a"), Zone: ptr.To("zone-1")},
		{Addresses: []string{"10.244.0.9"}, Conditions: ready, TargetRef: podRef("activator-c")},
	}
}

func TestMakeActivatorSlice(t *testing.T) {
	t.Parallel()
	tcp := ptr.To(corev1.ProtocolTCP)
	onlyMetrics := []discoveryv1.EndpointPort{{Name: ptr.To("http-metrics"), Protocol: tcp, Port: ptr.To[int32](9090)}}
	tests := []struct {
		name      string
		rev       *servingv1.Revision
		activator []*discoveryv1.EndpointSlice
		leased    bool
		want      *discoveryv1.EndpointSlice
	}{{
		name:      "HTTP/1: the activator's ready IPv4 endpoints at its http port",
		rev:       testRevision("hello-00001", false),
		activator: activatorSlices(),
		want: &discoveryv1.EndpointSlice{
			ObjectMeta:  activatorSliceMeta("hello-00001"),
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Protocol: tcp, Port: ptr.To[int32](8012)}},
			Endpoints:   wantActivatorEndpoints(),
		},
	}, {
		name:      "h2c: the activator's http2 port",
		rev:       testRevision("hello-00002", true),
		activator: activatorSlices(),
		want: &discoveryv1.EndpointSlice{
			ObjectMeta:  activatorSliceMeta("hello-00002"),
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http2"), Protocol: tcp, Port: ptr.To[int32](8013)}},
			Endpoints:   wantActivatorEndpoints(),
		},
	}, {
		name:      "leased: no endpoints, the port stays",
		rev:       testRevision("hello-00001", false),
		activator: activatorSlices(),
		leased:    true,
		want: &discoveryv1.EndpointSlice{
			ObjectMeta:  activatorSliceMeta("hello-00001"),
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Protocol: tcp, Port: ptr.To[int32](8012)}},
			Endpoints:   []discoveryv1.Endpoint{},
		},
	}, {
		name: "no slice has the revision's port: no port, no endpoints",
		rev:  testRevision("hello-00001", false),
		activator: []*discoveryv1.EndpointSlice{activatorSlice("activator-service-a", discoveryv1.AddressTypeIPv4, onlyMetrics,
			discoveryv1.Endpoint{Addresses: []string{"10.244.0.7"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}})},
		want: &discoveryv1.EndpointSlice{
			ObjectMeta:  activatorSliceMeta("hello-00001"),
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints:   []discoveryv1.Endpoint{},
		},
	}, {
		name: "only an IPv6 slice: no port, no endpoints",
		rev:  testRevision("hello-00001", false),
		activator: []*discoveryv1.EndpointSlice{activatorSlice("activator-service-v6", discoveryv1.AddressTypeIPv6, activatorPorts(),
			discoveryv1.Endpoint{Addresses: []string{"fd00::7"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}})},
		want: &discoveryv1.EndpointSlice{
			ObjectMeta:  activatorSliceMeta("hello-00001"),
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints:   []discoveryv1.Endpoint{},
		},
	}, {
		name: "no activator slice at all",
		rev:  testRevision("hello-00001", false),
		want: &discoveryv1.EndpointSlice{
			ObjectMeta:  activatorSliceMeta("hello-00001"),
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints:   []discoveryv1.Endpoint{},
		},
	}, {
		name: "the activator's port but no ready endpoint: the port and no endpoints",
		rev:  testRevision("hello-00001", false),
		activator: []*discoveryv1.EndpointSlice{activatorSlice("activator-service-a", discoveryv1.AddressTypeIPv4, activatorPorts(),
			discoveryv1.Endpoint{Addresses: []string{"10.244.0.7"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false)}})},
		want: &discoveryv1.EndpointSlice{
			ObjectMeta:  activatorSliceMeta("hello-00001"),
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Protocol: tcp, Port: ptr.To[int32](8012)}},
			Endpoints:   []discoveryv1.Endpoint{},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var before []*discoveryv1.EndpointSlice
			for _, s := range tc.activator {
				before = append(before, s.DeepCopy())
			}
			got := MakeActivatorSlice(tc.rev, tc.activator, tc.leased)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("MakeActivatorSlice() (-want +got):\n%s", diff)
			}
			// The lister's order is arbitrary; the output must not depend
			// on it.
			reversed := slices.Clone(tc.activator)
			slices.Reverse(reversed)
			if diff := cmp.Diff(got, MakeActivatorSlice(tc.rev, reversed, tc.leased)); diff != "" {
				t.Errorf("MakeActivatorSlice() of the slices in reverse order differs (-forward +reverse):\n%s", diff)
			}
			// The result is the caller's to change; the lister's objects
			// must not change with it.
			for i := range got.Endpoints {
				if got.Endpoints[i].TargetRef != nil {
					got.Endpoints[i].TargetRef.Name = "changed"
				}
			}
			if diff := cmp.Diff(before, tc.activator); diff != "" {
				t.Errorf("MakeActivatorSlice() changed its input (-before +after):\n%s", diff)
			}
		})
	}
}
