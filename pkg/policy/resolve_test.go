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
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testDefaults differ from NewDefaults where that makes a source visible: the
// long-lived class names no RetryOn, the short-lived class has a connection
// limit, and the outlier settings differ per class.
func testDefaults() Defaults {
	return Defaults{
		Lifecycle:           LifecycleAuto,
		ShortLivedThreshold: time.Second,
		LongLivedThreshold:  10 * time.Second,
		TimeoutMultiplier:   4,
		MinTimeout:          time.Second,
		MinSamples:          20,
		AutoInitial:         LifecycleLongLived,
		ShortLived: ClassDefaults{
			Retries:          1,
			RetryOn:          "connect-failure",
			MTLSMode:         MTLSLightweight,
			ProxyPool:        "warm",
			ConnectionPool:   ConnectionPool{MaxConnections: 100, IdleTimeout: 30 * time.Second},
			OutlierDetection: OutlierDetection{ConsecutiveGatewayErrors: 5, Interval: 10 * time.Second, BaseEjectionTime: 30 * time.Second, MaxEjectionPercent: 50},
		},
		LongLived: ClassDefaults{
			Retries:          3,
			MTLSMode:         MTLSFull,
			ProxyPool:        NoProxyPool,
			ConnectionPool:   ConnectionPool{IdleTimeout: 5 * time.Minute},
			OutlierDetection: OutlierDetection{ConsecutiveGatewayErrors: 3, Interval: 30 * time.Second, BaseEjectionTime: time.Minute, MaxEjectionPercent: 20},
		},
	}
}

// longPolicy is what testDefaults give an "auto" revision with nothing
// observed and a 5m timeoutSeconds.
func longPolicy(modify ...func(*Policy)) Policy {
	p := Policy{
		Declared:         LifecycleAuto,
		Lifecycle:        LifecycleLongLived,
		Timeout:          5 * time.Minute,
		Retries:          3,
		RetryOn:          "connect-failure,refused-stream",
		MTLSMode:         MTLSFull,
		ProxyPool:        "",
		ConnectionPool:   ConnectionPool{IdleTimeout: 5 * time.Minute},
		OutlierDetection: OutlierDetection{ConsecutiveGatewayErrors: 3, Interval: 30 * time.Second, BaseEjectionTime: time.Minute, MaxEjectionPercent: 20},
		Sources: map[string]Source{
			"Lifecycle": "config-ssm",
			"Timeout":   "Revision",
			"Retries":   "config-ssm",
			"MTLSMode":  "config-ssm",
			"ProxyPool": "config-ssm",
		},
	}
	for _, m := range modify {
		m(&p)
	}
	return p
}

// shortPolicy is the short-lived counterpart of longPolicy.
func shortPolicy(modify ...func(*Policy)) Policy {
	p := Policy{
		Declared:         LifecycleAuto,
		Lifecycle:        LifecycleShortLived,
		Timeout:          5 * time.Minute,
		Retries:          1,
		RetryOn:          "connect-failure",
		MTLSMode:         MTLSLightweight,
		ProxyPool:        "warm",
		ConnectionPool:   ConnectionPool{MaxConnections: 100, IdleTimeout: 30 * time.Second},
		OutlierDetection: OutlierDetection{ConsecutiveGatewayErrors: 5, Interval: 10 * time.Second, BaseEjectionTime: 30 * time.Second, MaxEjectionPercent: 50},
		Sources: map[string]Source{
			"Lifecycle": "config-ssm",
			"Timeout":   "Revision",
			"Retries":   "config-ssm",
			"MTLSMode":  "config-ssm",
			"ProxyPool": "config-ssm",
		},
	}
	for _, m := range modify {
		m(&p)
	}
	return p
}

func TestResolve(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   Input
		want Policy
	}{{
		name: "nothing declared, nothing observed: AutoInitial, revision timeout",
		in:   Input{Defaults: testDefaults(), RevisionTimeout: 5 * time.Minute},
		want: longPolicy(),
	}, {
		name: "annotation lifecycle over policy",
		in: Input{
			Annotations:     Overrides{Lifecycle: ptr(LifecycleShortLived)},
			Policy:          &Overrides{Lifecycle: ptr(LifecycleLongLived)},
			Defaults:        testDefaults(),
			RevisionTimeout: 5 * time.Minute,
		},
		want: shortPolicy(func(p *Policy) {
			p.Declared = LifecycleShortLived
			p.Sources["Lifecycle"] = "annotation"
		}),
	}, {
		name: "policy lifecycle over default",
		in: Input{
			Policy:          &Overrides{Lifecycle: ptr(LifecycleShortLived)},
			Defaults:        testDefaults(),
			RevisionTimeout: 5 * time.Minute,
		},
		want: shortPolicy(func(p *Policy) {
			p.Declared = LifecycleShortLived
			p.Sources["Lifecycle"] = "ServerlessPolicy"
		}),
	}, {
		name: "annotation auto over policy long-lived, nothing observed",
		in: Input{
			Annotations:     Overrides{Lifecycle: ptr(LifecycleAuto)},
			Policy:          &Overrides{Lifecycle: ptr(LifecycleShortLived)},
			Defaults:        testDefaults(),
			RevisionTimeout: 5 * time.Minute,
		},
		want: longPolicy(func(p *Policy) { p.Sources["Lifecycle"] = "annotation" }),
	}, {
		name: "annotation retries 0 over policy retries",
		in: Input{
			Annotations:     Overrides{Retries: ptr[int32](0)},
			Policy:          &Overrides{Retries: ptr[int32](5)},
			Defaults:        testDefaults(),
			RevisionTimeout: 5 * time.Minute,
		},
		want: longPolicy(func(p *Policy) {
			p.Retries, p.RetryOn = 0, ""
			p.Sources["Retries"] = "annotation"
		}),
	}, {
		name: "policy retries over class default keep the class's retryOn",
		in: Input{
			Policy:          &Overrides{Lifecycle: ptr(LifecycleShortLived), Retries: ptr[int32](5)},
			Defaults:        testDefaults(),
			RevisionTimeout: 5 * time.Minute,
		},
		want: shortPolicy(func(p *Policy) {
			p.Declared = LifecycleShortLived
			p.Retries = 5
			p.Sources["Lifecycle"] = "ServerlessPolicy"
			p.Sources["Retries"] = "ServerlessPolicy"
		}),
	}, {
		name: "annotation mTLS over policy",
		in: Input{
			Annotations:     Overrides{MTLSMode: ptr(MTLSLightweight)},
			Policy:          &Overrides{MTLSMode: ptr(MTLSFull)},
			Defaults:        testDefaults(),
			RevisionTimeout: 5 * time.Minute,
		},
		want: longPolicy(func(p *Policy) {
			p.MTLSMode = MTLSLightweight
			p.Sources["MTLSMode"] = "annotation"
		}),
	}, {
		name: "policy pool over class default",
		in: Input{
			Policy:          &Overrides{Lifecycle: ptr(LifecycleShortLived), ProxyPool: ptr("fast")},
			Defaults:        testDefaults(),
			RevisionTimeout: 5 * time.Minute,
		},
		want: shortPolicy(func(p *Policy) {
			p.Declared = LifecycleShortLived
			p.ProxyPool = "fast"
			p.Sources["Lifecycle"] = "ServerlessPolicy"
			p.Sources["ProxyPool"] = "ServerlessPolicy"
		}),
	}, {
		name: "annotation pool none over policy pool",
		in: Input{
			Annotations:     Overrides{ProxyPool: ptr("none")},
			Policy:          &Overrides{Lifecycle: ptr(LifecycleShortLived), ProxyPool: ptr("fast")},
			Defaults:        testDefaults(),
			RevisionTimeout: 5 * time.Minute,
		},
		want: shortPolicy(func(p *Policy) {
			p.Declared = LifecycleShortLived
			p.ProxyPool = ""
			p.Sources["Lifecycle"] = "ServerlessPolicy"
			p.Sources["ProxyPool"] = "annotation"
		}),
	}, {
		name: "full mTLS annotation drops the class default pool",
		in: Input{
			Annotations:     Overrides{Lifecycle: ptr(LifecycleShortLived), MTLSMode: ptr(MTLSFull)},
			Defaults:        testDefaults(),
			RevisionTimeout: 5 * time.Minute,
		},
		want: shortPolicy(func(p *Policy) {
			p.Declared = LifecycleShortLived
			p.MTLSMode = MTLSFull
			p.ProxyPool = ""
			p.Sources["Lifecycle"] = "annotation"
			p.Sources["MTLSMode"] = "annotation"
			p.Sources["ProxyPool"] = "annotation"
		}),
	}, {
		name: "annotation timeout over policy timeout",
		in: Input{
			Annotations:     Overrides{Timeout: ptr(2 * time.Second)},
			Policy:          &Overrides{Timeout: ptr(5 * time.Second)},
			Defaults:        testDefaults(),
			RevisionTimeout: 5 * time.Minute,
		},
		want: longPolicy(func(p *Policy) {
			p.Timeout = 2 * time.Second
			p.Sources["Timeout"] = "annotation"
		}),
	}, {
		name: "policy timeout",
		in: Input{
			Policy:          &Overrides{Timeout: ptr(5 * time.Second)},
			Defaults:        testDefaults(),
			RevisionTimeout: 5 * time.Minute,
		},
		want: longPolicy(func(p *Policy) {
			p.Timeout = 5 * time.Second
			p.Sources["Timeout"] = "ServerlessPolicy"
		}),
	}, {
		name: "explicit timeout above the revision's is capped",
		in: Input{
			Annotations:     Overrides{Timeout: ptr(10 * time.Minute)},
			Defaults:        testDefaults(),
			RevisionTimeout: 5 * time.Minute,
		},
		want: longPolicy(func(p *Policy) {
			p.TimeoutCapped = true
			p.Sources["Timeout"] = "annotation"
		}),
	}, {
		name: "explicit timeout, revision timeout unknown",
		in: Input{
			Annotations: Overrides{Timeout: ptr(10 * time.Minute)},
			Defaults:    testDefaults(),
		},
		want: longPolicy(func(p *Policy) {
			p.Timeout = 10 * time.Minute
			p.Sources["Timeout"] = "annotation"
		}),
	}, {
		name: "no timeout anywhere: no route timeout",
		in:   Input{Defaults: testDefaults()},
		want: longPolicy(func(p *Policy) { p.Timeout = 0 }),
	}, {
		name: "explicit timeout beats observation",
		in: Input{
			Policy:          &Overrides{Timeout: ptr(3 * time.Second)},
			Defaults:        testDefaults(),
			RevisionTimeout: 5 * time.Minute,
			Observation:     &Observation{P50: 50 * time.Millisecond, P99: 200 * time.Millisecond, Samples: 20},
		},
		want: shortPolicy(func(p *Policy) {
			p.Timeout = 3 * time.Second
			p.Sources["Lifecycle"] = "observed"
			p.Sources["Timeout"] = "ServerlessPolicy"
		}),
	}, {
		name: "auto observed fast: short-lived, timeout never below MinTimeout",
		in: Input{
			Defaults:        testDefaults(),
			RevisionTimeout: 5 * time.Minute,
			Observation:     &Observation{P50: 50 * time.Millisecond, P99: 200 * time.Millisecond, Samples: 20},
		},
		want: shortPolicy(func(p *Policy) {
			p.Timeout = time.Second
			p.Sources["Lifecycle"] = "observed"
			p.Sources["Timeout"] = "observed"
		}),
	}, {
		name: "auto observed slow: long-lived, 4 x p99",
		in: Input{
			Defaults:        testDefaults(),
			RevisionTimeout: 5 * time.Minute,
			Observation:     &Observation{P50: 20 * time.Second, P99: 30 * time.Second, Samples: 100},
			Previous:        LifecycleShortLived,
		},
		want: longPolicy(func(p *Policy) {
			p.Timeout = 2 * time.Minute
			p.Sources["Lifecycle"] = "observed"
			p.Sources["Timeout"] = "observed"
		}),
	}, {
		name: "derived timeout capped by the revision's",
		in: Input{
			Defaults:        testDefaults(),
			RevisionTimeout: 5 * time.Minute,
			Observation:     &Observation{P99: 100 * time.Second, Samples: 100},
		},
		want: longPolicy(func(p *Policy) {
			p.TimeoutCapped = true
			p.Sources["Lifecycle"] = "observed"
			p.Sources["Timeout"] = "observed"
		}),
	}, {
		name: "derived timeout, revision timeout unknown",
		in: Input{
			Defaults:    testDefaults(),
			Observation: &Observation{P99: 100 * time.Second, Samples: 100},
		},
		want: longPolicy(func(p *Policy) {
			p.Timeout = 400 * time.Second
			p.Sources["Lifecycle"] = "observed"
			p.Sources["Timeout"] = "observed"
		}),
	}, {
		name: "hysteresis band keeps previous short-lived",
		in: Input{
			Defaults:        testDefaults(),
			RevisionTimeout: 5 * time.Minute,
			Observation:     &Observation{P99: 2500 * time.Millisecond, Samples: 50},
			Previous:        LifecycleShortLived,
		},
		want: shortPolicy(func(p *Policy) {
			p.Timeout = 10 * time.Second
			p.Sources["Lifecycle"] = "observed"
			p.Sources["Timeout"] = "observed"
		}),
	}, {
		name: "hysteresis band keeps previous long-lived",
		in: Input{
			Defaults:        testDefaults(),
			RevisionTimeout: 5 * time.Minute,
			Observation:     &Observation{P99: 2500 * time.Millisecond, Samples: 50},
			Previous:        LifecycleLongLived,
		},
		want: longPolicy(func(p *Policy) {
			p.Timeout = 10 * time.Second
			p.Sources["Lifecycle"] = "observed"
			p.Sources["Timeout"] = "observed"
		}),
	}, {
		name: "hysteresis band without previous: AutoInitial",
		in: Input{
			Defaults:        testDefaults(),
			RevisionTimeout: 5 * time.Minute,
			Observation:     &Observation{P99: 2500 * time.Millisecond, Samples: 50},
		},
		want: longPolicy(func(p *Policy) {
			p.Timeout = 10 * time.Second
			p.Sources["Lifecycle"] = "observed"
			p.Sources["Timeout"] = "observed"
		}),
	}, {
		name: "too few samples: previous class, timeout not tightened",
		in: Input{
			Defaults:        testDefaults(),
			RevisionTimeout: 5 * time.Minute,
			Observation:     &Observation{P99: 100 * time.Millisecond, Samples: 19},
			Previous:        LifecycleShortLived,
		},
		want: shortPolicy(),
	}, {
		name: "no observation: previous class",
		in: Input{
			Defaults:        testDefaults(),
			RevisionTimeout: 5 * time.Minute,
			Previous:        LifecycleShortLived,
		},
		want: shortPolicy(),
	}, {
		name: "declared short-lived still derives its timeout, rounded up to a whole second",
		in: Input{
			Annotations:     Overrides{Lifecycle: ptr(LifecycleShortLived)},
			Defaults:        testDefaults(),
			RevisionTimeout: 5 * time.Minute,
			Observation:     &Observation{P99: 1234567800 * time.Nanosecond, Samples: 20},
		},
		want: shortPolicy(func(p *Policy) {
			p.Declared = LifecycleShortLived
			p.Timeout = 5 * time.Second // 4 × 1.2345678s = 4.938s
			p.Sources["Lifecycle"] = "annotation"
			p.Sources["Timeout"] = "observed"
		}),
	}, {
		name: "below a second the derived timeout is rounded up to 100ms",
		in: Input{
			Annotations:     Overrides{Lifecycle: ptr(LifecycleShortLived)},
			Defaults:        func() Defaults { d := testDefaults(); d.MinTimeout = 100 * time.Millisecond; return d }(),
			RevisionTimeout: 5 * time.Minute,
			Observation:     &Observation{P99: 51 * time.Millisecond, Samples: 20},
		},
		want: shortPolicy(func(p *Policy) {
			p.Declared = LifecycleShortLived
			p.Timeout = 300 * time.Millisecond // 4 × 51ms = 204ms
			p.Sources["Lifecycle"] = "annotation"
			p.Sources["Timeout"] = "observed"
		}),
	}, {
		name: "declared long-lived, tiny p99: MinTimeout",
		in: Input{
			Policy:          &Overrides{Lifecycle: ptr(LifecycleLongLived)},
			Defaults:        testDefaults(),
			RevisionTimeout: 5 * time.Minute,
			Observation:     &Observation{P99: 10 * time.Millisecond, Samples: 20},
		},
		want: longPolicy(func(p *Policy) {
			p.Declared = LifecycleLongLived
			p.Timeout = time.Second
			p.Sources["Lifecycle"] = "ServerlessPolicy"
			p.Sources["Timeout"] = "observed"
		}),
	}, {
		name: "connection pool and outlier detection merge field by field",
		in: Input{
			Annotations: Overrides{ConnectionPool: ConnectionPoolOverrides{MaxPendingRequests: ptr[int32](8)}},
			Policy: &Overrides{
				Lifecycle:        ptr(LifecycleShortLived),
				ConnectionPool:   ConnectionPoolOverrides{MaxConnections: ptr[int32](10), MaxPendingRequests: ptr[int32](7)},
				OutlierDetection: OutlierDetectionOverrides{Interval: ptr(time.Second), MaxEjectionPercent: ptr[int32](100)},
			},
			Defaults:        testDefaults(),
			RevisionTimeout: 5 * time.Minute,
		},
		want: shortPolicy(func(p *Policy) {
			p.Declared = LifecycleShortLived
			p.ConnectionPool = ConnectionPool{MaxConnections: 10, MaxPendingRequests: 8, IdleTimeout: 30 * time.Second}
			p.OutlierDetection = OutlierDetection{ConsecutiveGatewayErrors: 5, Interval: time.Second, BaseEjectionTime: 30 * time.Second, MaxEjectionPercent: 100}
			p.Sources["Lifecycle"] = "ServerlessPolicy"
		}),
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Resolve(tc.in)
			if err != nil {
				t.Fatalf("Resolve() = %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Resolve() (-want,+got):\n%s", diff)
			}
		})
	}
}
