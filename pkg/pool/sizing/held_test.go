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
	"fmt"
	"math"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// coldStarts records, in time order, one cold start (concurrency 1) of each
// named revision of pool "default" at the given offsets from start.
func coldStarts(m *Model, start time.Time, events map[string][]time.Duration) {
	var all []ColdStart
	for rev, offsets := range events {
		for _, off := range offsets {
			all = append(all, ColdStart{Time: start.Add(off), Namespace: "ns", Revision: rev, Pool: "default", Concurrent: 1})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Time.Before(all[j].Time) })
	for _, ev := range all {
		m.Record(ev)
	}
}

// TestLeasesHoldTheirProxies: a lease keeps its proxy for the pool's idle
// timeout, so sizing counts one held proxy per revision that cold-started
// within it (or what ssm-pool reports leased, if more) on top of the warm
// proxies for the predicted concurrent cold starts.
func TestLeasesHoldTheirProxies(t *testing.T) {
	t.Parallel()
	start := at(0, 12, 0)
	tenOneAfterAnother := map[string][]time.Duration{}
	tenEveryMinute := map[string][]time.Duration{}
	for i := range 10 {
		rev := fmt.Sprintf("fn-%d", i)
		tenOneAfterAnother[rev] = []time.Duration{time.Duration(i) * 25 * time.Second}
		for minute := range 10 {
			tenEveryMinute[rev] = append(tenEveryMinute[rev], time.Duration(minute)*time.Minute+time.Duration(i)*time.Second)
		}
	}
	idle := Held{IdleTimeout: 5 * time.Minute}
	tests := []struct {
		name   string
		events map[string][]time.Duration
		now    time.Duration
		held   Held
		want   Recommendation
	}{{
		name:   "ten revisions cold-starting one after another within the idle timeout need ten proxies, plus the warm ones",
		events: tenOneAfterAnother, now: 4 * time.Minute, held: idle,
		want: Recommendation{Replicas: 12, Reason: "burst: 1 concurrent cold starts in the last 5m + 25% headroom → 2" +
			"; + 10 held by leases (10 revisions cold-started within the 5m idle timeout, 0 leased now) → 12"},
	}, {
		name:   "without the idle timeout the model would predict two",
		events: tenOneAfterAnother, now: 4 * time.Minute, held: Held{},
		want: Recommendation{Replicas: 2, Reason: "burst: 1 concurrent cold starts in the last 5m + 25% headroom → 2"},
	}, {
		name:   "ten revisions each cold-starting once a minute, 5-minute idle: at least ten",
		events: tenEveryMinute, now: 10 * time.Minute, held: idle,
		want: Recommendation{Replicas: 12, Reason: "burst: 1 concurrent cold starts in the last 5m + 25% headroom → 2" +
			"; + 10 held by leases (10 revisions cold-started within the 5m idle timeout, 0 leased now) → 12"},
	}, {
		name:   "only the revisions within the idle timeout still hold one",
		events: tenOneAfterAnother, now: 4*time.Minute + 2*time.Minute, held: idle,
		// Cold starts at 0 s, 25 s, … 225 s; at 6 min those after 1 min hold.
		want: Recommendation{Replicas: 9, Reason: "burst: 1 concurrent cold starts in the last 5m + 25% headroom → 2" +
			"; + 7 held by leases (7 revisions cold-started within the 5m idle timeout, 0 leased now) → 9"},
	}, {
		name:   "ssm-pool's leased count wins when it is higher (history lost on a controller restart)",
		events: nil, now: time.Minute, held: Held{IdleTimeout: 5 * time.Minute, Leased: 7},
		want: Recommendation{Replicas: 7, Reason: "idle: no cold starts predicted → 0" +
			"; + 7 held by leases (0 revisions cold-started within the 5m idle timeout, 7 leased now) → 7"},
	}, {
		name:   "clamped to maxSize, saying so",
		events: tenOneAfterAnother, now: 4 * time.Minute, held: Held{IdleTimeout: 5 * time.Minute, Leased: math.MaxInt32},
		want: Recommendation{Replicas: 20, Reason: "burst: 1 concurrent cold starts in the last 5m + 25% headroom → 2" +
			"; + 2147483647 held by leases (10 revisions cold-started within the 5m idle timeout, 2147483647 leased now) → 2147483647" +
			", clamped to maxSize 20"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := New(DefaultConfig())
			coldStarts(m, start, tc.events)
			got := m.RecommendHeld(start.Add(tc.now), 0, 20, 25, tc.held)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("RecommendHeld (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRevisionsKeptAreBounded: the per-revision memory behind Held never
// grows past maxRevisionsKept, and forgets the oldest first.
func TestRevisionsKeptAreBounded(t *testing.T) {
	t.Parallel()
	m := New(DefaultConfig())
	start := at(0, 12, 0)
	for i := range maxRevisionsKept + 10 {
		m.Record(ColdStart{Time: start.Add(time.Duration(i) * time.Millisecond), Namespace: "ns", Revision: fmt.Sprint(i), Pool: "p"})
	}
	if got := len(m.lastColdStart); got != maxRevisionsKept {
		t.Fatalf("revisions kept = %d, want %d", got, maxRevisionsKept)
	}
	if _, ok := m.lastColdStart["ns/0"]; ok {
		t.Error("the oldest revision is still kept")
	}
	if _, ok := m.lastColdStart[fmt.Sprintf("ns/%d", maxRevisionsKept+9)]; !ok {
		t.Error("the newest revision was forgotten")
	}
}
