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

package activator

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	clocktesting "k8s.io/utils/clock/testing"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	servinglisters "knative.dev/serving/pkg/client/listers/serving/v1"

	"github.com/serverless-mesh/ssm/pkg/pool/leaseapi"
)

// Revisions of the tests: one SSM pools, one without annotations, one that
// opts out.
var (
	pooledRev    = types.NamespacedName{Namespace: "ns", Name: "pooled-00001"}
	plainRev     = types.NamespacedName{Namespace: "ns", Name: "plain-00001"}
	optedOutRev  = types.NamespacedName{Namespace: "ns", Name: "opted-out-00001"}
	testEpoch    = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	waitDeadline = 20 * time.Second
)

const (
	// stockDest is what the fake stock throttler hands out; the tests that
	// dial it replace it with a real loopback server.
	stockDest = "127.0.0.1:8012"
	// proxyAddress is what the scripted pool grants.
	proxyAddress = "127.0.0.1:8081"
)

func revisionLister(t testing.TB) servinglisters.RevisionLister {
	t.Helper()
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, rev := range []*servingv1.Revision{
		{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: pooledRev.Name, Annotations: stampedSidecarless}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: plainRev.Name,
			Annotations: map[string]string{"autoscaling.knative.dev/min-scale": "0"}}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: optedOutRev.Name,
			Annotations: map[string]string{"ssm.dev/lifecycle": "short-lived", "ssm.dev/proxy-pool": "none",
				"resolved.ssm.dev/pods": "sidecarless"}}},
	} {
		if err := indexer.Add(rev); err != nil {
			t.Fatalf("indexer.Add(%s): %v", rev.Name, err)
		}
	}
	return servinglisters.NewRevisionLister(indexer)
}

// leaseServer is a real Leases service with a scripted answer. When hold
// is set, Lease blocks until hold is closed or the caller gives up.
type leaseServer struct {
	leaseapi.UnimplementedLeasesServer

	answer   *leaseapi.LeaseResponse
	leaseErr error
	renewErr error
	// renewProxies are the proxies Renew reports; nil reports proxy-a.
	renewProxies []string
	// renewIdle is the idle timeout Renew reports; nil reports none.
	renewIdle *durationpb.Duration
	// renewLatency is how far Renew advances clock (once set) before it
	// answers, as a slow network would.
	renewLatency time.Duration
	clock        atomic.Pointer[clocktesting.FakePassiveClock]
	hold         chan struct{}

	leaseCalls atomic.Int32
	renewCalls atomic.Int32
	// called receives one value per Lease call, when it arrives.
	called chan struct{}
}

func (s *leaseServer) Lease(ctx context.Context, _ *leaseapi.LeaseRequest) (*leaseapi.LeaseResponse, error) {
	s.leaseCalls.Add(1)
	select {
	case s.called <- struct{}{}:
	default:
	}
	if s.hold != nil {
		select {
		case <-s.hold:
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}
	if s.leaseErr != nil {
		return nil, s.leaseErr
	}
	return s.answer, nil
}

func (s *leaseServer) Renew(context.Context, *leaseapi.RenewRequest) (*leaseapi.RenewResponse, error) {
	s.renewCalls.Add(1)
	if c := s.clock.Load(); c != nil {
		c.SetTime(c.Now().Add(s.renewLatency))
	}
	if s.renewErr != nil {
		return nil, s.renewErr
	}
	proxies := []string{"proxy-a"}
	if s.renewProxies != nil {
		proxies = s.renewProxies
	}
	return &leaseapi.RenewResponse{Proxies: proxies, IdleTimeout: s.renewIdle}, nil
}

func granted(address string) *leaseapi.LeaseResponse {
	return &leaseapi.LeaseResponse{Outcome: leaseapi.LeaseResponse_GRANTED, Address: address, Proxy: "proxy-a", Pool: "ssm/default"}
}

// serveLeases starts srv on a loopback port and returns a client for it.
func serveLeases(t *testing.T, srv *leaseServer) leaseapi.LeasesClient {
	t.Helper()
	if srv.called == nil {
		srv.called = make(chan struct{}, 1)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	gs := grpc.NewServer()
	leaseapi.RegisterLeasesServer(gs, srv)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	return dialLeases(t, lis.Addr().String())
}

func dialLeases(t testing.TB, address string) leaseapi.LeasesClient {
	t.Helper()
	conn, err := grpc.NewClient(address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("grpc.NewClient(%s): %v", address, err)
	}
	t.Cleanup(func() { conn.Close() })
	return leaseapi.NewLeasesClient(conn)
}

// downPoolAddress is a loopback address nothing listens on.
func downPoolAddress(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := lis.Addr().String()
	lis.Close()
	return addr
}

// fakeStock stands in for Knative's throttler: it hands out dest at once,
// or, when gate is set, once gate is closed (the pod becoming ready).
type fakeStock struct {
	dest string
	// clusterIP is what the throttler says of dest.
	clusterIP bool
	gate      chan struct{}

	mu    sync.Mutex
	calls []types.NamespacedName
}

func (f *fakeStock) Try(ctx context.Context, revID types.NamespacedName, fn func(string, bool) error) error {
	f.mu.Lock()
	f.calls = append(f.calls, revID)
	f.mu.Unlock()
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return fn(f.dest, f.clusterIP)
}

func (f *fakeStock) tries() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func newTestHook(t *testing.T, stock Throttler, leases leaseapi.LeasesClient, opts Options) (*Hook, *clocktesting.FakePassiveClock) {
	t.Helper()
	return newHookOn(t, stock, leases, revisionLister(t), opts)
}

// newHookOn is newTestHook reading the given revisions.
func newHookOn(t *testing.T, stock Throttler, leases leaseapi.LeasesClient, revisions servinglisters.RevisionLister, opts Options) (*Hook, *clocktesting.FakePassiveClock) {
	t.Helper()
	clk := clocktesting.NewFakePassiveClock(testEpoch)
	opts.Clock = clk
	h, err := New(stock, leases, revisions, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(h.Close)
	return h, clk
}

// withAttempt is what Hook.Handler does to the context of a request
// without a body.
func withAttempt(ctx context.Context) context.Context {
	return context.WithValue(ctx, attemptKey{}, &attempt{replayable: true})
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitDeadline)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// leaseSettled waits until no Lease call is outstanding for rev.
func leaseSettled(t testing.TB, h *Hook, rev types.NamespacedName) *revisionState {
	t.Helper()
	st := h.lookup(rev)
	if st == nil {
		t.Fatalf("no state for %s", rev)
	}
	waitFor(t, "the Lease call of "+rev.String()+" to finish", func() bool {
		return !st.leasing.Load() && pooling(st.pooled.Load()) != poolingUnknown
	})
	return st
}
