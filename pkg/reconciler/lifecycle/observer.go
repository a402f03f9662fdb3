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
	"sort"
	"time"

	"github.com/serverless-mesh/ssm/pkg/policy"
	"github.com/serverless-mesh/ssm/pkg/pool/revision"
	"github.com/serverless-mesh/ssm/pkg/reconciler/lifecycle/queuemetrics"
)

// windowEntry is what one scrape round added to a revision's requests.
type windowEntry struct {
	at    time.Time
	delta queuemetrics.Histogram
}

// observer is the per-revision state of the Observer: what is reported to
// pkg/policy, and the class change waiting out its dwell.
type observer struct {
	reported      policy.Observation
	hasReported   bool
	reportedClass policy.Lifecycle
	pending       policy.Lifecycle
	pendingSince  time.Time
	// notifiedTimeout is the timeout policy.DerivedTimeout gave the
	// reported observation when the callback was last called.
	notifiedTimeout time.Duration
}

// Observe implements policy.Observer: the revision's reported observation,
// which changes lifecycle class only after the new class has held for
// DwellWindows observation windows. policy.Classify's own hysteresis (the
// band between the thresholds keeps the previous class) applies on top.
func (h *History) Observe(namespace, name string) (policy.Observation, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.revisions[revision.Key{Namespace: namespace, Name: name}]
	if r == nil || !r.hasReported {
		return policy.Observation{}, false
	}
	return r.reported, true
}

// RevisionStats is a snapshot of what the History knows about a revision.
type RevisionStats struct {
	// Observed is the latest window's raw observation; Reported what
	// Observe returns (HasReported false: nothing yet), of class Class.
	Observed    policy.Observation
	Reported    policy.Observation
	HasReported bool
	Class       policy.Lifecycle
	// RequestsPerSecond is the request rate over the last ObservationWindow.
	RequestsPerSecond float64
	ReadyPods         int
	ColdStarts        []ColdStartRecord
}

// Stats returns a snapshot of the revision, and false for one not tracked.
func (h *History) Stats(key revision.Key, now time.Time) (RevisionStats, bool) {
	h.mu.Lock()
	r := h.revisions[key]
	if r == nil {
		h.mu.Unlock()
		return RevisionStats{}, false
	}
	observed, _ := h.windowObservationLocked(r, now)
	recent := h.recentLocked(r, now)
	s := RevisionStats{
		Observed:          observed,
		Reported:          r.reported,
		HasReported:       r.hasReported,
		Class:             r.reportedClass,
		RequestsPerSecond: float64(recent.Count) / h.opts.ObservationWindow.Seconds(),
		ReadyPods:         len(r.readyIPs),
	}
	h.mu.Unlock()
	s.ColdStarts = h.ColdStarts(key)
	return s, true
}

// scrapeTarget is one revision's pods to scrape in a round.
type scrapeTarget struct {
	key revision.Key
	ips []string
}

// scrapeTargets lists the revisions with ready pods, in key order, with at
// most perRevision of their pod IPs each.
func (h *History) scrapeTargets(perRevision int) []scrapeTarget {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []scrapeTarget
	for key, r := range h.revisions {
		if len(r.readyIPs) == 0 {
			continue
		}
		out = append(out, scrapeTarget{key: key, ips: slices.Clone(r.readyIPs[:min(perRevision, len(r.readyIPs))])})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key.String() < out[j].key.String() })
	return out
}

// recordScrape folds one round's histograms of the revision's pods (by IP;
// pods whose scrape failed are absent) into its window, then re-evaluates
// its class. It returns whether the class change callback is owed.
func (h *History) recordScrape(key revision.Key, pods map[string]queuemetrics.Histogram, now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.revisions[key]
	if r == nil {
		return false // forgotten while the round ran
	}
	ips := make([]string, 0, len(pods))
	for ip := range pods {
		ips = append(ips, ip)
	}
	sort.Strings(ips)
	var round queuemetrics.Histogram
	for _, ip := range ips {
		if !slices.Contains(r.readyIPs, ip) {
			continue // no longer ready: its counters are no longer followed
		}
		cur := pods[ip]
		prev, seen := r.pods[ip]
		r.pods[ip] = cur
		switch {
		case seen:
			round.Add(cur.Since(prev))
		case !r.baselineIPs[ip]:
			// A pod that became ready while watched: all its requests are new.
			round.Add(cur)
		}
		delete(r.baselineIPs, ip)
	}
	if round.Empty() {
		return false
	}
	r.window = append(r.window, windowEntry{at: now, delta: round})
	h.pruneWindowLocked(r, now)
	return h.evaluateLocked(r, now)
}

// pruneWindowLocked drops entries older than MaxObservationAge and the
// oldest beyond MaxWindowEntries.
func (h *History) pruneWindowLocked(r *revisionHistory, now time.Time) {
	cutoff := now.Add(-h.opts.MaxObservationAge)
	drop := 0
	for drop < len(r.window) && r.window[drop].at.Before(cutoff) {
		drop++
	}
	drop = max(drop, len(r.window)-h.opts.MaxWindowEntries)
	r.window = slices.Delete(r.window, 0, drop)
}

// recentLocked merges the entries of the last ObservationWindow.
func (h *History) recentLocked(r *revisionHistory, now time.Time) queuemetrics.Histogram {
	cutoff := now.Add(-h.opts.ObservationWindow)
	var merged queuemetrics.Histogram
	for _, e := range r.window {
		if !e.at.Before(cutoff) {
			merged.Add(e.delta)
		}
	}
	return merged
}

// windowObservationLocked summarises the last ObservationWindow, reaching
// back to older entries (newest first) while it holds fewer requests than
// MinSamples.
func (h *History) windowObservationLocked(r *revisionHistory, now time.Time) (policy.Observation, bool) {
	cutoff := now.Add(-h.opts.ObservationWindow)
	need := uint64(max(h.defaults.MinSamples, 1))
	var merged queuemetrics.Histogram
	for i := len(r.window) - 1; i >= 0; i-- {
		e := r.window[i]
		if e.at.Before(cutoff) && merged.Count >= need {
			break
		}
		merged.Add(e.delta)
	}
	if merged.Empty() {
		return policy.Observation{}, false
	}
	return policy.Observation{
		P50:     merged.Quantile(0.5),
		P99:     merged.Quantile(0.99),
		Samples: int(min(merged.Count, uint64(1<<31-1))),
	}, true
}

// evaluateLocked applies the dwell: the window's class (policy.Classify,
// with the reported class as the previous one) replaces the reported class
// only after it has been the class at every evaluation for DwellWindows ×
// ObservationWindow. While the class stays, the reported observation
// follows the window, so derived timeouts track the revision. It returns
// whether the callback is owed: the class changed, or the timeout derived
// from the reported observation grew (a function that slows down must get
// a longer route timeout before its requests reach the old one: at 4 × p99
// the new one is derived when p99 passes a quarter of the old) or fell to
// half or less. The derived timeout moves in whole seconds (100 ms below
// one second), so a steady function causes no reconciles.
func (h *History) evaluateLocked(r *revisionHistory, now time.Time) bool {
	obs, ok := h.windowObservationLocked(r, now)
	d := h.defaults
	if !ok || obs.Samples < d.MinSamples {
		r.pending = ""
		return false
	}
	current := r.reportedClass
	if current == "" {
		current = d.AutoInitial
	}
	class := policy.Classify(obs, current, d)
	if class == current {
		first := !r.hasReported
		r.reported, r.hasReported, r.reportedClass, r.pending = obs, true, class, ""
		t := policy.DerivedTimeout(obs.P99, class, d)
		if first || t > r.notifiedTimeout || 2*t <= r.notifiedTimeout {
			r.notifiedTimeout = t
			return true
		}
		return false
	}
	if r.pending != class {
		r.pending, r.pendingSince = class, now
	}
	if now.Sub(r.pendingSince) < time.Duration(h.opts.DwellWindows)*h.opts.ObservationWindow {
		return false
	}
	r.reported, r.hasReported, r.reportedClass, r.pending = obs, true, class, ""
	r.notifiedTimeout = policy.DerivedTimeout(obs.P99, class, d)
	return true
}

// notifyClassChange calls the registered callback, outside the lock.
func (h *History) notifyClassChange(key revision.Key) {
	h.mu.Lock()
	fn := h.onClassChange
	h.mu.Unlock()
	if fn != nil {
		fn(key.Namespace, key.Name)
	}
}
