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
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestMedianTable(t *testing.T) {
	t.Parallel()
	series := []Series{
		{
			{P50: 1 * ms, P99: 3 * ms, Throughput: 1000, Requests: 10},
			{P50: 2 * ms, P99: 5 * ms, Throughput: 800, Requests: 10, Errors: 1},
			{P50: 1500 * time.Microsecond, P99: 4 * ms, Throughput: 900, Requests: 10},
		},
		{{P50: 2 * ms, P99: 6 * ms, Throughput: 500.4, Requests: 5}},
	}
	var b bytes.Buffer
	MedianTable([]string{"a: stock", "b: SSM"}, series).Markdown(&b)
	want := "| variant (median over rounds) | p50 | p99 | throughput | requests | errors |\n" +
		"| --- | ---: | ---: | ---: | ---: | ---: |\n" +
		"| a: stock | 1.500 ms | 4.000 ms | 900/s | 30 | 1 |\n" +
		"| b: SSM | 2.000 ms | 6.000 ms | 500/s | 5 | 0 |\n"
	if b.String() != want {
		t.Errorf("MedianTable =\n%s\nwant\n%s", b.String(), want)
	}
}

func TestReportCells(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, got, want string
	}{
		{"ratio", Spread{Median: 1.0234, Lower: 0.991, Upper: 1.046}.Ratio(), "1.023× (0.99–1.05)"},
		{"zero ratio", Spread{}.Ratio(), "0.000× (0.00–0.00)"},
		{"met", Verdict(true), "yes"},
		{"missed", Verdict(false), "**no**"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestWriteHeader(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	Load{Requests: 3000, Warmup: 300, Rounds: 15}.WriteHeader(&b, "activator", "0.50 0.40 0.30", "1.00 0.80 0.60")
	got := b.String()
	// The date and the Go version vary; the rest is fixed.
	const tail = ", 15 rounds × 3000 requests (after 300 warm-up) per variant and client count; load average 0.50 0.40 0.30 before, 1.00 0.80 0.60 after\n\n"
	if !strings.HasPrefix(got, "activator: ") || !strings.HasSuffix(got, tail) {
		t.Errorf("WriteHeader = %q, want \"activator: \" … %q", got, tail)
	}
}
