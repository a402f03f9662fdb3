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
	"fmt"
	"io"
	"math"
	"sort"
)

// quantile is the nearest-rank q-quantile of xs (NaN when empty); xs is
// not modified.
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	rank := int(math.Ceil(q*float64(len(s)))) - 1
	return s[min(max(rank, 0), len(s)-1)]
}

// series are one variant's successful samples, in milliseconds.
type series struct {
	latency, podReady, firstByte, afterReady, leaseGranted []float64
	via                                                    map[string]int
	failures                                               int
}

func collect(samples []sample) series {
	s := series{via: map[string]int{}}
	for _, x := range samples {
		if x.err != nil {
			s.failures++
			continue
		}
		p := x.phases
		s.latency = append(s.latency, ms(x.latency))
		s.podReady = append(s.podReady, p.podReady*1e3)
		s.firstByte = append(s.firstByte, p.firstByte*1e3)
		s.afterReady = append(s.afterReady, (p.firstByte-p.podReady)*1e3)
		if p.leased {
			s.leaseGranted = append(s.leaseGranted, p.leaseGranted*1e3)
		}
		s.via[p.via]++
	}
	return s
}

// pairwise applies f to the cycles in which both variants succeeded.
func pairwise(plain, ssm []sample, f func(p, s sample) float64) []float64 {
	var out []float64
	for i := range min(len(plain), len(ssm)) {
		if plain[i].err == nil && ssm[i].err == nil {
			out = append(out, f(plain[i], ssm[i]))
		}
	}
	return out
}

func afterReady(s sample) float64 { return (s.phases.firstByte - s.phases.podReady) * 1e3 }

// report prints a Markdown table per measure and each variant's comparison
// with the first (the baseline).
func report(w io.Writer, cycles int, results [][]sample) {
	all := make([]series, len(results))
	for i, r := range results {
		all[i] = collect(r)
	}
	fmt.Fprintf(w, "\n%d measured cycles per variant (interleaved, order rotating); times in ms; p90 is nearest-rank\n\n", cycles)
	fmt.Fprintln(w, "| measure | variant | median | p90 | min | max |")
	fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | ---: |")
	for _, m := range []struct {
		name   string
		get    func(series) []float64
		digits int
	}{
		{"request → response (client)", func(s series) []float64 { return s.latency }, 1},
		{"activator: first request → first pod ready", func(s series) []float64 { return s.podReady }, 1},
		{"activator: first request → first byte", func(s series) []float64 { return s.firstByte }, 1},
		{"activator: first pod ready → first byte", func(s series) []float64 { return s.afterReady }, 3},
		{"activator: first request → lease granted", func(s series) []float64 { return s.leaseGranted }, 1},
	} {
		for i, s := range all {
			xs := m.get(s)
			if len(xs) == 0 {
				continue
			}
			f := fmt.Sprintf("%%.%df", m.digits)
			fmt.Fprintf(w, "| %s | %s | "+f+" | "+f+" | "+f+" | "+f+" |\n", m.name, variants[i].label,
				quantile(xs, 0.5), quantile(xs, 0.9), quantile(xs, 0), quantile(xs, 1))
		}
	}
	fmt.Fprintln(w)
	for i, s := range all {
		fmt.Fprintf(w, "%s: %d of %d requests failed; first byte via %v\n", variants[i].label, s.failures, len(results[i]), s.via)
	}
	base := all[0]
	for i := 1; i < len(all); i++ {
		s := all[i]
		ratio := pairwise(results[0], results[i], func(p, s sample) float64 { return ms(s.latency) / ms(p.latency) })
		diff := pairwise(results[0], results[i], func(p, s sample) float64 { return afterReady(s) - afterReady(p) })
		fmt.Fprintf(w, "\n%s / %s, request → response: median %.3f×, p90 %.3f×; median of per-cycle ratios %.3f× over %d cycles\n",
			variants[i].label, variants[0].label,
			quantile(s.latency, 0.5)/quantile(base.latency, 0.5), quantile(s.latency, 0.9)/quantile(base.latency, 0.9),
			quantile(ratio, 0.5), len(ratio))
		fmt.Fprintf(w, "%s − %s, first pod ready → first byte: medians %+.3f ms; median of per-cycle differences %+.3f ms (target for the lease ≤ +1 ms)\n",
			variants[i].label, variants[0].label,
			quantile(s.afterReady, 0.5)-quantile(base.afterReady, 0.5), quantile(diff, 0.5))
	}
}
