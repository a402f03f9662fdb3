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
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/serverless-mesh/ssm/pkg/pool/leaseapi"
)

// The lease API over real gRPC with mTLS, as the activator and the
// controller call it.
func TestLeaseAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.source.set(pooledRevision("fn"))
	e.connectWarm("envoy-0")
	client := leaseapi.NewLeasesClient(e.dial("spiffe://cluster.local/ns/knative-serving/sa/activator"))
	rev := func(ns, name string) *leaseapi.Revision { return &leaseapi.Revision{Namespace: ns, Name: name} }

	tests := []struct {
		name     string
		call     func(ctx context.Context) (proto.Message, error)
		want     proto.Message
		wantCode codes.Code
		wantMsg  string
	}{{
		name: "lease unknown revision",
		call: func(ctx context.Context) (proto.Message, error) {
			return client.Lease(ctx, &leaseapi.LeaseRequest{Revision: rev("team", "ghost")})
		},
		wantCode: codes.NotFound,
		wantMsg:  "revision team/ghost not found",
	}, {
		name: "lease without revision",
		call: func(ctx context.Context) (proto.Message, error) {
			return client.Lease(ctx, &leaseapi.LeaseRequest{})
		},
		wantCode: codes.InvalidArgument,
		wantMsg:  `revision namespace "" and name "" must both be set`,
	}, {
		name: "renew without lease",
		call: func(ctx context.Context) (proto.Message, error) {
			return client.Renew(ctx, &leaseapi.RenewRequest{Revision: rev("team", "fn")})
		},
		wantCode: codes.NotFound,
		wantMsg:  "revision team/fn holds no lease on this replica",
	}, {
		name: "lease",
		call: func(ctx context.Context) (proto.Message, error) {
			return client.Lease(ctx, &leaseapi.LeaseRequest{Revision: rev("team", "fn")})
		},
		want: &leaseapi.LeaseResponse{
			Outcome: leaseapi.LeaseResponse_GRANTED, Address: "127.0.0.1:8081", Proxy: "envoy-0", Pool: "team/pool",
			IdleTimeout: durationpb.New(5 * time.Minute),
		},
	}, {
		name: "renew",
		call: func(ctx context.Context) (proto.Message, error) {
			return client.Renew(ctx, &leaseapi.RenewRequest{Revision: rev("team", "fn")})
		},
		want: &leaseapi.RenewResponse{Proxies: []string{"envoy-0"}, IdleTimeout: durationpb.New(5 * time.Minute)},
	}, {
		name: "stats",
		call: func(ctx context.Context) (proto.Message, error) {
			return client.Stats(ctx, &leaseapi.StatsRequest{PoolNamespace: "team", PoolName: "pool"})
		},
		want: &leaseapi.StatsResponse{Connected: 1, Leased: 1, LeasedProxies: []string{"envoy-0"}},
	}, {
		name: "stats without pool",
		call: func(ctx context.Context) (proto.Message, error) {
			return client.Stats(ctx, &leaseapi.StatsRequest{PoolNamespace: "team"})
		},
		wantCode: codes.InvalidArgument,
		wantMsg:  `pool_namespace "team" and pool_name "" must both be set`,
	}}
	// The steps build on each other, so they run in order.
	for _, tc := range tests {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		got, err := tc.call(ctx)
		cancel()
		if s := status.Convert(err); s.Code() != tc.wantCode || (err != nil && s.Message() != tc.wantMsg) {
			t.Errorf("%s: error %v, want code %v %q", tc.name, err, tc.wantCode, tc.wantMsg)
			continue
		}
		if err == nil {
			if diff := cmp.Diff(tc.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.name, diff)
			}
		}
	}
}

// The metrics a scrape sees after a lease, a refusal and a NACK.
func TestMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.source.set(pooledRevision("fn"), pooledRevision("other"))
	e.connectWarm("envoy-0", "envoy-1")
	e.connect(proxySpec{name: "envoy-2", types: []string{cdsURL}})
	e.connect(proxySpec{name: "envoy-3", decide: nackAll})
	e.waitStats(testPool, &leaseapi.StatsResponse{Connected: 4, Warm: 2, Unhealthy: 1})
	// envoy-3's second NACK may still be on its way.
	eventually(t, "both NACKs", func() bool {
		return metricValue(t, e.server.metrics.nacks.WithLabelValues("listener")) == 1 &&
			metricValue(t, e.server.metrics.nacks.WithLabelValues("cluster")) == 1
	})
	e.lease("fn")
	e.lease("fn")
	e.lease("other")
	if _, err := e.server.Lease(context.Background(), key("ghost")); status.Code(err) != codes.NotFound {
		t.Fatalf("Lease(ghost) = %v", err)
	}

	want := map[string]float64{
		`ssm_pool_leases_total{outcome="granted"}`:             3,
		`ssm_pool_leases_total{outcome="not_found"}`:           1,
		`ssm_pool_lease_duration_seconds_count`:                4,
		`ssm_pool_nacks_total{type="cluster"}`:                 1,
		`ssm_pool_nacks_total{type="listener"}`:                1,
		`ssm_pool_unhealthy_total`:                             1,
		`ssm_pool_proxies{pool="team/pool",state="leased"}`:    2,
		`ssm_pool_proxies{pool="team/pool",state="unhealthy"}`: 1,
		`ssm_pool_proxies{pool="team/pool",state="warm"}`:      0,
		`ssm_pool_proxies{pool="team/pool",state="warming"}`:   1,
		`ssm_pool_lease_expiries_total`:                        0,
		`ssm_pool_lease_drains_total`:                          0,
		`ssm_pool_lease_drain_timeouts_total`:                  0,
	}
	if diff := cmp.Diff(want, gather(t, e.registry)); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
}

// gather flattens a registry into "name{label="value",...}" → value.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(labels)
			name := f.GetName()
			if len(labels) > 0 {
				name += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.Counter != nil:
				out[name] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[name] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				out[name+"_count"] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}
