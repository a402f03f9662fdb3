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
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/serverless-mesh/ssm/pkg/pool/adsclient"
	"github.com/serverless-mesh/ssm/pkg/pool/leaseapi"
	"github.com/serverless-mesh/ssm/pkg/pool/revision"
)

// An endpoint change sends only EDS, and a change that changes nothing
// sends nothing: the next response the proxy sees after a no-op
// RevisionChanged is the EDS update.
func TestRevisionChangedPushesOnlyWhatChanged(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.source.set(pooledRevision("fn"))
	c := e.connectWarm("envoy-0")["envoy-0"]
	e.lease("fn")
	waitHolding(t, c, revisionHeld("fn"))
	before := versions(c)
	updates(c)

	e.server.RevisionChanged(key("fn")) // nothing changed
	cfg := pooledRevision("fn")
	cfg.Endpoints = append(cfg.Endpoints, revision.Endpoint{IP: "127.0.0.11", Port: 8113})
	e.source.set(cfg)
	e.server.RevisionChanged(key("fn"))

	select {
	case u := <-c.Updates():
		if u.TypeURL != edsURL || !u.Acked || u.Version == before[edsURL] {
			t.Errorf("first update after the changes = %+v, want a new EDS version (was %s)", u, before[edsURL])
		}
	case <-time.After(waitTimeout):
		t.Fatal("no update after the endpoints changed")
	}
	after := versions(c)
	for _, typeURL := range []string{cdsURL, ldsURL, rdsURL} {
		if after[typeURL] != before[typeURL] {
			t.Errorf("%s version changed from %s to %s; only endpoints changed", typeURL, before[typeURL], after[typeURL])
		}
	}
}

func versions(c *adsclient.Client) map[string]string {
	out := map[string]string{}
	for _, typeURL := range allTypes() {
		out[typeURL] = c.Version(typeURL)
	}
	return out
}

// A revision that is gone, unpooled or moved to another pool loses its
// lease and its proxy returns to the base.
func TestRevisionChangedEndsLease(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(s *fakeSource)
	}{{
		name:   "deleted",
		change: func(s *fakeSource) { s.remove(key("fn")) },
	}, {
		name: "no longer pooled",
		change: func(s *fakeSource) {
			cfg := pooledRevision("fn")
			cfg.Policy.ProxyPool = "none"
			s.set(cfg)
		},
	}, {
		name: "moved to another pool",
		change: func(s *fakeSource) {
			cfg := pooledRevision("fn")
			cfg.Pool = revision.PoolKey{Namespace: "team", Name: "other"}
			cfg.Policy.ProxyPool = "other"
			s.set(cfg)
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.source.set(pooledRevision("fn"))
			c := e.connectWarm("envoy-0")["envoy-0"]
			e.lease("fn")
			tc.change(e.source)
			e.server.RevisionChanged(key("fn"))
			if _, err := e.server.Renew(key("fn")); status.Code(err) != codes.NotFound {
				t.Errorf("Renew = %v, want NotFound", err)
			}
			waitHolding(t, c, baseHeld())
			e.waitStats(testPool, &leaseapi.StatsResponse{Connected: 1, Warm: 1})
		})
	}
}

// A lease nobody renews for the idle timeout ends; renewing keeps it.
func TestIdleExpiry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		timeout func(revision.PoolKey) time.Duration
		// steps advance the clock, each followed by an idle sweep; renew
		// marks the steps after which Renew is called.
		steps   []time.Duration
		renew   []bool
		wantEnd bool
	}{{
		name:    "default 5m, idle",
		steps:   []time.Duration{5 * time.Minute},
		renew:   []bool{false},
		wantEnd: true,
	}, {
		name:  "default 5m, not yet",
		steps: []time.Duration{5*time.Minute - time.Second},
		renew: []bool{false},
	}, {
		name:  "renewed in time",
		steps: []time.Duration{4 * time.Minute, 4 * time.Minute},
		renew: []bool{true, false},
	}, {
		name:    "renewed, then idle",
		steps:   []time.Duration{4 * time.Minute, 5 * time.Minute},
		renew:   []bool{true, false},
		wantEnd: true,
	}, {
		name:    "pool timeout",
		timeout: func(revision.PoolKey) time.Duration { return time.Minute },
		steps:   []time.Duration{time.Minute},
		renew:   []bool{false},
		wantEnd: true,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(o *Options) { o.IdleTimeout = tc.timeout })
			e.source.set(pooledRevision("fn"))
			c := e.connectWarm("envoy-0")["envoy-0"]
			e.lease("fn")
			for i, d := range tc.steps {
				e.clock.Step(d)
				e.server.expireIdle()
				if tc.renew[i] {
					if _, err := e.server.Renew(key("fn")); err != nil {
						t.Fatalf("Renew after %v: %v", d, err)
					}
				}
			}
			_, err := e.server.Renew(key("fn"))
			if ended := status.Code(err) == codes.NotFound; ended != tc.wantEnd {
				t.Fatalf("lease ended = %v (Renew: %v), want %v", ended, err, tc.wantEnd)
			}
			wantExpiries := 0.0
			if tc.wantEnd {
				wantExpiries = 1
				waitHolding(t, c, baseHeld())
				e.waitStats(testPool, &leaseapi.StatsResponse{Connected: 1, Warm: 1})
			}
			if got := metricValue(t, e.server.metrics.expiries); got != wantExpiries {
				t.Errorf("ssm_pool_lease_expiries_total = %v, want %v", got, wantExpiries)
			}
		})
	}
}

// Run's ticker drives the idle sweep on the injected clock.
func TestRunExpiresIdleLeases(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.source.set(pooledRevision("fn"))
	c := e.connectWarm("envoy-0")["envoy-0"]
	e.lease("fn")
	eventually(t, "Run's ticker", e.clock.HasWaiters)
	e.clock.Step(DefaultIdleTimeout + reapInterval)
	waitHolding(t, c, baseHeld())
	e.waitStats(testPool, &leaseapi.StatsResponse{Connected: 1, Warm: 1})
}

// A proxy that disconnects is forgotten and its lease moves to another
// warm proxy, or is dropped when there is none. The same pod connecting
// again is a new, warm proxy.
func TestDisconnect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		proxies    []string
		wantRenew  []string // nil: the lease was dropped
		wantResult string
		wantStats  *leaseapi.StatsResponse
	}{{
		name:       "re-placed",
		proxies:    []string{"envoy-0", "envoy-1"},
		wantRenew:  []string{"envoy-1"},
		wantResult: replacementPlaced,
		wantStats:  &leaseapi.StatsResponse{Connected: 2, Leased: 1, Warm: 1},
	}, {
		name:       "dropped",
		proxies:    []string{"envoy-0"},
		wantResult: replacementDropped,
		wantStats:  &leaseapi.StatsResponse{Connected: 1, Warm: 1},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.source.set(pooledRevision("fn"))
			clients := e.connectWarm(tc.proxies...)
			if got := e.lease("fn"); got.GetProxy() != "envoy-0" {
				t.Fatalf("Lease = %v, want envoy-0", got)
			}
			if err := clients["envoy-0"].Close(); err != nil {
				t.Fatal(err)
			}
			placed := e.server.metrics.replacements.WithLabelValues(tc.wantResult)
			eventually(t, "the re-placement", func() bool { return metricValue(t, placed) == 1 })
			got, err := e.server.Renew(key("fn"))
			if tc.wantRenew == nil {
				if status.Code(err) != codes.NotFound {
					t.Errorf("Renew = %v, %v; want NotFound", got, err)
				}
			} else if err != nil || !cmp.Equal(got.GetProxies(), tc.wantRenew) {
				t.Errorf("Renew = %v, %v; want %v", got, err, tc.wantRenew)
			}

			again := e.connect(proxySpec{name: "envoy-0"})
			waitHolding(t, again, baseHeld())
			e.waitStats(testPool, tc.wantStats)
		})
	}
}

// The same node opening a second stream replaces the first: one proxy,
// and the old stream is refused on its next request.
func TestReconnectWhileConnected(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.source.set(pooledRevision("fn"))
	old := e.connectWarm("envoy-0")["envoy-0"]
	fresh := e.connect(proxySpec{name: "envoy-0"})
	waitHolding(t, fresh, baseHeld())
	e.waitStats(testPool, &leaseapi.StatsResponse{Connected: 1, Warm: 1})
	if got := e.lease("fn"); got.GetProxy() != "envoy-0" {
		t.Fatalf("Lease = %v", got)
	}
	waitHolding(t, fresh, revisionHeld("fn"))
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	select {
	case <-old.Done():
	case <-ctx.Done():
		t.Fatal("the replaced stream is still open")
	}
}

// One proxy leased again and again: each lease holds exactly its own
// revision once granted, and the proxy is warm again after each return.
// (go-control-plane sends a returning proxy the next revision's endpoints
// and routes before it subscribes to them; the lease must wait for the
// resend.)
func TestLeaseAfterReturn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.source.set(pooledRevision("a"), pooledRevision("b"))
	c := e.connectWarm("envoy-0")["envoy-0"]
	for i, name := range []string{"a", "b", "a", "b", "a", "b"} {
		if got := e.lease(name); got.GetOutcome() != leaseapi.LeaseResponse_GRANTED {
			t.Fatalf("lease %d of %s = %v", i, name, got)
		}
		waitHolding(t, c, revisionHeld(name))
		e.endAllLeases()
		waitHolding(t, c, baseHeld())
		e.waitStats(testPool, &leaseapi.StatsResponse{Connected: 1, Warm: 1})
	}
}
