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
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	istiov1beta1 "istio.io/api/networking/v1beta1"
	"istio.io/client-go/pkg/apis/networking/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"

	ssmtesting "github.com/serverless-mesh/ssm/pkg/reconciler/testing"
	"github.com/serverless-mesh/ssm/pkg/xdsprobe"
)

func TestGatewayWorkloads(t *testing.T) {
	t.Parallel()
	localGateway := &v1beta1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: "knative-serving", Name: "knative-local-gateway"},
		Spec: istiov1beta1.Gateway{
			Selector: map[string]string{"istio": "local-gateway"},
			Servers:  []*istiov1beta1.Server{httpServer},
		},
	}
	noSelector := probeGateway(httpServer)
	noSelector.Spec.Selector = nil
	both := map[v1alpha1.IngressVisibility]sets.Set[string]{
		v1alpha1.IngressVisibilityExternalIP:   sets.New(externalGatewayQN),
		v1alpha1.IngressVisibilityClusterLocal: sets.New(localGatewayQN),
	}
	tests := []struct {
		name    string
		objects []runtime.Object
		bound   map[v1alpha1.IngressVisibility]sets.Set[string]
		want    []xdsprobe.Target
		errText string
	}{{
		name:    "gateway name not namespace/name",
		bound:   map[v1alpha1.IngressVisibility]sets.Set[string]{v1alpha1.IngressVisibilityExternalIP: sets.New("knative-ingress-gateway")},
		errText: `gateway name "knative-ingress-gateway" is not namespace/name`,
	}, {
		name:    "gateway missing",
		bound:   both,
		errText: `getting Gateway knative-serving/knative-ingress-gateway: gateway.networking.istio.io "knative-ingress-gateway" not found`,
	}, {
		name:    "gateway without selector",
		objects: []runtime.Object{noSelector},
		bound:   map[v1alpha1.IngressVisibility]sets.Set[string]{v1alpha1.IngressVisibilityExternalIP: sets.New(externalGatewayQN)},
		errText: "gateway knative-serving/knative-ingress-gateway has no workload selector: istiod would apply it to every gateway, so no one gateway can be asked for it",
	}, {
		name: "nothing bound: no target (the manager refuses that)",
	}, {
		// No pod and no Endpoints are needed; the Service gives the
		// namespace when there is one, else the Gateway's is used.
		name:    "external and local gateways, one with a Service",
		objects: []runtime.Object{probeGateway(httpServer), probeService(), localGateway},
		bound:   both,
		want: []xdsprobe.Target{{
			Workload: xdsprobe.Workload{Namespace: "istio-system", Labels: map[string]string{"istio": "ingressgateway"}},
			Hosts:    []string{"hello.ns.example.com"},
		}, {
			Workload: xdsprobe.Workload{Namespace: "knative-serving", Labels: map[string]string{"istio": "local-gateway"}},
			Hosts:    []string{"hello.ns", "hello.ns.svc", "hello.ns.svc.cluster.local"},
		}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ls, err := ssmtesting.NewListers(tc.objects)
			if err != nil {
				t.Fatal(err)
			}
			lister := &gatewayWorkloads{targets: &gatewayProbeTargets{
				gatewayLister: ls.GetGatewayLister(),
				serviceLister: ls.GetServiceLister(),
				gatewaysFor: func(context.Context, *v1alpha1.Ingress) map[v1alpha1.IngressVisibility]sets.Set[string] {
					return tc.bound
				},
			}}
			got, err := lister.ListTargets(context.Background(), newIngress())
			if tc.errText != "" {
				if err == nil || err.Error() != tc.errText {
					t.Fatalf("ListTargets() error = %v, want %q", err, tc.errText)
				}
				return
			}
			if err != nil {
				t.Fatal("ListTargets() =", err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ListTargets() (-want, +got):\n%s", diff)
			}
		})
	}
}
