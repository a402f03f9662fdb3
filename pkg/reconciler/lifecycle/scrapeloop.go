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
	"errors"
	"sync"

	"go.uber.org/zap"
	"knative.dev/pkg/logging"

	"github.com/serverless-mesh/ssm/pkg/reconciler/lifecycle/queuemetrics"
)

// scrapeLoop scrapes the ready pods of every tracked revision each
// ScrapeInterval and feeds the History. It never touches the API server.
// Every KPA revision is scraped, not only those that declare
// ssm.dev/lifecycle: auto: config-ssm's default lifecycle is "auto", a
// ServerlessPolicy may declare it, and derived timeouts use observations
// whatever the class. Options bound the cost: MaxPodsPerRevision pods per
// revision, MaxConcurrentScrapes at once, ScrapeTimeout each.
type scrapeLoop struct {
	history *History
	scraper queuemetrics.Scraper
}

// run scrapes until ctx is done. A round that outlasts the interval delays
// the next one rather than overlapping it (the ticker drops ticks).
func (l *scrapeLoop) run(ctx context.Context) {
	ticker := l.history.opts.Clock.NewTicker(l.history.scrapeInterval())
	defer func() { ticker.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.history.intervalChanged:
			ticker.Stop()
			ticker = l.history.opts.Clock.NewTicker(l.history.scrapeInterval())
		case <-ticker.C():
			l.round(ctx)
		}
	}
}

// podResult is one pod's scrape.
type podResult struct {
	hist queuemetrics.Histogram
	err  error
}

// round scrapes every target once, at most MaxConcurrentScrapes at a time,
// each within ScrapeTimeout, then records the results and calls the class
// change callback for revisions whose class changed.
func (l *scrapeLoop) round(ctx context.Context) {
	h := l.history
	now := h.opts.Clock.Now()
	h.expire(now)
	targets := h.scrapeTargets(h.opts.MaxPodsPerRevision)

	results := make([][]podResult, len(targets))
	sem := make(chan struct{}, h.opts.MaxConcurrentScrapes)
	var wg sync.WaitGroup
scrape:
	for i, t := range targets {
		results[i] = make([]podResult, len(t.ips))
		for j, ip := range t.ips {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				break scrape
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				sctx, cancel := context.WithTimeout(ctx, h.opts.ScrapeTimeout)
				defer cancel()
				hist, err := l.scraper.Scrape(sctx, ip)
				results[i][j] = podResult{hist: hist, err: err}
			}()
		}
	}
	wg.Wait()
	if ctx.Err() != nil {
		return
	}

	logger := logging.FromContext(ctx)
	failed := 0
	for i, t := range targets {
		pods := map[string]queuemetrics.Histogram{}
		for j, ip := range t.ips {
			res := results[i][j]
			if res.err != nil {
				failed++
				if !errors.Is(res.err, queuemetrics.ErrNoInvocationMetric) {
					logger.Debugw("Scraping queue-proxy failed", zap.String("revision", t.key.String()), zap.Error(res.err))
				}
				continue
			}
			pods[ip] = res.hist
		}
		if h.recordScrape(t.key, pods, now) {
			h.notifyClassChange(t.key)
		}
	}
	if failed > 0 {
		logger.Debugw("Scrape round done with failures", zap.Int("revisions", len(targets)), zap.Int("failedPods", failed))
	}
}
