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
	"fmt"
	"testing"

	istiov1beta1 "istio.io/api/networking/v1beta1"
	"istio.io/client-go/pkg/apis/networking/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"
	"knative.dev/networking/pkg/ingress"
	. "knative.dev/pkg/reconciler/testing"
)

// originSecret is the certificate Knative issued for hello.ns.example.com.
func originSecret() *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: testNS,
			Name:      "hello-cert",
			Labels:    map[string]string{"networking.internal.knative.dev/certificate-uid": "cert-uid"},
		},
		Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{"tls.crt": []byte("cert"), "tls.key": []byte("key")},
	}
}

// secretCopy is originSecret copied next to the external gateway's pods.
func secretCopy() *corev1.Secret {
	s := &corev1.Secret{
		ObjectMeta: ownedMeta("istio-system", secretCopyName),
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{"tls.crt": []byte("cert"), "tls.key": []byte("key")},
	}
	s.Labels["networking.internal.knative.dev/originSecretNamespace"] = "ns"
	s.Labels["networking.internal.knative.dev/originSecretName"] = "hello-cert"
	s.Labels["networking.internal.knative.dev/certificate-uid"] = "cert-uid"
	return s
}

// tlsGateway is hello's own Gateway on the external gateway's pods: the
// HTTPS server with the copied certificate, and the plain-HTTP server.
func tlsGateway(httpTLS *istiov1beta1.ServerTLSSettings) *v1beta1.Gateway {
	return &v1beta1.Gateway{
		ObjectMeta: ownedMeta(testNS, tlsGatewayName),
		Spec: istiov1beta1.Gateway{
			Selector: map[string]string{"istio": "ingressgateway"},
			Servers: []*istiov1beta1.Server{{
				Hosts: []string{"hello.ns.example.com"},
				Port:  &istiov1beta1.Port{Name: "ns/hello:0", Number: 443, Protocol: "HTTPS"},
				Tls: &istiov1beta1.ServerTLSSettings{
					Mode:           istiov1beta1.ServerTLSSettings_SIMPLE,
					CredentialName: secretCopyName,
				},
			}, {
				Hosts: []string{"hello.ns.example.com"},
				Port:  &istiov1beta1.Port{Name: "http-server", Number: 80, Protocol: "HTTP"},
				Tls:   httpTLS,
			}},
		},
	}
}

func tlsRows() TableTest {
	return TableTest{{
		Name:                    "external TLS: certificate copied to istio-system, own Gateway with HTTPS and HTTP servers",
		Key:                     "ns/hello",
		SkipNamespaceValidation: true,
		Objects:                 objects(newIngress(withFinalizer, withTLS), originSecret()),
		WantCreates: []runtime.Object{
			tlsGateway(nil),
			ingressVS(hashTLS, []string{localGatewayQN, tlsGatewayQN}, tlsGatewayQN, netIstio),
			meshVS(hashTLS, netIstio),
			secretCopy(),
		},
		WantStatusUpdates: statusUpdate(newIngress(withFinalizer, withTLS, withStatus(readyStatus()))),
	}, {
		Name:                    "external TLS with HTTPOption Redirected: the HTTP server redirects",
		Key:                     "ns/hello",
		SkipNamespaceValidation: true,
		Objects: objects(newIngress(withFinalizer, withTLS, withHTTPOption(v1alpha1.HTTPOptionRedirected)),
			originSecret()),
		WantCreates: []runtime.Object{
			tlsGateway(&istiov1beta1.ServerTLSSettings{HttpsRedirect: true}),
			ingressVS(hashRedirected, []string{localGatewayQN, tlsGatewayQN}, tlsGatewayQN, netIstio),
			meshVS(hashRedirected, netIstio),
			secretCopy(),
		},
		WantStatusUpdates: statusUpdate(newIngress(withFinalizer, withTLS, withHTTPOption(v1alpha1.HTTPOptionRedirected),
			withStatus(readyStatus()))),
	}, {
		Name:    "cluster-local only: bound to the local gateway alone",
		Key:     "ns/hello",
		Objects: objects(newIngress(withFinalizer, withClusterLocalOnly)),
		WantCreates: []runtime.Object{
			&v1beta1.VirtualService{
				ObjectMeta: ownedMeta(testNS, "hello-ingress"),
				Spec: istiov1beta1.VirtualService{
					Hosts:    []string{"hello.ns", "hello.ns.svc", "hello.ns.svc.cluster.local"},
					Gateways: []string{localGatewayQN},
					Http: []*istiov1beta1.HTTPRoute{
						route(localGatewayQN, "hello.ns", hashLocalOnly, netIstio),
						route(localGatewayQN, "hello.ns", "", netIstio),
					},
				},
			},
			meshVS(hashLocalOnly, netIstio),
		},
		WantStatusUpdates: statusUpdate(newIngress(withFinalizer, withClusterLocalOnly, withStatus(readyStatus()))),
	}, {
		Name:    "label-selected gateway: the selecting gateway alone serves it, and is its address",
		Key:     "ns/hello",
		Objects: objects(newIngress(withFinalizer, withLabels(map[string]string{"gateway": "special"}))),
		WantCreates: []runtime.Object{
			ingressVS(hashBase, []string{localGatewayQN, specialGatewayQN}, specialGatewayQN, netIstio),
			meshVS(hashBase, netIstio),
		},
		WantStatusUpdates: statusUpdate(newIngress(withFinalizer, withLabels(map[string]string{"gateway": "special"}),
			withStatus(v1alpha1.IngressStatus{
				Status:              readyStatus().Status,
				PublicLoadBalancer:  &v1alpha1.LoadBalancerStatus{Ingress: []v1alpha1.LoadBalancerIngressStatus{{DomainInternal: specialLB}}},
				PrivateLoadBalancer: &v1alpha1.LoadBalancerStatus{Ingress: []v1alpha1.LoadBalancerIngressStatus{{DomainInternal: localLB}}},
			}))),
	}}
}

// TestProbeHashes pins the probe hashes the expectations above spell out.
func TestProbeHashes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		ing  *v1alpha1.Ingress
		want string
	}{
		{"base", newIngress(), hashBase},
		{"tls", newIngress(withTLS), hashTLS},
		{"redirected", newIngress(withTLS, withHTTPOption(v1alpha1.HTTPOptionRedirected)), hashRedirected},
		{"cluster-local only", newIngress(withClusterLocalOnly), hashLocalOnly},
	} {
		sum, err := ingress.ComputeHash(tc.ing)
		if err != nil {
			t.Fatalf("%s: ComputeHash: %v", tc.name, err)
		}
		if got := fmt.Sprintf("%x", sum); got != tc.want {
			t.Errorf("%s: probe hash = %s, want %s", tc.name, got, tc.want)
		}
	}
}
