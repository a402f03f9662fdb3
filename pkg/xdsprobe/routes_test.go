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

package xdsprobe

import (
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/anypb"
)

func TestRouteNamesOfRejects(t *testing.T) {
	t.Parallel()
	bad := &listenerv3.Listener{Name: "0.0.0.0_8080", FilterChains: []*listenerv3.FilterChain{{
		Filters: []*listenerv3.Filter{{
			Name: "envoy.filters.network.http_connection_manager",
			ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: &anypb.Any{
				TypeUrl: hcmTypeURL, Value: []byte{0xff, 0xff},
			}},
		}},
	}}}
	_, err := routeNamesOf([]*listenerv3.Listener{bad})
	if err == nil {
		t.Fatal("routeNamesOf() = nil error, want one")
	}
	for _, part := range []string{"listener \"0.0.0.0_8080\"", "filter \"envoy.filters.network.http_connection_manager\""} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not contain %q", err, part)
		}
	}
}

func TestRouteNamesOf(t *testing.T) {
	t.Parallel()
	tcp, err := anypb.New(&corev3.Address{}) // any non-HCM filter config
	if err != nil {
		t.Fatal(err)
	}
	withDefault := httpListener(t, "0.0.0.0_8443", "https.443.https.knative-ingress-gateway.knative-serving")
	withDefault.DefaultFilterChain = httpListener(t, "", "http.8081").FilterChains[0]
	withDefault.FilterChains = append(withDefault.FilterChains, &listenerv3.FilterChain{Filters: []*listenerv3.Filter{{
		Name: "envoy.filters.network.tcp_proxy", ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: tcp},
	}}})
	for _, tc := range []struct {
		name      string
		listeners []*listenerv3.Listener
		want      []string
	}{{
		name: "none",
		want: []string{},
	}, {
		name:      "one listener",
		listeners: []*listenerv3.Listener{httpListener(t, "0.0.0.0_8080", "http.80")},
		want:      []string{"http.80"},
	}, {
		name: "sorted, deduplicated, default chain, non-HTTP filters skipped",
		listeners: []*listenerv3.Listener{
			withDefault,
			httpListener(t, "0.0.0.0_8080", "http.80", "http.80"),
		},
		want: []string{"http.80", "http.8081", "https.443.https.knative-ingress-gateway.knative-serving"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := routeNamesOf(tc.listeners)
			if err != nil {
				t.Fatal("routeNamesOf() =", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("routeNamesOf() (-want, +got):\n%s", diff)
			}
		})
	}
}

func TestProbeVersion(t *testing.T) {
	t.Parallel()
	lowerName := probeRoute("abc")
	lowerName.Match.Headers[0].Name = "k-network-hash"
	lowerName.RequestHeadersToAdd[0].Header.Key = "k-network-hash"
	inverted := probeRoute("abc")
	inverted.Match.Headers[0].InvertMatch = true
	noOverride := probeRoute("abc")
	noOverride.Match.Headers[0].GetStringMatch().MatchPattern = &matcherv3.StringMatcher_Exact{Exact: "abc"}
	prefix := probeRoute("abc")
	prefix.Match.Headers[0].GetStringMatch().MatchPattern = &matcherv3.StringMatcher_Prefix{Prefix: "override"}
	noSet := probeRoute("abc")
	noSet.RequestHeadersToAdd = []*corev3.HeaderValueOption{{Header: &corev3.HeaderValue{Key: "K-Other", Value: "abc"}}}
	for _, tc := range []struct {
		name   string
		route  *routev3.Route
		want   string
		wantOK bool
	}{
		{name: "probe route", route: probeRoute("abc"), want: "abc", wantOK: true},
		{name: "lower-case header names", route: lowerName, want: "abc", wantOK: true},
		{name: "plain route", route: plainRoute()},
		{name: "inverted match", route: inverted},
		// The hash belongs in the header set, never in the match.
		{name: "match on the hash, not override", route: noOverride},
		{name: "prefix match", route: prefix},
		{name: "matches but sets no hash", route: noSet},
		{name: "empty route", route: &routev3.Route{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := probeVersion(tc.route)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("probeVersion() = %q, %v, want %q, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestDomainHost(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"hello.default.example.com":      "hello.default.example.com",
		"Hello.Default.Example.COM":      "hello.default.example.com",
		"hello.default.example.com:*":    "hello.default.example.com",
		"hello.default.example.com:8080": "hello.default.example.com",
		"hello.default.example.com:abc":  "hello.default.example.com:abc",
		"[::1]":                          "[::1]",
		"[::1]:80":                       "[::1]",
		"*":                              "*",
	} {
		if got := domainHost(in); got != want {
			t.Errorf("domainHost(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMissingHosts(t *testing.T) {
	t.Parallel()
	hosts := []string{"hello.default.example.com", "hello.default.svc.cluster.local"}
	for _, tc := range []struct {
		name    string
		configs []*routev3.RouteConfiguration
		want    []string
	}{{
		name: "no route configuration",
		want: []string{"hello.default.example.com", "hello.default.svc.cluster.local"},
	}, {
		name: "both hosts at the version, in one virtual host",
		configs: []*routev3.RouteConfiguration{routeConfig("http.80",
			vhost("hello", []string{"hello.default.example.com", "Hello.default.svc.cluster.local:*"}, probeRoute("v2"), plainRoute()))},
	}, {
		name: "one host at an older version",
		configs: []*routev3.RouteConfiguration{routeConfig("http.80",
			vhost("a", []string{"hello.default.example.com"}, probeRoute("v2"), plainRoute()),
			vhost("b", []string{"hello.default.svc.cluster.local"}, probeRoute("v1"), plainRoute()))},
		want: []string{"hello.default.svc.cluster.local"},
	}, {
		name: "one host absent, a blackhole virtual host does not count",
		configs: []*routev3.RouteConfiguration{routeConfig("http.80",
			vhost("a", []string{"hello.default.example.com"}, probeRoute("v2"), plainRoute()),
			vhost("blackhole:80", []string{"*"}))},
		want: []string{"hello.default.svc.cluster.local"},
	}, {
		name: "old and new version side by side (two VirtualServices) count",
		configs: []*routev3.RouteConfiguration{routeConfig("http.80",
			vhost("a", hosts, probeRoute("v1"), probeRoute("v2"), plainRoute()))},
	}, {
		name: "another port still at the older version",
		configs: []*routev3.RouteConfiguration{
			routeConfig("http.80", vhost("a", hosts, probeRoute("v2"), plainRoute())),
			routeConfig("https.443.https.gw.ns", vhost("a", []string{"hello.default.example.com"}, probeRoute("v1"), plainRoute())),
		},
		want: []string{"hello.default.example.com"},
	}, {
		// istiod passes an invalid KIngress path regex through; the gateway's
		// Envoy would NACK the whole route configuration.
		name: "probe at the version, but a route Envoy would reject",
		configs: []*routev3.RouteConfiguration{routeConfig("http.80",
			vhost("a", hosts, probeRoute("v2"), &routev3.Route{
				Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_SafeRegex{
					SafeRegex: &matcherv3.RegexMatcher{Regex: "/[invalid"},
				}},
				Action: plainRoute().GetAction(),
			}))},
		want: []string{"hello.default.example.com", "hello.default.svc.cluster.local"},
	}, {
		name: "probe at the version, but a header value Envoy would reject",
		configs: []*routev3.RouteConfiguration{routeConfig("http.80",
			vhost("a", hosts, probeRoute("v2"), &routev3.Route{
				Match:  plainRoute().GetMatch(),
				Action: plainRoute().GetAction(),
				RequestHeadersToAdd: []*corev3.HeaderValueOption{{
					Header: &corev3.HeaderValue{Key: "X-Bad", Value: "line\nbreak"},
				}},
			}))},
		want: []string{"hello.default.example.com", "hello.default.svc.cluster.local"},
	}, {
		name: "routes without probes (objects istiod rejected)",
		configs: []*routev3.RouteConfiguration{routeConfig("http.80",
			vhost("a", hosts, plainRoute()))},
		want: []string{"hello.default.example.com", "hello.default.svc.cluster.local"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			configs := map[string]routeIndex{}
			for _, rc := range tc.configs {
				configs[rc.GetName()] = indexRoutes(rc)
			}
			got := missingHosts(configs, hosts, "v2")
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("missingHosts() (-want, +got):\n%s", diff)
			}
		})
	}
}
