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
	"context"
	"maps"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	cache "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	stream "github.com/envoyproxy/go-control-plane/pkg/server/stream/v3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protopath"
	"google.golang.org/protobuf/reflect/protorange"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/serverless-mesh/ssm/pkg/pool/revision"
)

// validateDeep runs the generated ValidateAll on m and on every message
// packed in an Any inside it, which ValidateAll itself does not open. It
// returns the full names of the packed messages it validated.
func validateDeep(t *testing.T, m proto.Message) []string {
	t.Helper()
	v, ok := m.(interface{ ValidateAll() error })
	if !ok {
		t.Fatalf("%T has no ValidateAll", m)
	}
	if err := v.ValidateAll(); err != nil {
		t.Errorf("%T: %v", m, err)
	}
	var packed []string
	err := protorange.Range(m.ProtoReflect(), func(p protopath.Values) error {
		msg, ok := p.Index(-1).Value.Interface().(protoreflect.Message)
		if !ok {
			return nil
		}
		a, ok := msg.Interface().(*anypb.Any)
		if !ok {
			return nil
		}
		inner, err := a.UnmarshalNew()
		if err != nil {
			t.Errorf("%s: %v", a.GetTypeUrl(), err)
			return nil
		}
		packed = append(packed, string(inner.ProtoReflect().Descriptor().FullName()))
		packed = append(packed, validateDeep(t, inner)...)
		// protorange would also descend into the Any; the recursion
		// above has covered its content.
		return protorange.Break
	})
	if err != nil {
		t.Fatal(err)
	}
	return packed
}

func TestResourcesValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		r    func() (Resources, error)
		// packed lists, sorted, the messages found inside Any fields: proof
		// that the nested configurations were validated too.
		packed []string
	}{{
		name: "base",
		r:    func() (Resources, error) { return Base(DefaultOptions()), nil },
		packed: []string{
			"envoy.extensions.filters.http.router.v3.Router",
			"envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
		},
	}, {
		name: "short-lived",
		r:    func() (Resources, error) { return ForRevision(DefaultOptions(), shortLived()) },
		packed: []string{
			"envoy.extensions.filters.http.router.v3.Router",
			"envoy.extensions.filters.http.router.v3.Router",
			"envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
			"envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
			"envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
			"envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
		},
	}, {
		name: "no timeout",
		r:    func() (Resources, error) { return ForRevision(DefaultOptions(), noTimeout()) },
		packed: []string{
			"envoy.extensions.filters.http.router.v3.Router",
			"envoy.extensions.filters.http.router.v3.Router",
			"envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
			"envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
			"envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
			"envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := tc.r()
			if err != nil {
				t.Fatal(err)
			}
			var packed []string
			for _, typeURL := range xdsTypes {
				for _, m := range r.of(typeURL).items {
					packed = append(packed, validateDeep(t, m)...)
				}
			}
			slices.Sort(packed)
			if diff := cmp.Diff(tc.packed, packed); diff != "" {
				t.Errorf("packed messages (-want +got):\n%s", diff)
			}
			s, err := r.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Consistent(); err != nil {
				t.Errorf("Consistent() = %v", err)
			}
		})
	}
}

func TestSnapshotVersionsAndNames(t *testing.T) {
	t.Parallel()
	hexVersion := regexp.MustCompile(`^[0-9a-f]{32}$`)
	base := Base(DefaultOptions())
	rev, err := ForRevision(DefaultOptions(), shortLived())
	if err != nil {
		t.Fatal(err)
	}
	const name = "ssm/fn-ns/hello-00001"
	tests := []struct {
		name      string
		r         Resources
		typeURL   string
		wantNames []string
		wantEmpty bool
	}{
		{"base listeners", base, resource.ListenerType, []string{"ssm-health"}, false},
		{"base routes", base, resource.RouteType, nil, true},
		{"base clusters", base, resource.ClusterType, nil, true},
		{"base endpoints", base, resource.EndpointType, nil, true},
		{"base secrets", base, resource.SecretType, nil, true},
		{"revision listeners", rev, resource.ListenerType, []string{"ssm-health", name}, false},
		{"revision routes", rev, resource.RouteType, []string{name}, false},
		{"revision clusters", rev, resource.ClusterType, []string{name}, false},
		{"revision endpoints", rev, resource.EndpointType, []string{name}, false},
		{"revision runtime", rev, resource.RuntimeType, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.wantNames, tc.r.Names(tc.typeURL)); diff != "" {
				t.Errorf("Names (-want +got):\n%s", diff)
			}
			s, err := tc.r.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			v := tc.r.Version(tc.typeURL)
			var snapNames []string
			for n := range s.GetResources(tc.typeURL) {
				snapNames = append(snapNames, n)
			}
			slices.Sort(snapNames)
			if diff := cmp.Diff(tc.wantNames, snapNames); diff != "" {
				t.Errorf("snapshot names (-want +got):\n%s", diff)
			}
			if tc.wantEmpty {
				if v != "" {
					t.Errorf("Version = %q, want \"\"", v)
				}
				if got := s.GetVersion(tc.typeURL); got != "empty" && got != "" {
					t.Errorf("snapshot version = %q, want \"empty\" (xDS types) or \"\"", got)
				}
				return
			}
			if !hexVersion.MatchString(v) {
				t.Errorf("Version = %q, want 32 hex digits", v)
			}
			if got := s.GetVersion(tc.typeURL); got != v {
				t.Errorf("snapshot version = %q, want Version() %q", got, v)
			}
		})
	}
}

// TestEmptyTypeIsAnswered: a fresh Envoy asks for all clusters with version
// "". A warm proxy has none; the cache must still answer, or Envoy waits out
// its initial fetch timeout before it serves /ready.
func TestEmptyTypeIsAnswered(t *testing.T) {
	t.Parallel()
	s, err := Base(DefaultOptions()).Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	c := cache.NewSnapshotCache(true, cache.IDHash{}, nil)
	if err := c.SetSnapshot(context.Background(), "proxy-0", s); err != nil {
		t.Fatal(err)
	}
	for _, typeURL := range []string{resource.ClusterType, resource.ListenerType} {
		responses := make(chan cache.Response, 1)
		cancel, err := c.CreateWatch(&discovery.DiscoveryRequest{
			Node:    &core.Node{Id: "proxy-0"},
			TypeUrl: typeURL,
		}, stream.NewSotwSubscription(nil, true), responses)
		if err != nil {
			t.Fatal(err)
		}
		select {
		case resp := <-responses:
			want := map[string]string{resource.ClusterType: "empty", resource.ListenerType: Base(DefaultOptions()).Version(resource.ListenerType)}[typeURL]
			if got := resp.GetResponseVersion(); got != want {
				t.Errorf("%s: response version %q, want %q", typeURL, got, want)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("%s: no response to the initial request", typeURL)
		}
		if cancel != nil {
			cancel()
		}
	}
}

func TestVersions(t *testing.T) {
	t.Parallel()
	moreEndpoints := shortLived()
	moreEndpoints.Endpoints = append(moreEndpoints.Endpoints, revision.Endpoint{IP: "10.0.1.1", Port: 8113})
	reordered := shortLived()
	slices.Reverse(reordered.Endpoints)
	longerTimeout := shortLived()
	longerTimeout.Policy.Timeout = 3 * time.Second
	moreConnections := shortLived()
	moreConnections.Policy.ConnectionPool.MaxConnections = 200
	tests := []struct {
		name    string
		changed func() revision.Config
		// differ lists the types whose version must change; every other
		// type's version must stay.
		differ []string
	}{
		{"same input", shortLived, nil},
		{"endpoints in another order", func() revision.Config { return reordered }, nil},
		{"one more endpoint", func() revision.Config { return moreEndpoints }, []string{resource.EndpointType}},
		{"longer timeout", func() revision.Config { return longerTimeout }, []string{resource.RouteType}},
		{"more connections", func() revision.Config { return moreConnections }, []string{resource.ClusterType}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			before, err := ForRevision(DefaultOptions(), shortLived())
			if err != nil {
				t.Fatal(err)
			}
			after, err := ForRevision(DefaultOptions(), tc.changed())
			if err != nil {
				t.Fatal(err)
			}
			for _, typeURL := range xdsTypes {
				changed := before.Version(typeURL) != after.Version(typeURL)
				if want := slices.Contains(tc.differ, typeURL); changed != want {
					t.Errorf("%s: version changed = %v, want %v (%q → %q)",
						typeURL, changed, want, before.Version(typeURL), after.Version(typeURL))
				}
			}
		})
	}
}

// TestBaseIndependentOfRevisions: the health listener a leased proxy keeps is
// byte for byte the one of Base, so ending a lease returns to Base's LDS
// version exactly.
func TestBaseIndependentOfRevisions(t *testing.T) {
	t.Parallel()
	base := Base(DefaultOptions())
	baseListener := base.of(resource.ListenerType).items[0]
	for _, c := range []revision.Config{shortLived(), noTimeout()} {
		r, err := ForRevision(DefaultOptions(), c)
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(baseListener, r.of(resource.ListenerType).items[0]) {
			t.Errorf("%s: health listener differs from Base's", c.Key)
		}
	}
	if got, want := Base(DefaultOptions()).Version(resource.ListenerType), base.Version(resource.ListenerType); got != want {
		t.Errorf("Base LDS version changed from %q to %q", want, got)
	}
	otherPort := DefaultOptions()
	otherPort.HealthPort = 15022
	if Base(otherPort).Version(resource.ListenerType) == base.Version(resource.ListenerType) {
		t.Error("Base LDS version ignores HealthPort")
	}
}

// TestIsolation: every string in a revision's resources that names a
// namespace, revision or identity is one of the revision's own.
func TestIsolation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		config revision.Config
		want   []string
	}{{
		config: shortLived(),
		want: []string{
			"fn-ns",
			"hello-00001",
			"hello-00001.fn-ns",
			"spiffe://cluster.local/ns/fn-ns/sa/hello-sa",
			"ssm/fn-ns/hello-00001",
		},
	}, {
		config: noTimeout(),
		want: []string{
			"other-ns",
			"slow-00003",
			"slow-00003.other-ns",
			"spiffe://cluster.local/ns/other-ns/sa/default",
			"ssm/other-ns/slow-00003",
		},
	}}
	for _, tc := range tests {
		t.Run(tc.config.Key.String(), func(t *testing.T) {
			t.Parallel()
			r, err := ForRevision(DefaultOptions(), tc.config)
			if err != nil {
				t.Fatal(err)
			}
			mentions := map[string]bool{}
			for _, typeURL := range xdsTypes {
				for _, m := range r.of(typeURL).items {
					for _, s := range stringsIn(t, m) {
						if strings.Contains(s, "-ns") || strings.Contains(s, "-0000") || strings.Contains(s, "spiffe:") {
							mentions[s] = true
						}
					}
				}
			}
			got := slices.Sorted(maps.Keys(mentions))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("strings naming a revision (-want +got):\n%s", diff)
			}
		})
	}
}

// stringsIn returns every string field in m, including inside Anys.
func stringsIn(t *testing.T, m proto.Message) []string {
	t.Helper()
	var out []string
	err := protorange.Range(m.ProtoReflect(), func(p protopath.Values) error {
		switch v := p.Index(-1).Value.Interface().(type) {
		case string:
			out = append(out, v)
		case protoreflect.Message:
			if a, ok := v.Interface().(*anypb.Any); ok {
				inner, err := a.UnmarshalNew()
				if err != nil {
					return err
				}
				out = append(out, stringsIn(t, inner)...)
				return protorange.Break
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestInputsNotModified(t *testing.T) {
	t.Parallel()
	c := shortLived()
	c.Endpoints = append(c.Endpoints, revision.Endpoint{IP: "10.0.0.7", Port: 8113}) // duplicate
	if _, err := ForRevision(DefaultOptions(), c); err != nil {
		t.Fatal(err)
	}
	want := []revision.Endpoint{
		{IP: "10.0.0.12", Port: 8113},
		{IP: "10.0.0.7", Port: 8113},
		{IP: "10.0.0.7", Port: 8113},
	}
	if diff := cmp.Diff(want, c.Endpoints); diff != "" {
		t.Errorf("caller's endpoints changed (-want +got):\n%s", diff)
	}

	r := Base(DefaultOptions())
	names := r.Names(resource.ListenerType)
	names[0] = "mutated"
	if got := r.Names(resource.ListenerType); got[0] != "ssm-health" {
		t.Errorf("Names shares its slice: %q", got)
	}
}

func TestEndpointsSortedAndDeduplicated(t *testing.T) {
	t.Parallel()
	c := noTimeout()
	c.Endpoints = []revision.Endpoint{
		{IP: "10.0.0.7", Port: 9000},
		{IP: "fd00::2", Port: 8113},
		{IP: "10.0.0.7", Port: 8113},
		{IP: "::ffff:10.0.0.7", Port: 8113},
		{IP: "10.0.0.12", Port: 8113},
	}
	r, err := ForRevision(DefaultOptions(), c)
	if err != nil {
		t.Fatal(err)
	}
	cla, ok := r.endpoints.items[0].(*endpoint.ClusterLoadAssignment)
	if !ok {
		t.Fatalf("EDS resource is a %T", r.endpoints.items[0])
	}
	var got []string
	for _, loc := range cla.GetEndpoints() {
		for _, lb := range loc.GetLbEndpoints() {
			a := lb.GetEndpoint().GetAddress().GetSocketAddress()
			got = append(got, net.JoinHostPort(a.GetAddress(), strconv.Itoa(int(a.GetPortValue()))))
		}
	}
	want := []string{"10.0.0.7:8113", "10.0.0.7:9000", "10.0.0.12:8113", "[fd00::2]:8113"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("endpoints (-want +got):\n%s", diff)
	}
}
