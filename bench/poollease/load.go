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

package main

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"
)

// callTimeout bounds one measured call; a call that takes this long is
// counted as an error, never waited for beyond it.
const callTimeout = 10 * time.Second

// sample is one call: how long it took and how it ended (an outcome name,
// or "error: <code>").
type sample struct {
	latency time.Duration
	outcome string
}

// paced issues count calls open-loop: call i starts at start + offset + i/rate
// whether or not earlier calls have returned, so a slow server cannot slow
// the offered load down. It returns the samples in call order once every
// call has returned.
func paced(ctx context.Context, start time.Time, offset time.Duration, rate float64, count int,
	call func(ctx context.Context, i int) string) []sample {
	samples := make([]sample, count)
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / rate)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := range count {
		due := start.Add(offset + time.Duration(i)*interval)
		timer.Reset(time.Until(due))
		select {
		case <-timer.C:
		case <-ctx.Done():
			for j := i; j < count; j++ {
				samples[j] = sample{outcome: "not sent: " + ctx.Err().Error()}
			}
			wg.Wait()
			return samples
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			callCtx, cancel := context.WithTimeout(ctx, callTimeout)
			defer cancel()
			began := time.Now()
			outcome := call(callCtx, i)
			samples[i] = sample{latency: time.Since(began), outcome: outcome}
		}()
	}
	wg.Wait()
	return samples
}

// distribution summarises the latencies of one outcome.
type distribution struct {
	n                  int
	p50, p90, p99, max time.Duration
}

// summarise groups samples by outcome.
func summarise(samples []sample) map[string]distribution {
	by := map[string][]time.Duration{}
	for _, s := range samples {
		by[s.outcome] = append(by[s.outcome], s.latency)
	}
	out := make(map[string]distribution, len(by))
	for outcome, latencies := range by {
		out[outcome] = distributionOf(latencies)
	}
	return out
}

func distributionOf(latencies []time.Duration) distribution {
	sorted := slices.Clone(latencies)
	slices.Sort(sorted)
	if len(sorted) == 0 {
		return distribution{}
	}
	return distribution{
		n:   len(sorted),
		p50: percentile(sorted, 0.50),
		p90: percentile(sorted, 0.90),
		p99: percentile(sorted, 0.99),
		max: sorted[len(sorted)-1],
	}
}

// percentile is the nearest-rank percentile of sorted, non-empty latencies.
func percentile(sorted []time.Duration, q float64) time.Duration {
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[max(rank, 1)-1]
}
