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

package sizing

import (
	"math/rand"
	"sort"
	"time"
)

// day0 is a Monday, 00:00 UTC: day N of a trace starts N×24h later.
var day0 = time.Date(2026, time.January, 5, 0, 0, 0, 0, time.UTC)

// at is hour:minute on day d of the trace.
func at(d, hour, minute int) time.Time {
	return day0.Add(time.Duration(d)*24*time.Hour + time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute)
}

// coldStartSpan is one synthetic cold start: when it began and how long it
// took until its first pod was ready.
type coldStartSpan struct {
	start   time.Time
	toReady time.Duration
}

// withConcurrency turns spans into events, counting for each how many spans
// were in flight at its start, itself included, as the lifecycle hook does.
func withConcurrency(pool string, spans []coldStartSpan) []ColdStart {
	sort.SliceStable(spans, func(i, j int) bool { return spans[i].start.Before(spans[j].start) })
	events := make([]ColdStart, 0, len(spans))
	var inFlight []time.Time // ready times of the spans still in flight
	for _, s := range spans {
		kept := inFlight[:0]
		for _, ready := range inFlight {
			if ready.After(s.start) {
				kept = append(kept, ready)
			}
		}
		inFlight = append(kept, s.start.Add(s.toReady))
		events = append(events, ColdStart{Time: s.start, Revision: "fn", Pool: pool, Concurrent: int32(len(inFlight))})
	}
	return events
}

// wave is k cold starts one second apart, each ready 10 s after it began:
// at the last start all k are in flight.
func wave(start time.Time, k int) []coldStartSpan {
	spans := make([]coldStartSpan, 0, k)
	for i := range k {
		spans = append(spans, coldStartSpan{start: start.Add(time.Duration(i) * time.Second), toReady: 10 * time.Second})
	}
	return spans
}

// diurnalTrace is office-hours load: from 09:00 to 17:00 a wave of 4–6
// concurrent cold starts every 10 minutes; at night, with probability 1/20
// per hour, a single cold start. It covers days [0, days) and, on day
// `days`, the hours before untilHour.
func diurnalTrace(seed int64, days, untilHour int) []ColdStart {
	rng := rand.New(rand.NewSource(seed))
	var spans []coldStartSpan
	for d := 0; d <= days; d++ {
		for h := range 24 {
			if d == days && h >= untilHour {
				break
			}
			if h >= 9 && h < 17 {
				for m := 0; m < 60; m += 10 {
					spans = append(spans, wave(at(d, h, m), 4+rng.Intn(3))...)
				}
				continue
			}
			if rng.Intn(20) == 0 {
				spans = append(spans, coldStartSpan{start: at(d, h, rng.Intn(60)), toReady: 5 * time.Second})
			}
		}
	}
	return withConcurrency("default", spans)
}

// steadyTrace is a noisy steady load: cold starts arrive as a Poisson process
// with a mean gap of 90 s, each taking 3–20 s to become ready.
func steadyTrace(seed int64, from, to time.Time) []ColdStart {
	rng := rand.New(rand.NewSource(seed))
	var spans []coldStartSpan
	// Bounded: each step advances t by at least a millisecond.
	for t := from; t.Before(to); {
		gap := time.Duration(rng.ExpFloat64()*90*float64(time.Second)) + time.Millisecond
		t = t.Add(gap)
		spans = append(spans, coldStartSpan{start: t, toReady: time.Duration(3+rng.Intn(18)) * time.Second})
	}
	return withConcurrency("default", spans)
}

// replay records events in time order while stepping now from `from` to
// `to` (exclusive); before each step it records every event up to now, then
// calls observe with the recommendation at now.
func replay(m *Model, events []ColdStart, from, to time.Time, step time.Duration,
	minSize, maxSize, headroom int32, observe func(now time.Time, r Recommendation)) {
	i := 0
	for now := from; now.Before(to); now = now.Add(step) {
		for i < len(events) && !events[i].Time.After(now) {
			m.Record(events[i])
			i++
		}
		observe(now, m.Recommend(now, minSize, maxSize, headroom))
	}
}
