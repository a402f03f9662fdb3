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
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

// WriteHeader writes the report's first line: when and on what the program
// ran, the load it offered, and the machine's load average before and after
// (see LoadAverage), which tells a reader how noisy the run was.
func (l Load) WriteHeader(w io.Writer, program, loadBefore, loadAfter string) {
	fmt.Fprintf(w, "%s: %s, %s, GOMAXPROCS=%d, %d rounds × %d requests (after %d warm-up) per variant and client count; load average %s before, %s after\n\n",
		program, time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.Version(), runtime.GOMAXPROCS(0),
		l.Rounds, l.Requests, l.Warmup, loadBefore, loadAfter)
}

// LoadAverage is the machine's 1, 5 and 15 minute load averages, "?" where
// /proc does not have them.
func LoadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	fields := strings.Fields(string(data))
	if len(fields) < 3 {
		return "?"
	}
	return strings.Join(fields[:3], " ")
}

// MedianTable has a row per variant, named by names in the series' order,
// with its medians over rounds.
func MedianTable(names []string, series []Series) Table {
	t := Table{Header: []string{"variant (median over rounds)", "p50", "p99", "throughput", "requests", "errors"}}
	for i, s := range series {
		m := s.Median()
		t.Rows = append(t.Rows, []string{names[i], Millis(m.P50), Millis(m.P99),
			fmt.Sprintf("%.0f/s", m.Throughput), fmt.Sprint(m.Requests), fmt.Sprint(m.Errors)})
	}
	return t
}

// Ratio formats a spread of ratios: the median, then the middle half.
func (s Spread) Ratio() string {
	return fmt.Sprintf("%.3f× (%.2f–%.2f)", s.Median, s.Lower, s.Upper)
}

// Verdict is a table cell saying whether a target was met; a miss is bold.
func Verdict(met bool) string {
	if met {
		return "yes"
	}
	return "**no**"
}
