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
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/serverless-mesh/ssm/pkg/pool/leaseapi"
)

func TestLeaseOutcomes(t *testing.T) {
	t.Parallel()
	unpooled := pooledRevision("long")
	unpooled.Policy.ProxyPool = "none"
	sidecarKept := pooledRevision("kept")
	sidecarKept.Unleasable = "config-ssm's sidecarless-revisions is off, so its pods keep their Istio sidecar"
	tests := []struct {
		name string
		// setup prepares the server; it returns the revision to lease.
		setup    func(e *env) string
		want     *leaseapi.LeaseResponse
		wantCode codes.Code
		wantErr  string
	}{{
		name:     "unknown revision",
		setup:    func(*env) string { return "ghost" },
		wantCode: codes.NotFound,
		wantErr:  "revision team/ghost not found",
	}, {
		name: "source failing",
		setup: func(e *env) string {
			e.source.fail(errors.New("informer not synced"))
			return "fn"
		},
		wantCode: codes.Unavailable,
		wantErr:  "reading revision team/fn: informer not synced",
	}, {
		name: "not pooled",
		setup: func(e *env) string {
			e.source.set(unpooled)
			return "long"
		},
		want: &leaseapi.LeaseResponse{
			Outcome: leaseapi.LeaseResponse_NOT_POOLED,
			Message: `revision team/long uses no pooled proxy (proxy pool "none")`,
		},
	}, {
		name: "a pool named, but the pods keep their sidecar: not pooled, even with a warm proxy",
		setup: func(e *env) string {
			e.source.set(sidecarKept)
			e.connectWarm("envoy-0")
			return "kept"
		},
		want: &leaseapi.LeaseResponse{
			Outcome: leaseapi.LeaseResponse_NOT_POOLED,
			Message: "revision team/kept may not lease a pooled proxy: config-ssm's sidecarless-revisions is off, so its pods keep their Istio sidecar",
		},
	}, {
		name: "pool without proxies",
		setup: func(e *env) string {
			e.source.set(pooledRevision("fn"))
			return "fn"
		},
		want: &leaseapi.LeaseResponse{
			Outcome: leaseapi.LeaseResponse_EXHAUSTED,
			Pool:    "team/pool",
			Message: "pool team/pool has no connected proxy on this replica",
		},
	}, {
		name: "proxy not warm yet",
		setup: func(e *env) string {
			e.source.set(pooledRevision("fn"))
			e.connect(proxySpec{name: "envoy-0", types: []string{cdsURL}})
			e.waitStats(testPool, &leaseapi.StatsResponse{Connected: 1})
			return "fn"
		},
		want: &leaseapi.LeaseResponse{
			Outcome: leaseapi.LeaseResponse_NO_WARM_PROXY,
			Pool:    "team/pool",
			Message: "pool team/pool: 1 of 1 connected proxies have not ACKed their base configuration yet",
		},
	}, {
		name: "every proxy leased",
		setup: func(e *env) string {
			e.source.set(pooledRevision("fn"), pooledRevision("other"))
			e.connectWarm("envoy-0")
			if resp := e.lease("other"); resp.GetOutcome() != leaseapi.LeaseResponse_GRANTED {
				e.t.Fatalf("Lease(other) = %v", resp)
			}
			return "fn"
		},
		want: &leaseapi.LeaseResponse{
			Outcome: leaseapi.LeaseResponse_EXHAUSTED,
			Pool:    "team/pool",
			Message: "pool team/pool: all 1 connected proxies are leased or unhealthy",
		},
	}, {
		name: "granted at the pod IP the proxy states, not the connection's source",
		setup: func(e *env) string {
			e.source.set(pooledRevision("fn"))
			e.connect(proxySpec{name: "envoy-0", podIP: "10.244.0.7"})
			e.waitStats(testPool, &leaseapi.StatsResponse{Connected: 1, Warm: 1})
			return "fn"
		},
		want: &leaseapi.LeaseResponse{
			Outcome:     leaseapi.LeaseResponse_GRANTED,
			Address:     "10.244.0.7:8081",
			Proxy:       "envoy-0",
			Pool:        "team/pool",
			IdleTimeout: durationpb.New(5 * time.Minute),
		},
	}, {
		name: "granted",
		setup: func(e *env) string {
			e.source.set(pooledRevision("fn"))
			e.connectWarm("envoy-0")
			return "fn"
		},
		want: &leaseapi.LeaseResponse{
			Outcome:     leaseapi.LeaseResponse_GRANTED,
			Address:     "127.0.0.1:8081",
			Proxy:       "envoy-0",
			Pool:        "team/pool",
			IdleTimeout: durationpb.New(5 * time.Minute),
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			name := tc.setup(e)
			got, err := e.server.Lease(context.Background(), key(name))
			if status.Code(err) != tc.wantCode || (err != nil && status.Convert(err).Message() != tc.wantErr) {
				t.Fatalf("Lease error = %v, want code %v and %q", err, tc.wantCode, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("Lease (-want +got):\n%s", diff)
			}
		})
	}
}

// A proxy that never ACKs the revision (it never subscribes to endpoints
// and routes) costs the caller its deadline, not more, and goes back to
// the pool.
func TestLeaseNotAcked(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.source.set(pooledRevision("fn"))
	c := e.connect(proxySpec{name: "envoy-0", types: []string{cdsURL, ldsURL}})
	e.waitStats(testPool, &leaseapi.StatsResponse{Connected: 1, Warm: 1})

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	resp, err := e.server.Lease(ctx, key("fn"))
	if err != nil {
		t.Fatal(err)
	}
	want := &leaseapi.LeaseResponse{
		Outcome: leaseapi.LeaseResponse_NOT_ACKED,
		Proxy:   "envoy-0",
		Pool:    "team/pool",
		Message: "proxy envoy-0 did not ACK the configuration of revision team/fn in time: context deadline exceeded",
	}
	if diff := cmp.Diff(want, resp, protocmp.Transform()); diff != "" {
		t.Errorf("Lease (-want +got):\n%s", diff)
	}
	if _, err := e.server.Renew(key("fn")); status.Code(err) != codes.NotFound {
		t.Errorf("Renew after NOT_ACKED = %v, want NotFound", err)
	}
	e.waitStats(testPool, &leaseapi.StatsResponse{Connected: 1, Warm: 1})
	waitHolding(t, c, held{ldsURL: {"ssm-health"}})
}

// Leases for two revisions land on two proxies; each proxy only ever
// receives its own revision's resources, and returns to the base.
func TestLeaseIsolation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.source.set(pooledRevision("a"), pooledRevision("b"))
	proxies := e.connectWarm("envoy-0", "envoy-1")

	if got := e.lease("a"); got.GetProxy() != "envoy-0" {
		t.Fatalf("Lease(a) = %v, want envoy-0 (least recently returned, then by name)", got)
	}
	if got := e.lease("a"); got.GetProxy() != "envoy-0" || got.GetOutcome() != leaseapi.LeaseResponse_GRANTED {
		t.Fatalf("second Lease(a) = %v, want the same proxy", got)
	}
	if got := e.lease("b"); got.GetProxy() != "envoy-1" {
		t.Fatalf("Lease(b) = %v, want envoy-1", got)
	}
	waitHolding(t, proxies["envoy-0"], revisionHeld("a"))
	waitHolding(t, proxies["envoy-1"], revisionHeld("b"))
	e.waitStats(testPool, &leaseapi.StatsResponse{Connected: 2, Leased: 2})

	e.source.remove(key("a"))
	e.server.RevisionChanged(key("a"))
	waitHolding(t, proxies["envoy-0"], baseHeld())
	e.waitStats(testPool, &leaseapi.StatsResponse{Connected: 2, Warm: 1, Leased: 1})

	forbidden := map[string]string{"envoy-0": "ssm/team/b", "envoy-1": "ssm/team/a"}
	for _, name := range sortedKeys(proxies) {
		for _, u := range updates(proxies[name]) {
			for _, n := range u.Names {
				if n == forbidden[name] {
					t.Errorf("%s received %s in a %s response", name, n, u.TypeURL)
				}
			}
		}
	}
}

// Concurrent leases for one revision share one placement, and end with
// one proxy.
func TestLeaseSingleflight(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.source.set(pooledRevision("fn"))
	e.connectWarm("envoy-0", "envoy-1", "envoy-2")
	const callers = 10
	results := make(chan *leaseapi.LeaseResponse, callers)
	for range callers {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			resp, err := e.server.Lease(ctx, key("fn"))
			if err != nil {
				resp = &leaseapi.LeaseResponse{Message: err.Error()}
			}
			results <- resp
		}()
	}
	want := &leaseapi.LeaseResponse{
		Outcome: leaseapi.LeaseResponse_GRANTED, Address: "127.0.0.1:8081", Proxy: "envoy-0", Pool: "team/pool",
		IdleTimeout: durationpb.New(5 * time.Minute),
	}
	for range callers {
		if diff := cmp.Diff(want, <-results, protocmp.Transform()); diff != "" {
			t.Errorf("Lease (-want +got):\n%s", diff)
		}
	}
	e.waitStats(testPool, &leaseapi.StatsResponse{Connected: 3, Warm: 2, Leased: 1})
}

func TestRenew(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.source.set(pooledRevision("fn"))
	e.connectWarm("envoy-0")
	if _, err := e.server.Renew(key("fn")); status.Code(err) != codes.NotFound ||
		!strings.Contains(err.Error(), "revision team/fn holds no lease on this replica") {
		t.Errorf("Renew without lease = %v, want NotFound naming the revision", err)
	}
	e.lease("fn")
	got, err := e.server.Renew(key("fn"))
	if err != nil {
		t.Fatalf("Renew: %v", err)
	}
	want := &leaseapi.RenewResponse{Proxies: []string{"envoy-0"}, IdleTimeout: durationpb.New(5 * time.Minute)}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("Renew (-want +got):\n%s", diff)
	}
}
