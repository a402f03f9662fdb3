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
	"time"

	"k8s.io/utils/clock"

	"github.com/serverless-mesh/ssm/pkg/pool/sizing"
	"github.com/serverless-mesh/ssm/pkg/reconciler/lifecycle/queuemetrics"
)

// Options tune the History and its scraper. A zero field takes its default.
type Options struct {
	// Clock is read for every observation; tests pass a fake one.
	Clock clock.WithTicker

	// ScrapeInterval is how often ready pods are scraped (default 30s),
	// ScrapeTimeout bounds each scrape (default 2s).
	ScrapeInterval time.Duration
	ScrapeTimeout  time.Duration
	// MetricsPort is queue-proxy's request-metrics port (default 9091).
	MetricsPort int
	// MaxConcurrentScrapes bounds the scrapes in flight (default 8), and
	// MaxPodsPerRevision the pods scraped per revision and round (default
	// 5): a sample of a big revision's pods describes its durations as well
	// as all of them, at a bounded cost.
	MaxConcurrentScrapes int
	MaxPodsPerRevision   int

	// ObservationWindow is the sliding window observations cover (default
	// 5m). When it holds fewer requests than config-ssm's min-samples, it
	// reaches back to older samples, so a function invoked a few times an
	// hour is classified too.
	ObservationWindow time.Duration
	// MaxObservationAge is how old a sample may be and still count
	// (default 24h).
	MaxObservationAge time.Duration
	// MaxWindowEntries caps the scrape deltas kept per revision (default 64).
	MaxWindowEntries int
	// DwellWindows is how many ObservationWindows a new class must hold,
	// at every evaluation, before it is reported (default 2; negative: at
	// once).
	DwellWindows int

	// MaxColdStart is how long a cold start may stay in flight before it
	// is written off (default 10m, Knative's default progress deadline).
	MaxColdStart time.Duration
	// MaxColdStartsKept caps the cold starts kept per revision (default 32).
	MaxColdStartsKept int

	// Sizing configures the pool sizing model.
	Sizing sizing.Config
}

// withDefaults fills in unset fields.
func (o Options) withDefaults() Options {
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	setDefault(&o.ScrapeInterval, 30*time.Second)
	setDefault(&o.ScrapeTimeout, 2*time.Second)
	setDefault(&o.MetricsPort, queuemetrics.QueueProxyMetricsPort)
	setDefault(&o.MaxConcurrentScrapes, 8)
	setDefault(&o.MaxPodsPerRevision, 5)
	setDefault(&o.ObservationWindow, 5*time.Minute)
	setDefault(&o.MaxObservationAge, 24*time.Hour)
	setDefault(&o.MaxWindowEntries, 64)
	if o.DwellWindows < 0 {
		o.DwellWindows = 0
	} else if o.DwellWindows == 0 {
		o.DwellWindows = 2
	}
	setDefault(&o.MaxColdStart, 10*time.Minute)
	setDefault(&o.MaxColdStartsKept, 32)
	return o
}

// setDefault sets *v to def when it is not positive.
func setDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}
