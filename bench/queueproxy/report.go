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
	"bufio"
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/serverless-mesh/ssm/bench/internal/comparison"
)

// Targets of the issue.
const (
	plaintextP99Ratio = 1.05
	mtlsAddedP99      = 300 * time.Microsecond
)

func writeHeader(w io.Writer, o options, loadBefore, loadAfter, plugin string) {
	o.WriteHeader(w, "queueproxy", loadBefore, loadAfter)
	fmt.Fprintf(w, "- stock: %s\n- SSM: %s\n- SSM plugin as started: %s\n\n", describe(o.stock), describe(o.ours), plugin)
}

// describe names what a binary was built from: its main package and the
// Knative Serving module it links.
func describe(path string) string {
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	serving := "no knative.dev/serving"
	// Built from inside Knative's module, it is the main module, not a dep.
	for _, m := range append([]*debug.Module{&info.Main}, info.Deps...) {
		if m.Path == "knative.dev/serving" {
			serving = m.Path + " " + m.Version
		}
	}
	return fmt.Sprintf("%s (%s, %s)", info.Path, serving, info.GoVersion)
}

// pluginSettings is what the plugin logged it enforces, read from the SSM
// queue-proxy's log: proof that variant b ran through the plugin.
func pluginSettings(logPath string) string {
	f, err := os.Open(logPath)
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for scanner.Scan() {
		if !strings.Contains(scanner.Text(), "SSM plugin active") {
			continue
		}
		var entry map[string]any
		if err := json.Unmarshal(scanner.Bytes(), &entry); err != nil {
			return scanner.Text()
		}
		return fmt.Sprintf("active, requireMTLS=%v, deadline=%v, mTLS on %v",
			entry["requireMTLS"], entry["deadline"], entry["mtlsAddress"])
	}
	return "NOT ACTIVE (no \"SSM plugin active\" line in its log)"
}

// writeTables writes the variants' medians and the comparisons for one
// client count; series are a, b, c in that order.
func writeTables(w io.Writer, clients int, series []comparison.Series) {
	a, b, c := series[0], series[1], series[2]
	fmt.Fprintf(w, "#### C = %d concurrent keep-alive clients\n\n", clients)
	names := []string{
		"a: stock queue-proxy, plaintext :" + servingPort,
		"b: SSM queue-proxy, plaintext :" + servingPort,
		"c: SSM queue-proxy, mTLS :" + mtlsPort + " (pooled proxy's certificate)",
	}
	comparison.MedianTable(names, series).Markdown(w)
	fmt.Fprintln(w)

	p99Ratio := comparison.SpreadOf(comparison.PairedRatios(a, b, comparison.P99))
	added := comparison.SpreadOf(comparison.PairedDifferences(b, c, comparison.P99))
	cmp := comparison.Table{Header: []string{"comparison: median of per-round values (middle half)", "p50", "p99", "throughput", "target", "met"}}
	cmp.Rows = append(cmp.Rows, []string{"b ÷ a: SSM plaintext vs stock",
		comparison.SpreadOf(comparison.PairedRatios(a, b, comparison.P50)).Ratio(), p99Ratio.Ratio(),
		comparison.SpreadOf(comparison.PairedRatios(a, b, comparison.Throughput)).Ratio(),
		fmt.Sprintf("p99 ≤ %.2f×", plaintextP99Ratio), comparison.Verdict(p99Ratio.Median <= plaintextP99Ratio)})
	cmp.Rows = append(cmp.Rows, []string{"c − b: what mTLS adds (throughput: c ÷ b)",
		difference(comparison.SpreadOf(comparison.PairedDifferences(b, c, comparison.P50))), difference(added),
		comparison.SpreadOf(comparison.PairedRatios(b, c, comparison.Throughput)).Ratio(),
		"p99 ≤ +" + comparison.Millis(mtlsAddedP99), comparison.Verdict(time.Duration(added.Median) <= mtlsAddedP99)})
	cmp.Markdown(w)
	fmt.Fprintln(w)
}

// difference formats a spread of duration differences in milliseconds.
func difference(s comparison.Spread) string {
	msf := func(ns float64) float64 { return ns / float64(time.Millisecond) }
	return fmt.Sprintf("%+.3f ms (%+.2f–%+.2f)", msf(s.Median), msf(s.Lower), msf(s.Upper))
}
