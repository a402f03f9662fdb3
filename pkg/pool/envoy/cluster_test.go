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

package envoy

import (
	"bytes"
	"testing"
	"time"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	httpopts "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestCircuitBreakers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name              string
		maxConns, maxPend uint32
		want              *cluster.CircuitBreakers
	}{
		{name: "both unset", want: nil},
		{name: "connections only", maxConns: 7, want: &cluster.CircuitBreakers{
			Thresholds: []*cluster.CircuitBreakers_Thresholds{{MaxConnections: &wrapperspb.UInt32Value{Value: 7}}},
		}},
		{name: "pending only", maxPend: 3, want: &cluster.CircuitBreakers{
			Thresholds: []*cluster.CircuitBreakers_Thresholds{{MaxPendingRequests: &wrapperspb.UInt32Value{Value: 3}}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := CircuitBreakers(tc.maxConns, tc.maxPend)
			if diff := cmp.Diff(tc.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("CircuitBreakers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOutlierDetection(t *testing.T) {
	t.Parallel()
	if got := OutlierDetection(GatewayEjection{Interval: time.Second, MaxEjectionPercent: 10}); got != nil {
		t.Errorf("OutlierDetection without failures = %v, want nil", got)
	}
	got := OutlierDetection(GatewayEjection{ConsecutiveGatewayFailures: 2})
	want := &cluster.OutlierDetection{
		ConsecutiveGatewayFailure:          &wrapperspb.UInt32Value{Value: 2},
		EnforcingConsecutiveGatewayFailure: &wrapperspb.UInt32Value{Value: 100},
		EnforcingConsecutive_5Xx:           &wrapperspb.UInt32Value{Value: 0},
		EnforcingSuccessRate:               &wrapperspb.UInt32Value{Value: 0},
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("OutlierDetection (-want +got):\n%s", diff)
	}
	if err := got.ValidateAll(); err != nil {
		t.Error(err)
	}
}

func TestHTTP1ProtocolOptions(t *testing.T) {
	t.Parallel()
	http1 := &httpopts.HttpProtocolOptions_ExplicitHttpConfig_{
		ExplicitHttpConfig: &httpopts.HttpProtocolOptions_ExplicitHttpConfig{
			ProtocolConfig: &httpopts.HttpProtocolOptions_ExplicitHttpConfig_HttpProtocolOptions{
				HttpProtocolOptions: &core.Http1ProtocolOptions{},
			},
		},
	}
	tests := []struct {
		name        string
		maxRequests uint32
		idle        time.Duration
		want        *httpopts.HttpProtocolOptions
	}{{
		name: "defaults",
		want: &httpopts.HttpProtocolOptions{UpstreamProtocolOptions: http1},
	}, {
		name: "idle only",
		idle: 30 * time.Second,
		want: &httpopts.HttpProtocolOptions{
			CommonHttpProtocolOptions: &core.HttpProtocolOptions{IdleTimeout: &durationpb.Duration{Seconds: 30}},
			UpstreamProtocolOptions:   http1,
		},
	}, {
		name:        "both",
		maxRequests: 1,
		idle:        time.Minute,
		want: &httpopts.HttpProtocolOptions{
			CommonHttpProtocolOptions: &core.HttpProtocolOptions{
				IdleTimeout:              &durationpb.Duration{Seconds: 60},
				MaxRequestsPerConnection: &wrapperspb.UInt32Value{Value: 1},
			},
			UpstreamProtocolOptions: http1,
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := HTTP1ProtocolOptions(tc.maxRequests, tc.idle)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Fatalf("got %d extensions, want 1: %v", len(got), got)
			}
			packed, ok := got["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
			if !ok {
				t.Fatalf("no envoy.extensions.upstreams.http.v3.HttpProtocolOptions in %v", got)
			}
			opts := &httpopts.HttpProtocolOptions{}
			if err := packed.UnmarshalTo(opts); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, opts, protocmp.Transform()); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
			if err := opts.ValidateAll(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestLoadAssignment(t *testing.T) {
	t.Parallel()
	if diff := cmp.Diff(&endpoint.ClusterLoadAssignment{ClusterName: "c"}, LoadAssignment("c", nil), protocmp.Transform()); diff != "" {
		t.Errorf("empty LoadAssignment (-want +got):\n%s", diff)
	}
	got := LoadAssignment("c", []Endpoint{{IP: "127.0.0.1", Port: 8113}})
	want := &endpoint.ClusterLoadAssignment{
		ClusterName: "c",
		Endpoints: []*endpoint.LocalityLbEndpoints{{
			LbEndpoints: []*endpoint.LbEndpoint{{
				HostIdentifier: &endpoint.LbEndpoint_Endpoint{Endpoint: &endpoint.Endpoint{
					Address: &core.Address{Address: &core.Address_SocketAddress{SocketAddress: &core.SocketAddress{
						Address:       "127.0.0.1",
						PortSpecifier: &core.SocketAddress_PortValue{PortValue: 8113},
					}}},
				}},
			}},
		}},
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("LoadAssignment (-want +got):\n%s", diff)
	}
	if err := got.ValidateAll(); err != nil {
		t.Error(err)
	}
}

// TestTypedConfigDeterministic packs a message holding a map many times: Go
// randomises map iteration, so a plain marshal would produce differing bytes
// (and thus differing content versions) for the same content.
func TestTypedConfigDeterministic(t *testing.T) {
	t.Parallel()
	c := &cluster.Cluster{Name: "c", TypedExtensionProtocolOptions: map[string]*anypb.Any{}}
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		c.TypedExtensionProtocolOptions[k] = &anypb.Any{TypeUrl: "type.googleapis.com/" + k}
	}
	first, err := TypedConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		again, err := TypedConfig(proto.Clone(c))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first.GetValue(), again.GetValue()) {
			t.Fatalf("packing #%d produced different bytes", i)
		}
	}
}
