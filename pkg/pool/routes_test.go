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
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/serverless-mesh/ssm/pkg/pool/leaseapi"
	"github.com/serverless-mesh/ssm/pkg/pool/revision"
)

// fakeRoutes records what the server publishes; fallback says what
// FallbackReady answers.
type fakeRoutes struct {
	mu        sync.Mutex
	published []string // "<revision> <proxies>" per call
	fallback  atomic.Bool
}

func (f *fakeRoutes) Publish(cfg revision.Config, proxies []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	line := cfg.Key.Name
	for _, p := range proxies {
		line += " " + p
	}
	f.published = append(f.published, line)
}

func (f *fakeRoutes) FallbackReady(revision.Key, []string) bool { return f.fallback.Load() }

func (f *fakeRoutes) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.published...)
}

func newRoutesEnv(t *testing.T, maxWait time.Duration) (*env, *fakeRoutes) {
	t.Helper()
	routes := &fakeRoutes{}
	e := newEnv(t, func(o *Options) {
		o.Routes = routes
		o.DrainPeriod = time.Millisecond
		o.MaxFallbackWait = maxWait
	})
	return e, routes
}

func (e *env) waitPublished(routes *fakeRoutes, want ...string) {
	e.t.Helper()
	eventually(e.t, "published "+cmp.Diff(want, routes.calls()), func() bool { return cmp.Equal(want, routes.calls()) })
}

// A proxy is published once it holds the revision and the revision has a
// pod; it is withdrawn while Knative takes the revision to zero and when
// the revision loses its pods, and published again when they come back.
func TestPublishFollowsWhatTheProxyCanServe(t *testing.T) {
	t.Parallel()
	e, routes := newRoutesEnv(t, waitTimeout)
	noPods := pooledRevision("fn")
	noPods.Endpoints = nil
	e.source.set(noPods)
	e.connect(proxySpec{name: "envoy-0", podIP: "10.244.2.7"})
	e.waitStats(testPool, &leaseapi.StatsResponse{Connected: 1, Warm: 1})

	if got := e.lease("fn").GetOutcome(); got != leaseapi.LeaseResponse_GRANTED {
		t.Fatalf("Lease = %v, want GRANTED", got)
	}
	if got := routes.calls(); len(got) != 0 {
		t.Fatalf("published %v for a revision with no pod, want nothing", got)
	}

	e.source.set(pooledRevision("fn"))
	e.server.RevisionChanged(key("fn"))
	e.waitPublished(routes, "fn 10.244.2.7")

	toZero := pooledRevision("fn")
	toZero.ScaledToZero = true
	e.source.set(toZero)
	e.server.RevisionChanged(key("fn"))
	e.waitPublished(routes, "fn 10.244.2.7", "fn")

	e.source.set(pooledRevision("fn"))
	e.server.RevisionChanged(key("fn"))
	e.server.RevisionChanged(key("fn")) // nothing changed: no second call
	e.waitPublished(routes, "fn 10.244.2.7", "fn", "fn 10.244.2.7")
}

// An idle lease whose proxy was published is withdrawn at once, but the
// proxy keeps the revision's configuration until the publisher reports a
// fallback; only then does it go back to the pool.
func TestEndedPublishedLeaseDrainsBeforeTheProxyReturns(t *testing.T) {
	t.Parallel()
	e, routes := newRoutesEnv(t, waitTimeout)
	e.source.set(pooledRevision("fn"))
	c := e.connect(proxySpec{name: "envoy-0", podIP: "10.244.2.7"})
	e.waitStats(testPool, &leaseapi.StatsResponse{Connected: 1, Warm: 1})
	e.lease("fn")
	e.waitPublished(routes, "fn 10.244.2.7")

	e.clock.Step(DefaultIdleTimeout)
	e.server.expireIdle()
	e.waitPublished(routes, "fn 10.244.2.7", "fn")
	// Still leased: the gateway may still be sending it requests.
	e.waitStats(testPool, &leaseapi.StatsResponse{Connected: 1, Leased: 1})
	waitHolding(t, c, revisionHeld("fn"))

	routes.fallback.Store(true)
	waitHolding(t, c, baseHeld())
	e.waitStats(testPool, &leaseapi.StatsResponse{Connected: 1, Warm: 1})
	if got := metricValue(t, e.server.metrics.drains); got != 1 {
		t.Errorf("ssm_pool_lease_drains_total = %v, want 1", got)
	}
	if got := metricValue(t, e.server.metrics.drainTimeouts); got != 0 {
		t.Errorf("ssm_pool_lease_drain_timeouts_total = %v, want 0", got)
	}
}

// With no fallback ever published (the controller is down), a draining
// proxy still goes back after MaxFallbackWait, and the timeout is counted.
func TestDrainWithoutFallbackIsBounded(t *testing.T) {
	t.Parallel()
	e, routes := newRoutesEnv(t, 50*time.Millisecond)
	e.source.set(pooledRevision("fn"))
	c := e.connect(proxySpec{name: "envoy-0", podIP: "10.244.2.7"})
	e.waitStats(testPool, &leaseapi.StatsResponse{Connected: 1, Warm: 1})
	e.lease("fn")
	e.waitPublished(routes, "fn 10.244.2.7")

	e.clock.Step(DefaultIdleTimeout)
	e.server.expireIdle()
	waitHolding(t, c, baseHeld())
	eventually(t, "the drain timeout counted", func() bool { return metricValue(t, e.server.metrics.drainTimeouts) == 1 })
}

// A lease that never reached the gateway returns its proxy at once, and a
// lost proxy is withdrawn at once (it no longer holds the revision) before
// the lease's new proxy is published.
func TestUnpublishedOrLostProxiesDoNotDrain(t *testing.T) {
	t.Parallel()
	// Nothing here waits for a fallback but the server's own stop.
	e, routes := newRoutesEnv(t, 50*time.Millisecond)
	toZero := pooledRevision("fn")
	toZero.ScaledToZero = true
	e.source.set(toZero, pooledRevision("other"))
	c := e.connect(proxySpec{name: "envoy-0", podIP: "10.244.2.7"})
	lost := e.connect(proxySpec{name: "envoy-1", podIP: "10.244.2.8"})
	e.waitStats(testPool, &leaseapi.StatsResponse{Connected: 2, Warm: 2})

	e.lease("fn")
	e.lease("other")
	e.waitPublished(routes, "other 10.244.2.8")
	e.clock.Step(DefaultIdleTimeout - time.Second)
	if _, err := e.server.Renew(key("other")); err != nil {
		t.Fatalf("Renew(other): %v", err)
	}
	e.clock.Step(time.Second)
	e.server.expireIdle()
	waitHolding(t, c, baseHeld())

	// The lost proxy is withdrawn at once, before anything else is
	// published (the lease may move on to envoy-0 afterwards, once that is
	// warm again).
	_ = lost.Close()
	want := []string{"other 10.244.2.8", "other"}
	var got []string
	deadline := time.Now().Add(waitTimeout)
	for got = routes.calls(); len(got) < len(want) || !slices.Equal(got[:len(want)], want); got = routes.calls() {
		if time.Now().After(deadline) {
			t.Fatalf("published %v, want it to start with %v: the lost proxy withdrawn first", got, want)
		}
		time.Sleep(2 * time.Millisecond) // polling interval
	}
	if got := metricValue(t, e.server.metrics.drains); got != 0 {
		t.Errorf("ssm_pool_lease_drains_total = %v, want 0", got)
	}
}

// A revision that is gone takes its lease Service with it: its published
// proxy is withdrawn and given back at once, without waiting for a
// fallback that will never come.
func TestGoneRevisionReturnsItsProxyAtOnce(t *testing.T) {
	t.Parallel()
	e, routes := newRoutesEnv(t, waitTimeout)
	e.source.set(pooledRevision("fn"))
	c := e.connect(proxySpec{name: "envoy-0", podIP: "10.244.2.7"})
	e.waitStats(testPool, &leaseapi.StatsResponse{Connected: 1, Warm: 1})
	e.lease("fn")
	e.waitPublished(routes, "fn 10.244.2.7")

	e.source.remove(key("fn"))
	e.server.RevisionChanged(key("fn"))
	e.waitPublished(routes, "fn 10.244.2.7", "fn")
	waitHolding(t, c, baseHeld())
	e.waitStats(testPool, &leaseapi.StatsResponse{Connected: 1, Warm: 1})
	if got := metricValue(t, e.server.metrics.drains); got != 0 {
		t.Errorf("ssm_pool_lease_drains_total = %v, want 0", got)
	}
}
