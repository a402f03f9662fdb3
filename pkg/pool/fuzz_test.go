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
	"maps"
	"reflect"
	"strconv"
	"testing"
	"time"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"

	"github.com/serverless-mesh/ssm/pkg/pool/revision"
	"github.com/serverless-mesh/ssm/pkg/pool/snapshot"
)

// ackModel is what the xDS state-of-the-world protocol says a proxy holds of
// one type, written from the protocol rather than from acks.go: each
// response has a fresh nonce; a request whose nonce is not the last one
// sent is stale and changes nothing; before anything is sent, a request's
// version is what a reconnecting proxy still holds; the first request
// carrying the last nonce answers it, an ACK when it echoes the sent
// version and has no error detail (the proxy now holds that version), a
// NACK when it has error detail (the version is rejected, and what the
// proxy holds stays as it was); later requests with that nonce only change
// the subscription.
type ackModel struct {
	sentNonce, sentVersion string
	answered               bool
	acked                  string
	rejected               map[string]bool
	// pushed is every version sent; acked may be another only while it is
	// what the proxy claimed before anything was sent.
	pushed map[string]bool
}

// fuzzAckTypes are the xDS types a fuzzed stream uses: two, so that a
// request of one type is seen to leave the other alone.
var fuzzAckTypes = [2]string{cdsURL, edsURL}

var fuzzAckVersions = [4]string{"v0", "v1", "v2", "v3"}

// FuzzAckTracking runs a stream of responses and requests decoded from the
// fuzz input through the Server's callbacks and, after each step, compares
// the proxy's typeState with ackModel.
//
// Each step is two bytes: op and arg. op%3 is the kind (0 a response, 1 a
// request, 2 a request with error detail) and op/3%2 the type. For a
// response, arg%4 picks the version. For a request, arg&3 picks the nonce
// (0 empty, 1 the type's last sent, 2 an older one of the stream, 3 one
// never sent), arg>>2&3 the version, arg>>4&1 an empty version instead,
// and arg>>5&3 the resource names (none, "a", "*", "a" and "b").
func FuzzAckTracking(f *testing.F) {
	const (
		push, req, nack = 0, 1, 2
		eds             = 3 // add to op for the EDS type
	)
	// Nonce and version selectors of a request's arg.
	const (
		lastNonce  = 1
		staleNonce = 2
		otherNonce = 3
		v1, v2     = 1 << 2, 2 << 2
		names      = 1 << 5
	)
	f.Add([]byte{push, 1, req, lastNonce | v1})                                // ACK
	f.Add([]byte{push, 1, nack, lastNonce | v1, req, lastNonce | v1})          // NACK, then a subscription change
	f.Add([]byte{push, 1, push, 2, req, staleNonce | v1, req, lastNonce | v2}) // stale ACK, then ACK
	f.Add([]byte{req, v2 | names, push, 2, req, otherNonce | v2})              // claim, then a nonce never sent
	f.Add([]byte{push + eds, 2, nack + eds, lastNonce | v1, push + eds, 2, nack + eds, lastNonce | v1, push, 1, req, lastNonce | v1})
	f.Add([]byte{push, 1, req, lastNonce | v2, req, lastNonce | v1}) // ACK of another version, then a late echo
	// Both types ACKed with the wanted versions (synced), then a subscription change.
	f.Add([]byte{push, 1, req, lastNonce | v1 | names, push + eds, 2, req + eds, lastNonce | v2 | names,
		req + eds, lastNonce | v2 | 3*names, req + eds, lastNonce | v2 | 2*names})
	f.Fuzz(func(t *testing.T, steps []byte) {
		if len(steps) > 512 {
			return
		}
		events := 0
		s := New(Options{
			Snapshot:    snapshot.DefaultOptions(),
			Source:      &fakeSource{},
			OnUnhealthy: func(string, revision.PoolKey, string) { events++ },
		})
		node := &core.Node{Id: "envoy-0", Cluster: "team/pool"}
		p := newProxy(node.Id, nodeKey(node), testPool, "127.0.0.1:8081", time.Time{})
		want := &cachev3.Snapshot{}
		want.Resources[types.Cluster] = cachev3.NewResources("v1", []types.Resource{&cluster.Cluster{Name: "a"}})
		want.Resources[types.Endpoint] = cachev3.NewResources("v2", []types.Resource{
			&endpoint.ClusterLoadAssignment{ClusterName: "a"},
		})
		p.want = want
		const streamID = 1
		// The proxy is the stream's, but not the Server's registered node,
		// so that a NACK does not reach the snapshot cache.
		s.streams[streamID] = &stream{id: streamID, proxy: p}
		c := &callbacks{s: s}

		models := [2]*ackModel{{pushed: map[string]bool{}}, {pushed: map[string]bool{}}}
		unhealthy := false
		var nonces []string
		for i := 0; i+1 < len(steps); i += 2 {
			op, arg := steps[i], steps[i+1]
			kind, typ := op%3, int(op/3%2)
			typeURL, m := fuzzAckTypes[typ], models[typ]
			otherBefore := copyTypeState(p.types[fuzzAckTypes[1-typ]])
			before := copyTypeState(p.types[typeURL])

			if kind == push {
				nonce := strconv.Itoa(len(nonces) + 1)
				nonces = append(nonces, nonce)
				version := fuzzAckVersions[arg%4]
				c.OnStreamResponse(context.Background(), streamID, nil, &discovery.DiscoveryResponse{
					TypeUrl: typeURL, VersionInfo: version, Nonce: nonce,
				})
				m.sentNonce, m.sentVersion, m.answered = nonce, version, false
				m.pushed[version] = true
			} else {
				r := &discovery.DiscoveryRequest{
					Node:          node,
					TypeUrl:       typeURL,
					VersionInfo:   fuzzAckVersions[arg>>2&3],
					ResponseNonce: pickNonce(arg&3, m.sentNonce, nonces),
					ResourceNames: [][]string{nil, {"a"}, {"*"}, {"a", "b"}}[arg>>5&3],
				}
				if arg>>4&1 == 1 {
					r.VersionInfo = ""
				}
				if kind == nack {
					r.ErrorDetail = &statuspb.Status{Message: "bad"}
				}
				if err := c.OnStreamRequest(streamID, r); err != nil {
					t.Fatalf("step %d: OnStreamRequest: %v", i/2, err)
				}
				stale := m.sentNonce != "" && r.ResponseNonce != m.sentNonce
				switch {
				case stale:
					if after := copyTypeState(p.types[typeURL]); before != nil && !equalTypeState(before, after) {
						t.Errorf("step %d: a request with stale nonce %q changed the state from %+v to %+v",
							i/2, r.ResponseNonce, *before, *after)
					}
				case m.sentNonce == "":
					// Even with error detail: a request's version is always the
					// last one the proxy accepted, never the one it rejects.
					m.acked = r.VersionInfo
				case m.answered:
				case kind == nack:
					m.answered = true
					if m.rejected == nil {
						m.rejected = map[string]bool{}
					}
					m.rejected[m.sentVersion] = true
					unhealthy = true
				default:
					m.answered = true
					if r.VersionInfo == m.sentVersion {
						m.acked = m.sentVersion
					}
				}
			}
			checkAckModel(t, i/2, p, typeURL, m, before)
			if after := copyTypeState(p.types[fuzzAckTypes[1-typ]]); !equalTypeState(otherBefore, after) {
				t.Errorf("step %d: a %s step changed the %s state", i/2, typeURL, fuzzAckTypes[1-typ])
			}
			if p.unhealthy != unhealthy {
				t.Errorf("step %d: unhealthy = %v, want %v", i/2, p.unhealthy, unhealthy)
			}
			wantEvents := 0
			if unhealthy {
				wantEvents = 1 // only the first NACK is reported
			}
			if events != wantEvents {
				t.Errorf("step %d: %d unhealthy events, want %d", i/2, events, wantEvents)
			}
			if p.synced != p.holds(p.want) {
				t.Errorf("step %d: synced = %v, but holds(want) = %v", i/2, p.synced, !p.synced)
			}
		}
	})
}

// pickNonce is the nonce a request answers: see FuzzAckTracking.
func pickNonce(choice byte, last string, sent []string) string {
	switch choice {
	case 1:
		return last
	case 2:
		// The newest nonce of the stream that is not the type's last.
		for i := len(sent) - 1; i >= 0; i-- {
			if sent[i] != last {
				return sent[i]
			}
		}
		return ""
	case 3:
		return "never-sent"
	}
	return ""
}

// checkAckModel compares what the Server tracks of typeURL with m.
func checkAckModel(t *testing.T, step int, p *proxy, typeURL string, m *ackModel, before *typeState) {
	t.Helper()
	ts := p.types[typeURL]
	if ts == nil {
		if m.acked != "" || len(m.rejected) > 0 {
			t.Errorf("step %d: no %s state, want acked %q, rejected %v", step, typeURL, m.acked, m.rejected)
		}
		return
	}
	if ts.acked != m.acked {
		t.Errorf("step %d: %s acked = %q, want %q", step, typeURL, ts.acked, m.acked)
	}
	if before != nil && ts.acked != before.acked && m.sentNonce != "" && !m.pushed[ts.acked] {
		t.Errorf("step %d: %s acked moved to %q, which was never sent", step, typeURL, ts.acked)
	}
	if !maps.Equal(ts.rejected, m.rejected) {
		t.Errorf("step %d: %s rejected = %v, want %v", step, typeURL, ts.rejected, m.rejected)
	}
	for v := range ts.rejected {
		if !m.pushed[v] {
			t.Errorf("step %d: %s rejected version %q, which was never sent", step, typeURL, v)
		}
	}
	if ts.heldAll && len(ts.heldNames) > 0 {
		t.Errorf("step %d: %s holds all resources and also the names %v", step, typeURL, ts.heldNames)
	}
}

// copyTypeState is a deep copy of ts (nil stays nil).
func copyTypeState(ts *typeState) *typeState {
	if ts == nil {
		return nil
	}
	c := *ts
	c.heldNames = maps.Clone(ts.heldNames)
	c.rejected = maps.Clone(ts.rejected)
	return &c
}

func equalTypeState(a, b *typeState) bool {
	if a == nil || b == nil {
		return a == b
	}
	return reflect.DeepEqual(*a, *b)
}
