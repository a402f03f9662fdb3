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

	"github.com/serverless-mesh/ssm/bench/internal/comparison"
)

// Targets of the issue for b ÷ a.
const (
	latencyRatioTarget    = 1.02
	throughputRatioTarget = 0.98
)

// writeTables writes the variants' medians and the comparisons for one
// client count; series are a, b, c, d in that order.
func writeTables(w io.Writer, clients int, series []comparison.Series) {
	a, b, c, d := series[0], series[1], series[2], series[3]
	fmt.Fprintf(w, "#### C = %d concurrent keep-alive clients\n\n", clients)
	names := []string{
		"a: stock activator → pod",
		"b: SSM activator → pod (revision not pooled)",
		"c: SSM activator, lease held → stand-in proxy → pod",
		"d: stock activator → stand-in forwarder → pod",
	}
	comparison.MedianTable(names, series).Markdown(w)
	fmt.Fprintln(w)

	spread := func(base, other comparison.Series, f comparison.Field) comparison.Spread {
		return comparison.SpreadOf(comparison.PairedRatios(base, other, f))
	}
	p50, p99, tput := spread(a, b, comparison.P50), spread(a, b, comparison.P99), spread(a, b, comparison.Throughput)
	met := p50.Median <= latencyRatioTarget && p99.Median <= latencyRatioTarget && tput.Median >= throughputRatioTarget
	cmp := comparison.Table{Header: []string{"comparison: median of per-round ratios (middle half)", "p50", "p99", "throughput", "target", "met"}}
	cmp.Rows = append(cmp.Rows,
		[]string{"b ÷ a: SSM vs stock, same path", p50.Ratio(), p99.Ratio(), tput.Ratio(),
			fmt.Sprintf("latency ≤ %.2f×, throughput ≥ %.2f×", latencyRatioTarget, throughputRatioTarget), comparison.Verdict(met)},
		[]string{"c ÷ d: leased path vs the same hop without SSM", spread(d, c, comparison.P50).Ratio(),
			spread(d, c, comparison.P99).Ratio(), spread(d, c, comparison.Throughput).Ratio(), "–", "–"},
		[]string{"c ÷ a: leased path vs stock direct (adds a hop)", spread(a, c, comparison.P50).Ratio(),
			spread(a, c, comparison.P99).Ratio(), spread(a, c, comparison.Throughput).Ratio(), "–", "–"},
	)
	cmp.Markdown(w)
	fmt.Fprintln(w)
}
