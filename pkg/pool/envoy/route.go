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
	"fmt"
	"sort"
	"strings"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcher "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// RouteConfiguration holds the given virtual hosts.
func RouteConfiguration(name string, vhosts ...*route.VirtualHost) *route.RouteConfiguration {
	return &route.RouteConfiguration{Name: name, VirtualHosts: vhosts}
}

// VirtualHost matches the given domains and holds the given routes.
func VirtualHost(name string, domains []string, routes ...*route.Route) *route.VirtualHost {
	return &route.VirtualHost{Name: name, Domains: domains, Routes: routes}
}

// ClusterRoute sends every request whose path starts with prefix to cluster.
// timeout is always written out, because an absent timeout is Envoy's 15 s
// default, which would cut long requests: 0 disables the route timeout.
// retry may be nil (no retries).
func ClusterRoute(name, prefix, cluster string, timeout time.Duration, retry *route.RetryPolicy) *route.Route {
	return &route.Route{
		Name:  name,
		Match: &route.RouteMatch{PathSpecifier: &route.RouteMatch_Prefix{Prefix: prefix}},
		Action: &route.Route_Route{Route: &route.RouteAction{
			ClusterSpecifier: &route.RouteAction_Cluster{Cluster: cluster},
			Timeout:          durationpb.New(timeout),
			RetryPolicy:      retry,
		}},
	}
}

// WithExactHeaders makes r match only requests carrying every header with
// exactly the given value (names in lower case, sorted for determinism).
func WithExactHeaders(r *route.Route, headers map[string]string) *route.Route {
	names := make([]string, 0, len(headers))
	for n := range headers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		r.Match.Headers = append(r.Match.Headers, &route.HeaderMatcher{
			Name: n,
			HeaderMatchSpecifier: &route.HeaderMatcher_StringMatch{StringMatch: &matcher.StringMatcher{
				MatchPattern: &matcher.StringMatcher_Exact{Exact: headers[n]},
			}},
		})
	}
	return r
}

// PrefixDirectResponseRoute answers every request under prefix with status
// and body, without any upstream.
func PrefixDirectResponseRoute(name, prefix string, status uint32, body string) *route.Route {
	return &route.Route{
		Name:  name,
		Match: &route.RouteMatch{PathSpecifier: &route.RouteMatch_Prefix{Prefix: prefix}},
		Action: &route.Route_DirectResponse{DirectResponse: &route.DirectResponseAction{
			Status: status,
			Body:   &core.DataSource{Specifier: &core.DataSource_InlineString{InlineString: body}},
		}},
	}
}

// DirectResponseRoute answers requests for exactly path with status and no
// body, without any upstream.
func DirectResponseRoute(name, path string, status uint32) *route.Route {
	return &route.Route{
		Name:   name,
		Match:  &route.RouteMatch{PathSpecifier: &route.RouteMatch_Path{Path: path}},
		Action: &route.Route_DirectResponse{DirectResponse: &route.DirectResponseAction{Status: status}},
	}
}

// RetryPolicy retries up to numRetries times on the conditions of retryOn
// (see ParseRetryOn). perTryTimeout 0 leaves each attempt bounded only by the
// route timeout.
func RetryPolicy(numRetries uint32, retryOn string, perTryTimeout time.Duration) (*route.RetryPolicy, error) {
	conditions, err := ParseRetryOn(retryOn)
	if err != nil {
		return nil, err
	}
	p := &route.RetryPolicy{
		RetryOn:    conditions,
		NumRetries: wrapperspb.UInt32(numRetries),
	}
	if perTryTimeout > 0 {
		p.PerTryTimeout = durationpb.New(perTryTimeout)
	}
	return p, nil
}

// knownRetryConditions are the x-envoy-retry-on and x-envoy-retry-grpc-on
// conditions accepted here. Envoy also knows "retriable-status-codes" and
// "retriable-headers", but they retry nothing without a list of codes or
// headers, which a policy has no field for: accepting them would configure
// retries that silently never happen.
const knownRetryConditions = "5xx, gateway-error, reset, reset-before-request, connect-failure, " +
	"envoy-ratelimited, retriable-4xx, refused-stream, http3-post-connect-failure, " +
	"cancelled, deadline-exceeded, internal, resource-exhausted, unavailable"

func isRetryCondition(token string) bool {
	switch token {
	case "5xx", "gateway-error", "reset", "reset-before-request", "connect-failure",
		"envoy-ratelimited", "retriable-4xx", "refused-stream", "http3-post-connect-failure",
		"cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable":
		return true
	}
	return false
}

// ParseRetryOn checks a comma-separated list of retry conditions (Istio's
// retryOn spelling, e.g. "connect-failure,refused-stream") against the
// conditions Envoy knows and returns it normalised: tokens trimmed, joined by
// ",". An empty list is an error: a retry policy without conditions never
// retries.
func ParseRetryOn(retryOn string) (string, error) {
	if strings.TrimSpace(retryOn) == "" {
		return "", fmt.Errorf("retry_on is empty: want a comma-separated list of %s", knownRetryConditions)
	}
	tokens := strings.Split(retryOn, ",")
	out := make([]string, 0, len(tokens))
	for _, t := range tokens {
		t = strings.TrimSpace(t)
		if !isRetryCondition(t) {
			return "", fmt.Errorf("retry_on condition %q is not one of %s", t, knownRetryConditions)
		}
		out = append(out, t)
	}
	return strings.Join(out, ","), nil
}

// WithoutResponseHeaders makes r remove the named headers from every
// response it passes on, so that an upstream cannot send them to the client.
func WithoutResponseHeaders(r *route.Route, names ...string) *route.Route {
	r.ResponseHeadersToRemove = append(r.ResponseHeadersToRemove, names...)
	return r
}

// WithResponseHeader makes r set header name to value on its responses,
// replacing any value already there.
func WithResponseHeader(r *route.Route, name, value string) *route.Route {
	r.ResponseHeadersToAdd = append(r.ResponseHeadersToAdd, &core.HeaderValueOption{
		Header:       &core.HeaderValue{Key: name, Value: value},
		AppendAction: core.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
	})
	return r
}
