//go:build integration

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

package integration

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"knative.dev/networking/pkg/apis/networking"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
)

// l3NS holds the Knative Service of the L3 tests.
const l3NS = "l3"

// requireKnative skips unless hack/cluster.sh runs Knative Serving itself
// (SSM_KNATIVE=1), which the default local cluster does not.
func requireKnative(t *testing.T) {
	t.Helper()
	if os.Getenv("SSM_KNATIVE") != "1" {
		t.Skip("Knative Serving is not running: set SSM_KNATIVE=1 for hack/integration.sh")
	}
}

// vsRoutes is what the L3 test checks of each HTTP route of a
// VirtualService: its timeout and where it sends traffic.
type vsRoute struct {
	Timeout     string
	Destination string
}

// virtualServiceRoutes lists name's HTTP routes in l3NS, in order.
func virtualServiceRoutes(ctx context.Context, c *clients, name string) ([]vsRoute, error) {
	vs, err := c.istio.NetworkingV1beta1().VirtualServices(l3NS).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("getting VirtualService %s/%s: %w", l3NS, name, err)
	}
	var routes []vsRoute
	for _, r := range vs.Spec.GetHttp() {
		got := vsRoute{Timeout: r.GetTimeout().AsDuration().String()}
		for _, d := range r.GetRoute() {
			got.Destination += d.GetDestination().GetHost()
		}
		routes = append(routes, got)
	}
	return routes, nil
}

// TestL3KnativeServiceThroughSSM: Knative Serving's own controller turns a
// Knative Service with ssm.dev/* annotations into a KIngress of SSM's class;
// SSM reconciles it and its status makes the Route Ready. A new revision
// with another ssm.dev/timeout changes the emitted route timeout.
func TestL3KnativeServiceThroughSSM(t *testing.T) {
	requireKnative(t)
	c := newClients(t)
	ctx := context.Background()
	ensureNamespace(t, c, l3NS)

	ksvc := &servingv1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: l3NS},
		Spec: servingv1.ServiceSpec{ConfigurationSpec: servingv1.ConfigurationSpec{Template: servingv1.RevisionTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{
				"ssm.dev/lifecycle": "short-lived", "ssm.dev/timeout": "2s",
			}},
			Spec: servingv1.RevisionSpec{PodSpec: corev1.PodSpec{Containers: []corev1.Container{{
				// ssm.local is in config-deployment's registries-skipping-tag-resolving:
				// no registry is contacted, and KWOK "runs" the pod.
				Image: "ssm.local/hello",
			}}}},
		}}},
	}
	if _, err := c.serving.ServingV1().Services(l3NS).Create(ctx, ksvc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating Knative Service %s/hello: %v", l3NS, err)
	}

	waitRouteReady(t, c, "hello-00001")

	ing, err := c.networking.NetworkingV1alpha1().Ingresses(l3NS).Get(ctx, "hello", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("getting the KIngress Knative made: %v", err)
	}
	if got, want := ing.Annotations[networking.IngressClassAnnotationKey], "ssm.ingress.networking.knative.dev"; got != want {
		t.Errorf("KIngress class = %q, want %q", got, want)
	}
	if !ing.IsReady() {
		t.Errorf("KIngress hello is not Ready although its Route is: %+v", ing.Status)
	}
	// The KIngress status was written by SSM's controller (binary
	// "controller"); Knative's own runs here as "knative-controller".
	var statusWriters []string
	for _, mf := range ing.ManagedFields {
		if mf.Subresource == "status" {
			statusWriters = append(statusWriters, mf.Manager)
		}
	}
	if diff := cmp.Diff([]string{"controller"}, statusWriters); diff != "" {
		t.Errorf("KIngress status writers (-want +got):\n%s", diff)
	}
	type lb struct{ Public, Private string }
	gotLB := lb{}
	if ls := ing.Status.PublicLoadBalancer; ls != nil && len(ls.Ingress) == 1 {
		gotLB.Public = ls.Ingress[0].DomainInternal
	}
	if ls := ing.Status.PrivateLoadBalancer; ls != nil && len(ls.Ingress) == 1 {
		gotLB.Private = ls.Ingress[0].DomainInternal
	}
	wantLB := lb{
		Public:  "istio-ingressgateway.istio-system.svc.cluster.local",
		Private: "knative-local-gateway.istio-system.svc.cluster.local",
	}
	if diff := cmp.Diff(wantLB, gotLB); diff != "" {
		t.Errorf("KIngress load balancers (-want +got):\n%s", diff)
	}

	// Two probe routes and two traffic routes (cluster-local and external
	// hosts), all with the revision's 2s timeout.
	host00001 := splitHost("hello-00001")
	want00001 := []vsRoute{
		{Timeout: "2s", Destination: host00001},
		{Timeout: "2s", Destination: host00001},
		{Timeout: "2s", Destination: host00001},
		{Timeout: "2s", Destination: host00001},
	}
	var got []vsRoute
	eventually(t, "VirtualService hello-ingress routing to "+host00001, 30*time.Second, func(ctx context.Context) (bool, error) {
		var err error
		got, err = virtualServiceRoutes(ctx, c, "hello-ingress")
		return cmp.Equal(want00001, got), fmt.Errorf("routes %+v, err %v", got, err)
	})

	// A new ssm.dev/timeout on the template: a new revision, and the route
	// follows it with the new timeout.
	patch := []byte(`{"spec":{"template":{"metadata":{"annotations":{"ssm.dev/timeout":"5s"}}}}}`)
	if _, err := c.serving.ServingV1().Services(l3NS).Patch(ctx, "hello", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatalf("patching Knative Service %s/hello: %v", l3NS, err)
	}
	waitRouteReady(t, c, "hello-00002")
	host00002 := splitHost("hello-00002")
	want00002 := []vsRoute{
		{Timeout: "5s", Destination: host00002},
		{Timeout: "5s", Destination: host00002},
		{Timeout: "5s", Destination: host00002},
		{Timeout: "5s", Destination: host00002},
	}
	eventually(t, "VirtualService hello-ingress routing to "+host00002, 30*time.Second, func(ctx context.Context) (bool, error) {
		var err error
		got, err = virtualServiceRoutes(ctx, c, "hello-ingress")
		return cmp.Equal(want00002, got), err
	})

	// And istiod hands the gateway the new timeout.
	eventually(t, "istiod's gateway route for hello.l3.example.com with a 5s timeout", 30*time.Second, func(ctx context.Context) (bool, error) {
		r, err := gatewayRoute(ctx, "hello.l3.example.com")
		return r != nil && cmp.Equal(durationpb.New(5*time.Second), r.GetRoute().GetTimeout(), protocmp.Transform()), err
	})
}

// splitHost is where a short-lived l3 revision's split goes: Knative's
// public Service, or, in the data-plane cluster (config-ssm
// sidecarless-revisions on), the lease Service of its sidecar-less pods.
func splitHost(revision string) string {
	if os.Getenv("SSM_DATAPLANE") == "1" {
		return revision + "-ssm." + l3NS + ".svc.cluster.local"
	}
	return revision + "." + l3NS + ".svc.cluster.local"
}

// waitRouteReady waits until Route l3/hello is Ready, its KIngress Ready
// by SSM's status, and sends all traffic to revision.
func waitRouteReady(t *testing.T, c *clients, revision string) {
	t.Helper()
	eventually(t, "Route hello Ready with all traffic on "+revision, 90*time.Second, func(ctx context.Context) (bool, error) {
		r, err := c.serving.ServingV1().Routes(l3NS).Get(ctx, "hello", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if !r.IsReady() || len(r.Status.Traffic) != 1 || r.Status.Traffic[0].RevisionName != revision {
			return false, fmt.Errorf("route status %+v", r.Status)
		}
		ingressReady := r.Status.GetCondition(servingv1.RouteConditionIngressReady)
		return ingressReady != nil && ingressReady.IsTrue(), nil
	})
	r, err := c.serving.ServingV1().Routes(l3NS).Get(context.Background(), "hello", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("getting Route hello: %v", err)
	}
	if got, want := r.Status.URL.String(), "http://hello.l3.example.com"; got != want {
		t.Errorf("Route URL = %q, want %q", got, want)
	}
}
