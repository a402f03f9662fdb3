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

package comparison

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// Variant is one thing measured: Measure runs one round of it, its set-up
// and warm-up included but not counted.
type Variant struct {
	Name    string
	Measure func(ctx context.Context) (Round, error)
}

// Series is one variant's Stats, one per round, in round order.
type Series []Stats

// Interleave measures rounds rounds of every variant in turn (A, B, C, A,
// B, C, …), so that drift in the machine's load spreads over all variants
// instead of landing on whichever ran last. It returns one Series per
// variant, in the variants' order, and writes a line per round to progress.
// A round that fails stops the run.
func Interleave(ctx context.Context, rounds int, variants []Variant, progress io.Writer) ([]Series, error) {
	out := make([]Series, len(variants))
	for round := range rounds {
		for i, v := range variants {
			r, err := v.Measure(ctx)
			if err != nil {
				return nil, fmt.Errorf("round %d of %s: %w", round+1, v.Name, err)
			}
			s := r.Stats()
			out[i] = append(out[i], s)
			fmt.Fprintf(progress, "round %d/%d %-40s p50 %s p99 %s %8.0f req/s errors %d\n",
				round+1, rounds, v.Name, Millis(s.P50), Millis(s.P99), s.Throughput, s.Errors)
		}
	}
	return out, nil
}

// Median is the median over rounds of each field on its own (the mean of the
// middle two for an even count); Requests and Errors are summed instead.
func (s Series) Median() Stats {
	var m Stats
	if len(s) == 0 {
		return m
	}
	m.P50 = time.Duration(median(s.values(func(x Stats) float64 { return float64(x.P50) })))
	m.P99 = time.Duration(median(s.values(func(x Stats) float64 { return float64(x.P99) })))
	m.Throughput = median(s.values(func(x Stats) float64 { return x.Throughput }))
	for _, x := range s {
		m.Requests += x.Requests
		m.Errors += x.Errors
	}
	return m
}

func (s Series) values(field func(Stats) float64) []float64 {
	out := make([]float64, len(s))
	for i, x := range s {
		out[i] = field(x)
	}
	return out
}

// Field picks what a ratio compares.
type Field func(Stats) float64

// Fields of Stats, for PairedRatios and PairedDifferences.
var (
	P50        Field = func(s Stats) float64 { return float64(s.P50) }
	P99        Field = func(s Stats) float64 { return float64(s.P99) }
	Throughput Field = func(s Stats) float64 { return s.Throughput }
)

// PairedRatios are each round's other/base: rounds ran side by side, so a
// round's pair shared the machine's load. Rounds missing on either side, or
// with a zero base, are left out.
func PairedRatios(base, other Series, field Field) []float64 {
	var ratios []float64
	for i := range min(len(base), len(other)) {
		if b := field(base[i]); b != 0 {
			ratios = append(ratios, field(other[i])/b)
		}
	}
	return ratios
}

// PairedDifferences are each round's other−base.
func PairedDifferences(base, other Series, field Field) []float64 {
	var diffs []float64
	for i := range min(len(base), len(other)) {
		diffs = append(diffs, field(other[i])-field(base[i]))
	}
	return diffs
}

// Spread is the median of per-round values and their middle half (the
// lower and upper quartiles, nearest rank), which says how much the rounds
// agreed.
type Spread struct {
	Median, Lower, Upper float64
}

// SpreadOf summarises per-round values; all zero when there are none.
func SpreadOf(xs []float64) Spread {
	if len(xs) == 0 {
		return Spread{}
	}
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	rank := func(q float64) float64 {
		r := int(math.Ceil(q * float64(len(sorted))))
		return sorted[min(max(r, 1), len(sorted))-1]
	}
	return Spread{Median: median(sorted), Lower: rank(0.25), Upper: rank(0.75)}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	mid := len(sorted) / 2
	if len(sorted)%2 == 1 {
		return sorted[mid]
	}
	return (sorted[mid-1] + sorted[mid]) / 2
}

// Millis formats a duration as milliseconds with three decimals.
func Millis(d time.Duration) string {
	return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond))
}

// Table is a markdown table whose first column is left-aligned and the
// others, numbers, right-aligned.
type Table struct {
	Header []string
	Rows   [][]string
}

// Markdown writes the table.
func (t Table) Markdown(w io.Writer) {
	line := func(cells []string) { fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | ")) }
	line(t.Header)
	align := make([]string, len(t.Header))
	for i := range align {
		align[i] = "---:"
	}
	if len(align) > 0 {
		align[0] = "---"
	}
	line(align)
	for _, r := range t.Rows {
		line(r)
	}
}
