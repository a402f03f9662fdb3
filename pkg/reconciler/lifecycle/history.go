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
	"slices"
	"sync"
	"time"

	"github.com/serverless-mesh/ssm/pkg/policy"
	"github.com/serverless-mesh/ssm/pkg/pool/revision"
	"github.com/serverless-mesh/ssm/pkg/pool/sizing"
	"github.com/serverless-mesh/ssm/pkg/reconciler/lifecycle/queuemetrics"
	"github.com/serverless-mesh/ssm/pkg/resolver"
)

// ColdStartOutcome is how a cold start ended.
type ColdStartOutcome string

const (
	// ColdStartInFlight has not ended yet.
	ColdStartInFlight ColdStartOutcome = "InFlight"
	// ColdStartReady ended with a ready endpoint address.
	ColdStartReady ColdStartOutcome = "Ready"
	// ColdStartAbandoned ended without one: the revision went back to zero
	// (Knative gave up activating it) or MaxColdStart passed.
	ColdStartAbandoned ColdStartOutcome = "Abandoned"
)

// ColdStartRecord is one observed scale-from-zero of a revision.
type ColdStartRecord struct {
	// Start is when the PodAutoscaler's desired scale was seen leaving zero.
	Start time.Time
	// Pool is the ProxyPool the revision would lease from ("" for none).
	Pool string
	// Concurrent counts the cold starts of Pool in flight at Start, this
	// one included (for a revision that leases from no pool, 0).
	Concurrent int32
	Outcome    ColdStartOutcome
	// TimeToReady is Start to the first ready address, for Ready outcomes.
	TimeToReady time.Duration
}

// observedRevision is what the reconciler read about a revision.
type observedRevision struct {
	// Annotations are the Revision's, for its ssm.dev/* policy.
	Annotations map[string]string
	// DesiredScale is the KPA's status.desiredScale; -1 when unset.
	DesiredScale int32
	// ReadyIPs are the ready addresses of the private Endpoints, sorted.
	ReadyIPs []string
}

// revisionHistory is what History keeps about one revision.
type revisionHistory struct {
	// desired is the last known desired scale, -1 before one is known.
	desired  int32
	readyIPs []string
	// baselineIPs were ready when the revision was first seen: their
	// counters hold requests from before the History existed, so their
	// first scrape is a baseline, not a sample.
	baselineIPs map[string]bool
	inFlight    *ColdStartRecord
	coldStarts  []ColdStartRecord

	// pods are the last cumulative histograms, by pod IP.
	pods map[string]queuemetrics.Histogram
	// window are the non-empty scrape deltas, oldest first.
	window []windowEntry
	observer
}

// History records, per revision, cold starts and request durations. It is
// safe for concurrent use. Everything is in memory and bounded: per revision
// by Options, across revisions by forgetting deleted ones.
type History struct {
	opts  Options
	pools *sizing.Pools

	// intervalChanged wakes the scrape loop when SetObservation changes
	// the interval.
	intervalChanged chan struct{}

	mu        sync.Mutex
	revisions map[revision.Key]*revisionHistory
	// inFlight counts the cold starts in flight per pool.
	inFlight      map[string]int32
	defaults      policy.Defaults
	onClassChange func(namespace, name string)
}

// History is handed to its two consumers as these interfaces: the KIngress
// reconciler observes through policy.Observer, the ProxyPool reconciler
// sizes through sizing.Recommender.
var (
	_ policy.Observer    = (*History)(nil)
	_ sizing.Recommender = (*History)(nil)
)

// NewHistory returns an empty History. It observes with config-ssm's
// built-in defaults until SetDefaults is called.
func NewHistory(opts Options) *History {
	opts = opts.withDefaults()
	return &History{
		opts:            opts,
		pools:           sizing.NewPools(opts.Sizing),
		revisions:       map[revision.Key]*revisionHistory{},
		inFlight:        map[string]int32{},
		defaults:        policy.NewDefaults(),
		intervalChanged: make(chan struct{}, 1),
	}
}

// SetObservation replaces the observation window, the dwell and the scrape
// interval (config-ssm's observation-* keys). A new interval takes effect
// at once, not after the current one runs out.
func (h *History) SetObservation(window time.Duration, dwellWindows int, scrapeInterval time.Duration) {
	h.mu.Lock()
	changed := scrapeInterval > 0 && scrapeInterval != h.opts.ScrapeInterval
	if window > 0 {
		h.opts.ObservationWindow = window
	}
	h.opts.DwellWindows = max(dwellWindows, 0)
	if scrapeInterval > 0 {
		h.opts.ScrapeInterval = scrapeInterval
	}
	h.mu.Unlock()
	if changed {
		select {
		case h.intervalChanged <- struct{}{}:
		default:
		}
	}
}

// scrapeInterval is the current interval between scrape rounds.
func (h *History) scrapeInterval() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.opts.ScrapeInterval
}

// SetDefaults replaces the config-ssm defaults used to classify and to
// resolve pools.
func (h *History) SetDefaults(d policy.Defaults) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.defaults = d
}

// SetClassChangeCallback registers fn, called (outside any lock) with a
// revision whose observation appeared for the first time, changed lifecycle
// class or moved its derived timeout (see evaluateLocked), so its KIngress
// can be reconciled again.
func (h *History) SetClassChangeCallback(fn func(namespace, name string)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.onClassChange = fn
}

// Recommend sizes ProxyPool pool from the cold starts of the revisions
// that lease from it; see sizing.Model.Recommend.
func (h *History) Recommend(pool string, now time.Time, minSize, maxSize, headroomPercent int32, held sizing.Held) sizing.Recommendation {
	return h.pools.Recommend(pool, now, minSize, maxSize, headroomPercent, held)
}

// ColdStarts returns the revision's recorded cold starts, oldest first,
// the one in flight (if any) last.
func (h *History) ColdStarts(key revision.Key) []ColdStartRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.revisions[key]
	if r == nil {
		return nil
	}
	out := slices.Clone(r.coldStarts)
	if r.inFlight != nil {
		out = append(out, *r.inFlight)
	}
	return out
}

// Forget drops everything about a revision that no longer exists.
func (h *History) Forget(key revision.Key) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r := h.revisions[key]; r != nil && r.inFlight != nil {
		h.endInFlightLocked(r, ColdStartAbandoned, 0)
	}
	delete(h.revisions, key)
}

// update records the revision's observed state at now and detects cold
// starts: a cold start begins when the desired scale leaves zero while no
// address is ready, and ends at the first ready address or when the
// desired scale returns to zero.
func (h *History) update(key revision.Key, obs observedRevision, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.revisions[key]
	if r == nil {
		r = &revisionHistory{desired: -1, baselineIPs: map[string]bool{}, pods: map[string]queuemetrics.Histogram{}}
		for _, ip := range obs.ReadyIPs {
			r.baselineIPs[ip] = true
		}
		h.revisions[key] = r
	}
	h.expireLocked(r, now)

	wasDesired, wasReady := r.desired, len(r.readyIPs)
	if obs.DesiredScale >= 0 {
		// -1 is the autoscaler not knowing yet (after its restart); the
		// scale it last reported is still the best knowledge.
		r.desired = obs.DesiredScale
	}
	r.readyIPs = obs.ReadyIPs
	// A pod that left the ready set is not followed any more; should its
	// IP come back, it is another pod with fresh counters.
	for ip := range r.pods {
		if !slices.Contains(obs.ReadyIPs, ip) {
			delete(r.pods, ip)
		}
	}
	for ip := range r.baselineIPs {
		if !slices.Contains(obs.ReadyIPs, ip) {
			delete(r.baselineIPs, ip)
		}
	}

	switch {
	case r.inFlight != nil && len(obs.ReadyIPs) > 0:
		h.endInFlightLocked(r, ColdStartReady, now.Sub(r.inFlight.Start))
	case r.inFlight != nil && r.desired == 0:
		h.endInFlightLocked(r, ColdStartAbandoned, 0)
	case r.inFlight == nil && wasDesired == 0 && r.desired > 0 && wasReady == 0 && len(obs.ReadyIPs) == 0:
		// The pool stamped on the revision when it was admitted: the one
		// ssm-pool grants from and the activator asks for; "" for none.
		h.startColdStartLocked(key, r, resolver.StampedPods(obs.Annotations).ProxyPool, now)
	}
}

func (h *History) startColdStartLocked(key revision.Key, r *revisionHistory, pool string, now time.Time) {
	cs := &ColdStartRecord{Start: now, Pool: pool, Outcome: ColdStartInFlight}
	if pool != "" {
		h.inFlight[pool]++
		cs.Concurrent = h.inFlight[pool]
		h.pools.Record(sizing.ColdStart{Time: now, Namespace: key.Namespace, Revision: key.Name, Pool: pool, Concurrent: cs.Concurrent})
	}
	r.inFlight = cs
}

func (h *History) endInFlightLocked(r *revisionHistory, outcome ColdStartOutcome, toReady time.Duration) {
	cs := *r.inFlight
	r.inFlight = nil
	if cs.Pool != "" {
		if h.inFlight[cs.Pool]--; h.inFlight[cs.Pool] <= 0 {
			delete(h.inFlight, cs.Pool)
		}
	}
	cs.Outcome, cs.TimeToReady = outcome, toReady
	r.coldStarts = append(r.coldStarts, cs)
	if over := len(r.coldStarts) - h.opts.MaxColdStartsKept; over > 0 {
		r.coldStarts = slices.Delete(r.coldStarts, 0, over)
	}
}

// expireLocked writes off r's cold start once it has been in flight for
// MaxColdStart: Knative has given up on it by then, and a stuck one must not
// inflate its pool's concurrency forever.
func (h *History) expireLocked(r *revisionHistory, now time.Time) {
	if r.inFlight != nil && now.Sub(r.inFlight.Start) >= h.opts.MaxColdStart {
		h.endInFlightLocked(r, ColdStartAbandoned, 0)
	}
}

// expire runs expireLocked over every revision.
func (h *History) expire(now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.revisions {
		h.expireLocked(r, now)
	}
}
