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
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	istiov1beta1 "istio.io/api/networking/v1beta1"
	"istio.io/client-go/pkg/apis/networking/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"

	"github.com/serverless-mesh/ssm/pkg/config"
)

func ingressGatewayService() GatewayService {
	return GatewayService{Namespace: "istio-system", Name: "istio-ingressgateway", Selector: map[string]string{"istio": "ingressgateway"}}
}

func localGatewayService() GatewayService {
	return GatewayService{Namespace: "istio-system", Name: "knative-local-gateway", Selector: map[string]string{"istio": "ingressgateway"}}
}

// tlsIngress is default/hello, external host hello.example.com and
// cluster-local host hello.default.svc.cluster.local, each with a certificate.
func tlsIngress(option v1alpha1.HTTPOption) *v1alpha1.Ingress {
	ing := ingressWith(
		rule(v1alpha1.IngressVisibilityExternalIP, []string{"hello.example.com"}, helloPath()),
		rule(v1alpha1.IngressVisibilityClusterLocal, []string{"hello.default.svc.cluster.local"}, helloPath()),
	)
	ing.Spec.HTTPOption = option
	ing.Spec.TLS = []v1alpha1.IngressTLS{
		{Hosts: []string{"hello.example.com"}, SecretNamespace: "default", SecretName: "hello-tls"},
		{Hosts: []string{"hello.default.svc.cluster.local"}, SecretNamespace: "default", SecretName: "hello-local-tls"},
	}
	return ing
}

func originSecrets() map[string]*corev1.Secret {
	return map[string]*corev1.Secret{
		"default/hello-tls":       {ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "hello-tls"}},
		"default/hello-local-tls": {ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "hello-local-tls"}},
	}
}

func gatewayMeta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "default", Labels: helloLabels(), OwnerReferences: ownerRefs()}
}

func TestGatewayServiceKey(t *testing.T) {
	t.Parallel()
	if _, err := GatewayServiceKey(config.Gateway{Namespace: "knative-serving", Name: "gw", ServiceURL: "istio-ingressgateway"}); err == nil ||
		err.Error() != `gateway knative-serving/gw: service "istio-ingressgateway" is not a Service hostname: want <name>.<namespace>.svc.<cluster-domain>` {
		t.Errorf("GatewayServiceKey(no dots) error = %v", err)
	}
	got, err := GatewayServiceKey(config.Gateway{ServiceURL: "istio-ingressgateway.istio-system.svc.cluster.local"})
	if err != nil {
		t.Fatalf("GatewayServiceKey: %v", err)
	}
	if want := (types.NamespacedName{Namespace: "istio-system", Name: "istio-ingressgateway"}); got != want {
		t.Errorf("GatewayServiceKey = %v, want %v", got, want)
	}
}

func TestMakeTLSServersRejectsBadInput(t *testing.T) {
	t.Parallel()
	ing := tlsIngress(v1alpha1.HTTPOptionEnabled)
	_, err := MakeTLSServers(ing, "Public", ing.Spec.TLS[:1], "istio-system", originSecrets())
	if want := "KIngress default/hello: visibility \"Public\" is not supported: want ExternalIP or ClusterLocal"; err == nil || err.Error() != want {
		t.Errorf("bad visibility: error = %v, want %q", err, want)
	}
	_, err = MakeTLSServers(ing, v1alpha1.IngressVisibilityExternalIP, ing.Spec.TLS[:1], "istio-system", nil)
	if want := "KIngress default/hello: spec.tls secret default/hello-tls is not among the secrets read for it"; err == nil || err.Error() != want {
		t.Errorf("missing origin secret: error = %v, want %q", err, want)
	}
}

func TestMakeIngressTLSGateways(t *testing.T) {
	t.Parallel()
	ing := tlsIngress(v1alpha1.HTTPOptionEnabled)
	// A second certificate that already lives in the gateway namespace is used in place.
	ing.Spec.TLS = append(ing.Spec.TLS, v1alpha1.IngressTLS{
		Hosts: []string{"hello.example.com"}, SecretNamespace: "istio-system", SecretName: "shared-tls",
	})
	before := ing.DeepCopy()

	external, err := MakeIngressTLSGateways(ing, v1alpha1.IngressVisibilityExternalIP,
		ing.GetIngressTLSForVisibility(v1alpha1.IngressVisibilityExternalIP), originSecrets(), []GatewayService{ingressGatewayService()})
	if err != nil {
		t.Fatalf("MakeIngressTLSGateways(external): %v", err)
	}
	wantExternal := []*v1beta1.Gateway{{
		ObjectMeta: gatewayMeta("hello-external-36237c89"),
		Spec: istiov1beta1.Gateway{
			Selector: map[string]string{"istio": "ingressgateway"},
			Servers: []*istiov1beta1.Server{{
				Hosts: []string{"hello.example.com"},
				Port:  &istiov1beta1.Port{Name: "default/hello:0", Number: 443, Protocol: "HTTPS"},
				Tls:   &istiov1beta1.ServerTLSSettings{Mode: istiov1beta1.ServerTLSSettings_SIMPLE, CredentialName: "hello-hello-tls-4d43772a"},
			}, {
				Hosts: []string{"hello.example.com"},
				Port:  &istiov1beta1.Port{Name: "default/hello:1", Number: 443, Protocol: "HTTPS"},
				Tls:   &istiov1beta1.ServerTLSSettings{Mode: istiov1beta1.ServerTLSSettings_SIMPLE, CredentialName: "shared-tls"},
			}},
		},
	}}
	if diff := cmp.Diff(wantExternal, external, protocmp.Transform()); diff != "" {
		t.Errorf("external TLS gateways (-want, +got):\n%s", diff)
	}

	local, err := MakeIngressTLSGateways(ing, v1alpha1.IngressVisibilityClusterLocal,
		ing.GetIngressTLSForVisibility(v1alpha1.IngressVisibilityClusterLocal), originSecrets(), []GatewayService{localGatewayService()})
	if err != nil {
		t.Fatalf("MakeIngressTLSGateways(local): %v", err)
	}
	wantLocal := []*v1beta1.Gateway{{
		ObjectMeta: gatewayMeta("hello-local-878dd233"),
		Spec: istiov1beta1.Gateway{
			Selector: map[string]string{"istio": "ingressgateway"},
			Servers: []*istiov1beta1.Server{{
				Hosts: []string{"hello.default.svc.cluster.local"},
				Port:  &istiov1beta1.Port{Name: "default/hello:0", Number: 8444, Protocol: "HTTPS"},
				Tls: &istiov1beta1.ServerTLSSettings{
					Mode: istiov1beta1.ServerTLSSettings_SIMPLE,
					// sha256("default/hello/default/hello-local-tls")[:4 bytes]
					CredentialName: "hello-hello-local-tls-614b0255",
				},
			}},
		},
	}}
	if diff := cmp.Diff(wantLocal, local, protocmp.Transform()); diff != "" {
		t.Errorf("cluster-local TLS gateways (-want, +got):\n%s", diff)
	}

	none, err := MakeIngressTLSGateways(ing, v1alpha1.IngressVisibilityExternalIP, nil, originSecrets(), []GatewayService{ingressGatewayService()})
	if err != nil || len(none) != 0 {
		t.Errorf("no TLS: got %v, %v; want no gateways", none, err)
	}
	if diff := cmp.Diff(before, ing); diff != "" {
		t.Errorf("mutated the KIngress (-before, +after):\n%s", diff)
	}
}

func TestMakeExternalGateways(t *testing.T) {
	t.Parallel()
	tlsServer := &istiov1beta1.Server{
		Hosts: []string{"hello.example.com"},
		Port:  &istiov1beta1.Port{Name: "default/hello:0", Number: 443, Protocol: "HTTPS"},
		Tls:   &istiov1beta1.ServerTLSSettings{Mode: istiov1beta1.ServerTLSSettings_SIMPLE, CredentialName: "hello-hello-tls-4d43772a"},
	}
	noTLS := func(option v1alpha1.HTTPOption) *v1alpha1.Ingress {
		ing := tlsIngress(option)
		ing.Spec.TLS = nil
		return ing
	}
	localOnly := ingressWith(rule(v1alpha1.IngressVisibilityClusterLocal, []string{"hello.default.svc.cluster.local"}, helloPath()))
	localOnly.Spec.HTTPOption = v1alpha1.HTTPOptionRedirected

	tests := []struct {
		name     string
		ing      *v1alpha1.Ingress
		wantHTTP bool
		want     []*v1beta1.Gateway
	}{{
		name: "HTTP enabled, no TLS: the configured gateways serve it",
		ing:  noTLS(v1alpha1.HTTPOptionEnabled),
	}, {
		name: "cluster-local only: nothing external",
		ing:  localOnly,
	}, {
		name:     "redirected, no TLS: an HTTP server that redirects to HTTPS",
		ing:      noTLS(v1alpha1.HTTPOptionRedirected),
		wantHTTP: true,
		want: []*v1beta1.Gateway{{
			ObjectMeta: gatewayMeta("hello-external-36237c89"),
			Spec: istiov1beta1.Gateway{
				Selector: map[string]string{"istio": "ingressgateway"},
				Servers: []*istiov1beta1.Server{{
					Hosts: []string{"hello.example.com"},
					Port:  &istiov1beta1.Port{Name: "http-server", Number: 80, Protocol: "HTTP"},
					Tls:   &istiov1beta1.ServerTLSSettings{HttpsRedirect: true},
				}},
			},
		}},
	}, {
		name:     "TLS and HTTP enabled: TLS server then plain HTTP server",
		ing:      tlsIngress(v1alpha1.HTTPOptionEnabled),
		wantHTTP: true,
		want: []*v1beta1.Gateway{{
			ObjectMeta: gatewayMeta("hello-external-36237c89"),
			Spec: istiov1beta1.Gateway{
				Selector: map[string]string{"istio": "ingressgateway"},
				Servers: []*istiov1beta1.Server{tlsServer, {
					Hosts: []string{"hello.example.com"},
					Port:  &istiov1beta1.Port{Name: "http-server", Number: 80, Protocol: "HTTP"},
				}},
			},
		}},
	}, {
		name:     "TLS and redirected",
		ing:      tlsIngress(v1alpha1.HTTPOptionRedirected),
		wantHTTP: true,
		want: []*v1beta1.Gateway{{
			ObjectMeta: gatewayMeta("hello-external-36237c89"),
			Spec: istiov1beta1.Gateway{
				Selector: map[string]string{"istio": "ingressgateway"},
				Servers: []*istiov1beta1.Server{tlsServer, {
					Hosts: []string{"hello.example.com"},
					Port:  &istiov1beta1.Port{Name: "http-server", Number: 80, Protocol: "HTTP"},
					Tls:   &istiov1beta1.ServerTLSSettings{HttpsRedirect: true},
				}},
			},
		}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			before := tc.ing.DeepCopy()
			if got := NeedsIngressHTTPServer(tc.ing); got != tc.wantHTTP {
				t.Errorf("NeedsIngressHTTPServer = %v, want %v", got, tc.wantHTTP)
			}
			got, err := MakeExternalGateways(tc.ing, originSecrets(), []GatewayService{ingressGatewayService()})
			if err != nil {
				t.Fatalf("MakeExternalGateways: %v", err)
			}
			if diff := cmp.Diff(tc.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("MakeExternalGateways (-want, +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, tc.ing); diff != "" {
				t.Errorf("mutated the KIngress (-before, +after):\n%s", diff)
			}
		})
	}
}

func TestMakeExternalIngressGatewaysDoNotShareServers(t *testing.T) {
	t.Parallel()
	ing := tlsIngress(v1alpha1.HTTPOptionRedirected)
	second := GatewayService{Namespace: "istio-system", Name: "istio-ingressgateway-2", Selector: map[string]string{"istio": "ingressgateway-2"}}
	server := MakeHTTPServer(v1alpha1.HTTPOptionRedirected, []string{"hello.example.com"})
	gws := MakeExternalIngressGateways(ing, []*istiov1beta1.Server{server}, []GatewayService{ingressGatewayService(), second})
	want := []*v1beta1.Gateway{{
		ObjectMeta: gatewayMeta("hello-external-36237c89"),
		Spec: istiov1beta1.Gateway{
			Selector: map[string]string{"istio": "ingressgateway"},
			Servers: []*istiov1beta1.Server{{
				Hosts: []string{"hello.example.com"},
				Port:  &istiov1beta1.Port{Name: "http-server", Number: 80, Protocol: "HTTP"},
				Tls:   &istiov1beta1.ServerTLSSettings{HttpsRedirect: true},
			}},
		},
	}, {
		// sha256("istio-system/istio-ingressgateway-2")[:4 bytes]
		ObjectMeta: gatewayMeta("hello-external-3d4ba5eb"),
		Spec: istiov1beta1.Gateway{
			Selector: map[string]string{"istio": "ingressgateway-2"},
			Servers: []*istiov1beta1.Server{{
				Hosts: []string{"hello.example.com"},
				Port:  &istiov1beta1.Port{Name: "http-server", Number: 80, Protocol: "HTTP"},
				Tls:   &istiov1beta1.ServerTLSSettings{HttpsRedirect: true},
			}},
		},
	}}
	if diff := cmp.Diff(want, gws, protocmp.Transform()); diff != "" {
		t.Fatalf("MakeExternalIngressGateways (-want, +got):\n%s", diff)
	}
	gws[0].Spec.Servers[0].Hosts[0] = "changed"
	if gws[1].Spec.Servers[0].Hosts[0] != "hello.example.com" || server.Hosts[0] != "hello.example.com" {
		t.Error("Gateways share their servers with each other or with the input")
	}
	if MakeHTTPServer("", []string{"hello.example.com"}) != nil {
		t.Error("MakeHTTPServer with no option: want nil (HTTP disabled)")
	}
}
