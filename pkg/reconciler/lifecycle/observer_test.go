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
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/serverless-mesh/ssm/pkg/policy"
	"github.com/serverless-mesh/ssm/pkg/pool/revision"
)

// round is one scrape round of TestObserverDwell: n requests of d seconds
// served since the previous round.
type round struct {
	minute int
	n      int
	d      float64
}

// rounds is one round a minute from `from` to `to` inclusive.
func rounds(from, to, n int, d float64) []round {
	var out []round
	for m := from; m <= to; m++ {
		out = append(out, round{minute: m, n: n, d: d})
	}
	return out
}

// lines is what classLine writes for minutes from..to with the same text.
func lines(from, to int, text string) []string {
	var out []string
	for m := from; m <= to; m++ {
		out = append(out, fmt.Sprintf("%dm %s", m, text))
	}
	return out
}

func concat[T any](parts ...[]T) []T {
	var out []T
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

const (
	fast   = 0.2  // short-lived: p99 well under 1 s
	medium = 5.0  // between the thresholds
	slow   = 12.0 // long-lived: above 10 s
)

func TestObserverDwell(t *testing.T) {
	t.Parallel()
	// ObservationWindow 5m and DwellWindows 2: a new class must hold for
	// 10 minutes. config-ssm defaults: thresholds 1 s / 10 s, 20 samples,
	// "auto" starts long-lived.
	tests := []struct {
		name   string
		dwell  int
		rounds []round
		want   []string
	}{{
		name:   "fast revision turns short after the dwell",
		rounds: rounds(0, 11, 30, fast),
		want:   concat(lines(0, 9, "-"), []string{"10m short-lived!", "11m short-lived"}),
	}, {
		// Requests above the last bucket bound (10 s) are estimated from
		// above (queuemetrics' overflow bound), and that bound grows with
		// the window's count until the window is full: each round derives
		// a longer timeout, and the KIngress is told.
		name:   "slow revision is long at once, the class auto starts in; its timeout follows the growing estimate",
		rounds: rounds(0, 2, 30, slow),
		want:   []string{"0m long-lived!", "1m long-lived!", "2m long-lived!"},
	}, {
		name:   "between the thresholds the previous class stays",
		rounds: rounds(0, 2, 30, medium),
		want:   []string{"0m long-lived!", "1m long-lived", "2m long-lived"},
	}, {
		// The slow rounds at 11 and 12 keep the window long-lived until 17:
		// 7 minutes, less than the dwell.
		name:   "a slow spike shorter than the dwell does not flip",
		rounds: concat(rounds(0, 10, 30, fast), rounds(11, 12, 30, slow), rounds(13, 25, 30, fast)),
		want:   concat(lines(0, 9, "-"), []string{"10m short-lived!"}, lines(11, 25, "short-lived")),
	}, {
		// The slow round at 2 leaves the window at 8; short holds from 8 on.
		// Until then the long-lived timeout follows the window: it grows
		// while slow requests accumulate (1–5m) and is re-derived when it
		// has fallen to half (7m).
		name:   "long flips to short once short held for the dwell",
		rounds: concat(rounds(0, 2, 30, slow), rounds(3, 19, 30, fast)),
		want: concat([]string{"0m long-lived!", "1m long-lived!", "2m long-lived!", "3m long-lived!", "4m long-lived!",
			"5m long-lived!", "6m long-lived", "7m long-lived!"}, lines(8, 17, "long-lived"),
			[]string{"18m short-lived!", "19m short-lived"}),
	}, {
		// 100 ms → 800 ms: still short-lived (below 1 s), but 4 × p99 has
		// passed the 1 s timeout derived before, so the route must get the
		// longer one as soon as the window shows it, not after a dwell.
		name:   "a short-lived function that slows down gets a longer timeout at once",
		rounds: concat(rounds(0, 0, 30, 0.1), rounds(1, 3, 30, 0.8)),
		dwell:  -1,
		want:   []string{"0m short-lived!", "1m short-lived!", "2m short-lived", "3m short-lived"},
	}, {
		// 5 requests a window: the window reaches back until it holds 20.
		name:   "sporadic revision accumulates evidence across windows",
		rounds: []round{{0, 5, slow}, {10, 5, slow}, {20, 5, slow}, {30, 5, slow}},
		want:   []string{"0m -", "10m -", "20m -", "30m long-lived!"},
	}, {
		name:   "rounds without requests are no evidence either way",
		rounds: concat([]round{{0, 30, fast}}, rounds(1, 12, 0, 0), []round{{13, 30, fast}}),
		want:   concat(lines(0, 12, "-"), []string{"13m short-lived!"}),
	}, {
		name:   "no dwell",
		dwell:  -1,
		rounds: rounds(0, 1, 30, fast),
		want:   []string{"0m short-lived!", "1m short-lived"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := clocktesting.NewFakeClock(t0)
			h := NewHistory(Options{Clock: clock, ObservationWindow: 5 * time.Minute, DwellWindows: tc.dwell})
			key := revision.Key{Namespace: "default", Name: "fn-00001"}
			h.update(key, observedRevision{DesiredScale: 1}, t0)
			h.update(key, observedRevision{DesiredScale: 1, ReadyIPs: []string{"10.0.0.1"}}, t0)
			var called []revision.Key
			h.SetClassChangeCallback(func(ns, name string) {
				called = append(called, revision.Key{Namespace: ns, Name: name})
			})
			scraper := newFakeScraper()
			loop := &scrapeLoop{history: h, scraper: scraper}
			pod := newFakePod()

			var got []string
			for _, r := range tc.rounds {
				clock.SetTime(t0.Add(time.Duration(r.minute) * time.Minute))
				pod.serve(r.n, r.d)
				scraper.set("10.0.0.1", pod.cum)
				before := len(called)
				loop.round(context.Background())
				got = append(got, classLine(r.minute, h, key, len(called) > before))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("rounds (-want +got):\n%s", diff)
			}
			for _, k := range called {
				if k != key {
					t.Errorf("callback for %s, want only %s", k, key)
				}
			}
		})
	}
}

func TestObserveReportsWindowSummary(t *testing.T) {
	t.Parallel()
	clock := clocktesting.NewFakeClock(t0)
	h := NewHistory(Options{Clock: clock, ObservationWindow: 5 * time.Minute, DwellWindows: -1})
	key := revision.Key{Namespace: "default", Name: "fn-00001"}
	if _, ok := h.Observe(key.Namespace, key.Name); ok {
		t.Fatal("Observe of an unknown revision reported an observation")
	}
	h.update(key, observedRevision{DesiredScale: 1}, t0)
	h.update(key, observedRevision{DesiredScale: 1, ReadyIPs: []string{"10.0.0.1"}}, t0)
	scraper := newFakeScraper()
	loop := &scrapeLoop{history: h, scraper: scraper}
	pod := newFakePod()

	steps := []struct {
		n    int
		d    float64
		want policy.Observation
		rate float64
	}{
		// 30 × 0.2 s, all in (0.1 s, 0.25 s]: p50 at half of it, p99 at 0.99.
		{30, fast, policy.Observation{P50: 175 * time.Millisecond, P99: 248500 * time.Microsecond, Samples: 30}, 0.1},
		// 30 × 12 s more: 60 in the window, 30 above 10 s. p50 at rank 30
		// is the top of (0.1 s, 0.25 s]; p99 is the longest one above 10 s
		// can have been: 366 s − 30 × 0.1 s − 29 × 10 s = 73 s.
		{30, slow, policy.Observation{P50: 250 * time.Millisecond, P99: 73 * time.Second, Samples: 60}, 0.2},
	}
	for i, s := range steps {
		clock.SetTime(t0.Add(time.Duration(i) * time.Minute))
		pod.serve(s.n, s.d)
		scraper.set("10.0.0.1", pod.cum)
		loop.round(context.Background())
		got, ok := h.Observe(key.Namespace, key.Name)
		if !ok {
			t.Fatalf("step %d: no observation", i)
		}
		if diff := cmp.Diff(s.want, got); diff != "" {
			t.Errorf("step %d: Observe (-want +got):\n%s", i, diff)
		}
		stats, _ := h.Stats(key, clock.Now())
		if stats.RequestsPerSecond != s.rate {
			t.Errorf("step %d: RequestsPerSecond = %v, want %v", i, stats.RequestsPerSecond, s.rate)
		}
	}
}
