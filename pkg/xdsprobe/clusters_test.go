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

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// FetchClusters subscribes to every cluster, as the gateway workload does,
// and returns only the ones named.
func TestFetchClusters(t *testing.T) {
	t.Parallel()
	s := startXDSServer(t, "127.0.0.1:0")
	const wanted = "outbound|80||fn-00001.ns.svc.cluster.local"
	withOutlier := func(name string) *clusterv3.Cluster {
		return &clusterv3.Cluster{Name: name, OutlierDetection: &clusterv3.OutlierDetection{
			Consecutive_5Xx: wrapperspb.UInt32(0), ConsecutiveGatewayFailure: wrapperspb.UInt32(5),
		}}
	}
	snap, err := cachev3.NewSnapshot("1", map[resourcev3.Type][]types.Resource{resourcev3.ClusterType: {
		withOutlier(wanted), withOutlier("outbound|80||other.ns.svc.cluster.local"),
	}})
	if err != nil {
		t.Fatal("NewSnapshot() =", err)
	}
	if err := s.cache.SetSnapshot(context.Background(), "ingressgateway", snap); err != nil {
		t.Fatal("SetSnapshot() =", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	got, err := FetchClusters(ctx, Options{Address: s.addr},
		Workload{Namespace: "istio-system", Labels: map[string]string{"istio": "ingressgateway"}}, wanted)
	if err != nil {
		t.Fatal("FetchClusters() =", err)
	}
	want := map[string]*clusterv3.Cluster{wanted: {Name: wanted, OutlierDetection: &clusterv3.OutlierDetection{
		Consecutive_5Xx: wrapperspb.UInt32(0), ConsecutiveGatewayFailure: wrapperspb.UInt32(5),
	}}}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("FetchClusters (-want, +got):\n%s", diff)
	}
	reqs := s.received()
	if len(reqs) == 0 || reqs[0].GetTypeUrl() != clusterTypeURL || len(reqs[0].GetResourceNames()) != 0 {
		t.Errorf("first request = %v, want a wildcard CDS request", reqs)
	}
}
