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
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/apimachinery/pkg/types"

	"github.com/serverless-mesh/ssm/pkg/pool/leaseapi"
)

// tryDest runs one request through h and returns where it was sent.
func tryDest(t *testing.T, h *Hook, ctx context.Context) string {
	t.Helper()
	var dest string
	if err := h.Try(ctx, pooledRev, func(d string, _ bool) error {
		dest = d
		return nil
	}); err != nil {
		t.Fatalf("Try: %v", err)
	}
	return dest
}

func TestLeaseOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// pool is the scripted server; nil means the pool is down.
		pool     *leaseServer
		deadline time.Duration
		// wantSecond is where the request after the cold start goes.
		wantSecond string
		wantTries  int
	}{{
		name:       "granted",
		pool:       &leaseServer{answer: granted(proxyAddress)},
		wantSecond: proxyAddress,
		// A leased request too passes the stock throttler: it goes through
		// the lease only while Knative has a ready pod.
		wantTries: 2,
	}, {
		name:       "exhausted",
		pool:       &leaseServer{answer: &leaseapi.LeaseResponse{Outcome: leaseapi.LeaseResponse_EXHAUSTED}},
		wantSecond: stockDest,
		wantTries:  2,
	}, {
		name:       "not pooled by the pool",
		pool:       &leaseServer{answer: &leaseapi.LeaseResponse{Outcome: leaseapi.LeaseResponse_NOT_POOLED}},
		wantSecond: stockDest,
		wantTries:  2,
	}, {
		name:       "granted without address",
		pool:       &leaseServer{answer: &leaseapi.LeaseResponse{Outcome: leaseapi.LeaseResponse_GRANTED}},
		wantSecond: stockDest,
		wantTries:  2,
	}, {
		name:       "slow beyond the deadline",
		pool:       &leaseServer{answer: granted(proxyAddress), hold: make(chan struct{})},
		deadline:   50 * time.Millisecond,
		wantSecond: stockDest,
		wantTries:  2,
	}, {
		name:       "pool answers an error",
		pool:       &leaseServer{leaseErr: status.Error(codes.NotFound, "unknown revision")},
		wantSecond: stockDest,
		wantTries:  2,
	}, {
		name:       "pool down",
		wantSecond: stockDest,
		wantTries:  2,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var leases leaseapi.LeasesClient
			if tc.pool != nil {
				leases = serveLeases(t, tc.pool)
			} else {
				leases = dialLeases(t, downPoolAddress(t))
			}
			stock := &fakeStock{dest: stockDest}
			h, _ := newTestHook(t, stock, leases, Options{LeaseDeadline: tc.deadline})

			if got := tryDest(t, h, withAttempt(context.Background())); got != stockDest {
				t.Errorf("cold request went to %q, want the stock path %q", got, stockDest)
			}
			leaseSettled(t, h, pooledRev)
			if got := tryDest(t, h, withAttempt(context.Background())); got != tc.wantSecond {
				t.Errorf("next request went to %q, want %q", got, tc.wantSecond)
			}
			if got := stock.tries(); got != tc.wantTries {
				t.Errorf("stock throttler tried %d times, want %d", got, tc.wantTries)
			}
		})
	}
}

func TestColdRequestDoesNotWaitForTheLease(t *testing.T) {
	t.Parallel()
	pool := &leaseServer{answer: granted(proxyAddress), hold: make(chan struct{})}
	stock := &fakeStock{dest: stockDest}
	h, _ := newTestHook(t, stock, serveLeases(t, pool), Options{LeaseDeadline: time.Minute})

	if got := tryDest(t, h, withAttempt(context.Background())); got != stockDest {
		t.Fatalf("cold request went to %q, want %q", got, stockDest)
	}
	// The request is done; the pool has not answered, and cannot until the
	// test lets it.
	<-pool.called
	if st := h.lookup(pooledRev); !st.leasing.Load() {
		t.Fatal("the Lease call finished before the pool answered")
	}
	close(pool.hold)
	st := leaseSettled(t, h, pooledRev)
	if st.lease.Load() == nil {
		t.Error("the lease granted after the cold request was not kept")
	}
}

func TestOneLeaseCallPerColdStart(t *testing.T) {
	t.Parallel()
	pool := &leaseServer{answer: granted(proxyAddress), hold: make(chan struct{})}
	stock := &fakeStock{dest: stockDest}
	h, _ := newTestHook(t, stock, serveLeases(t, pool), Options{LeaseDeadline: time.Minute})

	const requests = 100
	var wg sync.WaitGroup
	errs := make(chan error, requests)
	for range requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- h.Try(withAttempt(context.Background()), pooledRev, func(string, bool) error { return nil })
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Try: %v", err)
		}
	}
	close(pool.hold)
	leaseSettled(t, h, pooledRev)
	if got := pool.leaseCalls.Load(); got != 1 {
		t.Errorf("Lease calls = %d, want 1", got)
	}
	if got := stock.tries(); got != requests {
		t.Errorf("stock tries = %d, want %d (the lease was outstanding for all)", got, requests)
	}
}

func TestRevisionsSSMDoesNotPoolNeverLease(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		rev  types.NamespacedName
	}{
		{name: "no ssm.dev annotations", rev: plainRev},
		{name: "ssm.dev/proxy-pool none", rev: optedOutRev},
		{name: "revision not in the lister", rev: types.NamespacedName{Namespace: "ns", Name: "unknown-00001"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pool := &leaseServer{answer: granted(proxyAddress)}
			stock := &fakeStock{dest: stockDest}
			h, _ := newTestHook(t, stock, serveLeases(t, pool), Options{})
			for range 2 {
				if err := h.Try(withAttempt(context.Background()), tc.rev, func(string, bool) error { return nil }); err != nil {
					t.Fatalf("Try: %v", err)
				}
				leaseSettled(t, h, tc.rev)
			}
			if got := pool.leaseCalls.Load(); got != 0 {
				t.Errorf("Lease calls = %d, want 0", got)
			}
			if got := stock.tries(); got != 2 {
				t.Errorf("stock tries = %d, want 2", got)
			}
		})
	}
}

func TestRenewPacing(t *testing.T) {
	t.Parallel()
	pool := &leaseServer{answer: granted(proxyAddress)}
	stock := &fakeStock{dest: stockDest}
	h, clk := newTestHook(t, stock, serveLeases(t, pool), Options{RenewInterval: 30 * time.Second})

	tryDest(t, h, withAttempt(context.Background()))
	st := leaseSettled(t, h, pooledRev)
	l := st.lease.Load()
	if l == nil {
		t.Fatal("no lease granted")
	}
	// Each step advances the fake clock and sends one request through the
	// lease; renewals are due 30 s after the grant or the previous renewal.
	steps := []struct {
		advance    time.Duration
		wantRenews int32
	}{
		{advance: 10 * time.Second, wantRenews: 0}, // t=10s
		{advance: 19 * time.Second, wantRenews: 0}, // t=29s
		{advance: 1 * time.Second, wantRenews: 1},  // t=30s
		{advance: 29 * time.Second, wantRenews: 1}, // t=59s
		{advance: 1 * time.Second, wantRenews: 2},  // t=60s
		{advance: 0, wantRenews: 2},                // t=60s again
		{advance: 45 * time.Second, wantRenews: 3}, // t=105s
	}
	for i, step := range steps {
		clk.SetTime(clk.Now().Add(step.advance))
		if got := tryDest(t, h, withAttempt(context.Background())); got != proxyAddress {
			t.Fatalf("step %d: request went to %q, want %q", i, got, proxyAddress)
		}
		waitFor(t, "the renewal to finish", func() bool { return !l.renewing.Load() })
		if got := pool.renewCalls.Load(); got != step.wantRenews {
			t.Errorf("step %d: Renew calls = %d, want %d", i, got, step.wantRenews)
		}
	}
}

// A renewal that says the granted proxy no longer holds the revision drops
// the lease; one that names it keeps it.
func TestRenewDropsALeaseItsProxyNoLongerHolds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		pool     *leaseServer
		wantDest string
	}{{
		name:     "the pool forgot the lease",
		pool:     &leaseServer{answer: granted(proxyAddress), renewErr: status.Error(codes.NotFound, "no lease")},
		wantDest: stockDest,
	}, {
		name:     "the lease is being moved: no proxy holds it",
		pool:     &leaseServer{answer: granted(proxyAddress), renewProxies: []string{}},
		wantDest: stockDest,
	}, {
		name:     "the lease moved to another proxy",
		pool:     &leaseServer{answer: granted(proxyAddress), renewProxies: []string{"proxy-b"}},
		wantDest: stockDest,
	}, {
		name:     "the granted proxy still holds it",
		pool:     &leaseServer{answer: granted(proxyAddress), renewProxies: []string{"proxy-a"}},
		wantDest: proxyAddress,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stock := &fakeStock{dest: stockDest}
			h, clk := newTestHook(t, stock, serveLeases(t, tc.pool), Options{RenewInterval: 30 * time.Second})

			tryDest(t, h, withAttempt(context.Background()))
			st := leaseSettled(t, h, pooledRev)
			l := st.lease.Load()
			if l == nil {
				t.Fatal("no lease granted")
			}
			clk.SetTime(clk.Now().Add(31 * time.Second))
			if got := tryDest(t, h, withAttempt(context.Background())); got != proxyAddress {
				t.Fatalf("request went to %q, want %q", got, proxyAddress)
			}
			waitFor(t, "the renewal to finish", func() bool { return tc.pool.renewCalls.Load() == 1 && !l.renewing.Load() })
			if got := tryDest(t, h, withAttempt(context.Background())); got != tc.wantDest {
				t.Errorf("after the renewal, request went to %q, want %q", got, tc.wantDest)
			}
		})
	}
}

func TestExpiredLeaseIsNotUsed(t *testing.T) {
	t.Parallel()
	pool := &leaseServer{answer: granted(proxyAddress)}
	stock := &fakeStock{dest: stockDest}
	// Neither a renewal nor a new cold start comes between: only the TTL.
	h, clk := newTestHook(t, stock, serveLeases(t, pool), Options{
		LeaseTTL: time.Minute, RenewInterval: time.Hour, IdlePeriod: time.Hour})

	tryDest(t, h, withAttempt(context.Background()))
	st := leaseSettled(t, h, pooledRev)
	clk.SetTime(clk.Now().Add(59 * time.Second))
	if got := tryDest(t, h, withAttempt(context.Background())); got != proxyAddress {
		t.Errorf("within the TTL, request went to %q, want %q", got, proxyAddress)
	}
	clk.SetTime(clk.Now().Add(time.Second))
	if got := tryDest(t, h, withAttempt(context.Background())); got != stockDest {
		t.Errorf("at the TTL, request went to %q, want %q", got, stockDest)
	}
	if st.lease.Load() != nil {
		t.Error("the expired lease was kept")
	}
}

func TestLeaseNeedsAnAttemptAndAReadyPod(t *testing.T) {
	t.Parallel()
	pool := &leaseServer{answer: granted(proxyAddress)}
	gate := make(chan struct{})
	stock := &fakeStock{dest: stockDest, gate: gate}
	h, _ := newTestHook(t, stock, serveLeases(t, pool), Options{})

	// The cold request waits in the stock throttler for the pod while the
	// lease is granted.
	coldDone := make(chan string, 1)
	go func() {
		var dest string
		_ = h.Try(withAttempt(context.Background()), pooledRev, func(d string, _ bool) error {
			dest = d
			return nil
		})
		coldDone <- dest
	}()
	<-pool.called
	waitFor(t, "the lease", func() bool {
		st := h.lookup(pooledRev)
		return st != nil && st.lease.Load() != nil
	})
	// No pod is ready yet: the proxy would have nowhere to send, so a new
	// request waits in the stock throttler too.
	waiting := make(chan string, 1)
	go func() {
		var dest string
		_ = h.Try(withAttempt(context.Background()), pooledRev, func(d string, _ bool) error {
			dest = d
			return nil
		})
		waiting <- dest
	}()
	waitFor(t, "the second request to reach the stock throttler", func() bool { return stock.tries() == 2 })
	close(gate)
	// The pod is ready and the lease is held: once the stock throttler
	// hands out capacity, both go through the leased proxy.
	for i, ch := range []chan string{coldDone, waiting} {
		if got := <-ch; got != proxyAddress {
			t.Errorf("request %d went to %q, want %q", i, got, proxyAddress)
		}
	}
	if got := tryDest(t, h, withAttempt(context.Background())); got != proxyAddress {
		t.Errorf("after the pod was ready, request went to %q, want %q", got, proxyAddress)
	}
	// Without Handler's attempt, Transport could not fall back: stock path.
	if got := tryDest(t, h, context.Background()); got != stockDest {
		t.Errorf("request without an attempt went to %q, want %q", got, stockDest)
	}
}

func TestArrive(t *testing.T) {
	t.Parallel()
	const idle = int64(60 * time.Second)
	tests := []struct {
		name     string
		previous int64
		now      int64
		wantCold bool
		wantLast int64
	}{
		{name: "first request", previous: 0, now: 5, wantCold: true, wantLast: 5},
		{name: "within the resolution", previous: 5, now: 5 + int64(time.Second) - 1, wantCold: false, wantLast: 5},
		{name: "busy", previous: 5, now: 5 + int64(10*time.Second), wantCold: false, wantLast: 5 + int64(10*time.Second)},
		{name: "idle exactly the period", previous: 5, now: 5 + idle, wantCold: false, wantLast: 5 + idle},
		{name: "idle longer than the period", previous: 5, now: 6 + idle, wantCold: true, wantLast: 6 + idle},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := &revisionState{}
			st.lastArrival.Store(tc.previous)
			if got := st.arrive(tc.now, idle); got != tc.wantCold {
				t.Errorf("arrive() = %v, want %v", got, tc.wantCold)
			}
			if got := st.lastArrival.Load(); got != tc.wantLast {
				t.Errorf("lastArrival = %d, want %d", got, tc.wantLast)
			}
		})
	}
}

func TestSweep(t *testing.T) {
	t.Parallel()
	h, clk := newTestHook(t, &fakeStock{dest: stockDest}, dialLeases(t, downPoolAddress(t)), Options{IdlePeriod: time.Minute})
	for _, rev := range []types.NamespacedName{plainRev, pooledRev} {
		if err := h.Try(context.Background(), rev, func(string, bool) error { return nil }); err != nil {
			t.Fatalf("Try: %v", err)
		}
		leaseSettled(t, h, rev)
	}
	// pooledRev holds a lease (installed directly: the pool is down).
	h.lookup(pooledRev).lease.Store(newHeldLease(proxyAddress, "proxy-a", h.now(), leaseTiming{ttl: time.Hour, renewEvery: time.Hour}))
	clk.SetTime(clk.Now().Add(2 * time.Minute))
	if got := h.Sweep(); got != 0 {
		t.Errorf("Sweep after 2m forgot %d revisions, want 0", got)
	}
	clk.SetTime(clk.Now().Add(time.Second))
	if got := h.Sweep(); got != 1 {
		t.Errorf("Sweep after 2m1s forgot %d revisions, want 1", got)
	}
	if h.lookup(plainRev) != nil || h.lookup(pooledRev) == nil {
		t.Error("Sweep forgot the wrong revision: want the idle one without a lease gone")
	}
}
