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

package lifecycle

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/serverless-mesh/ssm/pkg/pool/revision"
)

// TestMetricsExportWhatIsReported: the class and p50/p99 a revision's
// observation gives it, per revision, and nothing for one not yet observed.
func TestMetricsExportWhatIsReported(t *testing.T) {
	t.Parallel()
	clock := clocktesting.NewFakeClock(t0)
	h := NewHistory(Options{Clock: clock, ObservationWindow: 5 * time.Minute, DwellWindows: -1})
	reader := sdkmetric.NewManualReader()
	if _, err := h.RegisterMetrics(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))); err != nil {
		t.Fatal(err)
	}
	observed := revision.Key{Namespace: "default", Name: "fn-00001"}
	quiet := revision.Key{Namespace: "default", Name: "quiet-00001"}
	for _, key := range []revision.Key{observed, quiet} {
		h.update(key, observedRevision{DesiredScale: 1}, t0)
		h.update(key, observedRevision{DesiredScale: 1, ReadyIPs: []string{"10.0.0.1"}}, t0)
	}
	scraper := newFakeScraper()
	loop := &scrapeLoop{history: h, scraper: scraper}
	pod := newFakePod()
	pod.serve(30, fast)
	scraper.set("10.0.0.1", pod.cum)
	// Only fn-00001's pod is scraped with requests: quiet's window stays empty.
	h.mu.Lock()
	h.revisions[quiet].readyIPs = nil
	h.mu.Unlock()
	loop.round(context.Background())

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					got[m.Name+" "+p.Attributes.Encoded(attribute.DefaultEncoder())] = float64(p.Value)
				}
			case metricdata.Gauge[float64]:
				for _, p := range d.DataPoints {
					got[m.Name+" "+p.Attributes.Encoded(attribute.DefaultEncoder())] = p.Value
				}
			}
		}
	}
	// 30 requests of 0.2 s fall in the (0.1 s, 0.25 s] bucket, interpolated
	// linearly: p50 = 0.1 + 0.15 × 15/30, p99 = 0.1 + 0.15 × 29.7/30.
	want := map[string]float64{
		"ssm.revision.lifecycle.class k8s.namespace.name=default,kn.revision.name=fn-00001,ssm.lifecycle.class=short-lived": 1,
		"ssm.revision.request.duration k8s.namespace.name=default,kn.revision.name=fn-00001,ssm.quantile=0.5":               0.175,
		"ssm.revision.request.duration k8s.namespace.name=default,kn.revision.name=fn-00001,ssm.quantile=0.99":              0.2485,
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Errorf("exported (-want +got):\n%s", diff)
	}
}
