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

package adsclient

import (
	"context"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/envoyproxy/go-control-plane/pkg/server/config"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
)

// testTimeout bounds every wait in these tests.
const testTimeout = 30 * time.Second

func allTypes() []string {
	return []string{resourcev3.ClusterType, resourcev3.EndpointType, resourcev3.ListenerType, resourcev3.RouteType}
}

func testNode(id string) *corev3.Node {
	return &corev3.Node{Id: id, Cluster: "knative-serving/default"}
}

func adsSource() *corev3.ConfigSource {
	return &corev3.ConfigSource{
		ResourceApiVersion:    corev3.ApiVersion_V3,
		ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}},
	}
}

func socketAddress(port uint32) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Address: "127.0.0.1", PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port},
	}}}
}

func edsCluster(name string) *clusterv3.Cluster {
	return &clusterv3.Cluster{
		Name:                 name,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_EDS},
		EdsClusterConfig:     &clusterv3.Cluster_EdsClusterConfig{EdsConfig: adsSource()},
		ConnectTimeout:       durationpb.New(time.Second),
	}
}

func loadAssignment(cluster string, port uint32) *endpointv3.ClusterLoadAssignment {
	return &endpointv3.ClusterLoadAssignment{
		ClusterName: cluster,
		Endpoints: []*endpointv3.LocalityLbEndpoints{{LbEndpoints: []*endpointv3.LbEndpoint{{
			HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{Address: socketAddress(port)}},
		}}}},
	}
}

func routeConfig(name, cluster, domain string) *routev3.RouteConfiguration {
	return &routev3.RouteConfiguration{
		Name: name,
		VirtualHosts: []*routev3.VirtualHost{{
			Name:    "default",
			Domains: []string{domain},
			Routes: []*routev3.Route{{
				Match:  &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
				Action: &routev3.Route_Route{Route: &routev3.RouteAction{ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: cluster}}},
			}},
		}},
	}
}

func mustAny(t *testing.T, m proto.Message) *anypb.Any {
	t.Helper()
	a, err := anypb.New(m)
	if err != nil {
		t.Fatalf("anypb.New(%T): %v", m, err)
	}
	return a
}

func rdsListener(t *testing.T, name, route string) *listenerv3.Listener {
	t.Helper()
	manager := &hcmv3.HttpConnectionManager{
		StatPrefix: name,
		RouteSpecifier: &hcmv3.HttpConnectionManager_Rds{Rds: &hcmv3.Rds{
			RouteConfigName: route, ConfigSource: adsSource(),
		}},
		HttpFilters: []*hcmv3.HttpFilter{{
			Name:       "envoy.filters.http.router",
			ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(t, &routerv3.Router{})},
		}},
	}
	return &listenerv3.Listener{
		Name:    name,
		Address: socketAddress(8081),
		FilterChains: []*listenerv3.FilterChain{{Filters: []*listenerv3.Filter{{
			Name:       "envoy.filters.network.http_connection_manager",
			ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: mustAny(t, manager)},
		}}}},
	}
}

// fixture names one consistent snapshot: a listener whose route sends to an
// EDS cluster.
type fixture struct {
	version, cluster, listener, route, domain string
	port                                      uint32
}

// inlineListener routes with an inline route configuration, so it needs no
// RDS and no cluster: the shape of a warm proxy's base configuration.
func inlineListener(t *testing.T, name string) *listenerv3.Listener {
	t.Helper()
	manager := &hcmv3.HttpConnectionManager{
		StatPrefix: name,
		RouteSpecifier: &hcmv3.HttpConnectionManager_RouteConfig{RouteConfig: &routev3.RouteConfiguration{
			Name: name,
			VirtualHosts: []*routev3.VirtualHost{{
				Name:    "ready",
				Domains: []string{"*"},
				Routes: []*routev3.Route{{
					Match:  &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
					Action: &routev3.Route_DirectResponse{DirectResponse: &routev3.DirectResponseAction{Status: 200}},
				}},
			}},
		}},
	}
	return &listenerv3.Listener{
		Name:    name,
		Address: socketAddress(15021),
		FilterChains: []*listenerv3.FilterChain{{Filters: []*listenerv3.Filter{{
			Name:       "envoy.filters.network.http_connection_manager",
			ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: mustAny(t, manager)},
		}}}},
	}
}

func baseSnapshot(t *testing.T, version, listener string) *cachev3.Snapshot {
	t.Helper()
	snap, err := cachev3.NewSnapshot(version, map[resourcev3.Type][]types.Resource{
		// Empty types still carry the version, so the client ACKs it.
		resourcev3.ClusterType:  {},
		resourcev3.EndpointType: {},
		resourcev3.ListenerType: {inlineListener(t, listener)},
		resourcev3.RouteType:    {},
	})
	if err != nil {
		t.Fatalf("snapshot %s: %v", version, err)
	}
	if err := snap.Consistent(); err != nil {
		t.Fatalf("snapshot %s is not consistent: %v", version, err)
	}
	return snap
}

func (f fixture) snapshot(t *testing.T) *cachev3.Snapshot {
	t.Helper()
	snap, err := cachev3.NewSnapshot(f.version, map[resourcev3.Type][]types.Resource{
		resourcev3.ClusterType:  {edsCluster(f.cluster)},
		resourcev3.EndpointType: {loadAssignment(f.cluster, f.port)},
		resourcev3.ListenerType: {rdsListener(t, f.listener, f.route)},
		resourcev3.RouteType:    {routeConfig(f.route, f.cluster, f.domain)},
	})
	if err != nil {
		t.Fatalf("snapshot %s: %v", f.version, err)
	}
	if err := snap.Consistent(); err != nil {
		t.Fatalf("snapshot %s is not consistent: %v", f.version, err)
	}
	return snap
}

// recorder keeps what the server's callbacks saw, in order.
type recorder struct {
	mu        sync.Mutex
	requests  []*discoveryv3.DiscoveryRequest
	responses []*discoveryv3.DiscoveryResponse
	changed   chan struct{}
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{})} }

func (r *recorder) callbacks() serverv3.CallbackFuncs {
	return serverv3.CallbackFuncs{
		StreamRequestFunc: func(_ int64, req *discoveryv3.DiscoveryRequest) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.requests = append(r.requests, proto.Clone(req).(*discoveryv3.DiscoveryRequest))
			close(r.changed)
			r.changed = make(chan struct{})
			return nil
		},
		StreamResponseFunc: func(_ context.Context, _ int64, _ *discoveryv3.DiscoveryRequest, resp *discoveryv3.DiscoveryResponse) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.responses = append(r.responses, proto.Clone(resp).(*discoveryv3.DiscoveryResponse))
		},
	}
}

// wait returns once cond, called with r.mu held, holds.
func (r *recorder) wait(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.After(testTimeout)
	for {
		r.mu.Lock()
		changed := r.changed
		ok := cond()
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("server did not see the expected requests within %v", testTimeout)
		}
	}
}

// waitRequest returns the first request that matches, waiting for it.
func (r *recorder) waitRequest(t *testing.T, match func(*discoveryv3.DiscoveryRequest) bool) *discoveryv3.DiscoveryRequest {
	t.Helper()
	var found *discoveryv3.DiscoveryRequest
	r.wait(t, func() bool {
		if i := slices.IndexFunc(r.requests, match); i >= 0 {
			found = r.requests[i]
		}
		return found != nil
	})
	return found
}

// waitCount waits until the server has seen n requests of a type.
func (r *recorder) waitCount(t *testing.T, typeURL string, n int) {
	t.Helper()
	r.wait(t, func() bool {
		count := 0
		for _, req := range r.requests {
			if req.GetTypeUrl() == typeURL {
				count++
			}
		}
		return count >= n
	})
}

// sentNonces are the nonces of the responses of one type and version.
func (r *recorder) sentNonces(typeURL, version string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var nonces []string
	for _, resp := range r.responses {
		if resp.GetTypeUrl() == typeURL && resp.GetVersionInfo() == version {
			nonces = append(nonces, resp.GetNonce())
		}
	}
	return nonces
}

// typeRequests are the requests of one type, in arrival order.
func (r *recorder) typeRequests(typeURL string) []*discoveryv3.DiscoveryRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*discoveryv3.DiscoveryRequest
	for _, req := range r.requests {
		if req.GetTypeUrl() == typeURL {
			out = append(out, req)
		}
	}
	return out
}

// serve runs an ADS server on 127.0.0.1 and returns a connection to it.
func serve(t *testing.T, register func(*grpc.Server)) *grpc.ClientConn {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	g := grpc.NewServer()
	register(g)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = g.Serve(lis)
	}()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("grpc client: %v", err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		g.Stop()
		<-served
	})
	return conn
}

// controlPlane is go-control-plane's own ADS server over a snapshot cache.
func controlPlane(t *testing.T, rec *recorder, opts ...config.XDSOption) (cachev3.SnapshotCache, *grpc.ClientConn) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	snapshots := cachev3.NewSnapshotCache(true, cachev3.IDHash{}, nil)
	srv := serverv3.NewServer(ctx, snapshots, rec.callbacks(), opts...)
	conn := serve(t, func(g *grpc.Server) { discoveryv3.RegisterAggregatedDiscoveryServiceServer(g, srv) })
	return snapshots, conn
}

// waitWatches polls until the cache holds n open watches for node, so that a
// new snapshot is answered on every type at once, in ADS order.
func waitWatches(t *testing.T, snapshots cachev3.SnapshotCache, node string, n int) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for snapshots.GetStatusInfo(node) == nil || snapshots.GetStatusInfo(node).GetNumWatches() != n {
		if time.Now().After(deadline) {
			t.Fatalf("node %s does not have %d open watches after %v", node, n, testTimeout)
		}
		<-tick.C
	}
}

func dialClient(t *testing.T, conn *grpc.ClientConn, cfg Config) *Client {
	t.Helper()
	c, err := Dial(context.Background(), conn, cfg)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func waitCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}
