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
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
	istiov1beta1 "istio.io/api/networking/v1beta1"
	"istio.io/client-go/pkg/apis/networking/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/sets"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"
	"knative.dev/networking/pkg/status"

	ssmtesting "github.com/serverless-mesh/ssm/pkg/reconciler/testing"
)

// probeGateway is the shared external Gateway with the given servers, on the
// pods of istio-system/istio-ingressgateway.
func probeGateway(servers ...*istiov1beta1.Server) *v1beta1.Gateway {
	return &v1beta1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: "knative-serving", Name: "knative-ingress-gateway"},
		Spec: istiov1beta1.Gateway{
			Selector: map[string]string{"istio": "ingressgateway"},
			Servers:  servers,
		},
	}
}

func probeService() *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: "istio-ingressgateway", Labels: map[string]string{"istio": "ingressgateway"}},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{
			{Name: "http2", Port: 80, TargetPort: intstr.FromInt32(8080)},
			{Name: "https", Port: 443, TargetPort: intstr.FromString("https")},
		}},
	}
}

func probeEndpoints(ips ...string) *corev1.Endpoints {
	eps := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: "istio-ingressgateway"}}
	if len(ips) == 0 {
		return eps
	}
	subset := corev1.EndpointSubset{Ports: []corev1.EndpointPort{{Name: "http2", Port: 8080}, {Name: "https", Port: 8443}}}
	for _, ip := range ips {
		subset.Addresses = append(subset.Addresses, corev1.EndpointAddress{IP: ip})
	}
	eps.Subsets = []corev1.EndpointSubset{subset}
	return eps
}

var (
	httpServer     = &istiov1beta1.Server{Hosts: []string{"*"}, Port: &istiov1beta1.Port{Name: "http", Number: 80, Protocol: "HTTP"}}
	redirectServer = &istiov1beta1.Server{Hosts: []string{"*"}, Port: &istiov1beta1.Port{Name: "redirect", Number: 80, Protocol: "HTTP"},
		Tls: &istiov1beta1.ServerTLSSettings{HttpsRedirect: true}}
	httpsServer = &istiov1beta1.Server{Hosts: []string{"*"}, Port: &istiov1beta1.Port{Name: "https", Number: 443, Protocol: "HTTPS"},
		Tls: &istiov1beta1.ServerTLSSettings{Mode: istiov1beta1.ServerTLSSettings_SIMPLE, CredentialName: "cert"}}
	mutualServer = &istiov1beta1.Server{Hosts: []string{"*"}, Port: &istiov1beta1.Port{Name: "mutual", Number: 443, Protocol: "HTTPS"},
		Tls: &istiov1beta1.ServerTLSSettings{Mode: istiov1beta1.ServerTLSSettings_MUTUAL, CredentialName: "cert"}}
)

func TestGatewayProbeTargets(t *testing.T) {
	t.Parallel()
	external := map[v1alpha1.IngressVisibility]sets.Set[string]{
		v1alpha1.IngressVisibilityExternalIP: sets.New(externalGatewayQN),
	}
	tests := []struct {
		name    string
		objects []runtime.Object
		bound   map[v1alpha1.IngressVisibility]sets.Set[string]
		want    []status.ProbeTarget
		wantErr error
		errText string
	}{{
		name:    "no ready gateway pods",
		objects: []runtime.Object{probeGateway(httpServer), probeService(), probeEndpoints()},
		bound:   external,
		wantErr: errNoGatewayPods,
		errText: "no ready gateway pods to probe for gateways [knative-serving/knative-ingress-gateway]",
	}, {
		// Pods serve the gateway, but a redirect and MUTUAL TLS cannot be
		// checked over plain HTTP(S): no target, so the prober calls it ready.
		name:    "only a redirect and a MUTUAL server: pods exist, nothing to probe",
		objects: []runtime.Object{probeGateway(redirectServer, mutualServer), probeService(), probeEndpoints("10.0.0.1")},
		bound:   external,
	}, {
		name:    "gateway name not namespace/name",
		objects: []runtime.Object{probeService(), probeEndpoints("10.0.0.1")},
		bound:   map[v1alpha1.IngressVisibility]sets.Set[string]{v1alpha1.IngressVisibilityExternalIP: sets.New("knative-ingress-gateway")},
		errText: `gateway name "knative-ingress-gateway" is not namespace/name`,
	}, {
		name:    "gateway missing",
		objects: []runtime.Object{probeService(), probeEndpoints("10.0.0.1")},
		bound:   external,
		errText: `getting Gateway knative-serving/knative-ingress-gateway: gateway.networking.istio.io "knative-ingress-gateway" not found`,
	}, {
		name: "redirect and MUTUAL skipped; one target per scheme and port, pod ports from the Endpoints",
		objects: []runtime.Object{
			probeGateway(redirectServer, mutualServer, httpsServer, httpServer),
			probeService(), probeEndpoints("10.0.0.2", "10.0.0.1"),
		},
		bound: external,
		want: []status.ProbeTarget{{
			PodIPs:  sets.New("10.0.0.1", "10.0.0.2"),
			PodPort: "8443",
			Port:    "443",
			URLs:    []*url.URL{{Scheme: "https", Host: "hello.ns.example.com:443", Path: "/"}},
		}, {
			PodIPs:  sets.New("10.0.0.1", "10.0.0.2"),
			PodPort: "8080",
			Port:    "80",
			URLs:    []*url.URL{{Scheme: "http", Host: "hello.ns.example.com:80", Path: "/"}},
		}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ls, err := ssmtesting.NewListers(tc.objects)
			if err != nil {
				t.Fatal(err)
			}
			lister := &gatewayProbeTargets{
				gatewayLister:   ls.GetGatewayLister(),
				serviceLister:   ls.GetServiceLister(),
				endpointsLister: ls.GetEndpointsLister(),
				gatewaysFor: func(context.Context, *v1alpha1.Ingress) map[v1alpha1.IngressVisibility]sets.Set[string] {
					return tc.bound
				},
			}
			got, err := lister.ListProbeTargets(context.Background(), newIngress())
			if tc.errText != "" {
				if err == nil || err.Error() != tc.errText {
					t.Fatalf("ListProbeTargets() error = %v, want %q", err, tc.errText)
				}
				if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Errorf("ListProbeTargets() error = %v, want one wrapping %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ListProbeTargets() = %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ListProbeTargets() (-want, +got):\n%s", diff)
			}
		})
	}
}
