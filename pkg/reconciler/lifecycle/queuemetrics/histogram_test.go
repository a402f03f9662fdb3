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

package queuemetrics

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// queueProxyBounds are queue-proxy's latency buckets (knative.dev/serving
// v0.50 pkg/queue/request_metric.go), in seconds.
var queueProxyBounds = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// Per-bucket contents of testdata/queue-proxy-{1,2}.txt, summed over status
// codes, worked out by hand from the durations listed in their headers.
var (
	exposition1 = Histogram{
		Bounds: queueProxyBounds,
		Counts: []uint64{1, 0, 2, 1, 0, 1, 1, 1, 1, 0, 1, 0, 0, 0, 1},
		Count:  10,
		Sum:    14.763,
	}
	exposition2 = Histogram{
		Bounds: queueProxyBounds,
		Counts: []uint64{2, 1, 2, 3, 2, 1, 2, 1, 1, 1, 1, 1, 0, 1, 3},
		Count:  22,
		Sum:    69.566,
	}
	// exposition2 minus exposition1: the 12 requests served in between.
	between = Histogram{
		Bounds: queueProxyBounds,
		Counts: []uint64{1, 1, 0, 2, 2, 0, 1, 0, 0, 1, 0, 1, 0, 1, 2},
		Count:  12,
		Sum:    54.803,
	}
)

var approxSum = cmpopts.EquateApprox(0, 1e-9)

func TestHistogramSince(t *testing.T) {
	t.Parallel()
	otherBounds := Histogram{Bounds: []float64{1}, Counts: []uint64{1, 0}, Count: 1, Sum: 0.5}
	tests := []struct {
		name      string
		cur, prev Histogram
		want      Histogram
	}{
		{"counts grew", exposition2, exposition1, between},
		// Counts went down: the process restarted, everything is new.
		{"restarted", exposition1, exposition2, exposition1},
		{"buckets changed", exposition1, otherBounds, exposition1},
		{"nothing new", exposition1, exposition1, Histogram{Bounds: queueProxyBounds, Counts: make([]uint64, 15)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, tc.cur.Since(tc.prev), approxSum); diff != "" {
				t.Errorf("since (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHistogramAdd(t *testing.T) {
	t.Parallel()
	var sum Histogram
	if !sum.Add(exposition1) || !sum.Add(between) {
		t.Fatal("add of histograms with queue-proxy's bounds failed")
	}
	if diff := cmp.Diff(exposition2, sum, approxSum); diff != "" {
		t.Errorf("exposition1 + between (-want +got):\n%s", diff)
	}
	if sum.Add(Histogram{Bounds: []float64{1}, Counts: []uint64{1, 0}, Count: 1, Sum: 0.5}) {
		t.Error("add of a histogram with other bounds succeeded, want refused")
	}
	if sum.Count != 22 {
		t.Errorf("refused add changed Count to %d, want 22", sum.Count)
	}
	// exposition1 must not share memory with the sum built from it.
	if exposition1.Counts[0] != 1 {
		t.Errorf("add wrote into its argument: Counts[0] = %d", exposition1.Counts[0])
	}
}

func TestHistogramQuantile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		h    Histogram
		q    float64
		want time.Duration
	}{
		{"empty", Histogram{Bounds: queueProxyBounds, Counts: make([]uint64, 15)}, 0.99, 0},
		// rank 1.2: the second observation, in (5ms, 10ms], 0.2 of the way.
		{"p10 interpolated", between, 0.1, 6 * time.Millisecond},
		// rank 6: the top of (50ms, 75ms].
		{"p50", between, 0.5, 75 * time.Millisecond},
		// Two of 12 are above 10 s. Sum 54.803 minus the least the others can
		// add up to (21.005) bounds the longest from above: 33.798 s (it
		// was 27.5 s).
		{"p99 above the last bound", between, 0.99, 33798 * time.Millisecond},
		{"first bucket", Histogram{Bounds: []float64{1}, Counts: []uint64{4, 0}, Count: 4, Sum: 2}, 0.5, 500 * time.Millisecond},
		{"all above", Histogram{Bounds: []float64{1}, Counts: []uint64{0, 2}, Count: 2, Sum: 30}, 0.99, 29 * time.Second},
		{"never below the last bound", Histogram{Bounds: []float64{10}, Counts: []uint64{0, 1}, Count: 1, Sum: 5}, 0.5, 10 * time.Second},
		{"no finite bounds", Histogram{Counts: []uint64{3}, Count: 3, Sum: 6}, 0.5, 6 * time.Second},
		{"malformed", Histogram{Bounds: []float64{1}, Counts: []uint64{3}, Count: 3, Sum: 6}, 0.5, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.h.Quantile(tc.q); got != tc.want {
				t.Errorf("Quantile(%v) = %v, want %v", tc.q, got, tc.want)
			}
		})
	}
}
