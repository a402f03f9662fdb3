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
	"google.golang.org/protobuf/types/known/structpb"
	"strings"
	"testing"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/serverless-mesh/ssm/pkg/pool/adsclient"

	"github.com/serverless-mesh/ssm/pkg/pool/leaseapi"
)

func TestProxyWarmth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		proxy proxySpec
		want  *leaseapi.StatsResponse
		// wantVersions are the versions the proxy ends up holding.
		wantVersions map[string]string
	}{{
		name:         "all four types ACKed",
		proxy:        proxySpec{name: "envoy-0"},
		want:         &leaseapi.StatsResponse{Connected: 1, Warm: 1},
		wantVersions: map[string]string{cdsURL: "empty", edsURL: "", rdsURL: ""},
	}, {
		name:         "clusters and listeners only, as Envoy starts",
		proxy:        proxySpec{name: "envoy-0", types: []string{cdsURL, ldsURL}},
		want:         &leaseapi.StatsResponse{Connected: 1, Warm: 1},
		wantVersions: map[string]string{cdsURL: "empty"},
	}, {
		// The health listener is never subscribed, so never ACKed.
		name:         "no listeners subscribed",
		proxy:        proxySpec{name: "envoy-0", types: []string{cdsURL}},
		want:         &leaseapi.StatsResponse{Connected: 1},
		wantVersions: map[string]string{cdsURL: "empty"},
	}, {
		name:         "NACKs everything",
		proxy:        proxySpec{name: "envoy-0", decide: nackAll},
		want:         &leaseapi.StatsResponse{Connected: 1, Unhealthy: 1},
		wantVersions: map[string]string{cdsURL: "", ldsURL: ""},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			c := e.connect(tc.proxy)
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			if err := c.WaitFor(ctx, func(c *adsclient.Client) bool {
				for typeURL, want := range tc.wantVersions {
					if c.Version(typeURL) != want {
						return false
					}
				}
				return true
			}); err != nil {
				t.Fatalf("versions %v, want %v: %v", versions(c), tc.wantVersions, err)
			}
			e.waitStats(testPool, tc.want)
		})
	}
}

// A proxy that rejects its base configuration is pinned to what it holds:
// go-control-plane would otherwise resend the rejected version after every
// NACK, forever. It never becomes warm and never holds up a lease.
func TestNackingProxyIsQuietAndNeverWedgesLease(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.source.set(pooledRevision("fn-1"))
	bad := e.connect(proxySpec{name: "a-rejects-all", decide: nackAll})
	e.waitStats(testPool, &leaseapi.StatsResponse{Connected: 1, Unhealthy: 1})

	resp := e.lease("fn-1")
	if resp.GetOutcome() != leaseapi.LeaseResponse_EXHAUSTED {
		t.Fatalf("Lease with only a rejecting proxy = %v, want EXHAUSTED", resp)
	}
	good := e.connect(proxySpec{name: "b-good"})
	e.waitStats(testPool, &leaseapi.StatsResponse{Connected: 2, Warm: 1, Unhealthy: 1})
	if resp := e.lease("fn-1"); resp.GetOutcome() != leaseapi.LeaseResponse_GRANTED || resp.GetProxy() != "b-good" {
		t.Fatalf("Lease = %v, want GRANTED on b-good", resp)
	}
	waitHolding(t, good, revisionHeld("fn-1"))

	// One NACK per type the server sent (clusters, listeners); a NACK loop
	// would have produced many more by now.
	if err := bad.Close(); err != nil {
		t.Fatal(err)
	}
	var nacked []string
	for _, u := range updates(bad) {
		if u.Acked {
			t.Errorf("rejecting proxy ACKed %s %s", u.TypeURL, u.Version)
			continue
		}
		nacked = append(nacked, u.TypeURL)
	}
	if got, want := len(nacked), 2; got != want {
		t.Errorf("rejecting proxy got %d responses (%v), want %d", got, nacked, want)
	}
	if ev := e.nextUnhealthy(); ev.proxy != "a-rejects-all" || ev.pool != testPool ||
		!strings.Contains(ev.reason, "rejecting everything") {
		t.Errorf("OnUnhealthy(%q, %v, %q), want proxy a-rejects-all of %v with the NACK's detail",
			ev.proxy, ev.pool, ev.reason, testPool)
	}
}

func TestStreamAuthorization(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		spiffeID string
		cluster  string
		node     string
		noSPIFFE bool
		podIP    string
		wantCode codes.Code
		// wantMsg are substrings of the refusal.
		wantMsg []string
	}{{
		name:     "proxy of another namespace",
		node:     "envoy-0",
		spiffeID: proxyID("other"),
		wantCode: codes.PermissionDenied,
		wantMsg:  []string{`claims pool team/pool`, `namespace "other"`, `want trust domain "cluster.local", namespace "team"`},
	}, {
		name:     "wrong service account",
		node:     "envoy-0",
		spiffeID: "spiffe://cluster.local/ns/team/sa/default",
		wantCode: codes.PermissionDenied,
		wantMsg:  []string{`service account "default"`, `service account "ssm-proxy"`},
	}, {
		name:     "wrong trust domain",
		node:     "envoy-0",
		spiffeID: "spiffe://evil.example/ns/team/sa/ssm-proxy",
		wantCode: codes.PermissionDenied,
		wantMsg:  []string{`trust domain "evil.example"`},
	}, {
		name:     "certificate without SPIFFE ID",
		node:     "envoy-0",
		noSPIFFE: true,
		wantCode: codes.Unauthenticated,
		wantMsg:  []string{"no URI SAN"},
	}, {
		name:     "cluster is not a pool",
		node:     "envoy-0",
		cluster:  "pool-without-namespace",
		wantCode: codes.InvalidArgument,
		wantMsg:  []string{`node cluster "pool-without-namespace" is not <pool-namespace>/<pool-name>`},
	}, {
		name:     "empty node id",
		node:     "",
		wantCode: codes.InvalidArgument,
		wantMsg:  []string{"node id is empty"},
	}, {
		name:     "stated pod IP is not an IP",
		node:     "envoy-0",
		podIP:    "10.244.0.7:8081",
		wantCode: codes.InvalidArgument,
		wantMsg:  []string{`node metadata ssm.dev/pod-ip is "10.244.0.7:8081", not an IP address`},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			err := e.refusal(proxySpec{name: tc.node, cluster: tc.cluster, spiffeID: tc.spiffeID, noSPIFFE: tc.noSPIFFE, podIP: tc.podIP})
			if got := status.Code(err); got != tc.wantCode {
				t.Errorf("stream ended with %v, want code %v", err, tc.wantCode)
			}
			for _, want := range tc.wantMsg {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("stream error %v does not contain %q", err, want)
				}
			}
			if got := e.server.Stats(testPool); got.GetConnected() != 0 {
				t.Errorf("refused proxy counted: %v", got)
			}
		})
	}
}

// refusal opens a raw ADS stream as spec's proxy, sends the first request
// and returns the error the server ends the stream with.
func (e *env) refusal(spec proxySpec) error {
	e.t.Helper()
	if spec.spiffeID == "" && !spec.noSPIFFE {
		spec.spiffeID = proxyID(testPool.Namespace)
	}
	if spec.cluster == "" {
		spec.cluster = testPool.String()
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	stream, err := discovery.NewAggregatedDiscoveryServiceClient(e.dial(spec.spiffeID)).StreamAggregatedResources(ctx)
	if err != nil {
		e.t.Fatalf("opening stream: %v", err)
	}
	node := &core.Node{Id: spec.name, Cluster: spec.cluster}
	if spec.podIP != "" {
		node.Metadata = &structpb.Struct{Fields: map[string]*structpb.Value{
			"ssm.dev/pod-ip": structpb.NewStringValue(spec.podIP),
		}}
	}
	if err := stream.Send(&discovery.DiscoveryRequest{Node: node, TypeUrl: ldsURL}); err != nil {
		e.t.Fatalf("sending: %v", err)
	}
	resp, err := stream.Recv()
	if err == nil {
		e.t.Fatalf("stream answered %v, want a refusal", resp)
	}
	return err
}

// A stream cannot switch to another node after it was admitted:
// go-control-plane would serve it that node's configuration.
func TestStreamCannotChangeNode(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	stream, err := discovery.NewAggregatedDiscoveryServiceClient(e.dial(proxyID(testPool.Namespace))).
		StreamAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, node := range []string{"envoy-0", "envoy-1"} {
		if err := stream.Send(&discovery.DiscoveryRequest{
			Node:    &core.Node{Id: node, Cluster: testPool.String()},
			TypeUrl: ldsURL,
		}); err != nil {
			t.Fatalf("sending as %s: %v", node, err)
		}
	}
	// The first request is answered with the base; the second ends the
	// stream.
	var last error
	for range 3 {
		if _, last = stream.Recv(); last != nil {
			break
		}
	}
	want := `proxy envoy-0 of pool team/pool changed its node to "team/pool/envoy-1" on the same stream`
	if status.Code(last) != codes.InvalidArgument || status.Convert(last).Message() != want {
		t.Errorf("stream ended with %v, want InvalidArgument %q", last, want)
	}
}
