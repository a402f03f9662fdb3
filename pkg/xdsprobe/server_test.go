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
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"
)

// xdsServer is a real ADS server (go-control-plane's) on loopback, standing
// in for istiod. Snapshots are keyed by the node's LABELS["istio"], so the
// test also proves the labels travel in the node metadata.
type xdsServer struct {
	addr  string
	cache cachev3.SnapshotCache
	grpc  *grpc.Server
	done  chan struct{}

	mu       sync.Mutex
	version  int
	requests []*discoveryv3.DiscoveryRequest
}

type labelHash struct{}

func (labelHash) ID(node *corev3.Node) string {
	return node.GetMetadata().GetFields()["LABELS"].GetStructValue().GetFields()["istio"].GetStringValue()
}

type quietLogger struct{}

func (quietLogger) Debugf(string, ...interface{}) {}
func (quietLogger) Infof(string, ...interface{})  {}
func (quietLogger) Warnf(string, ...interface{})  {}
func (quietLogger) Errorf(string, ...interface{}) {}

// startXDSServer serves on addr ("127.0.0.1:0" for any port) until the test
// ends or stop is called.
func startXDSServer(t *testing.T, addr string) *xdsServer {
	t.Helper()
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal("net.Listen() =", err)
	}
	s := &xdsServer{
		addr:  lis.Addr().String(),
		cache: cachev3.NewSnapshotCache(true, labelHash{}, quietLogger{}),
		grpc:  grpc.NewServer(),
		done:  make(chan struct{}),
	}
	callbacks := serverv3.CallbackFuncs{StreamRequestFunc: func(_ int64, req *discoveryv3.DiscoveryRequest) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.requests = append(s.requests, req)
		return nil
	}}
	ctx, cancel := context.WithCancel(context.Background())
	discoveryv3.RegisterAggregatedDiscoveryServiceServer(s.grpc, serverv3.NewServer(ctx, s.cache, callbacks))
	go func() {
		defer close(s.done)
		defer cancel()
		_ = s.grpc.Serve(lis)
	}()
	t.Cleanup(s.stop)
	return s
}

// stop ends every stream at once, as an istiod restart does.
func (s *xdsServer) stop() {
	s.grpc.Stop()
	<-s.done
}

// set publishes listeners and routes for the gateway whose LABELS["istio"]
// is istio, as a new version.
func (s *xdsServer) set(t *testing.T, istio string, listeners []*listenerv3.Listener, routes []*routev3.RouteConfiguration) string {
	t.Helper()
	s.mu.Lock()
	s.version++
	version := strconv.Itoa(s.version)
	s.mu.Unlock()
	res := map[resourcev3.Type][]types.Resource{resourcev3.ListenerType: {}, resourcev3.RouteType: {}}
	for _, l := range listeners {
		res[resourcev3.ListenerType] = append(res[resourcev3.ListenerType], l)
	}
	for _, r := range routes {
		res[resourcev3.RouteType] = append(res[resourcev3.RouteType], r)
	}
	snap, err := cachev3.NewSnapshot(version, res)
	if err != nil {
		t.Fatal("NewSnapshot() =", err)
	}
	if err := s.cache.SetSnapshot(context.Background(), istio, snap); err != nil {
		t.Fatal("SetSnapshot() =", err)
	}
	return version
}

// received returns the requests the server got so far.
func (s *xdsServer) received() []*discoveryv3.DiscoveryRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*discoveryv3.DiscoveryRequest(nil), s.requests...)
}

// waitForACK waits until the node of gateway istio acknowledged version of
// typeURL; the client stores what it received before it ACKs.
func (s *xdsServer) waitForACK(t *testing.T, istio, typeURL, version string) {
	t.Helper()
	eventually(t, func() bool {
		for _, req := range s.received() {
			if (labelHash{}).ID(req.GetNode()) == istio && req.GetTypeUrl() == typeURL &&
				req.GetVersionInfo() == version && req.GetResponseNonce() != "" {
				return true
			}
		}
		return false
	}, "node %q to ACK %s version %s", istio, typeURL, version)
}

// eventually polls cond until it holds or a deadline passes.
func eventually(t *testing.T, cond func() bool, what string, args ...interface{}) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for "+what, args...)
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not synchronisation
	}
}
