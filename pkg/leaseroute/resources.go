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
	"cmp"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"knative.dev/networking/pkg/apis/networking"
	"knative.dev/pkg/kmeta"
	"knative.dev/serving/pkg/apis/serving"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
)

// MakeService is a revision's lease Service. It has no selector: its
// endpoints are the slices ssm-pool and the controller publish. Its port
// has the number, name and application protocol of Knative's public Service
// for the revision, so a KIngress split moves to it unchanged but for the
// host.
func MakeService(rev *servingv1.Revision) *corev1.Service {
	proto := rev.GetProtocol()
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Name:            ServiceName(rev.Name),
			Namespace:       rev.Namespace,
			Labels:          serviceLabels(rev.Name),
			OwnerReferences: []metav1.OwnerReference{*kmeta.NewControllerRef(rev)},
		},
		Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeClusterIP,
			Ports: []corev1.ServicePort{{
				Name:     networking.ServicePortName(proto),
				Protocol: corev1.ProtocolTCP,
				Port:     int32(networking.ServicePort(proto)),
				// The API server fills in targetPort = port; writing it here
				// keeps an unchanged Service equal to what it stores.
				TargetPort:  intstr.FromInt32(int32(networking.ServicePort(proto))),
				AppProtocol: networking.AppProtocol(proto),
			}},
		},
	}
}

func serviceLabels(revision string) map[string]string {
	return map[string]string{
		serving.RevisionLabelKey: revision,
		ssm.ManagedByLabelKey:    ssm.ManagedByLabelValue,
	}
}

func sliceLabels(revision, managedBy string) map[string]string {
	l := serviceLabels(revision)
	l[discoveryv1.LabelServiceName] = ServiceName(revision)
	l[discoveryv1.LabelManagedBy] = managedBy
	return l
}

// MakeActivatorSlice is the controller's slice of a revision's lease
// Service: the ready endpoints of Knative's activator when no proxy is
// published (leased false), and no endpoints when one is, so that the
// gateway then sends everything to the proxies and the activator leaves the
// path as it does in plain Knative. activator are the activator Service's
// slices; only IPv4 ones are used, and only their port named like the
// revision's (http for HTTP/1, http2 for h2c), as Knative's own public
// Service does.
func MakeActivatorSlice(rev *servingv1.Revision, activator []*discoveryv1.EndpointSlice, leased bool) *discoveryv1.EndpointSlice {
	portName := networking.ServicePortName(rev.GetProtocol())
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Name:            ActivatorSliceName(rev.Name),
			Namespace:       rev.Namespace,
			Labels:          sliceLabels(rev.Name, ManagedByController),
			OwnerReferences: []metav1.OwnerReference{*kmeta.NewControllerRef(rev)},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{},
	}
	var port *int32
	seen := make(map[string]bool)
	// Listers return slices in no particular order; by name, "the first"
	// below is always the same one.
	activator = slices.SortedFunc(slices.Values(activator), func(a, b *discoveryv1.EndpointSlice) int {
		return cmp.Compare(a.Name, b.Name)
	})
	for _, s := range activator {
		if s.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		p := portNamed(s.Ports, portName)
		if p == nil {
			continue
		}
		if port == nil {
			port = p
		} else if *p != *port {
			// Slices of one Service agree on a named port except while
			// the activator is being reconfigured; keep the first.
			continue
		}
		for _, ep := range s.Endpoints {
			if !Ready(ep) || len(ep.Addresses) == 0 || seen[ep.Addresses[0]] {
				continue
			}
			seen[ep.Addresses[0]] = true
			slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{
				Addresses:  []string{ep.Addresses[0]},
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
				// Istio finds the pod, and so whether it has a sidecar,
				// through the reference.
				TargetRef: ep.TargetRef.DeepCopy(),
				NodeName:  ep.NodeName,
				Zone:      ep.Zone,
			})
		}
	}
	if port != nil {
		slice.Ports = []discoveryv1.EndpointPort{{Name: ptr.To(portName), Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(*port)}}
	}
	if leased || port == nil {
		slice.Endpoints = []discoveryv1.Endpoint{}
	}
	slices.SortFunc(slice.Endpoints, func(a, b discoveryv1.Endpoint) int { return cmp.Compare(a.Addresses[0], b.Addresses[0]) })
	return slice
}

func portNamed(ports []discoveryv1.EndpointPort, name string) *int32 {
	for _, p := range ports {
		if p.Name != nil && *p.Name == name && p.Port != nil {
			return p.Port
		}
	}
	return nil
}

// LeaseSlice describes what one ssm-pool replica publishes for a revision.
type LeaseSlice struct {
	Namespace string
	Revision  string
	// PortName is the name of the revision's public port (http or http2).
	PortName string
	// Replica is the ssm-pool replica's name (its pod name). A slice cannot
	// be owned by the replica's pod, which lives in another namespace; SSM's
	// controller removes the slices of replicas that are gone.
	Replica string
	// Proxies are the IPv4 addresses of the pooled proxies that hold the
	// revision's configuration and can serve it.
	Proxies []string
}

// MakeLeaseSlice is one ssm-pool replica's slice of a revision's lease
// Service: its proxies at the pooled proxy's port.
func MakeLeaseSlice(in LeaseSlice) *discoveryv1.EndpointSlice {
	labels := sliceLabels(in.Revision, ManagedByPool)
	labels[ReplicaLabelKey] = ReplicaID(in.Replica)
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Name:      LeaseSliceName(in.Revision, in.Replica),
			Namespace: in.Namespace,
			Labels:    labels,
		},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   make([]discoveryv1.Endpoint, 0, len(in.Proxies)),
		Ports: []discoveryv1.EndpointPort{{
			Name: ptr.To(in.PortName), Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(int32(ssm.PoolProxyPort)),
		}},
	}
	proxies := slices.Sorted(slices.Values(in.Proxies))
	for _, ip := range slices.Compact(proxies) {
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{ip},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
		})
	}
	return slice
}

// SliceUpdate is have with want's labels, endpoints and ports, the parts
// SSM decides, or nil when have already carries them: then no write is due.
func SliceUpdate(have, want *discoveryv1.EndpointSlice) *discoveryv1.EndpointSlice {
	if equality.Semantic.DeepEqual(have.Endpoints, want.Endpoints) &&
		equality.Semantic.DeepEqual(have.Ports, want.Ports) &&
		equality.Semantic.DeepEqual(have.Labels, want.Labels) {
		return nil
	}
	updated := have.DeepCopy()
	updated.Labels, updated.Endpoints, updated.Ports = want.Labels, want.Endpoints, want.Ports
	return updated
}

// Ready follows the EndpointSlice API: a nil Ready condition means ready.
func Ready(ep discoveryv1.Endpoint) bool {
	return ep.Conditions.Ready == nil || *ep.Conditions.Ready
}

// HasReadyEndpoint reports whether any of the slices has a ready endpoint.
func HasReadyEndpoint(list []*discoveryv1.EndpointSlice) bool {
	for _, s := range list {
		for _, ep := range s.Endpoints {
			if Ready(ep) && len(ep.Addresses) > 0 {
				return true
			}
		}
	}
	return false
}
