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

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	lrs "github.com/envoyproxy/go-control-plane/envoy/service/load_stats/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// report is one load report of envoy-0 of testPool for cluster, with the
// given requests issued and still in progress.
func report(cluster string, issued, inProgress uint64) *lrs.LoadStatsRequest {
	return &lrs.LoadStatsRequest{
		Node: &core.Node{Id: "envoy-0", Cluster: testPool.String()},
		ClusterStats: []*endpoint.ClusterStats{{
			ClusterName: cluster,
			UpstreamLocalityStats: []*endpoint.UpstreamLocalityStats{{
				TotalIssuedRequests:     issued,
				TotalRequestsInProgress: inProgress,
			}},
		}},
	}
}

// Load reports that show requests to the leased revision keep its lease
// alive without any Renew; reports of other clusters, or of no requests,
// do not.
func TestLoadReportsKeepBusyLeases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		report  *lrs.LoadStatsRequest
		wantEnd bool
	}{{
		name:   "requests issued to the revision's cluster",
		report: report("ssm/team/fn", 3, 0),
	}, {
		name:   "a long request still in progress",
		report: report("ssm/team/fn", 0, 1),
	}, {
		name:    "no requests",
		report:  report("ssm/team/fn", 0, 0),
		wantEnd: true,
	}, {
		name:    "requests to another cluster",
		report:  report("ssm/team/other", 5, 0),
		wantEnd: true,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.source.set(pooledRevision("fn"))
			e.connectWarm("envoy-0")
			e.lease("fn")

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stream, err := lrs.NewLoadReportingServiceClient(e.dial(proxyID(testPool.Namespace))).StreamLoadStats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// The first request introduces the node; the answer asks for
			// every cluster at the report interval.
			if err := stream.Send(&lrs.LoadStatsRequest{Node: tc.report.GetNode()}); err != nil {
				t.Fatal(err)
			}
			resp, err := stream.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if !resp.GetSendAllClusters() || resp.GetLoadReportingInterval().AsDuration() != 10*time.Second {
				t.Errorf("LRS answer = %v, want all clusters every 10s", resp)
			}

			e.clock.Step(4 * time.Minute)
			if err := stream.Send(tc.report); err != nil {
				t.Fatal(err)
			}
			// A last report of nothing, so that counting three reads shows
			// tc.report was handled before the sweep below.
			if err := stream.Send(report("ssm/team/none", 0, 0)); err != nil {
				t.Fatal(err)
			}
			// The first (node only) report, tc.report and the last one.
			eventually(t, "the server to read three reports", func() bool {
				return metricValue(t, e.server.metrics.loadReports.WithLabelValues("busy"))+
					metricValue(t, e.server.metrics.loadReports.WithLabelValues("idle")) == 3
			})
			e.clock.Step(2 * time.Minute)
			e.server.expireIdle()
			_, err = e.server.Renew(key("fn"))
			if ended := status.Code(err) == codes.NotFound; ended != tc.wantEnd {
				t.Errorf("lease ended = %v (Renew: %v), want %v", ended, err, tc.wantEnd)
			}
		})
	}
}

// A load report stream is admitted under the ADS stream's rules.
func TestLoadReportsAuthorization(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := lrs.NewLoadReportingServiceClient(e.dial(proxyID("other"))).StreamLoadStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(report("ssm/team/fn", 1, 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); status.Code(err) != codes.PermissionDenied {
		t.Errorf("another namespace's proxy identity: %v, want PermissionDenied", err)
	}
}
