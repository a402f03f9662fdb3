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
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/serverless-mesh/ssm/pkg/pool/revision"
	"github.com/serverless-mesh/ssm/pkg/reconciler/lifecycle/queuemetrics"
)

// t0 is when every test's fake clock starts.
var t0 = time.Date(2026, time.March, 2, 12, 0, 0, 0, time.UTC)

// fakeScraper serves, per pod IP, the histogram or error the test set.
type fakeScraper struct {
	mu     sync.Mutex
	pods   map[string]queuemetrics.Histogram
	errs   map[string]error
	called chan string // receives every scraped IP, if not nil
}

func newFakeScraper() *fakeScraper {
	return &fakeScraper{pods: map[string]queuemetrics.Histogram{}, errs: map[string]error{}}
}

func (f *fakeScraper) set(ip string, h queuemetrics.Histogram) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pods[ip] = h.Clone()
}

func (f *fakeScraper) fail(ip string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs[ip] = err
}

func (f *fakeScraper) Scrape(ctx context.Context, ip string) (queuemetrics.Histogram, error) {
	f.mu.Lock()
	h, ok := f.pods[ip]
	err := f.errs[ip]
	called := f.called
	f.mu.Unlock()
	if called != nil {
		select {
		case called <- ip:
		case <-ctx.Done():
		}
	}
	switch {
	case err != nil:
		return queuemetrics.Histogram{}, err
	case !ok:
		return queuemetrics.Histogram{}, queuemetrics.ErrNoInvocationMetric
	}
	return h.Clone(), nil
}

// queueProxyBounds are queue-proxy's latency buckets (knative.dev/serving
// v0.50 pkg/queue/request_metric.go), in seconds.
var queueProxyBounds = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// fakePod is a queue-proxy's cumulative invocation-duration histogram.
type fakePod struct {
	cum queuemetrics.Histogram
}

func newFakePod() *fakePod {
	return &fakePod{cum: queuemetrics.Histogram{Bounds: queueProxyBounds, Counts: make([]uint64, len(queueProxyBounds)+1)}}
}

// serve records n requests of d seconds each.
func (p *fakePod) serve(n int, d float64) {
	i, _ := slices.BinarySearch(p.cum.Bounds, d)
	p.cum.Counts[i] += uint64(n)
	p.cum.Count += uint64(n)
	p.cum.Sum += float64(n) * d
}

// classLine is one round as TestObserverDwell writes it: the minute, the
// reported class ("-" for none) and "!" when the callback fired.
func classLine(minute int, h *History, key revision.Key, called bool) string {
	s, _ := h.Stats(key, t0)
	class := "-"
	if s.HasReported {
		class = string(s.Class)
	}
	mark := ""
	if called {
		mark = "!"
	}
	return fmt.Sprintf("%dm %s%s", minute, class, mark)
}
