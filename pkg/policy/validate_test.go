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

package policy

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestOverridesValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   Overrides
		// want are substrings of the error; nil means valid.
		want []string
	}{
		{"bad lifecycle", Overrides{Lifecycle: ptr(Lifecycle("sometimes"))},
			[]string{`invalid value: "sometimes": lifecycle`, "must be one of: auto, short-lived, long-lived"}},
		{"zero timeout", Overrides{Timeout: ptr(time.Duration(0))},
			[]string{"invalid value: 0s: timeout", "greater than 0 and at most 1h0m0s"}},
		{"retries above max", Overrides{Retries: ptr[int32](11)},
			[]string{"invalid value: 11: retries", "retries must be an integer from 0 to 10"}},
		{"bad mtls", Overrides{MTLSMode: ptr(MTLSMode("STRICT"))},
			[]string{`invalid value: "STRICT": mtlsMode`, "mtlsMode must be one of: lightweight, full"}},
		{"bad pool", Overrides{ProxyPool: ptr("")},
			[]string{`invalid value: "": proxyPool`, "proxyPool must be none or a ProxyPool name"}},
		{"full mTLS and named pool", Overrides{MTLSMode: ptr(MTLSFull), ProxyPool: ptr("warm")},
			[]string{`mtlsMode "full" conflicts with proxyPool "warm"`, ": mtlsMode, proxyPool"}},
		{"negative connection pool", Overrides{ConnectionPool: ConnectionPoolOverrides{
			MaxConnections:           ptr[int32](-1),
			MaxPendingRequests:       ptr[int32](-2),
			MaxRequestsPerConnection: ptr[int32](-3),
			IdleTimeout:              ptr(-time.Second),
		}}, []string{
			"invalid value: -1: connectionPool.maxConnections\nmaxConnections must not be negative",
			"invalid value: -2: connectionPool.maxPendingRequests\nmaxPendingRequests must not be negative",
			"invalid value: -3: connectionPool.maxRequestsPerConnection\nmaxRequestsPerConnection must not be negative",
			"invalid value: -1s: connectionPool.idleTimeout\nidleTimeout must not be negative",
		}},
		{"bad outlier detection", Overrides{OutlierDetection: OutlierDetectionOverrides{
			ConsecutiveGatewayErrors: ptr[int32](-1),
			Interval:                 ptr(-time.Second),
			BaseEjectionTime:         ptr(-time.Minute),
			MaxEjectionPercent:       ptr[int32](101),
		}}, []string{
			"invalid value: -1: outlierDetection.consecutiveGatewayErrors",
			"invalid value: -1s: outlierDetection.interval",
			"invalid value: -1m0s: outlierDetection.baseEjectionTime",
			"invalid value: 101: outlierDetection.maxEjectionPercent\nmaxEjectionPercent must be from 0 to 100",
		}},
		{"negative ejection percent", Overrides{OutlierDetection: OutlierDetectionOverrides{MaxEjectionPercent: ptr[int32](-1)}},
			[]string{"invalid value: -1: outlierDetection.maxEjectionPercent"}},
		{"empty", Overrides{}, nil},
		{"everything valid", Overrides{
			Lifecycle: ptr(LifecycleLongLived),
			Timeout:   ptr(time.Hour),
			Retries:   ptr[int32](0),
			MTLSMode:  ptr(MTLSFull),
			ProxyPool: ptr("none"),
			ConnectionPool: ConnectionPoolOverrides{
				MaxConnections: ptr[int32](0), IdleTimeout: ptr(time.Duration(0)),
			},
			OutlierDetection: OutlierDetectionOverrides{
				MaxEjectionPercent: ptr[int32](100), Interval: ptr(time.Second),
			},
		}, nil},
		{"lightweight with named pool", Overrides{MTLSMode: ptr(MTLSLightweight), ProxyPool: ptr("warm")}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.in.Validate()
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate() = nil, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err.Error(), w)
				}
			}
		})
	}
}

func TestDefaultsValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		modify func(*Defaults)
		want   []string
	}{
		{"lifecycle empty", func(d *Defaults) { d.Lifecycle = "" },
			[]string{`Lifecycle: invalid lifecycle "": must be one of: auto, short-lived, long-lived`}},
		{"short threshold zero", func(d *Defaults) { d.ShortLivedThreshold = 0 },
			[]string{"ShortLivedThreshold 0s: must be greater than 0"}},
		{"long below short", func(d *Defaults) { d.LongLivedThreshold = 500 * time.Millisecond },
			[]string{"LongLivedThreshold 500ms: must not be below ShortLivedThreshold 1s"}},
		{"multiplier below one", func(d *Defaults) { d.TimeoutMultiplier = 0.5 },
			[]string{"TimeoutMultiplier 0.5: must be a finite number of at least 1"}},
		{"multiplier NaN", func(d *Defaults) { d.TimeoutMultiplier = math.NaN() },
			[]string{"TimeoutMultiplier NaN: must be a finite number of at least 1"}},
		{"multiplier infinite", func(d *Defaults) { d.TimeoutMultiplier = math.Inf(1) },
			[]string{"TimeoutMultiplier +Inf: must be a finite number of at least 1"}},
		{"min timeout zero", func(d *Defaults) { d.MinTimeout = 0 },
			[]string{"MinTimeout 0s: must be greater than 0"}},
		{"min samples negative", func(d *Defaults) { d.MinSamples = -1 },
			[]string{"MinSamples -1: must not be negative"}},
		{"auto initial auto", func(d *Defaults) { d.AutoInitial = LifecycleAuto },
			[]string{`AutoInitial "auto": must be one of: short-lived, long-lived`}},
		{"class retries", func(d *Defaults) { d.ShortLived.Retries = 11 },
			[]string{"ShortLived: Retries: invalid retries 11: must be an integer from 0 to 10"}},
		{"class mtls", func(d *Defaults) { d.LongLived.MTLSMode = "" },
			[]string{`LongLived: MTLSMode: invalid mTLS mode "": must be one of: lightweight, full`}},
		{"class pool name", func(d *Defaults) { d.ShortLived.ProxyPool = "Warm" },
			[]string{`ShortLived: ProxyPool: invalid proxy pool "Warm"`}},
		{"class full with pool", func(d *Defaults) { d.LongLived.ProxyPool = "warm" },
			[]string{`LongLived: MTLSMode "full" conflicts with ProxyPool "warm"`}},
		{"class outlier percent", func(d *Defaults) { d.ShortLived.OutlierDetection.MaxEjectionPercent = 200 },
			[]string{"ShortLived: invalid value: 200: outlierDetection.maxEjectionPercent"}},
		{"several at once", func(d *Defaults) { d.MinTimeout = 0; d.AutoInitial = "" },
			[]string{"MinTimeout 0s: must be greater than 0", `AutoInitial "": must be one of: short-lived, long-lived`}},
		{"built-in defaults", func(*Defaults) {}, nil},
		{"equal thresholds", func(d *Defaults) { d.LongLivedThreshold = d.ShortLivedThreshold }, nil},
		{"class without pool", func(d *Defaults) { d.ShortLived.ProxyPool = "" }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := NewDefaults()
			tc.modify(&d)
			err := d.Validate()
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate() = nil, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err.Error(), w)
				}
			}
		})
	}
}
