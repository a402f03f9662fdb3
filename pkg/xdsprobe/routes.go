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
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"k8s.io/apimachinery/pkg/util/sets"
	"knative.dev/networking/pkg/http/header"
)

const (
	listenerTypeURL = "type.googleapis.com/envoy.config.listener.v3.Listener"
	routeTypeURL    = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
	endpointTypeURL = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
	clusterTypeURL  = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
	hcmTypeURL      = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
)

// routeNamesOf returns, sorted and without duplicates, the RouteConfigurations
// that the HTTP connection managers of listeners load over RDS: the names a
// gateway subscribes to after LDS.
func routeNamesOf(listeners []*listenerv3.Listener) ([]string, error) {
	names := sets.New[string]()
	for _, l := range listeners {
		chains := append([]*listenerv3.FilterChain{}, l.GetFilterChains()...)
		if dc := l.GetDefaultFilterChain(); dc != nil {
			chains = append(chains, dc)
		}
		for _, chain := range chains {
			for _, f := range chain.GetFilters() {
				tc := f.GetTypedConfig()
				if tc.GetTypeUrl() != hcmTypeURL {
					continue
				}
				hcm := &hcmv3.HttpConnectionManager{}
				if err := tc.UnmarshalTo(hcm); err != nil {
					return nil, fmt.Errorf("listener %q: filter %q: %w", l.GetName(), f.GetName(), err)
				}
				if name := hcm.GetRds().GetRouteConfigName(); name != "" {
					names.Insert(name)
				}
			}
		}
	}
	return sets.List(names), nil
}

// routeIndex is what readiness needs of one RouteConfiguration: for each
// domain (lower case, without port), the probe versions of every virtual host
// serving it, one set per virtual host. Keeping this instead of the protos
// bounds memory to hosts x versions.
type routeIndex map[string][]sets.Set[string]

// indexRoutes builds the routeIndex of rc. A virtual host that a gateway's
// Envoy would reject counts as serving no version at all: istiod does not
// validate everything it translates (an invalid regular expression in a
// KIngress path reaches the route as is), and Envoy NACKs the whole route
// configuration, so such a KIngress must not turn Ready.
func indexRoutes(rc *routev3.RouteConfiguration) routeIndex {
	out := routeIndex{}
	for _, vh := range rc.GetVirtualHosts() {
		versions := sets.New[string]()
		if rejectable(vh) == nil {
			for _, r := range vh.GetRoutes() {
				if v, ok := probeVersion(r); ok {
					versions.Insert(v)
				}
			}
		}
		seen := sets.New[string]()
		for _, d := range vh.GetDomains() {
			host := domainHost(d)
			if seen.Has(host) {
				continue
			}
			seen.Insert(host)
			out[host] = append(out[host], versions)
		}
	}
	return out
}

// domainHost drops a ":<port>" or ":*" suffix and lower-cases d: Envoy
// matches domains case-insensitively, and a domain with a port serves the
// same host.
func domainHost(d string) string {
	d = strings.ToLower(d)
	if i := strings.LastIndexByte(d, ':'); i > 0 && !strings.HasSuffix(d, "]") {
		if port := d[i+1:]; port == "*" || isPort(port) {
			return d[:i]
		}
	}
	return d
}

func isPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n > 0 && n < 65536
}

// probeVersion is the K-Network-Hash a probe route answers with. A KIngress
// probe route (knative.dev/networking's InsertProbe, resources.withProbes) is
// a VirtualService route matching header K-Network-Hash exactly "override"
// and setting K-Network-Hash to the KIngress's hash; istiod turns that into a
// RouteMatch header matcher with an exact StringMatcher and a route-level
// request_headers_to_add entry.
func probeVersion(r *routev3.Route) (string, bool) {
	matched := false
	for _, h := range r.GetMatch().GetHeaders() {
		if strings.EqualFold(h.GetName(), header.HashKey) && !h.GetInvertMatch() &&
			h.GetStringMatch().GetExact() == header.HashValueOverride {
			matched = true
			break
		}
	}
	if !matched {
		return "", false
	}
	for _, add := range r.GetRequestHeadersToAdd() {
		if strings.EqualFold(add.GetHeader().GetKey(), header.HashKey) {
			return add.GetHeader().GetValue(), true
		}
	}
	return "", false
}

// missingHosts returns, sorted, the hosts the route configurations do not
// serve at version: hosts no virtual host has, and hosts some virtual host
// still serves without that version (another port not updated yet). Every
// virtual host must agree, as every gateway port the HTTP prober probes must.
func missingHosts(configs map[string]routeIndex, hosts []string, version string) []string {
	var missing []string
	for _, host := range hosts {
		host = strings.ToLower(host)
		found, stale := false, false
		for _, idx := range configs {
			for _, versions := range idx[host] {
				found = true
				if !versions.Has(version) {
					stale = true
				}
			}
		}
		if !found || stale {
			missing = append(missing, host)
		}
	}
	sort.Strings(missing)
	return missing
}

// rejectable returns why Envoy would reject vh, or nil: a field its proto
// validation rules refuse, or a regular expression RE2 cannot compile (Go's
// regexp implements RE2's syntax).
func rejectable(vh *routev3.VirtualHost) error {
	if err := vh.Validate(); err != nil {
		return err
	}
	for _, r := range vh.GetRoutes() {
		m := r.GetMatch()
		if re := m.GetSafeRegex(); re != nil {
			if _, err := regexp.Compile(re.GetRegex()); err != nil {
				return fmt.Errorf("route %q: path regex %q: %w", r.GetName(), re.GetRegex(), err)
			}
		}
		for _, h := range m.GetHeaders() {
			if re := h.GetStringMatch().GetSafeRegex(); re != nil {
				if _, err := regexp.Compile(re.GetRegex()); err != nil {
					return fmt.Errorf("route %q: header %q regex %q: %w", r.GetName(), h.GetName(), re.GetRegex(), err)
				}
			}
		}
	}
	return nil
}
