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
	"net/http"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/serverless-mesh/ssm/pkg/xdsprobe"
)

// TestDataplaneLeaseRouting: a sidecar-less revision's KIngress split goes
// to its lease Service, and istiod gives the gateway that Service's
// endpoints: Knative's activator while no proxy can serve the revision, the
// leased pooled proxy (a stand-in) once it holds the revision and a pod is
// ready, and the activator again as soon as Knative takes the revision to
// zero, while its pod still runs, so no request meets a proxy with no pod.
func TestDataplaneLeaseRouting(t *testing.T) {
	requireDataplane(t)
	c := newClients(t)
	ctx := context.Background()
	ensureNamespace(t, c, dataplaneNS)
	const service, revision = "routed", "routed-00001"
	const cluster = "outbound|80||" + revision + "-ssm." + dataplaneNS + ".svc.cluster.local"
	activator := []string{activatorAddr}

	deployFunction(t, c, service, map[string]string{"ssm.dev/lifecycle": "short-lived"})

	// The gateway's route sends the revision's split to its lease Service.
	eventually(t, "istiod's gateway route for routed to the lease Service", 60*time.Second, func(ctx context.Context) (bool, error) {
		r, err := gatewayRoute(ctx, service+"."+dataplaneNS+".example.com")
		if err != nil || r == nil {
			return false, fmt.Errorf("route %v, err %v", r, err)
		}
		clusters := routeClusters(r)
		return slices.Contains(clusters, cluster), fmt.Errorf("route clusters %v, want %s", clusters, cluster)
	})

	client := &http.Client{Timeout: 30 * time.Second}
	want := "hello from " + revision
	// The first request leases a stand-in; once the revision's pod is
	// ready the stand-in is the lease Service's only endpoint.
	code, body, err := activatorGet(ctx, client, service, revision, "/")
	if err != nil || code != http.StatusOK || body != want {
		t.Fatalf("request through the activator: status %d body %q err %v, want 200 %q", code, body, err, want)
	}
	var proxy string
	eventually(t, "the gateway's endpoints of "+cluster+" to be one leased stand-in", 60*time.Second, func(ctx context.Context) (bool, error) {
		eps, err := gatewayEndpoints(ctx, cluster)
		if err != nil {
			return false, err
		}
		if len(eps) == 1 && (eps[0] == "10.200.0.30:8081" || eps[0] == "10.200.0.31:8081") {
			proxy = eps[0]
			return true, nil
		}
		// Keep the lease busy meanwhile, as traffic would.
		_, _, _ = activatorGet(ctx, client, service, revision, "/")
		return false, fmt.Errorf("endpoints %v", eps)
	})
	if err := activatorSliceEmpty(ctx, c, revision); err != nil {
		t.Error(err)
	}
	// What the gateway does with it: the stand-in serves the revision.
	if code, body, err := revisionGet(ctx, client, proxy, service, revision, "/"); err != nil || code != http.StatusOK || body != want {
		t.Errorf("GET through the leased stand-in %s: status %d body %q err %v, want 200 %q", proxy, code, body, err, want)
	}

	// Taken to zero: the activator is back while the pod still runs.
	var podsAtSwitch int
	eventually(t, "the gateway's endpoints of "+cluster+" back to the activator", 120*time.Second, func(ctx context.Context) (bool, error) {
		eps, err := gatewayEndpoints(ctx, cluster)
		if err != nil {
			return false, err
		}
		if !slices.Equal(eps, activator) {
			return false, fmt.Errorf("endpoints %v", eps)
		}
		pods, err := revisionPods(ctx, c, revision)
		podsAtSwitch = len(pods)
		return true, err
	})
	t.Logf("lease Service endpoints: activator, then stand-in %s, then the activator again with %d pod(s) still running", proxy, podsAtSwitch)
	if podsAtSwitch == 0 {
		t.Errorf("the gateway got the activator back only after the revision's last pod was gone; want it while the pod still serves")
	}
}

// routeClusters are the clusters a route sends traffic to.
func routeClusters(r *routev3.Route) []string {
	action := r.GetRoute()
	if c := action.GetCluster(); c != "" {
		return []string{c}
	}
	var out []string
	for _, wc := range action.GetWeightedClusters().GetClusters() {
		out = append(out, wc.GetName())
	}
	return out
}

// gatewayEndpoints are the addresses istiod gives the ingress gateway for a
// cluster, sorted.
func gatewayEndpoints(ctx context.Context, cluster string) ([]string, error) {
	clas, err := xdsprobe.FetchEndpoints(ctx, xdsprobe.Options{Address: os.Getenv("SSM_XDS_ADDRESS")}, ingressGateway, cluster)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, cla := range clas {
		for _, locality := range cla.GetEndpoints() {
			for _, lb := range locality.GetLbEndpoints() {
				sa := lb.GetEndpoint().GetAddress().GetSocketAddress()
				out = append(out, sa.GetAddress()+":"+strconv.Itoa(int(sa.GetPortValue())))
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// activatorSliceEmpty: while a proxy is published, the controller's
// activator slice of the lease Service holds no endpoint.
func activatorSliceEmpty(ctx context.Context, c *clients, revision string) error {
	s, err := c.kube.DiscoveryV1().EndpointSlices(dataplaneNS).Get(ctx, revision+"-ssm-activator", metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("activator slice of %s: %w", revision, err)
	}
	if len(s.Endpoints) != 0 {
		return fmt.Errorf("activator slice of %s has %v while a proxy is published, want none", revision, endpointAddresses(s))
	}
	return nil
}

func endpointAddresses(s *discoveryv1.EndpointSlice) []string {
	var out []string
	for _, ep := range s.Endpoints {
		out = append(out, ep.Addresses...)
	}
	return out
}
