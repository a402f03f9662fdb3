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
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	"github.com/serverless-mesh/ssm/pkg/pool/revision"
	"github.com/serverless-mesh/ssm/pkg/pool/sizing"
)

// TestPoolIsWhatThePodsWereBornFor: an "auto" revision observed
// short-lived is counted against a pool only if its pods were born
// sidecar-less for that pool, which is exactly when ssm-pool grants it a
// lease; sizing never counts a cold start the pool would refuse.
func TestPoolIsWhatThePodsWereBornFor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		annotations map[string]string
		wantPool    string
	}{
		{"born with its sidecar (auto starts long-lived)", map[string]string{ssm.LifecycleAnnotationKey: "auto",
			ssm.ResolvedPodsAnnotationKey: "sidecar"}, ""},
		{"born sidecar-less for pool default", map[string]string{ssm.LifecycleAnnotationKey: "auto",
			ssm.ResolvedPodsAnnotationKey: "sidecarless", ssm.ResolvedProxyPoolAnnotationKey: "default"}, "default"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := clocktesting.NewFakeClock(t0)
			h := NewHistory(Options{Clock: clock, DwellWindows: -1})
			key := revision.Key{Namespace: "default", Name: "fn-00001"}
			scraper := newFakeScraper()
			loop := &scrapeLoop{history: h, scraper: scraper}
			pod := newFakePod()
			ann := tc.annotations

			h.update(key, observedRevision{Annotations: ann, DesiredScale: 0}, t0)
			h.update(key, observedRevision{Annotations: ann, DesiredScale: 1}, t0.Add(time.Second))
			h.update(key, observedRevision{Annotations: ann, DesiredScale: 1, ReadyIPs: []string{"10.0.0.1"}}, t0.Add(2*time.Second))
			// Observed fast: short-lived from now on.
			clock.SetTime(t0.Add(time.Minute))
			pod.serve(30, fast)
			scraper.set("10.0.0.1", pod.cum)
			loop.round(context.Background())
			if st, _ := h.Stats(key, clock.Now()); st.Class != "short-lived" {
				t.Fatalf("observed class = %q, want short-lived", st.Class)
			}
			h.update(key, observedRevision{Annotations: ann, DesiredScale: 0}, t0.Add(2*time.Minute))
			h.update(key, observedRevision{Annotations: ann, DesiredScale: 1}, t0.Add(3*time.Minute))

			var concurrent int32
			if tc.wantPool != "" {
				concurrent = 1
			}
			want := []ColdStartRecord{
				{Start: t0.Add(time.Second), Pool: tc.wantPool, Concurrent: concurrent, Outcome: ColdStartReady, TimeToReady: time.Second},
				{Start: t0.Add(3 * time.Minute), Pool: tc.wantPool, Concurrent: concurrent, Outcome: ColdStartInFlight},
			}
			if diff := cmp.Diff(want, h.ColdStarts(key)); diff != "" {
				t.Errorf("cold starts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHistoryIsBounded(t *testing.T) {
	t.Parallel()
	clock := clocktesting.NewFakeClock(t0)
	h := NewHistory(Options{Clock: clock, MaxColdStartsKept: 3, MaxWindowEntries: 4, MaxObservationAge: time.Hour})
	key := revision.Key{Namespace: "default", Name: "fn-00001"}
	scraper := newFakeScraper()
	loop := &scrapeLoop{history: h, scraper: scraper}
	pod := newFakePod()

	// Five cold starts, one a minute, each ready after a second; each
	// ready pod serves one request per round.
	h.update(key, observedRevision{DesiredScale: 0}, t0)
	for i := range 5 {
		start := t0.Add(time.Duration(i) * time.Minute)
		ip := fmt.Sprintf("10.0.0.%d", i+1)
		h.update(key, observedRevision{DesiredScale: 1}, start)
		h.update(key, observedRevision{DesiredScale: 1, ReadyIPs: []string{ip}}, start.Add(time.Second))
		clock.SetTime(start.Add(30 * time.Second))
		pod.serve(1, fast)
		scraper.set(ip, pod.cum)
		loop.round(context.Background())
		h.update(key, observedRevision{DesiredScale: 0}, start.Add(50*time.Second))
	}
	var starts []time.Time
	for _, cs := range h.ColdStarts(key) {
		starts = append(starts, cs.Start)
	}
	wantStarts := []time.Time{t0.Add(2 * time.Minute), t0.Add(3 * time.Minute), t0.Add(4 * time.Minute)}
	if diff := cmp.Diff(wantStarts, starts); diff != "" {
		t.Errorf("kept cold starts (-want +got):\n%s", diff)
	}
	h.mu.Lock()
	entries, pods := len(h.revisions[key].window), len(h.revisions[key].pods)
	h.mu.Unlock()
	if entries != 4 {
		t.Errorf("%d window entries kept, want MaxWindowEntries 4", entries)
	}
	if pods != 0 {
		t.Errorf("%d pod histograms kept for a revision at zero, want 0", pods)
	}

	// Two hours later every entry is older than MaxObservationAge.
	clock.SetTime(t0.Add(2 * time.Hour))
	h.update(key, observedRevision{DesiredScale: 1, ReadyIPs: []string{"10.0.0.9"}}, clock.Now())
	late := newFakePod()
	late.serve(1, fast)
	scraper.set("10.0.0.9", late.cum)
	loop.round(context.Background())
	if s, _ := h.Stats(key, clock.Now()); s.Observed.Samples != 1 {
		t.Errorf("%d samples after two hours, want only the new one", s.Observed.Samples)
	}

	h.Forget(key)
	if _, ok := h.Stats(key, clock.Now()); ok {
		t.Error("Stats of a forgotten revision still present")
	}
}

func TestHistoryConcurrentUse(t *testing.T) {
	t.Parallel()
	clock := clocktesting.NewFakeClock(t0)
	h := NewHistory(Options{Clock: clock, DwellWindows: -1})
	scraper := newFakeScraper()
	loop := &scrapeLoop{history: h, scraper: scraper}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := revision.Key{Namespace: "default", Name: fmt.Sprintf("fn-%d", w)}
			ip := fmt.Sprintf("10.0.%d.1", w)
			pod := newFakePod()
			for i := range 50 {
				now := t0.Add(time.Duration(i) * time.Second)
				h.update(key, observedRevision{Annotations: shortLived, DesiredScale: int32(i % 2)}, now)
				h.update(key, observedRevision{Annotations: shortLived, DesiredScale: 1, ReadyIPs: []string{ip}}, now)
				pod.serve(1, fast)
				scraper.set(ip, pod.cum)
				loop.round(context.Background())
				h.Observe(key.Namespace, key.Name)
				h.Recommend("default", now, 0, 10, 25, sizing.Held{})
			}
		}()
	}
	wg.Wait()
	for w := range 4 {
		key := revision.Key{Namespace: "default", Name: fmt.Sprintf("fn-%d", w)}
		if _, ok := h.Observe(key.Namespace, key.Name); !ok {
			t.Errorf("%s: no observation after 50 rounds", key)
		}
	}
}
