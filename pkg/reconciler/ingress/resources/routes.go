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

package resources

import (
	"maps"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	istiov1beta1 "istio.io/api/networking/v1beta1"
	"k8s.io/apimachinery/pkg/util/sets"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"
	"knative.dev/pkg/network"

	"github.com/serverless-mesh/ssm/pkg/leaseroute"
	"github.com/serverless-mesh/ssm/pkg/policy"
)

// makeRoute is the HTTP route of one KIngress path, matched on the given
// hosts through the given gateways.
func makeRoute(hosts sets.Set[string], path *v1alpha1.HTTPIngressPath, gateways []string,
	policies map[Backend]policy.Policy, leased sets.Set[Backend],
) *istiov1beta1.HTTPRoute {
	prefixes := distinctHostPrefixes(hosts)
	matches := make([]*istiov1beta1.HTTPMatchRequest, 0, len(prefixes))
	for _, prefix := range prefixes {
		matches = append(matches, makeMatch(prefix, path, gateways))
	}

	destinations := make([]*istiov1beta1.HTTPRouteDestination, 0, len(path.Splits))
	for _, split := range path.Splits {
		destinations = append(destinations, &istiov1beta1.HTTPRouteDestination{
			Destination: &istiov1beta1.Destination{
				Host: backendHost(BackendOf(split), leased),
				Port: &istiov1beta1.PortSelector{
					Number: uint32(split.ServicePort.IntValue()), //nolint:gosec // validateRules bounds it to 1-65535.
				},
			},
			Weight:  int32(split.Percent), //nolint:gosec // A KIngress percent is 0-100.
			Headers: setRequestHeaders(split.AppendHeaders),
		})
	}

	route := &istiov1beta1.HTTPRoute{
		Match:   matches,
		Route:   destinations,
		Headers: setRequestHeaders(path.AppendHeaders),
	}
	if path.RewriteHost != "" {
		route.Rewrite = &istiov1beta1.HTTPRewrite{Authority: path.RewriteHost}
	}
	route.Timeout, route.Retries = routeResilience(path.Splits, policies)
	return route
}

// backendHost is the cluster hostname a backend's traffic goes to: its lease
// Service when it is leased, else the Service the KIngress names.
func backendHost(b Backend, leased sets.Set[Backend]) string {
	if leased.Has(b) {
		return network.GetServiceHostname(leaseroute.ServiceName(b.Name), b.Namespace)
	}
	return network.GetServiceHostname(b.Name, b.Namespace)
}

// routeResilience is the timeout and retry policy of a path.
//
// A path whose splits are not all SSM backends gets net-istio's behaviour: no
// timeout, and an empty retry policy, which turns off Istio's default of two
// retries (Knative's conformance suite demands both).
//
// A path whose every split has an SSM policy gets the loosest timeout and the
// most conservative retries of its splits: the route timeout is the largest
// split timeout, or none when any split has none, so no split is cut shorter
// than its own policy allows; the retries are those of the split with the
// fewest (its attempts, retry-on conditions and per-try timeout; the first
// such split in the path on a tie), so no split is retried more than its own
// policy allows.
func routeResilience(splits []v1alpha1.IngressBackendSplit, policies map[Backend]policy.Policy,
) (*durationpb.Duration, *istiov1beta1.HTTPRetry) {
	// Attempts 0, never a nil retries: istiod turns a nil retries into its
	// default policy, 2 attempts on connect-failure, refused-stream,
	// unavailable, cancelled and retriable-status-codes, which also retries
	// gRPC error responses, so a function could run more than once.
	off := &istiov1beta1.HTTPRetry{}
	if len(splits) == 0 {
		return nil, off
	}
	var (
		timeout   time.Duration
		unbounded bool
		fewest    policy.Policy
	)
	for i, split := range splits {
		p, ok := policies[BackendOf(split)]
		if !ok {
			return nil, off
		}
		if p.Timeout <= 0 {
			unbounded = true
		}
		timeout = max(timeout, p.Timeout)
		if i == 0 || p.Retries < fewest.Retries {
			fewest = p
		}
	}

	// Left nil, the route has no timeout: istiod writes 0s (disabled), not
	// Envoy's 15 s default.
	var routeTimeout *durationpb.Duration
	if !unbounded {
		routeTimeout = durationpb.New(timeout)
	}
	if fewest.Retries <= 0 {
		return routeTimeout, off
	}
	// RetryOn is never empty here (policy.Resolve fills in
	// connect-failure,refused-stream): an empty retryOn is Istio's default
	// list above, responses included. Without a per-try timeout each
	// attempt is bounded by the route timeout, Istio's default.
	retry := &istiov1beta1.HTTPRetry{Attempts: fewest.Retries, RetryOn: fewest.RetryOn}
	if fewest.PerTryTimeout > 0 {
		retry.PerTryTimeout = durationpb.New(fewest.PerTryTimeout)
	}
	return routeTimeout, retry
}

// makeMatch matches a host prefix, the path as a prefix (KIngress paths are
// prefixes; an empty path matches everything) and the exact header values.
func makeMatch(hostPrefix string, path *v1alpha1.HTTPIngressPath, gateways []string) *istiov1beta1.HTTPMatchRequest {
	match := &istiov1beta1.HTTPMatchRequest{
		Gateways: slices.Clone(gateways),
		// A prefix, not a regex: it also matches "host:port", and Istio caps
		// regexes at 100 bytes.
		Authority: &istiov1beta1.StringMatch{MatchType: &istiov1beta1.StringMatch_Prefix{Prefix: hostPrefix}},
	}
	if path.Path != "" {
		match.Uri = &istiov1beta1.StringMatch{MatchType: &istiov1beta1.StringMatch_Prefix{Prefix: path.Path}}
	}
	if len(path.Headers) > 0 {
		match.Headers = make(map[string]*istiov1beta1.StringMatch, len(path.Headers))
		for name, value := range path.Headers {
			match.Headers[name] = &istiov1beta1.StringMatch{MatchType: &istiov1beta1.StringMatch_Exact{Exact: value.Exact}}
		}
	}
	return match
}

// setRequestHeaders sets headers on the request; nil when there are none.
// The map is copied so that no two built objects, and no built object and
// the KIngress, share one.
func setRequestHeaders(headers map[string]string) *istiov1beta1.Headers {
	if len(headers) == 0 {
		return nil
	}
	return &istiov1beta1.Headers{
		Request: &istiov1beta1.Headers_HeaderOperations{Set: maps.Clone(headers)},
	}
}

// distinctHostPrefixes turns hosts into the fewest authority prefixes that
// match them all, sorted. A cluster-local name is cut to "name.namespace",
// which prefix-matches every short form of it; a prefix that another prefix
// already covers is dropped, since each prefix becomes one match and Istio
// multiplies matches into its route table.
func distinctHostPrefixes(hosts sets.Set[string]) []string {
	suffix := ".svc." + network.GetClusterDomainName()
	cut := sets.New[string]()
	for h := range hosts {
		cut.Insert(strings.TrimSuffix(h, suffix))
	}
	// Sorted, a prefix comes before everything it covers.
	var out []string
	for _, h := range sets.List(cut) {
		covered := false
		for _, p := range out {
			if strings.HasPrefix(h, p) {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, h)
		}
	}
	return out
}
