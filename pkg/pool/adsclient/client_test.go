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
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	sotwv3 "github.com/envoyproxy/go-control-plane/pkg/server/sotw/v3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
)

// wantRequest is one request the server must see. nonceOf is the version of
// the response whose nonce the request answers ("" for no nonce).
type wantRequest struct {
	version, nonceOf string
	names            []string
	detail           string
}

// checkRequests waits for len(want) requests of a type and compares them.
func checkRequests(t *testing.T, rec *recorder, node, typeURL string, want []wantRequest) {
	t.Helper()
	rec.waitCount(t, typeURL, len(want))
	got := rec.typeRequests(typeURL)
	if len(got) != len(want) {
		t.Fatalf("%s: server saw %d requests, want %d: %v", typeURL, len(got), len(want), got)
	}
	for i, w := range want {
		req := got[i]
		wantNonce := ""
		if w.nonceOf != "" {
			nonces := rec.sentNonces(typeURL, w.nonceOf)
			if len(nonces) != 1 {
				t.Fatalf("%s: server sent %d responses of version %q, want 1", typeURL, len(nonces), w.nonceOf)
			}
			wantNonce = nonces[0]
		}
		if req.GetVersionInfo() != w.version || req.GetResponseNonce() != wantNonce ||
			!slices.Equal(req.GetResourceNames(), w.names) || req.GetErrorDetail().GetMessage() != w.detail ||
			req.GetNode().GetId() != node {
			t.Errorf("%s request %d = version %q nonce %q names %q detail %q node %q, want %q %q %q %q %q", typeURL, i,
				req.GetVersionInfo(), req.GetResponseNonce(), req.GetResourceNames(), req.GetErrorDetail().GetMessage(),
				req.GetNode().GetId(), w.version, wantNonce, w.names, w.detail, node)
		}
	}
}

// allAt holds when every subscribed type has ACKed version.
func allAt(version string) func(*Client) bool {
	return func(c *Client) bool {
		for _, typeURL := range allTypes() {
			if c.Version(typeURL) != version {
				return false
			}
		}
		return true
	}
}

// drainUpdates reads n updates, keyed by type.
func drainUpdates(t *testing.T, c *Client, n int) map[string]Update {
	t.Helper()
	got := map[string]Update{}
	deadline := time.After(testTimeout)
	for range n {
		select {
		case u := <-c.Updates():
			got[u.TypeURL] = u
		case <-deadline:
			t.Fatalf("got %d updates, want %d", len(got), n)
		}
	}
	return got
}

func TestFollowsSnapshots(t *testing.T) {
	t.Parallel()
	const node = "proxy-0"
	v1 := fixture{version: "1", cluster: "c1", listener: "l1", route: "r1", domain: "one.example", port: 8080}
	v2 := fixture{version: "2", cluster: "c2", listener: "l1", route: "r2", domain: "two.example", port: 9090}
	steps := []struct {
		name      string
		snapshot  func(*testing.T) *cachev3.Snapshot
		version   string
		wantNames map[string][]string
		// wantRequests are all requests of each type since the stream opened.
		wantRequests map[string][]wantRequest
		wantResource proto.Message
	}{{
		name:     "initial snapshot",
		snapshot: v1.snapshot,
		version:  "1",
		wantNames: map[string][]string{
			resourcev3.ClusterType: {"c1"}, resourcev3.EndpointType: {"c1"},
			resourcev3.ListenerType: {"l1"}, resourcev3.RouteType: {"r1"},
		},
		wantRequests: map[string][]wantRequest{
			resourcev3.ClusterType:  {{}, {version: "1", nonceOf: "1"}},
			resourcev3.EndpointType: {{names: []string{"c1"}}, {version: "1", nonceOf: "1", names: []string{"c1"}}},
			resourcev3.ListenerType: {{}, {version: "1", nonceOf: "1"}},
			resourcev3.RouteType:    {{names: []string{"r1"}}, {version: "1", nonceOf: "1", names: []string{"r1"}}},
		},
		wantResource: loadAssignment("c1", 8080),
	}, {
		name:     "renamed cluster and route",
		snapshot: v2.snapshot,
		version:  "2",
		wantNames: map[string][]string{
			resourcev3.ClusterType: {"c2"}, resourcev3.EndpointType: {"c2"},
			resourcev3.ListenerType: {"l1"}, resourcev3.RouteType: {"r2"},
		},
		wantRequests: map[string][]wantRequest{
			resourcev3.ClusterType: {{}, {version: "1", nonceOf: "1"}, {version: "2", nonceOf: "2"}},
			resourcev3.EndpointType: {
				{names: []string{"c1"}}, {version: "1", nonceOf: "1", names: []string{"c1"}},
				{version: "1", nonceOf: "1", names: []string{"c2"}}, {version: "2", nonceOf: "2", names: []string{"c2"}},
			},
			resourcev3.ListenerType: {{}, {version: "1", nonceOf: "1"}, {version: "2", nonceOf: "2"}},
			resourcev3.RouteType: {
				{names: []string{"r1"}}, {version: "1", nonceOf: "1", names: []string{"r1"}},
				{version: "1", nonceOf: "1", names: []string{"r2"}}, {version: "2", nonceOf: "2", names: []string{"r2"}},
			},
		},
		wantResource: routeConfig("r2", "c2", "two.example"),
	}, {
		name:     "base listener only: endpoints and routes unsubscribed",
		snapshot: func(t *testing.T) *cachev3.Snapshot { return baseSnapshot(t, "3", "l1") },
		version:  "3",
		wantNames: map[string][]string{
			resourcev3.ClusterType: nil, resourcev3.EndpointType: nil,
			resourcev3.ListenerType: {"l1"}, resourcev3.RouteType: nil,
		},
		wantRequests: map[string][]wantRequest{
			resourcev3.ClusterType: {{}, {version: "1", nonceOf: "1"}, {version: "2", nonceOf: "2"}, {version: "3", nonceOf: "3"}},
			resourcev3.EndpointType: {
				{names: []string{"c1"}}, {version: "1", nonceOf: "1", names: []string{"c1"}},
				{version: "1", nonceOf: "1", names: []string{"c2"}}, {version: "2", nonceOf: "2", names: []string{"c2"}},
				{version: "2", nonceOf: "2"}, {version: "3", nonceOf: "3"},
			},
			resourcev3.ListenerType: {{}, {version: "1", nonceOf: "1"}, {version: "2", nonceOf: "2"}, {version: "3", nonceOf: "3"}},
			resourcev3.RouteType: {
				{names: []string{"r1"}}, {version: "1", nonceOf: "1", names: []string{"r1"}},
				{version: "1", nonceOf: "1", names: []string{"r2"}}, {version: "2", nonceOf: "2", names: []string{"r2"}},
				{version: "2", nonceOf: "2"}, {version: "3", nonceOf: "3"},
			},
		},
		wantResource: inlineListener(t, "l1"),
	}}

	rec := newRecorder()
	// Ordered ADS sends the types of one snapshot in Envoy's order, so the
	// requests of each type follow one exact sequence.
	snapshots, conn := controlPlane(t, rec, sotwv3.WithOrderedADS())
	ctx := waitCtx(t)
	var c *Client
	for _, step := range steps {
		if c != nil {
			waitWatches(t, snapshots, node, len(allTypes()))
		}
		if err := snapshots.SetSnapshot(ctx, node, step.snapshot(t)); err != nil {
			t.Fatalf("%s: SetSnapshot: %v", step.name, err)
		}
		if c == nil {
			c = dialClient(t, conn, Config{Node: testNode(node), TypeURLs: allTypes()})
		}
		if err := c.WaitFor(ctx, allAt(step.version)); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		updates := drainUpdates(t, c, len(allTypes()))
		for _, typeURL := range allTypes() {
			if got := c.Names(typeURL); !slices.Equal(got, step.wantNames[typeURL]) {
				t.Errorf("%s: Names(%s) = %q, want %q", step.name, typeURL, got, step.wantNames[typeURL])
			}
			u := updates[typeURL]
			if !u.Acked || u.Version != step.version || u.Error != "" || len(u.Names) != len(step.wantNames[typeURL]) {
				t.Errorf("%s: update for %s = %+v, want an ACK of version %s with %d resources", step.name, typeURL, u,
					step.version, len(step.wantNames[typeURL]))
			}
			checkRequests(t, rec, node, typeURL, step.wantRequests[typeURL])
		}
		if !containsResource(c, step.wantResource) {
			t.Errorf("%s: client does not hold %v", step.name, step.wantResource)
		}
	}
}

// containsResource reports whether the client holds a resource equal to want.
func containsResource(c *Client, want proto.Message) bool {
	for _, typeURL := range allTypes() {
		for _, got := range c.Resources(typeURL) {
			if cmp.Diff(want, got, protocmp.Transform()) == "" {
				return true
			}
		}
	}
	return false
}

func TestNackKeepsPreviousResources(t *testing.T) {
	t.Parallel()
	const node = "proxy-nack"
	v1 := fixture{version: "1", cluster: "c1", listener: "l1", route: "r1", domain: "one.example", port: 8080}
	v2 := fixture{version: "2", cluster: "c1", listener: "l1", route: "r1", domain: "two.example", port: 9090}
	v3 := fixture{version: "3", cluster: "c1", listener: "l1", route: "r1", domain: "three.example", port: 9090}
	rec := newRecorder()
	// go-control-plane's default, unordered ADS.
	snapshots, conn := controlPlane(t, rec)
	ctx := waitCtx(t)
	if err := snapshots.SetSnapshot(ctx, node, v1.snapshot(t)); err != nil {
		t.Fatalf("SetSnapshot 1: %v", err)
	}
	c := dialClient(t, conn, Config{
		Node:     testNode(node),
		TypeURLs: allTypes(),
		Decide: func(typeURL string, resp *discoveryv3.DiscoveryResponse) error {
			if typeURL == resourcev3.RouteType && resp.GetVersionInfo() == "2" {
				return errors.New("route r1 rejected")
			}
			return nil
		},
	})
	if err := c.WaitFor(ctx, allAt("1")); err != nil {
		t.Fatal(err)
	}
	if err := snapshots.SetSnapshot(ctx, node, v2.snapshot(t)); err != nil {
		t.Fatalf("SetSnapshot 2: %v", err)
	}
	nack := rec.waitRequest(t, func(r *discoveryv3.DiscoveryRequest) bool { return r.GetErrorDetail() != nil })
	if nack.GetTypeUrl() != resourcev3.RouteType || nack.GetVersionInfo() != "1" ||
		!slices.Contains(rec.sentNonces(resourcev3.RouteType, "2"), nack.GetResponseNonce()) ||
		nack.GetErrorDetail().GetMessage() != "route r1 rejected" || nack.GetErrorDetail().GetCode() != 3 {
		t.Errorf("NACK = %v, want a route NACK of version 1 answering a version-2 nonce", nack)
	}
	// The other types of version 2 are accepted; the route stays at 1.
	if err := c.WaitFor(ctx, func(c *Client) bool {
		return c.Version(resourcev3.ClusterType) == "2" && c.Version(resourcev3.EndpointType) == "2" &&
			c.Version(resourcev3.ListenerType) == "2"
	}); err != nil {
		t.Fatal(err)
	}
	if got := c.Version(resourcev3.RouteType); got != "1" {
		t.Errorf("route version after NACK = %q, want 1", got)
	}
	if diff := cmp.Diff(routeConfig("r1", "c1", "one.example"), c.Resources(resourcev3.RouteType)["r1"], protocmp.Transform()); diff != "" {
		t.Errorf("route after NACK (-want +got):\n%s", diff)
	}

	// go-control-plane answers every NACK with the same version again, so
	// the exchange repeats until the next snapshot, as it would with Envoy.
	if err := snapshots.SetSnapshot(ctx, node, v3.snapshot(t)); err != nil {
		t.Fatalf("SetSnapshot 3: %v", err)
	}
	if err := c.WaitFor(ctx, allAt("3")); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(routeConfig("r1", "c1", "three.example"), c.Resources(resourcev3.RouteType)["r1"], protocmp.Transform()); diff != "" {
		t.Errorf("route after version 3 (-want +got):\n%s", diff)
	}
}

func TestStreamEnd(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		end  func(c *Client, cancelDial context.CancelFunc)
	}{{
		name: "Close",
		end:  func(c *Client, _ context.CancelFunc) { _ = c.Close() },
	}, {
		name: "dial context cancelled",
		end:  func(_ *Client, cancelDial context.CancelFunc) { cancelDial() },
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			node := "proxy-" + strings.ReplaceAll(tt.name, " ", "-")
			rec := newRecorder()
			snapshots, conn := controlPlane(t, rec)
			ctx := waitCtx(t)
			if err := snapshots.SetSnapshot(ctx, node, baseSnapshot(t, "1", "health")); err != nil {
				t.Fatalf("SetSnapshot: %v", err)
			}
			dialCtx, cancelDial := context.WithCancel(context.Background())
			defer cancelDial()
			c, err := Dial(dialCtx, conn, Config{Node: testNode(node), TypeURLs: allTypes()})
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer c.Close()
			if err := c.WaitFor(ctx, func(c *Client) bool { return c.Version(resourcev3.ListenerType) == "1" }); err != nil {
				t.Fatal(err)
			}

			tt.end(c, cancelDial)
			select {
			case <-c.Done():
			case <-ctx.Done():
				t.Fatal("stream did not end")
			}
			if err := c.Err(); !errors.Is(err, context.Canceled) {
				t.Errorf("Err() = %v, want context.Canceled", err)
			}
			if err := c.WaitFor(ctx, func(c *Client) bool { return c.Version(resourcev3.ListenerType) == "2" }); err == nil {
				t.Error("WaitFor on an ended stream for a version that never came = nil, want an error")
			}
			if err := c.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			// The channel is closed: a bounded drain ends.
			drained := 0
			for range c.Updates() {
				drained++
				if drained > DefaultUpdatesBuffer {
					t.Fatal("Updates not closed")
				}
			}
			// State read after the end is what was accepted.
			if got := c.Names(resourcev3.ListenerType); !slices.Equal(got, []string{"health"}) {
				t.Errorf("Names(listeners) = %q, want [health]", got)
			}
		})
	}
}
