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

package snapshot

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
)

// golden is a testdata file: the resources of each type, in protojson, in
// the order Resources must hold them. The files are written and reviewed by
// hand; nothing regenerates them from the code under test.
type golden struct {
	Listeners []json.RawMessage `json:"listeners"`
	Routes    []json.RawMessage `json:"routes"`
	Clusters  []json.RawMessage `json:"clusters"`
	Endpoints []json.RawMessage `json:"endpoints"`
}

// loadGolden returns the expected resources by type URL.
func loadGolden(t *testing.T, file string) map[string][]proto.Message {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	decode := func(raws []json.RawMessage, newMsg func() proto.Message) []proto.Message {
		out := make([]proto.Message, 0, len(raws))
		for i, raw := range raws {
			m := newMsg()
			if err := protojson.Unmarshal(raw, m); err != nil {
				t.Fatalf("%s: %T #%d: %v", file, m, i, err)
			}
			out = append(out, m)
		}
		return out
	}
	return map[string][]proto.Message{
		resource.ListenerType: decode(g.Listeners, func() proto.Message { return &listener.Listener{} }),
		resource.RouteType:    decode(g.Routes, func() proto.Message { return &route.RouteConfiguration{} }),
		resource.ClusterType:  decode(g.Clusters, func() proto.Message { return &cluster.Cluster{} }),
		resource.EndpointType: decode(g.Endpoints, func() proto.Message { return &endpoint.ClusterLoadAssignment{} }),
	}
}

// itemsOf returns r's resources by type URL, in r's order.
func itemsOf(r Resources) map[string][]proto.Message {
	out := map[string][]proto.Message{}
	for _, typeURL := range xdsTypes {
		msgs := []proto.Message{}
		for _, item := range r.of(typeURL).items {
			msgs = append(msgs, item)
		}
		out[typeURL] = msgs
	}
	return out
}

var xdsTypes = []string{resource.ListenerType, resource.RouteType, resource.ClusterType, resource.EndpointType}

func TestGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		build  func() (Resources, error)
		golden string
	}{{
		name:   "base",
		build:  func() (Resources, error) { return Base(DefaultOptions()), nil },
		golden: "base.json",
	}, {
		name:   "short-lived revision",
		build:  func() (Resources, error) { return ForRevision(DefaultOptions(), shortLived()) },
		golden: "short-lived.json",
	}, {
		name:   "no timeout, no retries, no endpoints, h2c",
		build:  func() (Resources, error) { return ForRevision(DefaultOptions(), noTimeout()) },
		golden: "no-timeout.json",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := tc.build()
			if err != nil {
				t.Fatal(err)
			}
			want := loadGolden(t, tc.golden)
			if diff := cmp.Diff(want, itemsOf(r), protocmp.Transform()); diff != "" {
				t.Errorf("resources (-%s +got):\n%s", tc.golden, diff)
			}
		})
	}
}
