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
	"testing"
	"time"

	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestParseRetryOn(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    string
		wantErr string
	}{
		{in: "connect-failure", want: "connect-failure"},
		{in: "connect-failure,refused-stream", want: "connect-failure,refused-stream"},
		{in: " connect-failure , refused-stream ", want: "connect-failure,refused-stream"},
		{in: "5xx,gateway-error,reset,reset-before-request,envoy-ratelimited,retriable-4xx,http3-post-connect-failure",
			want: "5xx,gateway-error,reset,reset-before-request,envoy-ratelimited,retriable-4xx,http3-post-connect-failure"},
		{in: "cancelled,deadline-exceeded,internal,resource-exhausted,unavailable",
			want: "cancelled,deadline-exceeded,internal,resource-exhausted,unavailable"},
		{in: "", wantErr: "retry_on is empty: want a comma-separated list of 5xx, gateway-error, reset, " +
			"reset-before-request, connect-failure, envoy-ratelimited, retriable-4xx, refused-stream, " +
			"http3-post-connect-failure, cancelled, deadline-exceeded, internal, resource-exhausted, unavailable"},
		{in: "  ", wantErr: "retry_on is empty: want a comma-separated list of 5xx"},
		{in: "connect-failure,", wantErr: `retry_on condition "" is not one of 5xx`},
		{in: "Connect-Failure", wantErr: `retry_on condition "Connect-Failure" is not one of 5xx`},
		{in: "503", wantErr: `retry_on condition "503" is not one of 5xx`},
		{in: "retriable-status-codes", wantErr: `retry_on condition "retriable-status-codes" is not one of 5xx`},
		{in: "retriable-headers", wantErr: `retry_on condition "retriable-headers" is not one of 5xx`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseRetryOn(tc.in)
			if tc.wantErr != "" {
				if err == nil || len(err.Error()) < len(tc.wantErr) || err.Error()[:len(tc.wantErr)] != tc.wantErr {
					t.Fatalf("ParseRetryOn(%q) error = %v, want prefix %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("ParseRetryOn(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestClusterRoute(t *testing.T) {
	t.Parallel()
	retry, err := RetryPolicy(3, "connect-failure, refused-stream", 0)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		timeout time.Duration
		retry   *route.RetryPolicy
		want    *route.Route
	}{{
		name:    "no timeout is an explicit 0s",
		timeout: 0,
		want: &route.Route{
			Name:  "r",
			Match: &route.RouteMatch{PathSpecifier: &route.RouteMatch_Prefix{Prefix: "/"}},
			Action: &route.Route_Route{Route: &route.RouteAction{
				ClusterSpecifier: &route.RouteAction_Cluster{Cluster: "c"},
				Timeout:          &durationpb.Duration{},
			}},
		},
	}, {
		name:    "timeout and retries without per-try timeout",
		timeout: 1500 * time.Millisecond,
		retry:   retry,
		want: &route.Route{
			Name:  "r",
			Match: &route.RouteMatch{PathSpecifier: &route.RouteMatch_Prefix{Prefix: "/"}},
			Action: &route.Route_Route{Route: &route.RouteAction{
				ClusterSpecifier: &route.RouteAction_Cluster{Cluster: "c"},
				Timeout:          &durationpb.Duration{Seconds: 1, Nanos: 500_000_000},
				RetryPolicy: &route.RetryPolicy{
					RetryOn:    "connect-failure,refused-stream",
					NumRetries: &wrapperspb.UInt32Value{Value: 3},
				},
			}},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := ClusterRoute("r", "/", "c", tc.timeout, tc.retry)
			if diff := cmp.Diff(tc.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("ClusterRoute (-want +got):\n%s", diff)
			}
			if err := got.ValidateAll(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestRetryPolicyPerTryTimeout(t *testing.T) {
	t.Parallel()
	got, err := RetryPolicy(1, "connect-failure", 250*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	want := &route.RetryPolicy{
		RetryOn:       "connect-failure",
		NumRetries:    &wrapperspb.UInt32Value{Value: 1},
		PerTryTimeout: &durationpb.Duration{Nanos: 250_000_000},
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("RetryPolicy (-want +got):\n%s", diff)
	}
	if _, err := RetryPolicy(1, "bogus", 0); err == nil {
		t.Error("RetryPolicy accepted an unknown condition")
	}
}
