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

package xdsprobe

import (
	"context"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
)

func loadAssignment(cluster, ip string, port uint32) *endpointv3.ClusterLoadAssignment {
	return &endpointv3.ClusterLoadAssignment{
		ClusterName: cluster,
		Endpoints: []*endpointv3.LocalityLbEndpoints{{LbEndpoints: []*endpointv3.LbEndpoint{{
			HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{
				Address: &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
					Address: ip, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port},
				}}},
			}},
		}}}},
	}
}

// FetchEndpoints asks for the clusters it names, as the gateway workload,
// and returns their load assignments.
func TestFetchEndpoints(t *testing.T) {
	t.Parallel()
	s := startXDSServer(t, "127.0.0.1:0")
	const leased = "outbound|80||fn-00001-ssm.ns.svc.cluster.local"
	snap, err := cachev3.NewSnapshot("1", map[resourcev3.Type][]types.Resource{resourcev3.EndpointType: {
		// go-control-plane answers an ADS request only for every resource
		// of the snapshot, so it holds just the one asked for.
		loadAssignment(leased, "10.244.2.7", 8081),
	}})
	if err != nil {
		t.Fatal("NewSnapshot() =", err)
	}
	if err := s.cache.SetSnapshot(context.Background(), "ingressgateway", snap); err != nil {
		t.Fatal("SetSnapshot() =", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	got, err := FetchEndpoints(ctx, Options{Address: s.addr},
		Workload{Namespace: "istio-system", Labels: map[string]string{"istio": "ingressgateway"}}, leased)
	if err != nil {
		t.Fatal("FetchEndpoints() =", err)
	}
	want := []*endpointv3.ClusterLoadAssignment{loadAssignment(leased, "10.244.2.7", 8081)}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("FetchEndpoints (-want, +got):\n%s", diff)
	}
	reqs := s.received()
	if len(reqs) == 0 || reqs[0].GetTypeUrl() != endpointTypeURL || !cmp.Equal(reqs[0].GetResourceNames(), []string{leased}) {
		t.Errorf("first request = %v, want EDS for %q", reqs, leased)
	}
}

func TestFetchEndpointsNeedsAnAddress(t *testing.T) {
	t.Parallel()
	_, err := FetchEndpoints(context.Background(), Options{}, Workload{Namespace: "istio-system", Labels: map[string]string{"istio": "x"}}, "c")
	if err == nil || err.Error() != "xDS address is empty" {
		t.Errorf("FetchEndpoints() error = %v, want %q", err, "xDS address is empty")
	}
}
