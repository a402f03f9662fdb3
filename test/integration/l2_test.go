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
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	netv1alpha1 "knative.dev/networking/pkg/apis/networking/v1alpha1"

	"github.com/serverless-mesh/ssm/pkg/xdsprobe"
)

// ingressGateway is the workload istiod generates the external gateway's
// configuration for: the pods knative-ingress-gateway selects.
var ingressGateway = xdsprobe.Workload{Namespace: "istio-system", Labels: map[string]string{"istio": "ingressgateway"}}

// gatewayRoute fetches, as the ingress gateway, the route istiod generated
// for host, or nil when there is none (yet).
func gatewayRoute(ctx context.Context, host string) (*routev3.Route, error) {
	configs, err := xdsprobe.FetchRouteConfigurations(ctx, xdsprobe.Options{Address: os.Getenv("SSM_XDS_ADDRESS")}, ingressGateway)
	if err != nil {
		return nil, err
	}
	for _, rc := range configs {
		for _, vh := range rc.GetVirtualHosts() {
			for _, d := range vh.GetDomains() {
				if d != host {
					continue
				}
				routes := vh.GetRoutes()
				// SSM puts the K-Network-Hash probe route first; traffic is last.
				return routes[len(routes)-1], nil
			}
		}
	}
	return nil, nil
}

// TestL2IstiodServesSSMPolicy: istiod reads the VirtualService and
// DestinationRule SSM wrote and generates, for the ingress gateway, a route
// with the hosts, the weighted split, the header operations, the timeout and
// the retry policy SSM meant.
func TestL2IstiodServesSSMPolicy(t *testing.T) {
	c := newClients(t)
	ctx := context.Background()
	ensureNamespace(t, c, testNS)

	for name, timeout := range map[string]string{"split-00001": "2s", "split-00002": "3s"} {
		if _, err := c.serving.ServingV1().Revisions(testNS).Create(ctx, revision(name, map[string]string{
			"ssm.dev/lifecycle": "short-lived", "ssm.dev/timeout": timeout,
		}), metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating revision %s: %v", name, err)
		}
	}
	ing := kingress("split", "split.l1.example.com", "split-00001")
	path := &ing.Spec.Rules[0].HTTP.Paths[0]
	path.Splits[0].Percent = 90
	path.Splits = append(path.Splits, netv1alpha1.IngressBackendSplit{
		IngressBackend: netv1alpha1.IngressBackend{ServiceNamespace: testNS, ServiceName: "split-00002", ServicePort: intstr.FromInt(80)},
		Percent:        10,
		AppendHeaders:  map[string]string{"Knative-Serving-Revision": "split-00002"},
	})
	path.AppendHeaders = map[string]string{"Knative-Serving-Namespace": testNS}
	if _, err := c.networking.NetworkingV1alpha1().Ingresses(testNS).Create(ctx, ing, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the KIngress: %v", err)
	}

	var route *routev3.Route
	eventually(t, "istiod's gateway route for split.l1.example.com", 60*time.Second, func(ctx context.Context) (bool, error) {
		r, err := gatewayRoute(ctx, "split.l1.example.com")
		route = r
		return r != nil, err
	})

	// What Envoy gets, written out: a 90/10 split to the two revisions'
	// clusters with their request headers, the loosest timeout of the two
	// (3s), retries on connection failure only, and the path-level header.
	action := route.GetRoute()
	if got, want := action.GetTimeout(), durationpb.New(3*time.Second); !cmp.Equal(got, want, protocmp.Transform()) {
		t.Errorf("route timeout = %v, want %v", got, want)
	}
	wantRetry := &routev3.RetryPolicy{RetryOn: "connect-failure", NumRetries: wrapperspb.UInt32(1)}
	gotRetry := &routev3.RetryPolicy{RetryOn: action.GetRetryPolicy().GetRetryOn(), NumRetries: action.GetRetryPolicy().GetNumRetries()}
	if diff := cmp.Diff(wantRetry, gotRetry, protocmp.Transform()); diff != "" {
		t.Errorf("retry policy (-want +got):\n%s", diff)
	}
	type split struct {
		Cluster string
		Weight  uint32
		Header  string
	}
	var gotSplits []split
	for _, wc := range action.GetWeightedClusters().GetClusters() {
		s := split{Cluster: wc.GetName(), Weight: wc.GetWeight().GetValue()}
		for _, h := range wc.GetRequestHeadersToAdd() {
			if h.GetHeader().GetKey() == "Knative-Serving-Revision" {
				s.Header = h.GetHeader().GetValue()
			}
		}
		gotSplits = append(gotSplits, s)
	}
	wantSplits := []split{
		{Cluster: "outbound|80||split-00001.l1.svc.cluster.local", Weight: 90, Header: "split-00001"},
		{Cluster: "outbound|80||split-00002.l1.svc.cluster.local", Weight: 10, Header: "split-00002"},
	}
	if diff := cmp.Diff(wantSplits, gotSplits); diff != "" {
		t.Errorf("weighted clusters (-want +got):\n%s", diff)
	}
	var pathHeader string
	for _, h := range route.GetRequestHeadersToAdd() {
		if h.GetHeader().GetKey() == "Knative-Serving-Namespace" {
			pathHeader = h.GetHeader().GetValue()
		}
	}
	if pathHeader != testNS {
		t.Errorf("route request header Knative-Serving-Namespace = %q, want %q", pathHeader, testNS)
	}

	// istiod accepted our objects: nothing in its log names them with an error.
	logs, err := os.ReadFile(filepath.Join(c.stateDir, "logs", "istiod.log"))
	if err != nil {
		t.Fatalf("reading istiod's log: %v", err)
	}
	for _, line := range strings.Split(string(logs), "\n") {
		lower := strings.ToLower(line)
		if (strings.Contains(lower, "error") || strings.Contains(lower, "invalid") || strings.Contains(lower, "reject")) &&
			(strings.Contains(line, "split-ingress") || strings.Contains(line, "split-split-0000")) {
			t.Errorf("istiod reports a problem with SSM's objects: %s", line)
		}
	}
}

// TestL2EnvoyRejectableNotReady: istiod passes through what a gateway's
// Envoy would reject — here a header value with a line break, which Envoy's
// validation refuses, so it NACKs the whole route configuration. The route exists
// at istiod, but readiness-mode xds must not call the KIngress Ready.
func TestL2EnvoyRejectableNotReady(t *testing.T) {
	c := newClients(t)
	ctx := context.Background()
	ensureNamespace(t, c, testNS)

	ing := kingress("rejected", "rejected.l1.example.com", "rejected-00001")
	ing.Spec.Rules[0].HTTP.Paths[0].AppendHeaders = map[string]string{"X-Bad": "line\nbreak"}
	if _, err := c.networking.NetworkingV1alpha1().Ingresses(testNS).Create(ctx, ing, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the KIngress: %v", err)
	}
	eventually(t, "istiod's gateway route for rejected.l1.example.com", 60*time.Second, func(ctx context.Context) (bool, error) {
		r, err := gatewayRoute(ctx, "rejected.l1.example.com")
		return r != nil, err
	})
	// istiod has pushed the route; give the controller's xDS stream the same
	// push and a reconcile, then it must still not be Ready.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		got, err := c.networking.NetworkingV1alpha1().Ingresses(testNS).Get(ctx, "rejected", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("getting the KIngress: %v", err)
		}
		if got.IsReady() {
			t.Fatalf("KIngress rejected is Ready, although its route carries a header value Envoy rejects: %+v", got.Status)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// TestL2OutlierDetectionGatewayErrorsOnly: the cluster istiod generates for
// the gateway from SSM's DestinationRule of a short-lived revision ejects an
// endpoint after 5 consecutive gateway errors (502/503/504, connect
// failures), never after application 5xx: Consecutive_5Xx 0 and its
// enforcement 0. Left unset, Istio emits nothing for it and Envoy ejects after
// 5 consecutive 5xx of any kind — and that endpoint may be Knative's
// activator, passing a function's 5xx through.
func TestL2OutlierDetectionGatewayErrorsOnly(t *testing.T) {
	c := newClients(t)
	ctx := context.Background()
	ensureNamespace(t, c, testNS)

	const name = "outlier-00001"
	// istiod makes clusters only for Services it knows.
	if _, err := c.kube.CoreV1().Services(testNS).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt(8012)}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating Service %s: %v", name, err)
	}
	if _, err := c.serving.ServingV1().Revisions(testNS).Create(ctx, revision(name, map[string]string{
		"ssm.dev/lifecycle": "short-lived",
	}), metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating revision %s: %v", name, err)
	}
	if _, err := c.networking.NetworkingV1alpha1().Ingresses(testNS).Create(ctx,
		kingress("outlier", "outlier.l1.example.com", name), metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the KIngress: %v", err)
	}

	const clusterName = "outbound|80||" + name + "." + testNS + ".svc.cluster.local"
	var cluster *clusterv3.Cluster
	eventually(t, "istiod's gateway cluster "+clusterName+" with outlier detection", 60*time.Second, func(ctx context.Context) (bool, error) {
		clusters, err := xdsprobe.FetchClusters(ctx, xdsprobe.Options{Address: os.Getenv("SSM_XDS_ADDRESS")}, ingressGateway, clusterName)
		cluster = clusters[clusterName]
		return cluster.GetOutlierDetection() != nil, err
	})
	want := &clusterv3.OutlierDetection{
		// Application 5xx: counted by nobody.
		Consecutive_5Xx:          wrapperspb.UInt32(0),
		EnforcingConsecutive_5Xx: wrapperspb.UInt32(0),
		// Gateway errors: 5 in a row eject, always enforced.
		ConsecutiveGatewayFailure:          wrapperspb.UInt32(5),
		EnforcingConsecutiveGatewayFailure: wrapperspb.UInt32(100),
		// Istio turns success-rate ejection off.
		EnforcingSuccessRate: wrapperspb.UInt32(0),
		Interval:             durationpb.New(10 * time.Second),
		BaseEjectionTime:     durationpb.New(30 * time.Second),
		MaxEjectionPercent:   wrapperspb.UInt32(50),
	}
	if diff := cmp.Diff(want, cluster.GetOutlierDetection(), protocmp.Transform()); diff != "" {
		t.Errorf("outlier detection of %s (-want +got):\n%s", clusterName, diff)
	}
}
