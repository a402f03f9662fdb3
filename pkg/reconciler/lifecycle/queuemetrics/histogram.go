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

package queuemetrics

import (
	"math"
	"slices"
	"time"
)

// Histogram is a request-duration histogram with explicit bucket bounds, as
// queue-proxy exports it. Counts are per bucket (not cumulative): Counts[i]
// observations fell in (Bounds[i-1], Bounds[i]], and the last entry,
// Counts[len(Bounds)], counts those above the last bound.
type Histogram struct {
	// Bounds are the finite upper bounds in seconds, ascending.
	Bounds []float64
	Counts []uint64
	// Count is the number of observations and Sum their total in seconds.
	Count uint64
	Sum   float64
}

// Empty reports whether h holds no observation.
func (h Histogram) Empty() bool { return h.Count == 0 }

// SameBounds reports whether h and o bucket the same way.
func (h Histogram) SameBounds(o Histogram) bool {
	return slices.Equal(h.Bounds, o.Bounds)
}

// Clone returns a copy that shares no slice with h.
func (h Histogram) Clone() Histogram {
	return Histogram{Bounds: slices.Clone(h.Bounds), Counts: slices.Clone(h.Counts), Count: h.Count, Sum: h.Sum}
}

// Since is what h, a cumulative histogram, gained after prev was taken
// from the same pod. When any count went down, or the buckets changed, the
// pod's process restarted (or a new pod reuses the IP) and counts began at
// zero again: everything in h is new.
func (h Histogram) Since(prev Histogram) Histogram {
	if !h.SameBounds(prev) || h.Count < prev.Count || len(h.Counts) != len(prev.Counts) {
		return h.Clone()
	}
	d := Histogram{Bounds: slices.Clone(h.Bounds), Counts: make([]uint64, len(h.Counts)), Count: h.Count - prev.Count, Sum: h.Sum - prev.Sum}
	for i := range h.Counts {
		if h.Counts[i] < prev.Counts[i] {
			return h.Clone()
		}
		d.Counts[i] = h.Counts[i] - prev.Counts[i]
	}
	return d
}

// Add merges o into h and reports whether it could: histograms with other
// bounds (a queue-proxy of another Knative version during an upgrade) are
// not merged, rather than mixed into buckets that mean something else.
func (h *Histogram) Add(o Histogram) bool {
	if o.Empty() {
		return true
	}
	if h.Bounds == nil && h.Count == 0 {
		*h = o.Clone()
		return true
	}
	if !h.SameBounds(o) || len(h.Counts) != len(o.Counts) {
		return false
	}
	for i := range o.Counts {
		h.Counts[i] += o.Counts[i]
	}
	h.Count += o.Count
	h.Sum += o.Sum
	return true
}

// Quantile estimates the q-quantile (0 < q ≤ 1) of the durations.
//
// Inside a finite bucket it interpolates linearly, as Prometheus's
// histogram_quantile does. Above the last bound (queue-proxy's is 10 s,
// exactly the default long-lived threshold) there is no upper bound to
// interpolate to, so it returns the largest duration any single
// observation there can have had, given Sum: an overestimate, never an
// underestimate, so a timeout derived from it cannot cut a request that
// actually ran that long.
func (h Histogram) Quantile(q float64) time.Duration {
	if h.Count == 0 || len(h.Counts) != len(h.Bounds)+1 {
		return 0
	}
	q = min(max(q, 0), 1)
	rank := q * float64(h.Count)
	var below uint64
	for i, bound := range h.Bounds {
		n := h.Counts[i]
		if n > 0 && float64(below+n) >= rank {
			lower := 0.0
			if i > 0 {
				lower = h.Bounds[i-1]
			}
			frac := (rank - float64(below)) / float64(n)
			return seconds(lower + (bound-lower)*max(frac, 0))
		}
		below += n
	}
	return seconds(h.overflowMax())
}

// overflowMax bounds from above the longest observation above the last
// finite bound: Sum minus the least the other observations can add up to.
func (h Histogram) overflowMax() float64 {
	last := 0.0
	if len(h.Bounds) > 0 {
		last = h.Bounds[len(h.Bounds)-1]
	}
	over := h.Counts[len(h.Bounds)]
	if over == 0 {
		return last
	}
	rest := 0.0
	for i := range h.Bounds {
		if i > 0 {
			rest += float64(h.Counts[i]) * h.Bounds[i-1]
		}
	}
	rest += float64(over-1) * last
	return max(h.Sum-rest, last)
}

// seconds converts to a Duration rounded to the microsecond, saturating
// instead of overflowing; a negative or NaN value (float noise in Sum) is 0.
// The rounding drops float noise, so the same counts always give the same
// Duration and the policy derived from it does not change by a nanosecond.
func seconds(s float64) time.Duration {
	us := math.Round(s * 1e6)
	if !(us > 0) {
		return 0
	}
	if us >= math.MaxInt64/1e3 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(us) * time.Microsecond
}
