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
	"sync"
	"time"
)

// ColdStart is one scale-from-zero of a revision that leases from a pool.
type ColdStart struct {
	// Time is when the scale-from-zero was observed.
	Time time.Time
	// Namespace and Revision name the revision that cold-started.
	Namespace string
	Revision  string
	// Pool is the ProxyPool the revision leases from; Pools routes on it.
	Pool string
	// Concurrent is how many cold starts of Pool were in flight when this
	// one began, this one included. Values below 1 count as 1.
	Concurrent int32
}

// Config tunes the model. The zero value of a field selects its default.
type Config struct {
	// Alpha is the weight a day quieter than an hour's smoothed peak gets
	// in it (0 < Alpha ≤ 1, default 0.3); a busier day replaces it. At 0.3 a
	// peak loses half its weight in two quiet days: one quiet day does not
	// undo a busy pattern, and a workload that stopped for good decays to
	// nothing in about ten days.
	Alpha float64
	// BurstWindow is how recent a cold start must be to count as a burst
	// now (default 5m).
	BurstWindow time.Duration
	// CoolDown is how long a predicted level is held after the last
	// prediction that reached it (default 15m). Scaling down late
	// costs a few idle Envoys; scaling down early costs cold starts without
	// a warm proxy, and an up-down-up pool churns Envoy pods.
	CoolDown time.Duration
	// Lookahead is the window the prediction covers (default 10m): an hour
	// whose history is busy raises the pool this long before it begins,
	// because a new Envoy pod needs time to start and take its base config.
	Lookahead time.Duration
	// Location is the time zone whose wall-clock hours form the 24 buckets
	// (default UTC).
	Location *time.Location
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		Alpha:       0.3,
		BurstWindow: 5 * time.Minute,
		CoolDown:    15 * time.Minute,
		Lookahead:   10 * time.Minute,
		Location:    time.UTC,
	}
}

// withDefaults replaces unset or invalid fields by their defaults.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if !(c.Alpha > 0 && c.Alpha <= 1) {
		c.Alpha = d.Alpha
	}
	if c.BurstWindow <= 0 {
		c.BurstWindow = d.BurstWindow
	}
	if c.CoolDown <= 0 {
		c.CoolDown = d.CoolDown
	}
	if c.Lookahead <= 0 {
		c.Lookahead = d.Lookahead
	}
	if c.Location == nil {
		c.Location = d.Location
	}
	return c
}

// maxPeaks bounds the burst deque. Its entries have strictly decreasing
// concurrency, so it only fills up with more than maxPeaks distinct levels of
// concurrent cold starts inside one BurstWindow.
const maxPeaks = 256

// hourBucket is the smoothed daily peak of concurrent cold starts in one
// hour of the day.
type hourBucket struct {
	smoothed float64
	seen     bool
}

func (b *hourBucket) fold(peak float64, alpha float64) {
	if !b.seen {
		// The first day is taken as is: with a zero start the model would
		// need several days to reach a level it has already observed.
		b.smoothed, b.seen = peak, true
		return
	}
	if peak >= b.smoothed {
		// Fast attack: a busier day than the average is the new level at
		// once, so the pool is not short again the next day while the
		// average catches up.
		b.smoothed = peak
		return
	}
	b.smoothed = alpha*peak + (1-alpha)*b.smoothed
}

// foldZeros folds k days without any cold start in this hour.
func (b *hourBucket) foldZeros(k int64, alpha float64) {
	if k <= 0 {
		return
	}
	if !b.seen {
		b.smoothed, b.seen = 0, true
		return
	}
	b.smoothed *= math.Pow(1-alpha, float64(k))
}

// peak is one entry of the burst deque.
type peak struct {
	at         time.Time
	concurrent int32
}

// Held is what keeps proxies of a pool out of reach of new cold starts:
// each lease holds its proxy until no request or renewal has come for the
// pool's idle timeout, so a proxy leased once stays taken for at least that
// long, whatever the concurrency of cold starts.
type Held struct {
	// IdleTimeout is the pool's spec.idleTimeout; 0 counts no held proxy
	// beyond Leased.
	IdleTimeout time.Duration
	// Leased is how many of the pool's proxies ssm-pool reports leased now.
	Leased int32
}

// maxRevisionsKept bounds the revisions whose last cold start the model
// remembers for Held; past it, the oldest are forgotten first.
const maxRevisionsKept = 100000

// maxHoldKept is how long a revision's last cold start is remembered: far
// beyond any idle timeout a pool would use.
const maxHoldKept = 24 * time.Hour

// Model predicts the concurrent cold starts of one pool. It is safe for
// concurrent use and never reads the clock: every time comes from the caller.
//
// The prediction at now is max(hourly, burst): hourly is the largest smoothed
// peak of the hours of the day that overlap [now, now+Lookahead], burst the
// largest concurrency of a cold start in the last BurstWindow. Each hour
// bucket folds that hour's daily peak: a higher peak replaces it at once, a
// lower one is averaged in with weight Config.Alpha, and an hour without cold
// starts folds a zero, so a pool that goes quiet decays to its minimum.
// A prediction is held until CoolDown has passed without one as high, so the
// pool grows at once and shrinks only after a quiet CoolDown. The model is
// deterministic given its calls: the same Record and Recommend calls, with
// the same times, yield the same recommendations.
type Model struct {
	mu  sync.Mutex
	cfg Config

	hours [24]hourBucket
	// slot is the hour being accumulated, in wall-clock hours since the
	// epoch in cfg.Location; slotPeak is its peak so far.
	slot     int64
	slotPeak int32
	started  bool
	// last is the latest event time seen. An event that arrives late (two
	// reconciler workers racing) is counted at last, so time never runs
	// backwards inside the model.
	last time.Time
	// peaks is a deque of cold starts with strictly decreasing concurrency
	// in time order: its first entry at or after a cutoff is the largest
	// concurrency since that cutoff.
	peaks []peak
	// held is the prediction the pool is held at, and since when.
	held    prediction
	heldSet bool
	// lastColdStart is each revision's latest cold start (namespace/name),
	// for the proxies leases hold (Held).
	lastColdStart map[string]time.Time
}

// prediction is a predicted number of concurrent cold starts and its cause.
type prediction struct {
	value float64
	cause string
	since time.Time
}

// New returns an empty model.
func New(cfg Config) *Model {
	return &Model{cfg: cfg.withDefaults(), lastColdStart: map[string]time.Time{}}
}

// Record adds a cold start.
func (m *Model) Record(ev ColdStart) {
	m.mu.Lock()
	defer m.mu.Unlock()
	at := ev.Time
	if at.Before(m.last) {
		at = m.last
	}
	m.last = at
	m.advance(m.slotOf(at))
	c := max(ev.Concurrent, 1)
	m.slotPeak = max(m.slotPeak, c)

	for len(m.peaks) > 0 && m.peaks[len(m.peaks)-1].concurrent <= c {
		m.peaks = m.peaks[:len(m.peaks)-1]
	}
	if len(m.peaks) == maxPeaks {
		m.peaks = m.peaks[1:]
	}
	m.peaks = append(m.peaks, peak{at: at, concurrent: c})
	m.prunePeaks(at)
	m.rememberColdStart(ev.Namespace+"/"+ev.Revision, at)
}

// rememberColdStart records key's latest cold start, forgetting those older
// than maxHoldKept and, past maxRevisionsKept, the oldest.
func (m *Model) rememberColdStart(key string, at time.Time) {
	m.lastColdStart[key] = at
	if len(m.lastColdStart) <= maxRevisionsKept {
		return
	}
	oldestKey, oldest := "", at
	for k, t := range m.lastColdStart {
		if at.Sub(t) > maxHoldKept {
			delete(m.lastColdStart, k)
			continue
		}
		if t.Before(oldest) {
			oldestKey, oldest = k, t
		}
	}
	if len(m.lastColdStart) > maxRevisionsKept {
		delete(m.lastColdStart, oldestKey)
	}
}

// heldProxies is how many proxies leases hold at now: at least one per
// revision that cold-started within the idle timeout (its lease cannot
// have ended yet), and at least what ssm-pool reports leased.
func (m *Model) heldProxies(now time.Time, h Held) (total, recent int32) {
	if h.IdleTimeout > 0 {
		cutoff := now.Add(-h.IdleTimeout)
		for _, t := range m.lastColdStart {
			if t.After(cutoff) && !t.After(now) {
				recent++
			}
		}
	}
	return max(recent, h.Leased, 0), recent
}

// Recommend is RecommendHeld counting no proxy held by a lease.
func (m *Model) Recommend(now time.Time, minSize, maxSize, headroomPercent int32) Recommendation {
	return m.RecommendHeld(now, minSize, maxSize, headroomPercent, Held{})
}

// RecommendHeld sizes the pool for the window starting at now: the
// proxies leases hold (Held), plus warm ones for the predicted concurrent
// cold starts with headroomPercent (0–1000) on top, rounded up, then
// clamped to [minSize, maxSize]. A maxSize below minSize is raised to
// minSize: a warm floor the user asked for wins over a ceiling that
// contradicts it.
func (m *Model) RecommendHeld(now time.Time, minSize, maxSize, headroomPercent int32, h Held) Recommendation {
	m.mu.Lock()
	if m.started {
		m.advance(m.slotOf(now))
	}
	m.prunePeaks(now)
	raw := m.predict(now)
	if !m.heldSet || raw.value >= m.held.value || now.Sub(m.held.since) >= m.cfg.CoolDown {
		m.held, m.heldSet = raw, true
	}
	held := m.held
	cfg := m.cfg
	leases, recent := m.heldProxies(now, h)
	m.mu.Unlock()
	return decide(cfg, now, held, leaseHold{proxies: leases, recent: recent, held: h}, minSize, maxSize, headroomPercent)
}

// predict is the unheld prediction at now, with its cause.
func (m *Model) predict(now time.Time) prediction {
	h := m.hourlyTerm(now)
	b := m.burstTerm(now)
	if b.concurrent > 0 && float64(b.concurrent) >= h.smoothed {
		return prediction{
			value: float64(b.concurrent),
			cause: fmt.Sprintf("burst: %d concurrent cold starts in the last %s", b.concurrent, formatDuration(m.cfg.BurstWindow)),
			since: now,
		}
	}
	return prediction{
		value: h.smoothed,
		cause: fmt.Sprintf("history: hour %d smoothed peak %.1f", h.hour, h.smoothed),
		since: now,
	}
}

// slotOf is t's wall-clock hour in cfg.Location, counted from the epoch.
func (m *Model) slotOf(t time.Time) int64 {
	t = t.In(m.cfg.Location)
	y, mo, d := t.Date()
	day := time.Date(y, mo, d, 0, 0, 0, 0, time.UTC).Unix()
	days := day / 86400
	if day%86400 < 0 {
		days--
	}
	return days*24 + int64(t.Hour())
}

// hourOf is the hour of the day of a slot.
func hourOf(slot int64) int {
	return int((slot%24 + 24) % 24)
}

// advance closes every slot before s: the current one folds its peak, the
// ones skipped without events fold zeros.
func (m *Model) advance(s int64) {
	if !m.started {
		m.slot, m.started = s, true
		return
	}
	if s <= m.slot {
		return
	}
	alpha := m.cfg.Alpha
	m.hours[hourOf(m.slot)].fold(float64(m.slotPeak), alpha)
	gap := s - m.slot - 1
	// Skipped slot m.slot+i has the same hour as m.slot+i+24k, so each hour
	// of the day is visited once however long the gap.
	for i := int64(1); i <= min(gap, 24); i++ {
		m.hours[hourOf(m.slot+i)].foldZeros((gap-i)/24+1, alpha)
	}
	m.slot, m.slotPeak = s, 0
}

// prunePeaks drops deque entries that no longer matter at now.
func (m *Model) prunePeaks(now time.Time) {
	cutoff := now.Add(-m.cfg.BurstWindow)
	i := 0
	for i < len(m.peaks) && m.peaks[i].at.Before(cutoff) {
		i++
	}
	m.peaks = m.peaks[i:]
}

// hourlyTerm is the largest smoothed peak among the hours of the day that
// overlap [now, now+Lookahead].
type hourlyTerm struct {
	hour     int
	smoothed float64
}

func (m *Model) hourlyTerm(now time.Time) hourlyTerm {
	best := hourlyTerm{hour: hourOf(m.slotOf(now))}
	from, to := m.slotOf(now), m.slotOf(now.Add(m.cfg.Lookahead))
	// 26 covers any Lookahead up to a day plus a DST shift.
	for s, n := from, 0; s <= to && n < 26; s, n = s+1, n+1 {
		b := m.hours[hourOf(s)]
		if b.seen && b.smoothed > best.smoothed {
			best = hourlyTerm{hour: hourOf(s), smoothed: b.smoothed}
		}
	}
	return best
}

// burstTerm is the largest concurrency of a cold start in the last
// BurstWindow.
type burstTerm struct {
	concurrent int32
}

func (m *Model) burstTerm(now time.Time) burstTerm {
	cutoff := now.Add(-m.cfg.BurstWindow)
	for _, p := range m.peaks {
		if !p.at.Before(cutoff) {
			return burstTerm{concurrent: p.concurrent}
		}
	}
	return burstTerm{}
}
