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

package ingress

import (
	discoveryv1 "k8s.io/api/discovery/v1"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
	istiov1beta1 "istio.io/api/networking/v1beta1"
	istiosecurity "istio.io/api/security/v1beta1"
	istiotype "istio.io/api/type/v1beta1"
	"istio.io/client-go/pkg/apis/networking/v1beta1"
	securityv1beta1 "istio.io/client-go/pkg/apis/security/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Expected objects. Each spec is written out by hand from what net-istio
// emits and from pkg/policy's defaults; none is built by the code under test.

// ownerLabels are the labels SSM puts on everything it makes for ns/hello.
func ownerLabels() map[string]string {
	return map[string]string{
		"networking.internal.knative.dev/ingress": ingName,
		"ssm.dev/ingress-namespace":               testNS,
		"app.kubernetes.io/managed-by":            "ssm",
	}
}

// ownedMeta is the metadata of an object SSM made for ns/hello; objects in
// the KIngress's namespace are controlled by it.
func ownedMeta(namespace, name string) metav1.ObjectMeta {
	meta := metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: ownerLabels()}
	if namespace == testNS {
		meta.OwnerReferences = []metav1.OwnerReference{{
			APIVersion:         "networking.internal.knative.dev/v1alpha1",
			Kind:               "Ingress",
			Name:               ingName,
			UID:                "8f2a3c1e-0000-4000-8000-000000000001",
			Controller:         ptr(true),
			BlockOwnerDeletion: ptr(true),
		}}
	}
	return meta
}

func prefix(p string) *istiov1beta1.StringMatch {
	return &istiov1beta1.StringMatch{MatchType: &istiov1beta1.StringMatch_Prefix{Prefix: p}}
}

func exact(v string) *istiov1beta1.StringMatch {
	return &istiov1beta1.StringMatch{MatchType: &istiov1beta1.StringMatch_Exact{Exact: v}}
}

// revisionDestination is the one destination of every fixture route.
func revisionDestination() []*istiov1beta1.HTTPRouteDestination {
	return []*istiov1beta1.HTTPRouteDestination{{
		Destination: &istiov1beta1.Destination{
			Host: "hello-00001.ns.svc.cluster.local",
			Port: &istiov1beta1.PortSelector{Number: 80},
		},
		Weight: 100,
		Headers: &istiov1beta1.Headers{Request: &istiov1beta1.Headers_HeaderOperations{Set: map[string]string{
			"Knative-Serving-Namespace": "ns",
			"Knative-Serving-Revision":  "hello-00001",
		}}},
	}}
}

// resilience is the timeout and retry policy expected on every route.
type resilience struct {
	timeout *durationpb.Duration
	retries *istiov1beta1.HTTPRetry
}

var (
	// netIstio: no timeout, and retries explicitly off.
	netIstio = resilience{retries: &istiov1beta1.HTTPRetry{}}
	// shortLived2s: ssm.dev/timeout 2s; short-lived retries only on
	// connect-failure, once (pkg/policy defaults).
	shortLived2s = resilience{
		timeout: durationpb.New(2 * time.Second),
		retries: &istiov1beta1.HTTPRetry{Attempts: 1, RetryOn: "connect-failure"},
	}
)

// longLived is the long-lived class's retries with the given timeout.
func longLived(timeout time.Duration) resilience {
	return resilience{
		timeout: durationpb.New(timeout),
		retries: &istiov1beta1.HTTPRetry{Attempts: 3, RetryOn: "connect-failure,refused-stream"},
	}
}

// route is one route of the fixtures to hello-00001: a probe route (hash
// set) matches K-Network-Hash: override and answers with the hash.
func route(gateway, authority, hash string, res resilience) *istiov1beta1.HTTPRoute {
	r := &istiov1beta1.HTTPRoute{
		Match:   []*istiov1beta1.HTTPMatchRequest{{Gateways: []string{gateway}, Authority: prefix(authority)}},
		Route:   revisionDestination(),
		Timeout: res.timeout,
		Retries: res.retries,
	}
	if hash != "" {
		r.Match[0].Headers = map[string]*istiov1beta1.StringMatch{"K-Network-Hash": exact("override")}
		r.Headers = &istiov1beta1.Headers{Request: &istiov1beta1.Headers_HeaderOperations{Set: map[string]string{"K-Network-Hash": hash}}}
	}
	return r
}

// ingressVS is hello-ingress for the two-rule fixture: the cluster-local
// rule on the local gateway, the external rule on externalGateway.
func ingressVS(hash string, gateways []string, externalGateway string, res resilience) *v1beta1.VirtualService {
	return &v1beta1.VirtualService{
		ObjectMeta: ownedMeta(testNS, "hello-ingress"),
		Spec: istiov1beta1.VirtualService{
			Hosts:    []string{"hello.ns", "hello.ns.example.com", "hello.ns.svc", "hello.ns.svc.cluster.local"},
			Gateways: gateways,
			Http: []*istiov1beta1.HTTPRoute{
				route(localGatewayQN, "hello.ns", hash, res),
				route(localGatewayQN, "hello.ns", "", res),
				route(externalGateway, "hello.ns.example.com", hash, res),
				route(externalGateway, "hello.ns.example.com", "", res),
			},
		},
	}
}

// meshVS is hello-mesh: the cluster-local names, inside the mesh.
func meshVS(hash string, res resilience) *v1beta1.VirtualService {
	return &v1beta1.VirtualService{
		ObjectMeta: ownedMeta(testNS, "hello-mesh"),
		Spec: istiov1beta1.VirtualService{
			Hosts:    []string{"hello.ns", "hello.ns.svc", "hello.ns.svc.cluster.local"},
			Gateways: []string{meshGateway},
			Http: []*istiov1beta1.HTTPRoute{
				route(meshGateway, "hello.ns", hash, res),
				route(meshGateway, "hello.ns", "", res),
			},
		},
	}
}

// shortLivedDR is the DestinationRule of hello-00001 as a short-lived
// revision: pkg/policy's short-lived connection pool and outlier detection.
func shortLivedDR() *v1beta1.DestinationRule {
	dr := &v1beta1.DestinationRule{
		ObjectMeta: ownedMeta(testNS, "hello-hello-00001-894f0a7e"),
		Spec: istiov1beta1.DestinationRule{
			Host: "hello-00001.ns.svc.cluster.local",
			TrafficPolicy: &istiov1beta1.TrafficPolicy{
				ConnectionPool: &istiov1beta1.ConnectionPoolSettings{
					Http: &istiov1beta1.ConnectionPoolSettings_HTTPSettings{IdleTimeout: durationpb.New(30 * time.Second)},
				},
				OutlierDetection: &istiov1beta1.OutlierDetection{
					ConsecutiveGatewayErrors: wrapperspb.UInt32(5),
					Consecutive_5XxErrors:    wrapperspb.UInt32(0),
					Interval:                 durationpb.New(10 * time.Second),
					BaseEjectionTime:         durationpb.New(30 * time.Second),
					MaxEjectionPercent:       50,
				},
				Tls: &istiov1beta1.ClientTLSSettings{Mode: istiov1beta1.ClientTLSSettings_ISTIO_MUTUAL},
			},
		},
	}
	dr.Annotations = map[string]string{"ssm.dev/lifecycle-class": "short-lived", "ssm.dev/revision": "hello-00001"}
	return dr
}

// onLeaseService moves every destination of vs from hello-00001's public
// Service to its lease Service, hello-00001-ssm.
func onLeaseService(vs *v1beta1.VirtualService) *v1beta1.VirtualService {
	for _, r := range vs.Spec.Http {
		for _, d := range r.Route {
			d.Destination.Host = "hello-00001-ssm.ns.svc.cluster.local"
		}
	}
	return vs
}

// leasedDR is shortLivedDR on the lease Service, with no TLS mode: its
// endpoints are pooled proxies without a sidecar, or the activator.
func leasedDR() *v1beta1.DestinationRule {
	dr := shortLivedDR()
	dr.Spec.Host = "hello-00001-ssm.ns.svc.cluster.local"
	dr.Spec.TrafficPolicy.Tls = nil
	return dr
}

// leaseSlice is a slice of hello-00001's lease Service with one endpoint.
func leaseSlice(ready bool) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: "hello-00001-ssm-activator", Labels: map[string]string{
			"kubernetes.io/service-name":             "hello-00001-ssm",
			"endpointslice.kubernetes.io/managed-by": "ssm-controller.ssm.dev",
			"serving.knative.dev/revision":           "hello-00001",
			"app.kubernetes.io/managed-by":           "ssm",
		}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.244.0.5"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
	}
}

// longLivedDR is the DestinationRule of hello-00001 as a long-lived revision.
func longLivedDR() *v1beta1.DestinationRule {
	dr := &v1beta1.DestinationRule{
		ObjectMeta: ownedMeta(testNS, "hello-hello-00001-894f0a7e"),
		Spec: istiov1beta1.DestinationRule{
			Host: "hello-00001.ns.svc.cluster.local",
			TrafficPolicy: &istiov1beta1.TrafficPolicy{
				ConnectionPool: &istiov1beta1.ConnectionPoolSettings{
					Http: &istiov1beta1.ConnectionPoolSettings_HTTPSettings{IdleTimeout: durationpb.New(5 * time.Minute)},
				},
				OutlierDetection: &istiov1beta1.OutlierDetection{
					ConsecutiveGatewayErrors: wrapperspb.UInt32(5),
					Consecutive_5XxErrors:    wrapperspb.UInt32(0),
					Interval:                 durationpb.New(30 * time.Second),
					BaseEjectionTime:         durationpb.New(30 * time.Second),
					MaxEjectionPercent:       50,
				},
				Tls: &istiov1beta1.ClientTLSSettings{Mode: istiov1beta1.ClientTLSSettings_ISTIO_MUTUAL},
			},
		},
	}
	dr.Annotations = map[string]string{"ssm.dev/lifecycle-class": "long-lived", "ssm.dev/revision": "hello-00001"}
	return dr
}

// strictPA is the PeerAuthentication of hello-00001 as a full-mTLS
// (long-lived) revision: its pods, as Knative labels them, take mTLS only.
func strictPA() *securityv1beta1.PeerAuthentication {
	pa := &securityv1beta1.PeerAuthentication{
		ObjectMeta: ownedMeta(testNS, "hello-hello-00001-894f0a7e"),
		Spec: istiosecurity.PeerAuthentication{
			Selector: &istiotype.WorkloadSelector{MatchLabels: map[string]string{"serving.knative.dev/revision": "hello-00001"}},
			Mtls:     &istiosecurity.PeerAuthentication_MutualTLS{Mode: istiosecurity.PeerAuthentication_MutualTLS_STRICT},
		},
	}
	pa.Annotations = map[string]string{"ssm.dev/revision": "hello-00001"}
	return pa
}

// withPolicyRef is dr resolved with ServerlessPolicy ref ("name/generation").
func withPolicyRef(dr *v1beta1.DestinationRule, ref string) *v1beta1.DestinationRule {
	dr.Annotations["ssm.dev/serverless-policy"] = ref
	return dr
}
