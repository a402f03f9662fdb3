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
	"testing"
	"time"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"

	"github.com/serverless-mesh/ssm/pkg/pool/snapshot"
)

// exchange is one step of a stream: a response the server sent (nonce set,
// request nil) or a request the proxy sent.
type exchange struct {
	sentNonce, sentVersion string
	req                    *discovery.DiscoveryRequest
}

func sent(nonce, version string) exchange { return exchange{sentNonce: nonce, sentVersion: version} }

func request(version, nonce string, names ...string) exchange {
	return exchange{req: &discovery.DiscoveryRequest{
		TypeUrl: edsURL, VersionInfo: version, ResponseNonce: nonce, ResourceNames: names,
	}}
}

func nack(version, nonce string, names ...string) exchange {
	x := request(version, nonce, names...)
	x.req.ErrorDetail = &statuspb.Status{Message: "bad"}
	return x
}

// The ACK bookkeeping of one type (endpoints) against a snapshot whose
// clusters are wildcard-ACKed already: when does the proxy hold endpoint
// "a" at version "v2"?
func TestHolds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		exchanges []exchange
		want      bool
	}{{
		name:      "subscribed and ACKed",
		exchanges: []exchange{request("", "", "a"), sent("1", "v2"), request("v2", "1", "a")},
		want:      true,
	}, {
		name:      "not subscribed yet",
		exchanges: nil,
	}, {
		name:      "sent, not ACKed yet",
		exchanges: []exchange{request("", "", "a"), sent("1", "v2")},
	}, {
		name:      "NACKed",
		exchanges: []exchange{request("", "", "a"), sent("1", "v2"), nack("", "1", "a")},
	}, {
		name:      "ACK with a stale nonce",
		exchanges: []exchange{request("", "", "a"), sent("1", "v1"), sent("2", "v2"), request("v2", "1", "a")},
	}, {
		name:      "ACK of another version",
		exchanges: []exchange{request("", "", "a"), sent("1", "v2"), request("v1", "1", "a")},
	}, {
		// go-control-plane answers an empty subscription with every
		// resource; the proxy drops what it did not ask for, so its ACK
		// holds nothing, and subscribing with the same nonce adds nothing
		// until the next response.
		name: "ACKed while subscribed to nothing",
		exchanges: []exchange{request("", "", "x"), sent("1", "v1"), request("v1", "1"),
			sent("2", "v2"), request("v2", "2"), request("v2", "2", "a")},
	}, {
		name: "then resent and ACKed",
		exchanges: []exchange{request("", "", "x"), sent("1", "v1"), request("v1", "1"),
			sent("2", "v2"), request("v2", "2"), request("v2", "2", "a"), sent("3", "v2"), request("v2", "3", "a")},
		want: true,
	}, {
		name:      "unsubscribed after ACK",
		exchanges: []exchange{request("", "", "a"), sent("1", "v2"), request("v2", "1", "a"), request("v2", "1", "b")},
	}, {
		name:      "wildcard subscription",
		exchanges: []exchange{request("", ""), sent("1", "v2"), request("v2", "1")},
		want:      true,
	}, {
		// A reconnecting Envoy says what it holds; go-control-plane will
		// not resend it.
		name:      "claimed on the first request",
		exchanges: []exchange{request("v2", "", "a")},
		want:      true,
	}}
	want := &cachev3.Snapshot{}
	want.Resources[types.Cluster] = cachev3.NewResources("c1", []types.Resource{&cluster.Cluster{Name: "a"}})
	want.Resources[types.Endpoint] = cachev3.NewResources("v2", []types.Resource{
		&endpoint.ClusterLoadAssignment{ClusterName: "a"},
	})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := New(Options{Snapshot: snapshot.DefaultOptions(), Source: &fakeSource{}})
			p := newProxy("envoy-0", "team/pool/envoy-0", testPool, "127.0.0.1:8081", time.Time{})
			p.want = want
			s.mu.Lock()
			defer s.mu.Unlock()
			clusters := p.typeState(cdsURL)
			clusters.subscribed, clusters.acked, clusters.heldAll = true, "c1", true
			for _, x := range tc.exchanges {
				if x.req == nil {
					ts := p.typeState(edsURL)
					ts.sentNonce, ts.sentVersion = x.sentNonce, x.sentVersion
					continue
				}
				s.observeRequestLocked(p, x.req)
			}
			if got := p.holds(want); got != tc.want {
				t.Errorf("holds = %v, want %v", got, tc.want)
			}
		})
	}
}
