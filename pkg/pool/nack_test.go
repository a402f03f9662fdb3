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
	"errors"
	"strings"
	"testing"
	"time"

	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/serverless-mesh/ssm/pkg/pool/leaseapi"
	"github.com/serverless-mesh/ssm/pkg/pool/revision"
)

// A proxy that rejects a revision is marked unhealthy, goes back to the
// base, and the lease moves on to the next warm proxy.
func TestNackMovesLease(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		nackers []string
		good    []string
		want    *leaseapi.LeaseResponse
		stats   *leaseapi.StatsResponse
	}{{
		name:    "second proxy takes it",
		nackers: []string{"envoy-0"},
		good:    []string{"envoy-1"},
		want: &leaseapi.LeaseResponse{
			Outcome: leaseapi.LeaseResponse_GRANTED, Address: "127.0.0.1:8081", Proxy: "envoy-1", Pool: "team/pool",
			IdleTimeout: durationpb.New(5 * time.Minute),
		},
		stats: &leaseapi.StatsResponse{Connected: 2, Leased: 1, Unhealthy: 1},
	}, {
		name:    "no other proxy",
		nackers: []string{"envoy-0"},
		want: &leaseapi.LeaseResponse{
			Outcome: leaseapi.LeaseResponse_EXHAUSTED, Pool: "team/pool",
			Message: "pool team/pool: all 1 connected proxies are leased or unhealthy " +
				"(proxies [envoy-0] rejected the configuration or disconnected)",
		},
		stats: &leaseapi.StatsResponse{Connected: 1, Unhealthy: 1},
	}, {
		name:    "attempts are bounded",
		nackers: []string{"envoy-0", "envoy-1", "envoy-2"},
		good:    []string{"envoy-3"},
		want: &leaseapi.LeaseResponse{
			Outcome: leaseapi.LeaseResponse_NOT_ACKED, Pool: "team/pool",
			Message: "revision team/fn: proxies [envoy-0 envoy-1 envoy-2] rejected its configuration or disconnected",
		},
		stats: &leaseapi.StatsResponse{Connected: 4, Warm: 1, Unhealthy: 3},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.source.set(pooledRevision("fn"))
			clients := e.connectWarm(tc.good...)
			for _, name := range tc.nackers {
				clients[name] = e.connect(proxySpec{name: name, decide: nackRevisions})
			}
			n := int32(len(tc.nackers) + len(tc.good))
			e.waitStats(testPool, &leaseapi.StatsResponse{Connected: n, Warm: n})

			if diff := cmp.Diff(tc.want, e.lease("fn"), protocmp.Transform()); diff != "" {
				t.Errorf("Lease (-want +got):\n%s", diff)
			}
			e.waitStats(testPool, tc.stats)
			for _, name := range tc.nackers {
				waitHolding(t, clients[name], baseHeld())
			}
			if got, want := metricValue(t, e.server.metrics.unhealthy), float64(len(tc.nackers)); got != want {
				t.Errorf("ssm_pool_unhealthy_total = %v, want %v", got, want)
			}
			for range tc.nackers {
				ev := e.nextUnhealthy()
				if ev.pool != testPool || !strings.Contains(ev.reason, "revision resources are not accepted here") {
					t.Errorf("OnUnhealthy(%q, %v, %q): want pool %v and the NACK's detail", ev.proxy, ev.pool, ev.reason, testPool)
				}
			}
		})
	}
}

// A NACK of an update to a granted lease (here: new endpoints) moves the
// lease in the background.
func TestNackAfterGrantReplacesLease(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.source.set(pooledRevision("fn"))
	rejectNewEndpoints := func(typeURL string, resp *discovery.DiscoveryResponse) error {
		for _, r := range resp.GetResources() {
			if typeURL == edsURL && strings.Contains(string(r.GetValue()), "127.0.0.99") {
				return errors.New("endpoint 127.0.0.99 refused")
			}
		}
		return nil
	}
	first := e.connect(proxySpec{name: "envoy-0", decide: rejectNewEndpoints})
	second := e.connect(proxySpec{name: "envoy-1"})
	e.waitStats(testPool, &leaseapi.StatsResponse{Connected: 2, Warm: 2})
	if got := e.lease("fn"); got.GetProxy() != "envoy-0" {
		t.Fatalf("Lease = %v, want envoy-0", got)
	}

	cfg := pooledRevision("fn")
	cfg.Endpoints = []revision.Endpoint{{IP: "127.0.0.99", Port: 8113}}
	e.source.set(cfg)
	e.server.RevisionChanged(key("fn"))

	eventually(t, "the lease to move to envoy-1", func() bool {
		got, err := e.server.Renew(key("fn"))
		return err == nil && cmp.Equal(got.GetProxies(), []string{"envoy-1"})
	})
	waitHolding(t, second, revisionHeld("fn"))
	waitHolding(t, first, baseHeld())
	e.waitStats(testPool, &leaseapi.StatsResponse{Connected: 2, Leased: 1, Unhealthy: 1})
	if got := metricValue(t, e.server.metrics.replacements.WithLabelValues(replacementPlaced)); got != 1 {
		t.Errorf(`ssm_pool_replacements_total{result="placed"} = %v, want 1`, got)
	}
	if got := metricValue(t, e.server.metrics.nacks.WithLabelValues("endpoint")); got != 1 {
		t.Errorf(`ssm_pool_nacks_total{type="endpoint"} = %v, want 1`, got)
	}
}
