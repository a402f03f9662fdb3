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

package pool

import (
	"context"
	"fmt"
	"google.golang.org/protobuf/types/known/structpb"
	"net"
	"sync"
	"testing"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/testing/protocmp"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/serverless-mesh/ssm/pkg/policy"
	"github.com/serverless-mesh/ssm/pkg/pool/adsclient"
	"github.com/serverless-mesh/ssm/pkg/pool/leaseapi"
	"github.com/serverless-mesh/ssm/pkg/pool/revision"
	"github.com/serverless-mesh/ssm/pkg/pool/snapshot"
)

// waitTimeout bounds every wait of a test; generous for a loaded machine.
const waitTimeout = 20 * time.Second

var (
	cdsURL = resource.ClusterType
	edsURL = resource.EndpointType
	ldsURL = resource.ListenerType
	rdsURL = resource.RouteType
)

// allTypes is what an Envoy with ADS subscribes to.
func allTypes() []string { return []string{cdsURL, edsURL, ldsURL, rdsURL} }

// fakeSource is a revision.Source backed by a map.
type fakeSource struct {
	mu      sync.Mutex
	configs map[revision.Key]revision.Config
	err     error
}

func (f *fakeSource) Get(key revision.Key) (revision.Config, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return revision.Config{}, f.err
	}
	cfg, ok := f.configs[key]
	if !ok {
		return revision.Config{}, fmt.Errorf("revision %s: %w", key, revision.ErrNotFound)
	}
	return cfg, nil
}

func (f *fakeSource) set(cfgs ...revision.Config) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, cfg := range cfgs {
		f.configs[cfg.Key] = cfg
	}
}

func (f *fakeSource) remove(key revision.Key) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.configs, key)
}

func (f *fakeSource) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

var testPool = revision.PoolKey{Namespace: "team", Name: "pool"}

// pooledRevision is a short-lived revision of testPool with one endpoint.
func pooledRevision(name string) revision.Config {
	return revision.Config{
		Key:  revision.Key{Namespace: testPool.Namespace, Name: name},
		Pool: testPool,
		Policy: policy.Policy{
			Lifecycle: policy.LifecycleShortLived,
			Timeout:   time.Second,
			MTLSMode:  policy.MTLSLightweight,
			ProxyPool: testPool.Name,
		},
		ServiceAccount: "fn",
		Endpoints:      []revision.Endpoint{{IP: "127.0.0.10", Port: 8113}},
	}
}

func key(name string) revision.Key { return revision.Key{Namespace: testPool.Namespace, Name: name} }

// env is one pool server on a loopback port with mTLS, plus its proxies.
type env struct {
	t        testing.TB
	server   *Server
	source   *fakeSource
	clock    *clocktesting.FakeClock
	registry *prometheus.Registry
	ca       *testCA
	addr     string
	// unhealthy receives every OnUnhealthy call.
	unhealthy chan unhealthyEvent
}

func newEnv(t testing.TB, mutate ...func(*Options)) *env {
	t.Helper()
	e := &env{
		t:         t,
		source:    &fakeSource{configs: map[revision.Key]revision.Config{}},
		clock:     clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
		registry:  prometheus.NewRegistry(),
		ca:        newTestCA(t),
		unhealthy: make(chan unhealthyEvent, 100),
	}
	o := Options{
		Snapshot:   snapshot.DefaultOptions(),
		Source:     e.source,
		Clock:      e.clock,
		Registerer: e.registry,
		OnUnhealthy: func(proxy string, pool revision.PoolKey, reason string) {
			select {
			case e.unhealthy <- unhealthyEvent{proxy: proxy, pool: pool, reason: reason}:
			default:
			}
		},
	}
	for _, m := range mutate {
		m(&o)
	}
	e.server = New(o)

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	e.addr = lis.Addr().String()
	g := grpc.NewServer(grpc.Creds(credentials.NewTLS(e.ca.serverTLS(t))))
	e.server.Register(g)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = g.Serve(lis)
	}()
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		_ = e.server.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-ran
		g.Stop()
		<-served
	})
	return e
}

// dial opens a gRPC connection whose client certificate carries spiffeID.
func (e *env) dial(spiffeID string) *grpc.ClientConn {
	e.t.Helper()
	conn, err := grpc.NewClient(e.addr, grpc.WithTransportCredentials(credentials.NewTLS(e.ca.clientTLS(e.t, spiffeID))))
	if err != nil {
		e.t.Fatalf("dial %s: %v", e.addr, err)
	}
	e.t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// proxySpec describes a test proxy; zero fields take the defaults of a
// well-behaved proxy of testPool.
type proxySpec struct {
	name     string
	cluster  string // node.cluster; default testPool
	spiffeID string // default the pool's proxy identity
	noSPIFFE bool   // a client certificate without URI SAN
	types    []string
	decide   func(typeURL string, resp *discovery.DiscoveryResponse) error
	// podIP, when set, is stated in the node metadata as the proxy's
	// address (ssm.PoolProxyPodIPMetadataKey).
	podIP string
}

func proxyID(ns string) string { return "spiffe://cluster.local/ns/" + ns + "/sa/ssm-proxy" }

// connect opens a proxy's ADS stream; it is closed when the test ends.
func (e *env) connect(spec proxySpec) *adsclient.Client {
	e.t.Helper()
	if spec.cluster == "" {
		spec.cluster = testPool.String()
	}
	if spec.spiffeID == "" && !spec.noSPIFFE {
		spec.spiffeID = proxyID(testPool.Namespace)
	}
	if spec.types == nil {
		spec.types = allTypes()
	}
	node := &core.Node{Id: spec.name, Cluster: spec.cluster}
	if spec.podIP != "" {
		node.Metadata = &structpb.Struct{Fields: map[string]*structpb.Value{
			"ssm.dev/pod-ip": structpb.NewStringValue(spec.podIP),
		}}
	}
	ctx, cancel := context.WithCancel(context.Background())
	c, err := adsclient.Dial(ctx, e.dial(spec.spiffeID), adsclient.Config{
		Node:     node,
		TypeURLs: spec.types,
		Decide:   spec.decide,
	})
	if err != nil {
		cancel()
		e.t.Fatalf("proxy %s: %v", spec.name, err)
	}
	e.t.Cleanup(func() {
		_ = c.Close()
		cancel()
	})
	return c
}

// connectWarm connects well-behaved proxies and waits until all are warm.
func (e *env) connectWarm(names ...string) map[string]*adsclient.Client {
	e.t.Helper()
	out := make(map[string]*adsclient.Client, len(names))
	for _, name := range names {
		out[name] = e.connect(proxySpec{name: name})
	}
	e.waitStats(testPool, &leaseapi.StatsResponse{Connected: int32(len(names)), Warm: int32(len(names))})
	return out
}

// eventually polls cond until it holds or waitTimeout passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	ticker := time.NewTicker(2 * time.Millisecond)
	defer ticker.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-ticker.C
	}
}

// A want without LeasedProxies checks the counts only; the names of the
// leased proxies are checked where a test sets them.
func (e *env) waitStats(pool revision.PoolKey, want *leaseapi.StatsResponse) {
	e.t.Helper()
	var got *leaseapi.StatsResponse
	deadline := time.Now().Add(waitTimeout)
	ticker := time.NewTicker(2 * time.Millisecond)
	defer ticker.Stop()
	opts := []cmp.Option{protocmp.Transform()}
	if want.GetLeasedProxies() == nil {
		opts = append(opts, protocmp.IgnoreFields(&leaseapi.StatsResponse{}, "leased_proxies"))
	}
	for {
		got = e.server.Stats(pool)
		diff := cmp.Diff(want, got, opts...)
		if diff == "" {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("Stats(%s) (-want +got):\n%s", pool, diff)
		}
		<-ticker.C
	}
}

func (e *env) lease(name string) *leaseapi.LeaseResponse {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	resp, err := e.server.Lease(ctx, key(name))
	if err != nil {
		e.t.Fatalf("Lease(%s): %v", key(name), err)
	}
	return resp
}

// nextUnhealthy waits for the next OnUnhealthy call.
func (e *env) nextUnhealthy() unhealthyEvent {
	e.t.Helper()
	select {
	case ev := <-e.unhealthy:
		return ev
	case <-time.After(waitTimeout):
		e.t.Fatal("OnUnhealthy was not called")
	}
	return unhealthyEvent{}
}

// endAllLeases returns every leased proxy to the base.
func (e *env) endAllLeases() {
	s := e.server
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.leases {
		s.endLocked(l, "benchmark round", false)
	}
}
