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
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestResolveErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		in           Input
		wantConflict *ConflictError
		want         []string
	}{{
		name: "full mTLS from annotation, pool from policy",
		in: Input{
			Annotations: Overrides{MTLSMode: ptr(MTLSFull)},
			Policy:      &Overrides{ProxyPool: ptr("fast")},
			Defaults:    testDefaults(),
		},
		wantConflict: &ConflictError{MTLSModeFrom: SourceAnnotation, ProxyPoolFrom: SourcePolicy, ProxyPool: "fast", Class: LifecycleLongLived},
		want: []string{`mTLS mode "full" (from annotation ssm.dev/mtls-mode) conflicts with ` +
			`proxy pool "fast" (from ServerlessPolicy spec.proxyPool)`, "use mTLS mode lightweight or proxy pool none"},
	}, {
		name: "pool from annotation, full mTLS from the long-lived default",
		in: Input{
			Annotations: Overrides{ProxyPool: ptr("fast")},
			Defaults:    testDefaults(),
		},
		wantConflict: &ConflictError{MTLSModeFrom: SourceDefault, ProxyPoolFrom: SourceAnnotation, ProxyPool: "fast", Class: LifecycleLongLived},
		want: []string{`mTLS mode "full" (from config-ssm default for long-lived) conflicts with ` +
			`proxy pool "fast" (from annotation ssm.dev/proxy-pool)`},
	}, {
		name: "full mTLS from policy, pool from annotation",
		in: Input{
			Annotations: Overrides{Lifecycle: ptr(LifecycleShortLived), ProxyPool: ptr("fast")},
			Policy:      &Overrides{MTLSMode: ptr(MTLSFull)},
			Defaults:    testDefaults(),
		},
		wantConflict: &ConflictError{MTLSModeFrom: SourcePolicy, ProxyPoolFrom: SourceAnnotation, ProxyPool: "fast", Class: LifecycleShortLived},
		want: []string{`mTLS mode "full" (from ServerlessPolicy spec.mtlsMode) conflicts with ` +
			`proxy pool "fast" (from annotation ssm.dev/proxy-pool)`},
	}, {
		name: "conflict inside one policy",
		in: Input{
			Policy:   &Overrides{MTLSMode: ptr(MTLSFull), ProxyPool: ptr("fast")},
			Defaults: testDefaults(),
		},
		want: []string{`ServerlessPolicy: mtlsMode "full" conflicts with proxyPool "fast"`},
	}, {
		name: "invalid defaults",
		in:   Input{Defaults: Defaults{}},
		want: []string{`config-ssm defaults: Lifecycle: invalid lifecycle ""`},
	}, {
		name: "invalid annotation overrides",
		in:   Input{Annotations: Overrides{Retries: ptr[int32](11)}, Defaults: testDefaults()},
		want: []string{"ssm.dev annotations: invalid value: 11: retries"},
	}, {
		name: "invalid policy",
		in:   Input{Policy: &Overrides{Lifecycle: ptr(Lifecycle("x"))}, Defaults: testDefaults()},
		want: []string{`ServerlessPolicy: invalid value: "x": lifecycle`},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Resolve(tc.in)
			if err == nil {
				t.Fatalf("Resolve() = %+v, want an error", got)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err.Error(), w)
				}
			}
			var conflict *ConflictError
			if errors.As(err, &conflict) != (tc.wantConflict != nil) {
				t.Fatalf("errors.As(%v, *ConflictError) = %v, want %v", err, conflict != nil, tc.wantConflict != nil)
			}
			if diff := cmp.Diff(tc.wantConflict, conflict); diff != "" {
				t.Errorf("ConflictError (-want,+got):\n%s", diff)
			}
		})
	}
}

// fullInput sets every field Resolve reads, through pointers where the type
// has them, so that any write through them shows up.
func fullInput() Input {
	return Input{
		Annotations: Overrides{
			Lifecycle: ptr(LifecycleAuto),
			Timeout:   ptr(90 * time.Second),
			ProxyPool: ptr("none"),
		},
		Policy: &Overrides{
			Retries:          ptr[int32](2),
			MTLSMode:         ptr(MTLSFull),
			ConnectionPool:   ConnectionPoolOverrides{MaxConnections: ptr[int32](3)},
			OutlierDetection: OutlierDetectionOverrides{Interval: ptr(time.Second)},
		},
		Defaults:        testDefaults(),
		RevisionTimeout: time.Minute,
		Observation:     &Observation{P50: time.Millisecond, P99: 5 * time.Millisecond, Samples: 30},
		Previous:        LifecycleLongLived,
	}
}

func TestResolveDoesNotMutateInputAndIsDeterministic(t *testing.T) {
	t.Parallel()
	in := fullInput()
	first, err := Resolve(in)
	if err != nil {
		t.Fatalf("Resolve() = %v", err)
	}
	if diff := cmp.Diff(fullInput(), in); diff != "" {
		t.Errorf("Resolve changed its input (-before,+after):\n%s", diff)
	}
	want := Policy{
		Declared:         LifecycleAuto,
		Lifecycle:        LifecycleShortLived,
		Timeout:          time.Minute,
		TimeoutCapped:    true,
		Retries:          2,
		RetryOn:          "connect-failure",
		MTLSMode:         MTLSFull,
		ConnectionPool:   ConnectionPool{MaxConnections: 3, IdleTimeout: 30 * time.Second},
		OutlierDetection: OutlierDetection{ConsecutiveGatewayErrors: 5, Interval: time.Second, BaseEjectionTime: 30 * time.Second, MaxEjectionPercent: 50},
		Sources: map[string]Source{
			"Lifecycle": "observed",
			"Timeout":   "annotation",
			"Retries":   "ServerlessPolicy",
			"MTLSMode":  "ServerlessPolicy",
			"ProxyPool": "annotation",
		},
	}
	if diff := cmp.Diff(want, first); diff != "" {
		t.Errorf("Resolve() (-want,+got):\n%s", diff)
	}
	// The Sources map is the caller's to keep: changing it must not leak
	// into the next result.
	first.Sources["Timeout"] = "tampered"
	second, err := Resolve(in)
	if err != nil {
		t.Fatalf("Resolve() = %v", err)
	}
	if diff := cmp.Diff(want, second); diff != "" {
		t.Errorf("second Resolve() (-want,+got):\n%s", diff)
	}
}

func BenchmarkResolve(b *testing.B) {
	in := fullInput()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Resolve(in); err != nil {
			b.Fatal(err)
		}
	}
}
