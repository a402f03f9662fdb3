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
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDiurnal(t *testing.T) {
	t.Parallel()
	const minSize, maxSize, headroom = 2, 20, 25
	for _, seed := range []int64{1, 2, 3} {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			t.Parallel()
			m := New(DefaultConfig())
			events := diurnalTrace(seed, 7, 10)
			var night, morning Recommendation
			replay(m, events, day0, at(7, 10, 0).Add(time.Minute), time.Minute, minSize, maxSize, headroom,
				func(now time.Time, r Recommendation) {
					if r.Replicas < minSize || r.Replicas > maxSize {
						t.Fatalf("%s: %d replicas outside [%d, %d] (%s)", now, r.Replicas, minSize, maxSize, r.Reason)
					}
					switch {
					case now.Equal(at(7, 3, 0)):
						night = r
					case now.Equal(at(7, 10, 0)):
						morning = r
					}
				})
			// The nights hold a stray single cold start now and then; at
			// most one warm proxy is owed to it, less than minSize.
			if night.Replicas != minSize {
				t.Errorf("day 8 03:00: got %d replicas (%s), want minSize %d", night.Replicas, night.Reason, minSize)
			}
			// Office hours peak at 4–6 concurrent cold starts: 6 × 1.25 = 7.5.
			if morning.Replicas < 7 || morning.Replicas > 8 {
				t.Errorf("day 8 10:00: got %d replicas (%s), want 7–8", morning.Replicas, morning.Reason)
			}
		})
	}
}

func TestBurst(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		maxSize  int32
		headroom int32
		want     Recommendation
	}{{
		name: "headroom on top", maxSize: 20, headroom: 25,
		want: Recommendation{Replicas: 10, Reason: "burst: 8 concurrent cold starts in the last 5m + 25% headroom → 10"},
	}, {
		name: "clamped", maxSize: 6, headroom: 25,
		want: Recommendation{Replicas: 6, Reason: "burst: 8 concurrent cold starts in the last 5m + 25% headroom → 10, clamped to maxSize 6"},
	}, {
		name: "negative headroom is none", maxSize: 20, headroom: -5,
		want: Recommendation{Replicas: 8, Reason: "burst: 8 concurrent cold starts in the last 5m + 0% headroom → 8"},
	}, {
		name: "headroom capped at 1000%", maxSize: 100, headroom: 5000,
		want: Recommendation{Replicas: 88, Reason: "burst: 8 concurrent cold starts in the last 5m + 1000% headroom → 88"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := New(DefaultConfig())
			for _, ev := range withConcurrency("default", wave(at(0, 12, 0), 8)) {
				m.Record(ev)
			}
			got := m.Recommend(at(0, 12, 0).Add(10*time.Second), 1, tc.maxSize, tc.headroom)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Recommend (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIdleReturnsToMin(t *testing.T) {
	t.Parallel()
	// One busy hour: a wave of 3 concurrent cold starts every 10 minutes
	// from 12:00 to 12:50 on day 0, then nothing.
	var spans []coldStartSpan
	for m := 0; m < 60; m += 10 {
		spans = append(spans, wave(at(0, 12, m), 3)...)
	}
	events := withConcurrency("default", spans)
	want := map[time.Time]Recommendation{
		at(0, 12, 31): {Replicas: 4, Reason: "burst: 3 concurrent cold starts in the last 5m + 25% headroom → 4"},
		// The last wave left the burst window at 12:55:02; the level is
		// held for 15 minutes from the last call that still saw it.
		at(0, 13, 5):  {Replicas: 4, Reason: "burst: 3 concurrent cold starts in the last 5m (10m ago, held for the 15m cool-down) + 25% headroom → 4"},
		at(0, 13, 9):  {Replicas: 4, Reason: "burst: 3 concurrent cold starts in the last 5m (14m ago, held for the 15m cool-down) + 25% headroom → 4"},
		at(0, 13, 10): {Replicas: 1, Reason: "idle: no cold starts predicted → 0, raised to minSize 1"},
		at(0, 19, 0):  {Replicas: 1, Reason: "idle: no cold starts predicted → 0, raised to minSize 1"},
		// The next day, hour 12's history raises the pool Lookahead early.
		at(1, 11, 49): {Replicas: 1, Reason: "idle: no cold starts predicted → 0, raised to minSize 1"},
		at(1, 11, 50): {Replicas: 4, Reason: "history: hour 12 smoothed peak 3.0 + 25% headroom → 4"},
	}
	got := map[time.Time]Recommendation{}
	m := New(DefaultConfig())
	replay(m, events, at(0, 12, 0), at(1, 12, 0), time.Minute, 1, 10, 25, func(now time.Time, r Recommendation) {
		if _, ok := want[now]; ok {
			got[now] = r
		}
	})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("recommendations (-want +got):\n%s", diff)
	}
}

func TestDecayOverQuietDays(t *testing.T) {
	t.Parallel()
	// A single day with 4 concurrent cold starts at 10:00, then quiet days:
	// hour 10 decays by 1−Alpha = 0.7 a day. Replicas = ceil(4 × 0.7^(d−1)
	// × 1.25 − 0.1), asked at 09:55 when hour 10 is within the lookahead.
	tests := []struct {
		name string
		days []int // days on which Recommend is called, the last one checked
		want Recommendation
	}{
		{"day 1", []int{1}, Recommendation{Replicas: 5, Reason: "history: hour 10 smoothed peak 4.0 + 25% headroom → 5"}},
		{"day 2", []int{1, 2}, Recommendation{Replicas: 4, Reason: "history: hour 10 smoothed peak 2.8 + 25% headroom → 4"}},
		{"day 3", []int{1, 2, 3}, Recommendation{Replicas: 3, Reason: "history: hour 10 smoothed peak 2.0 + 25% headroom → 3"}},
		{"day 4", []int{1, 2, 3, 4}, Recommendation{Replicas: 2, Reason: "history: hour 10 smoothed peak 1.4 + 25% headroom → 2"}},
		{"day 6", []int{1, 2, 3, 4, 5, 6}, Recommendation{Replicas: 1, Reason: "history: hour 10 smoothed peak 0.7 + 25% headroom → 1"}},
		// Five quiet days folded in one call must match five daily calls.
		{"day 6 in one step", []int{1, 6}, Recommendation{Replicas: 1, Reason: "history: hour 10 smoothed peak 0.7 + 25% headroom → 1"}},
		{"day 12 decayed away", []int{1, 12}, Recommendation{Replicas: 0, Reason: "idle: no cold starts predicted → 0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := New(DefaultConfig())
			for _, ev := range withConcurrency("default", wave(at(0, 10, 0), 4)) {
				m.Record(ev)
			}
			var got Recommendation
			for _, d := range tc.days {
				got = m.Recommend(at(d, 9, 55), 0, 10, 25)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Recommend (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBoundsHoldOverTraces(t *testing.T) {
	t.Parallel()
	traces := []struct {
		name   string
		events []ColdStart
	}{
		{"diurnal", diurnalTrace(7, 3, 0)},
		{"steady", steadyTrace(7, day0, at(3, 0, 0))},
	}
	bounds := []struct{ minSize, maxSize, wantLo, wantHi int32 }{
		{0, 3, 0, 3},
		{2, 20, 2, 20},
		{5, 5, 5, 5},
		// maxSize below minSize: the floor wins.
		{3, 1, 3, 3},
		{-2, 4, 0, 4},
	}
	for _, tr := range traces {
		for _, b := range bounds {
			t.Run(fmt.Sprintf("%s [%d,%d]", tr.name, b.minSize, b.maxSize), func(t *testing.T) {
				t.Parallel()
				m := New(DefaultConfig())
				steps := 0
				replay(m, tr.events, day0, at(3, 0, 0), time.Minute, b.minSize, b.maxSize, 25, func(now time.Time, r Recommendation) {
					steps++
					if r.Replicas < b.wantLo || r.Replicas > b.wantHi {
						t.Fatalf("%s: %d replicas outside [%d, %d] (%s)", now, r.Replicas, b.wantLo, b.wantHi, r.Reason)
					}
				})
				if steps != 3*24*60 {
					t.Fatalf("replayed %d steps, want %d", steps, 3*24*60)
				}
			})
		}
	}
}

func TestNoFlapping(t *testing.T) {
	t.Parallel()
	// A model that followed the 5-minute peak alone changes direction 137–147
	// times a day on these traces; the hour buckets and the hold keep this
	// one to 12–16, each down step a full CoolDown after the step before it.
	const maxDirectionChanges = 20
	cooldown := DefaultConfig().CoolDown
	for _, seed := range []int64{1, 2, 3} {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			t.Parallel()
			m := New(DefaultConfig())
			events := steadyTrace(seed, day0, at(8, 0, 0))
			var (
				prev       int32 = -1
				lastChange time.Time
				direction  int
				changes    int
			)
			replay(m, events, day0, at(8, 0, 0), time.Minute, 0, 20, 25, func(now time.Time, r Recommendation) {
				defer func() { prev = r.Replicas }()
				if prev < 0 || r.Replicas == prev {
					return
				}
				d := 1
				if r.Replicas < prev {
					d = -1
					if gap := now.Sub(lastChange); gap < cooldown {
						t.Errorf("%s: down to %d only %s after the previous change (%s)", now, r.Replicas, gap, r.Reason)
					}
				}
				if !now.Before(at(7, 0, 0)) && direction != 0 && d != direction {
					changes++
				}
				direction, lastChange = d, now
			})
			if changes > maxDirectionChanges {
				t.Errorf("%d direction changes on day 8, want at most %d", changes, maxDirectionChanges)
			}
		})
	}
}

func TestLateEventCountsAtLatestTime(t *testing.T) {
	t.Parallel()
	m := New(DefaultConfig())
	m.Record(ColdStart{Time: at(0, 12, 10), Pool: "p", Concurrent: 2})
	// Arrives late: counted at 12:10, so it is still a burst at 12:14.
	m.Record(ColdStart{Time: at(0, 12, 5), Pool: "p", Concurrent: 5})
	got := m.Recommend(at(0, 12, 14), 0, 10, 25)
	want := Recommendation{Replicas: 7, Reason: "burst: 5 concurrent cold starts in the last 5m + 25% headroom → 7"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Recommend (-want +got):\n%s", diff)
	}
}

func TestPools(t *testing.T) {
	t.Parallel()
	p := NewPools(DefaultConfig())
	for _, ev := range withConcurrency("a", wave(at(0, 12, 0), 4)) {
		p.Record(ev)
	}
	p.Record(ColdStart{Time: at(0, 12, 0), Pool: "b", Concurrent: 1})
	now := at(0, 12, 1)
	tests := []struct {
		pool string
		want Recommendation
	}{
		{"a", Recommendation{Replicas: 5, Reason: "burst: 4 concurrent cold starts in the last 5m + 25% headroom → 5"}},
		{"b", Recommendation{Replicas: 2, Reason: "burst: 1 concurrent cold starts in the last 5m + 25% headroom → 2"}},
		{"unknown", Recommendation{Replicas: 1, Reason: "idle: no cold starts predicted → 0, raised to minSize 1"}},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, p.Recommend(tc.pool, now, 1, 10, 25, Held{})); diff != "" {
			t.Errorf("Recommend(%q) (-want +got):\n%s", tc.pool, diff)
		}
	}
	p.Forget("a")
	want := Recommendation{Replicas: 1, Reason: "idle: no cold starts predicted → 0, raised to minSize 1"}
	if diff := cmp.Diff(want, p.Recommend("a", now, 1, 10, 25, Held{})); diff != "" {
		t.Errorf("Recommend after Forget (-want +got):\n%s", diff)
	}
}

func TestFixed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		minSize int32
		want    Recommendation
	}{
		{3, Recommendation{Replicas: 3, Reason: "sizing policy Fixed → minSize 3"}},
		{-1, Recommendation{Replicas: 0, Reason: "sizing policy Fixed → minSize 0"}},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, Fixed(tc.minSize)); diff != "" {
			t.Errorf("Fixed(%d) (-want +got):\n%s", tc.minSize, diff)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   Config
		want Config
	}{{
		name: "zero",
		in:   Config{},
		want: Config{Alpha: 0.3, BurstWindow: 5 * time.Minute, CoolDown: 15 * time.Minute, Lookahead: 10 * time.Minute, Location: time.UTC},
	}, {
		name: "invalid",
		in:   Config{Alpha: 1.5, BurstWindow: -time.Second, CoolDown: -time.Second, Lookahead: -time.Second},
		want: Config{Alpha: 0.3, BurstWindow: 5 * time.Minute, CoolDown: 15 * time.Minute, Lookahead: 10 * time.Minute, Location: time.UTC},
	}, {
		name: "kept",
		in:   Config{Alpha: 1, BurstWindow: time.Minute, CoolDown: time.Hour, Lookahead: 2 * time.Minute, Location: time.UTC},
		want: Config{Alpha: 1, BurstWindow: time.Minute, CoolDown: time.Hour, Lookahead: 2 * time.Minute, Location: time.UTC},
	}}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, tc.in.withDefaults(), cmp.Comparer(func(a, b *time.Location) bool { return a.String() == b.String() })); diff != "" {
			t.Errorf("%s: withDefaults (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	p := NewPools(DefaultConfig())
	pools := []string{"a", "b", "c"}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				now := at(0, 12, 0).Add(time.Duration(i) * time.Second)
				pool := pools[(w+i)%len(pools)]
				p.Record(ColdStart{Time: now, Pool: pool, Concurrent: int32(1 + i%6)})
				if r := p.Recommend(pool, now, 1, 5, 25, Held{}); r.Replicas < 1 || r.Replicas > 5 {
					t.Errorf("%s at %s: %d replicas outside [1, 5]", pool, now, r.Replicas)
				}
			}
		}()
	}
	wg.Wait()
	// Every pool saw 6 concurrent cold starts in its last five minutes.
	want := Recommendation{Replicas: 5, Reason: "burst: 6 concurrent cold starts in the last 5m + 25% headroom → 8, clamped to maxSize 5"}
	for _, pool := range pools {
		if diff := cmp.Diff(want, p.Recommend(pool, at(0, 12, 4), 1, 5, 25, Held{})); diff != "" {
			t.Errorf("Recommend(%q) (-want +got):\n%s", pool, diff)
		}
	}
}

func BenchmarkRecord(b *testing.B) {
	m := New(DefaultConfig())
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m.Record(ColdStart{Time: day0.Add(time.Duration(i) * time.Second), Pool: "p", Concurrent: int32(i%7 + 1)})
	}
}

func BenchmarkRecommend(b *testing.B) {
	m := New(DefaultConfig())
	for _, ev := range diurnalTrace(1, 7, 0) {
		m.Record(ev)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m.Recommend(at(7, 0, 0).Add(time.Duration(i)*time.Second), 1, 20, 25)
	}
}
