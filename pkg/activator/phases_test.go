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

package activator

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func TestColdStartPhases(t *testing.T) {
	t.Parallel()
	reader := sdkmetric.NewManualReader()
	spans := tracetest.NewSpanRecorder()
	pool := &leaseServer{answer: granted("127.0.0.1:8081"), hold: make(chan struct{})}
	gate := make(chan struct{})
	stock := &fakeStock{gate: gate}
	h, clk := newTestHook(t, stock, serveLeases(t, pool), Options{
		LeaseDeadline:  time.Minute,
		MeterProvider:  sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
		TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)),
	})
	// The pod answers 2.5 s after the arrival: it moves the fake clock.
	pod := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		clk.SetTime(testEpoch.Add(2500 * time.Millisecond))
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(pod.Close)
	stock.dest = pod.Listener.Addr().String()
	chain := activatorChain(h)

	done := make(chan int, 1)
	go func() {
		code, _ := send(t, chain, "x")
		done <- code
	}()
	<-pool.called
	clk.SetTime(testEpoch.Add(100 * time.Millisecond))
	close(pool.hold)
	leaseSettled(t, h, pooledRev)
	clk.SetTime(testEpoch.Add(2 * time.Second))
	close(gate)
	if code := <-done; code != http.StatusOK {
		t.Fatalf("cold request: %d, want 200", code)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("Collect: %v", err)
	}
	want := map[string]float64{
		"lease_granted":      0.1,
		"pod_ready":          2,
		"first_byte/knative": 2.5,
	}
	if diff := cmp.Diff(want, phaseSums(t, rm)); diff != "" {
		t.Errorf("phase durations (-want +got):\n%s", diff)
	}
	wantOutcomes := map[string]int64{"GRANTED": 1}
	if diff := cmp.Diff(wantOutcomes, outcomeCounts(rm)); diff != "" {
		t.Errorf("lease outcomes (-want +got):\n%s", diff)
	}

	ended := spans.Ended()
	if len(ended) != 1 || ended[0].Name() != "ssm.cold_start" {
		t.Fatalf("ended spans = %d, want one ssm.cold_start", len(ended))
	}
	span := ended[0]
	var events []string
	for _, e := range span.Events() {
		events = append(events, e.Name+"@"+e.Time.Sub(testEpoch).String())
	}
	if diff := cmp.Diff([]string{"lease_granted@100ms", "pod_ready@2s", "first_byte@2.5s"}, events); diff != "" {
		t.Errorf("span events (-want +got):\n%s", diff)
	}
	if !span.StartTime().Equal(testEpoch) {
		t.Errorf("span starts at %v, want the arrival %v", span.StartTime(), testEpoch)
	}
}

// phaseSums maps "phase[/via]" to the sum of its durations, checking each
// phase was recorded once.
func phaseSums(t *testing.T, rm metricdata.ResourceMetrics) map[string]float64 {
	t.Helper()
	got := map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != coldStartDurationName {
				continue
			}
			hist, ok := m.Data.(metricdata.Histogram[float64])
			if !ok {
				t.Fatalf("%s is %T, want a float64 histogram", m.Name, m.Data)
			}
			for _, dp := range hist.DataPoints {
				phase, _ := dp.Attributes.Value(attrPhase)
				key := phase.AsString()
				if via, ok := dp.Attributes.Value(attrVia); ok {
					key += "/" + via.AsString()
				}
				if dp.Count != 1 {
					t.Errorf("%s recorded %d times, want once", key, dp.Count)
				}
				got[key] = dp.Sum
			}
		}
	}
	return got
}

func outcomeCounts(rm metricdata.ResourceMetrics) map[string]int64 {
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == leaseOutcomesName {
				for _, dp := range sum.DataPoints {
					outcome, _ := dp.Attributes.Value(attrOutcome)
					got[outcome.AsString()] = dp.Value
				}
			}
		}
	}
	return got
}
