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

package adsclient

import (
	"context"
	"slices"
	"strings"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/anypb"
)

// scriptedServer sends one cluster response on each stream and hands the
// client's answer to the test.
type scriptedServer struct {
	discoveryv3.UnimplementedAggregatedDiscoveryServiceServer
	response *discoveryv3.DiscoveryResponse
	answers  chan *discoveryv3.DiscoveryRequest
}

func (s *scriptedServer) StreamAggregatedResources(stream discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesServer) error {
	if _, err := stream.Recv(); err != nil {
		return err
	}
	if err := stream.Send(s.response); err != nil {
		return err
	}
	answer, err := stream.Recv()
	if err != nil {
		return err
	}
	s.answers <- answer
	<-stream.Context().Done()
	return nil
}

func TestAnswersToClusterResponses(t *testing.T) {
	t.Parallel()
	listener := mustAny(t, inlineListener(t, "health"))
	corrupt := &anypb.Any{TypeUrl: resourcev3.ClusterType, Value: []byte{0xff}}
	heartbeat := mustAny(t, &discoveryv3.Resource{Name: "c1"})
	wrapped := mustAny(t, &discoveryv3.Resource{Name: "c1", Resource: mustAny(t, edsCluster("c1"))})
	tests := []struct {
		name      string
		resources []*anypb.Any
		decide    error
		// wantDetail is the NACK's error_detail, or its prefix when
		// wantPrefix; "" for an ACK.
		wantDetail string
		wantPrefix bool
		wantNames  []string
	}{{
		name:      "valid clusters are ACKed",
		resources: []*anypb.Any{mustAny(t, edsCluster("c1")), mustAny(t, edsCluster("c2"))},
		wantNames: []string{"c1", "c2"},
	}, {
		name:      "TTL wrapper is unwrapped",
		resources: []*anypb.Any{wrapped},
		wantNames: []string{"c1"},
	}, {
		name:       "listener in a cluster response",
		resources:  []*anypb.Any{mustAny(t, edsCluster("c1")), listener},
		wantDetail: "resource 1: type type.googleapis.com/envoy.config.listener.v3.Listener in a type.googleapis.com/envoy.config.cluster.v3.Cluster response",
	}, {
		name:       "duplicate name",
		resources:  []*anypb.Any{mustAny(t, edsCluster("c1")), mustAny(t, edsCluster("c1"))},
		wantDetail: `resource 1: name "c1" appears twice`,
	}, {
		name:       "nameless cluster",
		resources:  []*anypb.Any{mustAny(t, &clusterv3.Cluster{})},
		wantDetail: "resource 0: type.googleapis.com/envoy.config.cluster.v3.Cluster without a name",
	}, {
		name:       "corrupt bytes",
		resources:  []*anypb.Any{corrupt},
		wantDetail: "resource 0: unmarshalling type.googleapis.com/envoy.config.cluster.v3.Cluster: ",
		wantPrefix: true,
	}, {
		name:       "TTL heartbeat",
		resources:  []*anypb.Any{heartbeat},
		wantDetail: `resource 0 ("c1"): TTL heartbeats are not supported`,
	}, {
		name:       "Decide rejects",
		resources:  []*anypb.Any{mustAny(t, edsCluster("c1"))},
		decide:     errString("cluster c1 has no TLS"),
		wantDetail: "cluster c1 has no TLS",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := &scriptedServer{
				response: &discoveryv3.DiscoveryResponse{VersionInfo: "v1", Nonce: "n1", TypeUrl: resourcev3.ClusterType, Resources: tt.resources},
				answers:  make(chan *discoveryv3.DiscoveryRequest, 1),
			}
			conn := serve(t, func(g *grpc.Server) { discoveryv3.RegisterAggregatedDiscoveryServiceServer(g, srv) })
			ctx := waitCtx(t)
			c := dialClient(t, conn, Config{
				Node:     testNode("proxy-scripted"),
				TypeURLs: []string{resourcev3.ClusterType},
				Decide: func(string, *discoveryv3.DiscoveryResponse) error {
					if tt.decide != nil {
						return tt.decide
					}
					return nil
				},
			})
			var answer *discoveryv3.DiscoveryRequest
			select {
			case answer = <-srv.answers:
			case <-ctx.Done():
				t.Fatal("no answer to the response")
			}
			wantVersion := "v1"
			if tt.wantDetail != "" {
				wantVersion = ""
			}
			detail := answer.GetErrorDetail().GetMessage()
			detailOK := detail == tt.wantDetail || (tt.wantPrefix && strings.HasPrefix(detail, tt.wantDetail))
			if answer.GetVersionInfo() != wantVersion || answer.GetResponseNonce() != "n1" || !detailOK ||
				answer.GetNode().GetId() != "proxy-scripted" || len(answer.GetResourceNames()) != 0 {
				t.Errorf("answer = %v, want version %q nonce n1 detail %q", answer, wantVersion, tt.wantDetail)
			}
			u := <-c.Updates()
			if u.Acked != (tt.wantDetail == "") || u.Nonce != "n1" || u.Version != "v1" {
				t.Errorf("update = %+v", u)
			}
			if err := c.WaitFor(ctx, func(c *Client) bool { return c.Version(resourcev3.ClusterType) == wantVersion }); err != nil {
				t.Fatal(err)
			}
			if got := c.Names(resourcev3.ClusterType); !slices.Equal(got, tt.wantNames) {
				t.Errorf("Names = %q, want %q", got, tt.wantNames)
			}
		})
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestDialRejectsConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		typeURLs []string
		want     string
	}{{
		name: "no types",
		want: `ads client "proxy-0": no type URLs to subscribe to`,
	}, {
		name:     "endpoints without clusters",
		typeURLs: []string{resourcev3.ListenerType, resourcev3.EndpointType},
		want: `ads client "proxy-0": type type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment follows ` +
			`type.googleapis.com/envoy.config.cluster.v3.Cluster, which is not subscribed`,
	}, {
		name:     "routes without listeners",
		typeURLs: []string{resourcev3.RouteType},
		want: `ads client "proxy-0": type type.googleapis.com/envoy.config.route.v3.RouteConfiguration follows ` +
			`type.googleapis.com/envoy.config.listener.v3.Listener, which is not subscribed`,
	}, {
		name:     "type twice",
		typeURLs: []string{resourcev3.ClusterType, resourcev3.ClusterType},
		want:     `ads client "proxy-0": type type.googleapis.com/envoy.config.cluster.v3.Cluster listed twice`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// No connection is needed: the configuration is checked first.
			_, err := Dial(context.Background(), nil, Config{Node: testNode("proxy-0"), TypeURLs: tt.typeURLs})
			if err == nil || err.Error() != tt.want {
				t.Errorf("Dial error = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestAppliedBeforeAck: a client that serves what it receives (test/standin)
// installs it in Applied, which runs with the resources in place and before
// the ACK leaves; so a server that acts on the ACK — ssm-pool granting a
// lease — never finds the client still without the configuration it
// ACKed. A NACKed response is never applied.
func TestAppliedBeforeAck(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name        string
		decide      error
		wantApplied bool
	}{
		{name: "ACK", wantApplied: true},
		{name: "NACK", decide: errString("no"), wantApplied: false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := &scriptedServer{
				response: &discoveryv3.DiscoveryResponse{VersionInfo: "v1", Nonce: "n1", TypeUrl: resourcev3.ClusterType,
					Resources: []*anypb.Any{mustAny(t, edsCluster("c1"))}},
				answers: make(chan *discoveryv3.DiscoveryRequest, 1),
			}
			conn := serve(t, func(g *grpc.Server) { discoveryv3.RegisterAggregatedDiscoveryServiceServer(g, srv) })
			ctx := waitCtx(t)
			applied := make(chan []string, 1)
			dialClient(t, conn, Config{
				Node:     testNode("proxy-applied"),
				TypeURLs: []string{resourcev3.ClusterType},
				Decide:   func(string, *discoveryv3.DiscoveryResponse) error { return tt.decide },
				Applied:  func(c *Client, typeURL string) { applied <- c.Names(typeURL) },
			})
			select {
			case <-srv.answers:
			case <-ctx.Done():
				t.Fatal("no answer to the response")
			}
			// The answer is on the server: whatever Applied did happened before.
			select {
			case names := <-applied:
				if !tt.wantApplied {
					t.Errorf("Applied ran for a NACKed response, with %q", names)
				} else if !slices.Equal(names, []string{"c1"}) {
					t.Errorf("Applied saw clusters %q, want [c1]: the resources were not in place", names)
				}
			default:
				if tt.wantApplied {
					t.Error("the ACK reached the server before Applied ran")
				}
			}
		})
	}
}
