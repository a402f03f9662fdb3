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
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/serverless-mesh/ssm/pkg/policy"
	"github.com/serverless-mesh/ssm/pkg/pool/revision"
)

func TestScrapeRoundCountsOnlyNewRequests(t *testing.T) {
	t.Parallel()
	clock := clocktesting.NewFakeClock(t0)
	h := NewHistory(Options{Clock: clock, DwellWindows: -1})
	h.SetDefaults(func() policy.Defaults { d := policy.NewDefaults(); d.MinSamples = 1; return d }())
	key := revision.Key{Namespace: "default", Name: "fn-00001"}
	scraper := newFakeScraper()
	loop := &scrapeLoop{history: h, scraper: scraper}

	// 10.0.0.1 was serving before the History saw the revision: its first
	// scrape is a baseline. 10.0.0.2 becomes ready later: all of its
	// requests are new. 10.0.0.3 fails to scrape.
	old, late := newFakePod(), newFakePod()
	old.serve(500, slow)
	scraper.set("10.0.0.1", old.cum)
	scraper.fail("10.0.0.3", errors.New("connection refused"))
	h.update(key, observedRevision{DesiredScale: 1, ReadyIPs: []string{"10.0.0.1", "10.0.0.3"}}, t0)

	samples := func() int {
		s, _ := h.Stats(key, clock.Now())
		return s.Observed.Samples
	}
	loop.round(context.Background())
	if got := samples(); got != 0 {
		t.Fatalf("after the baseline round: %d samples, want 0", got)
	}

	clock.Step(30 * time.Second)
	old.serve(3, fast)
	late.serve(4, fast)
	scraper.set("10.0.0.1", old.cum)
	scraper.set("10.0.0.2", late.cum)
	h.update(key, observedRevision{DesiredScale: 2, ReadyIPs: []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}}, clock.Now())
	loop.round(context.Background())
	if got := samples(); got != 7 {
		t.Fatalf("after the second round: %d samples, want 3 + 4", got)
	}
	// All 7 are fast: the 500 slow ones from before the History existed
	// must not show.
	want := policy.Observation{P50: 175 * time.Millisecond, P99: 248500 * time.Microsecond, Samples: 7}
	if got, _ := h.Observe(key.Namespace, key.Name); got != want {
		t.Errorf("Observe = %+v, want %+v", got, want)
	}
}

func TestScrapeTargetsAreBounded(t *testing.T) {
	t.Parallel()
	h := NewHistory(Options{MaxPodsPerRevision: 2})
	a := revision.Key{Namespace: "ns", Name: "a"}
	b := revision.Key{Namespace: "ns", Name: "b"}
	idle := revision.Key{Namespace: "ns", Name: "idle"}
	h.update(b, observedRevision{DesiredScale: 3, ReadyIPs: []string{"10.0.2.1", "10.0.2.2", "10.0.2.3"}}, t0)
	h.update(a, observedRevision{DesiredScale: 1, ReadyIPs: []string{"10.0.1.1"}}, t0)
	h.update(idle, observedRevision{DesiredScale: 0}, t0)
	want := []scrapeTarget{{key: a, ips: []string{"10.0.1.1"}}, {key: b, ips: []string{"10.0.2.1", "10.0.2.2"}}}
	if diff := cmp.Diff(want, h.scrapeTargets(2), cmp.AllowUnexported(scrapeTarget{})); diff != "" {
		t.Errorf("scrapeTargets (-want +got):\n%s", diff)
	}
}

func TestScrapeLoopRunsOnTicks(t *testing.T) {
	t.Parallel()
	clock := clocktesting.NewFakeClock(t0)
	h := NewHistory(Options{Clock: clock, ScrapeInterval: 30 * time.Second})
	key := revision.Key{Namespace: "default", Name: "fn-00001"}
	h.update(key, observedRevision{DesiredScale: 1, ReadyIPs: []string{"10.0.0.1"}}, t0)
	scraper := newFakeScraper()
	scraper.called = make(chan string)
	loop := &scrapeLoop{history: h, scraper: scraper}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		loop.run(ctx)
	}()
	deadline := time.After(10 * time.Second)
	for !clock.HasWaiters() {
		select {
		case <-deadline:
			t.Fatal("scrape loop never waited on its ticker")
		default:
			// Poll: HasWaiters has no channel to wait on.
			time.Sleep(time.Millisecond)
		}
	}
	for i := range 2 {
		clock.Step(30 * time.Second)
		select {
		case ip := <-scraper.called:
			if ip != "10.0.0.1" {
				t.Errorf("tick %d scraped %s, want 10.0.0.1", i, ip)
			}
		case <-deadline:
			t.Fatalf("tick %d: no scrape", i)
		}
	}
	cancel()
	select {
	case <-done:
	case <-deadline:
		t.Fatal("scrape loop did not stop with its context")
	}
}
