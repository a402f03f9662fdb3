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
	"time"
)

// Recommendation is a pool size and why it was chosen, for the ProxyPool's
// status.lastScaleReason.
type Recommendation struct {
	Replicas int32
	Reason   string
}

// maxHeadroomPercent is the largest headroom the ProxyPool webhook accepts.
const maxHeadroomPercent = 1000

// roundingSlack is how far above a whole number a prediction may be and
// still round down to it. Without it, float noise (3.2 × 1.25 =
// 4.000000000000001) and a bucket that has decayed to 0.03 after a quiet
// week would each keep one more proxy warm than the history justifies.
const roundingSlack = 0.1

// Fixed is the recommendation for a pool whose sizing policy is Fixed: it
// stays at minSize whatever the history says.
func Fixed(minSize int32) Recommendation {
	n := max(minSize, 0)
	return Recommendation{Replicas: n, Reason: fmt.Sprintf("sizing policy Fixed → minSize %d", n)}
}

// leaseHold is the proxies leases hold and how they were counted.
type leaseHold struct {
	proxies, recent int32
	held            Held
}

// decide turns the held prediction and the proxies leases hold into a
// clamped size and its reason.
func decide(cfg Config, now time.Time, held prediction, leases leaseHold, minSize, maxSize, headroomPercent int32) Recommendation {
	headroom := min(max(headroomPercent, 0), maxHeadroomPercent)
	spare := roundUp(held.value * (1 + float64(headroom)/100))

	cause := held.cause
	if age := now.Sub(held.since); age > 0 {
		cause += fmt.Sprintf(" (%s ago, held for the %s cool-down)", formatDuration(age), formatDuration(cfg.CoolDown))
	}
	reason := fmt.Sprintf("%s + %d%% headroom → %d", cause, headroom, spare)
	if spare == 0 {
		reason = "idle: no cold starts predicted → 0"
	}
	want := spare
	if leases.proxies > 0 {
		want = addClamped(spare, leases.proxies)
		reason += fmt.Sprintf("; + %d held by leases (%d revisions cold-started within the %s idle timeout, %d leased now) → %d",
			leases.proxies, leases.recent, formatDuration(leases.held.IdleTimeout), leases.held.Leased, want)
	}

	lo := max(minSize, 0)
	hi := max(maxSize, lo)
	got := want
	switch {
	case want > hi:
		got = hi
		reason += fmt.Sprintf(", clamped to maxSize %d", hi)
	case want < lo:
		got = lo
		reason += fmt.Sprintf(", raised to minSize %d", lo)
	}
	return Recommendation{Replicas: got, Reason: reason}
}

// addClamped adds two non-negative counts without overflowing.
func addClamped(a, b int32) int32 {
	if a > math.MaxInt32-b {
		return math.MaxInt32
	}
	return a + b
}

// roundUp rounds x up to a whole number of proxies, forgiving roundingSlack.
func roundUp(x float64) int32 {
	if !(x > roundingSlack) {
		return 0
	}
	r := math.Ceil(x - roundingSlack)
	if r >= math.MaxInt32 {
		return math.MaxInt32
	}
	return int32(r)
}

// formatDuration prints whole minutes as "5m" and anything else to the
// second, so reasons read like the config that produced them.
func formatDuration(d time.Duration) string {
	if d > 0 && d%time.Minute == 0 {
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.Round(time.Second).String()
}
