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

package config

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type ssmCase struct {
	name string
	data map[string]string
	// wantErr lists what the error must name: key, value, allowed values.
	wantErr []string
	// want edits the literal defaults into the expected SSM.
	want func(*SSM)
}

func runSSMCases(t *testing.T, cases []ssmCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := NewSSMFromConfigMap(configMap(SSMConfigName, tc.data))
			if tc.wantErr != nil {
				wantErrContaining(t, err, tc.wantErr)
				if got != nil {
					t.Errorf("NewSSMFromConfigMap() = %+v, want nil with the error", got)
				}
				return
			}
			if err != nil {
				t.Fatal("NewSSMFromConfigMap() =", err)
			}
			want := defaultSSMLiteral()
			if tc.want != nil {
				tc.want(want)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("NewSSMFromConfigMap() (-want, +got):\n%s", diff)
			}
		})
	}
}

func TestNewSSMFromConfigMapRejects(t *testing.T) {
	t.Parallel()
	runSSMCases(t, []ssmCase{{
		name:    "unknown key (typo)",
		data:    map[string]string{"short-lived-retires": "2"},
		wantErr: []string{`unknown key "short-lived-retires"`, "short-lived-retries", "gateway.<namespace>.<name>"},
	}, {
		name:    "every bad key is reported",
		data:    map[string]string{"min-samples": "x", "bogus": "1"},
		wantErr: []string{`unknown key "bogus"`, `"min-samples": invalid value "x"`},
	}, {
		name:    "readiness-mode unknown",
		data:    map[string]string{"readiness-mode": "grpc"},
		wantErr: []string{`"readiness-mode"`, `"grpc"`, `allowed: "probe", "xds"`},
	}, {
		name:    "readiness-mode empty",
		data:    map[string]string{"readiness-mode": ""},
		wantErr: []string{`"readiness-mode"`, `invalid value ""`, `allowed: "probe", "xds"`},
	}, {
		name:    "sidecarless-revisions is not a boolean",
		data:    map[string]string{"sidecarless-revisions": "yes"},
		wantErr: []string{`"sidecarless-revisions"`, `"yes"`, `allowed: "true", "false"`},
	}, {
		name:    "xds-address without a port",
		data:    map[string]string{"xds-address": "istiod.istio-system.svc"},
		wantErr: []string{`"xds-address"`, `"istiod.istio-system.svc"`, "allowed: host:port, with a port from 1 to 65535", "missing port"},
	}, {
		name:    "xds-address without a host",
		data:    map[string]string{"xds-address": ":15010"},
		wantErr: []string{`"xds-address"`, `":15010"`, "allowed: host:port", "the host is empty"},
	}, {
		name:    "xds-address port out of range",
		data:    map[string]string{"xds-address": "istiod:65536"},
		wantErr: []string{`"xds-address"`, `"istiod:65536"`, `port "65536" is not a number from 1 to 65535`},
	}, {
		name:    "xds-address named port",
		data:    map[string]string{"xds-address": "istiod:grpc"},
		wantErr: []string{`"xds-address"`, `"istiod:grpc"`, `port "grpc" is not a number from 1 to 65535`},
	}, {
		name:    "xds-address with a scheme",
		data:    map[string]string{"xds-address": "http://istiod:15010"},
		wantErr: []string{`"xds-address"`, `"http://istiod:15010"`, "not host:port"},
	}, {
		name:    "default-lifecycle unknown",
		data:    map[string]string{"default-lifecycle": "forever"},
		wantErr: []string{`"default-lifecycle"`, `"forever"`, `"auto", "short-lived", "long-lived"`},
	}, {
		name:    "auto-initial-lifecycle auto",
		data:    map[string]string{"auto-initial-lifecycle": "auto"},
		wantErr: []string{`"auto-initial-lifecycle"`, `invalid value "auto"`, `allowed: "short-lived", "long-lived"`},
	}, {
		name:    "auto-initial-lifecycle unknown",
		data:    map[string]string{"auto-initial-lifecycle": "medium"},
		wantErr: []string{`"auto-initial-lifecycle"`, `"medium"`, `"short-lived", "long-lived"`},
	}, {
		name:    "short-lived-threshold zero",
		data:    map[string]string{"short-lived-threshold": "0s"},
		wantErr: []string{`"short-lived-threshold"`, `"0s"`, "a Go duration > 0"},
	}, {
		name:    "long-lived-threshold not a duration",
		data:    map[string]string{"long-lived-threshold": "ten"},
		wantErr: []string{`"long-lived-threshold"`, `"ten"`, "a Go duration > 0"},
	}, {
		name:    "thresholds inverted",
		data:    map[string]string{"short-lived-threshold": "5s", "long-lived-threshold": "2s"},
		wantErr: []string{`"long-lived-threshold" (2s)`, `"short-lived-threshold" (5s)`, "must not be below"},
	}, {
		name:    "timeout-multiplier below 1",
		data:    map[string]string{"timeout-multiplier": "0.5"},
		wantErr: []string{`"timeout-multiplier"`, `"0.5"`, "a finite number >= 1"},
	}, {
		name:    "timeout-multiplier NaN",
		data:    map[string]string{"timeout-multiplier": "NaN"},
		wantErr: []string{`"timeout-multiplier"`, `"NaN"`, "a finite number >= 1"},
	}, {
		name:    "timeout-multiplier infinite",
		data:    map[string]string{"timeout-multiplier": "+Inf"},
		wantErr: []string{`"timeout-multiplier"`, `"+Inf"`, "a finite number >= 1"},
	}, {
		name:    "timeout-multiplier not a number",
		data:    map[string]string{"timeout-multiplier": "four"},
		wantErr: []string{`"timeout-multiplier"`, `"four"`, "a finite number >= 1"},
	}, {
		name:    "min-timeout zero",
		data:    map[string]string{"min-timeout": "0s"},
		wantErr: []string{`"min-timeout"`, `"0s"`, "a Go duration > 0"},
	}, {
		name:    "min-samples zero",
		data:    map[string]string{"min-samples": "0"},
		wantErr: []string{`"min-samples"`, `"0"`, "an integer >= 1"},
	}, {
		name:    "min-samples not an integer",
		data:    map[string]string{"min-samples": "1.5"},
		wantErr: []string{`"min-samples"`, `"1.5"`, "an integer >= 1"},
	}, {
		name:    "observation-window below 10s",
		data:    map[string]string{"observation-window": "5s"},
		wantErr: []string{`"observation-window": invalid value "5s"`, "a Go duration from 10s to 1h", "5s is outside [10s, 1h0m0s]"},
	}, {
		name:    "observation-dwell-windows negative",
		data:    map[string]string{"observation-dwell-windows": "-1"},
		wantErr: []string{`"observation-dwell-windows": invalid value "-1"`, "an integer from 0 to 12"},
	}, {
		name:    "observation-scrape-interval not a duration",
		data:    map[string]string{"observation-scrape-interval": "often"},
		wantErr: []string{`"observation-scrape-interval": invalid value "often"`, "a Go duration from 1s to 5m"},
	}, {
		name:    "observation-scrape-interval longer than the window",
		data:    map[string]string{"observation-window": "20s", "observation-scrape-interval": "30s"},
		wantErr: []string{`"observation-scrape-interval" (30s) is longer than "observation-window" (20s)`},
	}, {
		name:    "observation-window of more than 60 scrapes",
		data:    map[string]string{"observation-window": "1h", "observation-scrape-interval": "10s"},
		wantErr: []string{`"observation-window" (1h0m0s) holds more than 60 scrapes of "observation-scrape-interval" (10s)`},
	}, {
		name:    "short-lived full mTLS with a pool",
		data:    map[string]string{"short-lived-mtls-mode": "full"},
		wantErr: []string{`"short-lived-mtls-mode" "full"`, `"short-lived-proxy-pool" "default"`, `"none"`},
	}, {
		name:    "long-lived pool with full mTLS",
		data:    map[string]string{"long-lived-proxy-pool": "big"},
		wantErr: []string{`"long-lived-mtls-mode" "full"`, `"long-lived-proxy-pool" "big"`, `"lightweight"`},
	}})
}

// TestClassKeysRejects runs the same bad values through both class prefixes.
func TestClassKeysRejects(t *testing.T) {
	t.Parallel()
	bad := []struct{ key, value, allowed string }{
		{"retries", "-1", "an integer >= 0"},
		{"retries", "11", "an integer >= 0"},
		{"retries", "two", "an integer >= 0"},
		{"retry-on", "5xx,bogus", "a comma-separated list of 5xx, gateway-error"},
		{"retry-on", "5xx,,reset", "a comma-separated list of"},
		{"retry-on", "999", "a comma-separated list of"},
		{"mtls-mode", "strict", `"lightweight", "full"`},
		{"proxy-pool", "Big_Pool", `a ProxyPool name (DNS-1123 label) or "none"`},
		{"proxy-pool", "", `a ProxyPool name (DNS-1123 label) or "none"`},
		{"max-connections", "-1", "an integer >= 0"},
		{"max-connections", "2147483648", "an integer >= 0"},
		{"max-pending-requests", "-5", "an integer >= 0"},
		{"max-requests-per-connection", "x", "an integer >= 0"},
		{"idle-timeout", "-1s", "a Go duration >= 0"},
		{"idle-timeout", "30", "a Go duration >= 0"},
		{"consecutive-gateway-errors", "-3", "an integer >= 0"},
		{"outlier-interval", "-1s", "a Go duration >= 0"},
		{"base-ejection-time", "soon", "a Go duration >= 0"},
		{"max-ejection-percent", "101", "an integer from 0 to 100"},
		{"max-ejection-percent", "-1", "an integer from 0 to 100"},
	}
	var cases []ssmCase
	for _, prefix := range []string{"short-lived-", "long-lived-"} {
		for _, b := range bad {
			key := prefix + b.key
			cases = append(cases, ssmCase{
				name:    key + "=" + b.value,
				data:    map[string]string{key: b.value},
				wantErr: []string{`"` + key + `"`, `invalid value "` + b.value + `"`, "allowed: " + b.allowed},
			})
		}
	}
	runSSMCases(t, cases)
}

func TestNewSSMFromConfigMapAccepts(t *testing.T) {
	t.Parallel()
	runSSMCases(t, []ssmCase{{
		name: "nil data",
	}, {
		name: "only _example",
		data: map[string]string{"_example": "anything: at all"},
	}, {
		name: "readiness-mode probe",
		data: map[string]string{"readiness-mode": " probe "},
	}, {
		name: "readiness-mode xds",
		data: map[string]string{"readiness-mode": "xds"},
		want: func(s *SSM) { s.Readiness = "xds" },
	}, {
		name: "xds-address",
		data: map[string]string{"readiness-mode": "xds", "xds-address": " 127.0.0.1:15010 "},
		want: func(s *SSM) {
			s.Readiness = "xds"
			s.XDSAddress = "127.0.0.1:15010"
		},
	}, {
		name: "xds-address IPv6",
		data: map[string]string{"xds-address": "[::1]:15010"},
		want: func(s *SSM) { s.XDSAddress = "[::1]:15010" },
	}, {
		name: "observation compressed for a test",
		data: map[string]string{"observation-window": "10s", "observation-dwell-windows": "0", "observation-scrape-interval": "1s"},
		want: func(s *SSM) {
			s.Observation = Observation{Window: 10 * time.Second, DwellWindows: 0, ScrapeInterval: time.Second}
		},
	}, {
		name: "default-lifecycle",
		data: map[string]string{"default-lifecycle": "short-lived"},
		want: func(s *SSM) { s.Policy.Lifecycle = "short-lived" },
	}, {
		name: "auto-initial-lifecycle",
		data: map[string]string{"auto-initial-lifecycle": "short-lived"},
		want: func(s *SSM) { s.Policy.AutoInitial = "short-lived" },
	}, {
		name: "thresholds",
		data: map[string]string{"short-lived-threshold": "500ms", "long-lived-threshold": "1m"},
		want: func(s *SSM) {
			s.Policy.ShortLivedThreshold = 500 * time.Millisecond
			s.Policy.LongLivedThreshold = time.Minute
		},
	}, {
		name: "equal thresholds",
		data: map[string]string{"short-lived-threshold": "2s", "long-lived-threshold": "2s"},
		want: func(s *SSM) {
			s.Policy.ShortLivedThreshold = 2 * time.Second
			s.Policy.LongLivedThreshold = 2 * time.Second
		},
	}, {
		name: "timeout-multiplier exactly 1",
		data: map[string]string{"timeout-multiplier": "1"},
		want: func(s *SSM) { s.Policy.TimeoutMultiplier = 1 },
	}, {
		name: "timeout-multiplier fractional",
		data: map[string]string{"timeout-multiplier": "2.5"},
		want: func(s *SSM) { s.Policy.TimeoutMultiplier = 2.5 },
	}, {
		name: "min-timeout",
		data: map[string]string{"min-timeout": "250ms"},
		want: func(s *SSM) { s.Policy.MinTimeout = 250 * time.Millisecond },
	}, {
		name: "min-samples",
		data: map[string]string{"min-samples": "1"},
		want: func(s *SSM) { s.Policy.MinSamples = 1 },
	}, {
		name: "every short-lived key",
		data: map[string]string{
			"short-lived-retries":                     "0",
			"short-lived-retry-on":                    " 5xx, 503 ,reset ",
			"short-lived-mtls-mode":                   "lightweight",
			"short-lived-proxy-pool":                  "fast-pool",
			"short-lived-max-connections":             "100",
			"short-lived-max-pending-requests":        "10",
			"short-lived-max-requests-per-connection": "1",
			"short-lived-idle-timeout":                "0s",
			"short-lived-consecutive-gateway-errors":  "0",
			"short-lived-outlier-interval":            "1m",
			"short-lived-base-ejection-time":          "0s",
			"short-lived-max-ejection-percent":        "100",
		},
		want: func(s *SSM) {
			c := &s.Policy.ShortLived
			c.Retries = 0
			c.RetryOn = "5xx,503,reset"
			c.ProxyPool = "fast-pool"
			c.ConnectionPool.MaxConnections = 100
			c.ConnectionPool.MaxPendingRequests = 10
			c.ConnectionPool.MaxRequestsPerConnection = 1
			c.ConnectionPool.IdleTimeout = 0
			c.OutlierDetection.ConsecutiveGatewayErrors = 0
			c.OutlierDetection.Interval = time.Minute
			c.OutlierDetection.BaseEjectionTime = 0
			c.OutlierDetection.MaxEjectionPercent = 100
		},
	}, {
		name: "every long-lived key",
		data: map[string]string{
			"long-lived-retries":                     "10",
			"long-lived-retry-on":                    "",
			"long-lived-mtls-mode":                   "lightweight",
			"long-lived-proxy-pool":                  "slow",
			"long-lived-max-connections":             "2147483647",
			"long-lived-max-pending-requests":        "0",
			"long-lived-max-requests-per-connection": "7",
			"long-lived-idle-timeout":                "1h",
			"long-lived-consecutive-gateway-errors":  "9",
			"long-lived-outlier-interval":            "5s",
			"long-lived-base-ejection-time":          "2m",
			"long-lived-max-ejection-percent":        "0",
		},
		want: func(s *SSM) {
			c := &s.Policy.LongLived
			c.Retries = 10
			c.RetryOn = ""
			c.MTLSMode = "lightweight"
			c.ProxyPool = "slow"
			c.ConnectionPool.MaxConnections = 2147483647
			c.ConnectionPool.MaxRequestsPerConnection = 7
			c.ConnectionPool.IdleTimeout = time.Hour
			c.OutlierDetection.ConsecutiveGatewayErrors = 9
			c.OutlierDetection.Interval = 5 * time.Second
			c.OutlierDetection.BaseEjectionTime = 2 * time.Minute
			c.OutlierDetection.MaxEjectionPercent = 0
		},
	}, {
		name: "short-lived full mTLS without a pool",
		data: map[string]string{"short-lived-mtls-mode": "full", "short-lived-proxy-pool": "none"},
		want: func(s *SSM) {
			s.Policy.ShortLived.MTLSMode = "full"
			s.Policy.ShortLived.ProxyPool = "none"
		},
	}})
}

func TestSidecarlessRevisions(t *testing.T) {
	t.Parallel()
	runSSMCases(t, []ssmCase{{
		name: "on",
		data: map[string]string{"sidecarless-revisions": "true"},
		want: func(s *SSM) { s.SidecarlessRevisions = true },
	}, {
		name: "off, as by default",
		data: map[string]string{"sidecarless-revisions": "false"},
	}})
}
