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

package main

import (
	"math"
	"strings"
	"testing"
)

func TestQuantile(t *testing.T) {
	t.Parallel()
	xs := []float64{8, 1, 7, 2, 6, 3, 5, 4}
	for _, tc := range []struct {
		q    float64
		want float64
	}{
		{0, 1}, {0.5, 4}, {0.9, 8}, {1, 8}, {0.125, 1}, {0.126, 2},
	} {
		if got := quantile(xs, tc.q); got != tc.want {
			t.Errorf("quantile(%v, %v) = %v, want %v", xs, tc.q, got, tc.want)
		}
	}
	if got := quantile(nil, 0.5); !math.IsNaN(got) {
		t.Errorf("quantile(nil) = %v, want NaN", got)
	}
	if xs[0] != 8 {
		t.Errorf("quantile sorted its input: %v", xs)
	}
}

// Two scrapes around one cold start of each kind, as the activator exposes
// them (labels abridged to those it sets plus one of OTel's).
const scrapeBefore = `# TYPE ssm_activator_cold_start_duration_seconds histogram
ssm_activator_cold_start_duration_seconds_bucket{kn_revision_name="cold-ssm-00001",ssm_phase="pod_ready",le="0.5"} 0
ssm_activator_cold_start_duration_seconds_sum{k8s_namespace_name="bench-cold",kn_revision_name="cold-ssm-00001",otel_scope_name="x",ssm_phase="lease_granted"} 0.004
ssm_activator_cold_start_duration_seconds_count{k8s_namespace_name="bench-cold",kn_revision_name="cold-ssm-00001",otel_scope_name="x",ssm_phase="lease_granted"} 1
ssm_activator_cold_start_duration_seconds_sum{k8s_namespace_name="bench-cold",kn_revision_name="cold-ssm-00001",otel_scope_name="x",ssm_phase="pod_ready"} 0.5
ssm_activator_cold_start_duration_seconds_count{k8s_namespace_name="bench-cold",kn_revision_name="cold-ssm-00001",otel_scope_name="x",ssm_phase="pod_ready"} 1
ssm_activator_cold_start_duration_seconds_sum{k8s_namespace_name="bench-cold",kn_revision_name="cold-ssm-00001",otel_scope_name="x",ssm_phase="first_byte",ssm_via="lease"} 0.503
ssm_activator_cold_start_duration_seconds_count{k8s_namespace_name="bench-cold",kn_revision_name="cold-ssm-00001",otel_scope_name="x",ssm_phase="first_byte",ssm_via="lease"} 1
other_metric{a="b"} 3
`

const scrapeAfter = `ssm_activator_cold_start_duration_seconds_sum{k8s_namespace_name="bench-cold",kn_revision_name="cold-ssm-00001",otel_scope_name="x",ssm_phase="lease_granted"} 0.0065
ssm_activator_cold_start_duration_seconds_count{k8s_namespace_name="bench-cold",kn_revision_name="cold-ssm-00001",otel_scope_name="x",ssm_phase="lease_granted"} 2
ssm_activator_cold_start_duration_seconds_sum{k8s_namespace_name="bench-cold",kn_revision_name="cold-ssm-00001",otel_scope_name="x",ssm_phase="pod_ready"} 1.125
ssm_activator_cold_start_duration_seconds_count{k8s_namespace_name="bench-cold",kn_revision_name="cold-ssm-00001",otel_scope_name="x",ssm_phase="pod_ready"} 2
ssm_activator_cold_start_duration_seconds_sum{k8s_namespace_name="bench-cold",kn_revision_name="cold-ssm-00001",otel_scope_name="x",ssm_phase="first_byte",ssm_via="lease"} 1.1305
ssm_activator_cold_start_duration_seconds_count{k8s_namespace_name="bench-cold",kn_revision_name="cold-ssm-00001",otel_scope_name="x",ssm_phase="first_byte",ssm_via="lease"} 2
ssm_activator_cold_start_duration_seconds_sum{k8s_namespace_name="bench-cold",kn_revision_name="cold-plain-00001",otel_scope_name="x",ssm_phase="pod_ready"} 0.25
ssm_activator_cold_start_duration_seconds_count{k8s_namespace_name="bench-cold",kn_revision_name="cold-plain-00001",otel_scope_name="x",ssm_phase="pod_ready"} 1
ssm_activator_cold_start_duration_seconds_sum{k8s_namespace_name="bench-cold",kn_revision_name="cold-plain-00001",otel_scope_name="x",ssm_phase="first_byte",ssm_via="knative"} 0.25125
ssm_activator_cold_start_duration_seconds_count{k8s_namespace_name="bench-cold",kn_revision_name="cold-plain-00001",otel_scope_name="x",ssm_phase="first_byte",ssm_via="knative"} 1
`

func TestColdStartOf(t *testing.T) {
	t.Parallel()
	before, err := parsePhases(strings.NewReader(scrapeBefore))
	if err != nil {
		t.Fatalf("parsing the first scrape: %v", err)
	}
	after, err := parsePhases(strings.NewReader(scrapeAfter))
	if err != nil {
		t.Fatalf("parsing the second scrape: %v", err)
	}
	const tolerance = 1e-12
	for _, tc := range []struct {
		revision string
		want     coldStart
		wantErr  bool
	}{
		{"cold-ssm-00001", coldStart{podReady: 0.625, firstByte: 0.6275, leaseGranted: 0.0025, leased: true, via: "lease"}, false},
		{"cold-plain-00001", coldStart{podReady: 0.25, firstByte: 0.25125, via: "knative"}, false},
		// No sample between the scrapes: not a cold start.
		{"other-00001", coldStart{}, true},
	} {
		got, err := coldStartOf(before, after, tc.revision)
		if (err != nil) != tc.wantErr {
			t.Errorf("coldStartOf(%s) error = %v, want error %v", tc.revision, err, tc.wantErr)
			continue
		}
		if tc.wantErr {
			continue
		}
		if math.Abs(got.podReady-tc.want.podReady) > tolerance || math.Abs(got.firstByte-tc.want.firstByte) > tolerance ||
			math.Abs(got.leaseGranted-tc.want.leaseGranted) > tolerance || got.leased != tc.want.leased || got.via != tc.want.via {
			t.Errorf("coldStartOf(%s) = %+v, want %+v", tc.revision, got, tc.want)
		}
	}
}

func TestParseLabels(t *testing.T) {
	t.Parallel()
	got, err := parseLabels(`a="x",b="with \"quote\", comma",c=""`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "x", "b": `with "quote", comma`, "c": ""}
	if len(got) != len(want) {
		t.Fatalf("parseLabels = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("label %s = %q, want %q", k, got[k], v)
		}
	}
	if _, err := parseLabels(`a="unterminated`); err == nil {
		t.Error("parseLabels accepted an unterminated value")
	}
}
