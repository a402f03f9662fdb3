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

package names

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"
)

func ing(namespace, name string) *v1alpha1.Ingress {
	return &v1alpha1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
}

func TestNames(t *testing.T) {
	t.Parallel()
	a60 := strings.Repeat("a", 60)
	b70 := strings.Repeat("b", 70)
	x70 := strings.Repeat("x", 70)
	tests := []struct {
		name string
		got  string
		want string
	}{{
		name: "ingress virtual service",
		got:  IngressVirtualService(ing("default", "hello")),
		want: "hello-ingress",
	}, {
		name: "mesh virtual service",
		got:  MeshVirtualService(ing("default", "hello")),
		want: "hello-mesh",
	}, {
		name: "long ingress virtual service is hashed to 63 characters",
		got:  IngressVirtualService(ing("default", a60)),
		// 23 characters of the name, md5 of the whole name, the suffix.
		want: "aaaaaaaaaaaaaaaaaaaaaaa" + "cc7ed669cf88f201c3297c6a91e1d18d" + "-ingress",
	}, {
		name: "destination rule, backend in the ingress namespace",
		got:  DestinationRule(ing("default", "hello"), "default", "hello-00001"),
		want: "hello-hello-00001-941decb0", // sha256("default/hello/default/hello-00001")[:4 bytes]
	}, {
		name: "destination rule, backend in another namespace names the ingress namespace",
		got:  DestinationRule(ing("default", "hello"), "other", "svc"),
		want: "default-hello-svc-55a1fb91", // sha256("default/hello/other/svc")[:4 bytes]
	}, {
		name: "destination rule with a long backend name is hashed to 63 characters",
		got:  DestinationRule(ing("default", "hello"), "default", b70),
		// 22 characters of "hello-"+b70, md5 of all of it, then the hash of
		// the KIngress and backend.
		want: "hello-bbbbbbbbbbbbbbbb" + "7b0152f889e3b4f2b8e5c005c3d3e1fa" + "-0d9d67b6",
	}, {
		name: "external ingress gateway",
		got:  IngressGateway(ing("default", "hello"), v1alpha1.IngressVisibilityExternalIP, "istio-system", "istio-ingressgateway"),
		// sha256("istio-system/istio-ingressgateway")[:4 bytes]
		want: "hello-external-36237c89",
	}, {
		name: "cluster-local ingress gateway",
		got:  IngressGateway(ing("default", "hello"), v1alpha1.IngressVisibilityClusterLocal, "istio-system", "knative-local-gateway"),
		want: "hello-local-878dd233",
	}, {
		name: "ingress gateway of a name that is not a DNS label",
		got:  IngressGateway(ing("default", "a.b.c"), v1alpha1.IngressVisibilityExternalIP, "istio-system", "istio-ingressgateway"),
		want: "ingress-845e3044-external-36237c89",
	}, {
		name: "target secret",
		got:  TargetSecret(ing("default", "hello"), "default", "hello-tls"),
		// sha256("default/hello/default/hello-tls")[:4 bytes]
		want: "hello-hello-tls-4d43772a",
	}, {
		name: "target secret of an origin in another namespace",
		got:  TargetSecret(ing("default", "hello"), "ns2", "hello-tls"),
		want: "hello-hello-tls-0206718a",
	}, {
		name: "short origin secret name label",
		got:  OriginSecretNameLabel("hello-tls"),
		want: "hello-tls",
	}, {
		name: "long origin secret name label is cut and hashed",
		got:  OriginSecretNameLabel(x70),
		want: strings.Repeat("x", 54) + "-c71bd109",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
			if len(tc.got) > 63 {
				t.Errorf("%q is %d characters, want at most 63", tc.got, len(tc.got))
			}
		})
	}
}
