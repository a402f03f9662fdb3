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
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"knative.dev/pkg/kmeta"
	"knative.dev/serving/pkg/apis/serving"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	servingnetworking "knative.dev/serving/pkg/networking"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
)

// queueProxyPorts are the ports queue-proxy listens on in a sidecar-less
// pod, sorted: HTTP and h2c serving, the admin port (the kubelet's preStop
// drain), Knative's system-internal TLS, SSM's mTLS port, and the two
// metrics ports. Knative refuses a user container port among them.
var queueProxyPorts = []int32{
	servingnetworking.BackendHTTPPort,
	servingnetworking.BackendHTTP2Port,
	servingnetworking.QueueAdminPort,
	servingnetworking.BackendHTTPSPort,
	ssm.QueueProxyMTLSPort,
	servingnetworking.AutoscalingQueueMetricsPort,
	servingnetworking.UserQueueMetricsPort,
}

// NetworkPolicyName is the NetworkPolicy of a sidecar-less revision's pods.
func NetworkPolicyName(revision string) string { return ServiceName(revision) }

// MakeNetworkPolicy keeps a sidecar-less revision's user container behind
// queue-proxy: the revision's pods accept connections from outside only on
// queueProxyPorts. Without it the user container's port is open in
// plaintext on the pod IP, around the queue-proxy plugin that refuses
// plaintext. Traffic inside the pod (queue-proxy to the user container)
// never passes a NetworkPolicy. It takes effect only where the cluster's
// network plugin enforces NetworkPolicies.
func MakeNetworkPolicy(rev *servingv1.Revision) *networkingv1.NetworkPolicy {
	ports := make([]networkingv1.NetworkPolicyPort, 0, len(queueProxyPorts))
	for _, p := range queueProxyPorts {
		ports = append(ports, networkingv1.NetworkPolicyPort{
			Protocol: ptr.To(corev1.ProtocolTCP),
			Port:     ptr.To(intstr.FromInt32(p)),
		})
	}
	return &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{
			Name:            NetworkPolicyName(rev.Name),
			Namespace:       rev.Namespace,
			Labels:          serviceLabels(rev.Name),
			OwnerReferences: []metav1.OwnerReference{*kmeta.NewControllerRef(rev)},
		},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{serving.RevisionLabelKey: rev.Name}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{Ports: ports}},
		},
	}
}
