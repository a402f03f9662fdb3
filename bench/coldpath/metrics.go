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
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// phaseMetric is the activator's cold-start phase histogram
// (pkg/activator/phases.go, ssm.activator.cold_start.duration, in seconds
// from the cold start's first request), as Prometheus names it.
const phaseMetric = "ssm_activator_cold_start_duration_seconds"

// phaseKey names one series of the histogram: a revision's phase, and for
// first_byte the path that gave it (lease or knative).
type phaseKey struct {
	revision, phase, via string
}

// phaseTotals are the histogram's _sum and _count per series. A cold start
// records each phase once, so the difference of two scrapes around one cold
// start is that cold start's phase times, at the clock's resolution rather
// than the buckets'.
type phaseTotals map[phaseKey]struct {
	sum   float64
	count uint64
}

func scrapePhases(ctx context.Context, client *http.Client, url string) (phaseTotals, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scraping %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scraping %s: status %d", url, resp.StatusCode)
	}
	return parsePhases(resp.Body)
}

// parsePhases reads the histogram's _sum and _count lines from Prometheus
// text; everything else is skipped.
func parsePhases(r io.Reader) (phaseTotals, error) {
	out := phaseTotals{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, phaseMetric+"_")
		if !ok {
			continue
		}
		kind, rest, ok := strings.Cut(rest, "{")
		if !ok || (kind != "sum" && kind != "count") {
			continue
		}
		labelText, value, ok := strings.Cut(rest, "} ")
		if !ok {
			return nil, fmt.Errorf("malformed sample %q", line)
		}
		labels, err := parseLabels(labelText)
		if err != nil {
			return nil, fmt.Errorf("sample %q: %w", line, err)
		}
		key := phaseKey{revision: labels["kn_revision_name"], phase: labels["ssm_phase"], via: labels["ssm_via"]}
		t := out[key]
		switch kind {
		case "sum":
			if t.sum, err = strconv.ParseFloat(strings.TrimSpace(value), 64); err != nil {
				return nil, fmt.Errorf("sample %q: %w", line, err)
			}
		case "count":
			if t.count, err = strconv.ParseUint(strings.TrimSpace(value), 10, 64); err != nil {
				return nil, fmt.Errorf("sample %q: %w", line, err)
			}
		}
		out[key] = t
	}
	return out, sc.Err()
}

// parseLabels parses `a="x",b="y"` with Prometheus' escapes in values.
func parseLabels(s string) (map[string]string, error) {
	out := map[string]string{}
	for s != "" {
		name, rest, ok := strings.Cut(s, `="`)
		if !ok {
			return nil, fmt.Errorf("labels %q: want name=\"value\"", s)
		}
		var value strings.Builder
		i := 0
		for ; i < len(rest) && rest[i] != '"'; i++ {
			if rest[i] == '\\' && i+1 < len(rest) {
				i++
				if rest[i] == 'n' {
					value.WriteByte('\n')
					continue
				}
			}
			value.WriteByte(rest[i])
		}
		if i == len(rest) {
			return nil, fmt.Errorf("labels %q: unterminated value", s)
		}
		out[name] = value.String()
		s = strings.TrimPrefix(rest[i+1:], ",")
	}
	return out, nil
}

// coldStart is one cold start's phase times, in seconds from its first
// request, taken as the difference of two scrapes.
type coldStart struct {
	podReady, firstByte float64
	// leaseGranted is set when leased is: a lease was granted in this cold
	// start.
	leaseGranted float64
	leased       bool
	// via is the path of the first byte ("lease" or "knative").
	via string
}

// coldStartOf extracts the revision's single cold start between before and
// after; it is an error unless pod_ready and first_byte each grew by
// exactly one sample (lease_granted by one or, without a lease, none).
func coldStartOf(before, after phaseTotals, revision string) (coldStart, error) {
	var cs coldStart
	delta := func(k phaseKey) (float64, uint64) {
		return after[k].sum - before[k].sum, after[k].count - before[k].count
	}
	var grantedN uint64
	cs.leaseGranted, grantedN = delta(phaseKey{revision: revision, phase: "lease_granted"})
	if grantedN > 1 {
		return cs, fmt.Errorf("%s: %d lease_granted samples in one cold start", revision, grantedN)
	}
	readySum, readyN := delta(phaseKey{revision: revision, phase: "pod_ready"})
	if readyN != 1 {
		return cs, fmt.Errorf("%s: %d pod_ready samples, want 1 (was the request a cold start?)", revision, readyN)
	}
	cs.podReady = readySum
	var firstN uint64
	for _, via := range []string{"lease", "knative"} {
		if sum, n := delta(phaseKey{revision: revision, phase: "first_byte", via: via}); n > 0 {
			cs.firstByte, cs.via, firstN = sum, via, firstN+n
		}
	}
	if firstN != 1 {
		return cs, fmt.Errorf("%s: %d first_byte samples, want 1", revision, firstN)
	}
	cs.leased = grantedN == 1
	return cs, nil
}
