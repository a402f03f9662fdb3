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
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const ms = time.Millisecond

func TestQuantileIsNearestRank(t *testing.T) {
	t.Parallel()
	ten := Round{Latencies: []time.Duration{1 * ms, 2 * ms, 3 * ms, 4 * ms, 5 * ms, 6 * ms, 7 * ms, 8 * ms, 9 * ms, 10 * ms}}
	hundred := Round{}
	for i := 1; i <= 100; i++ {
		hundred.Latencies = append(hundred.Latencies, time.Duration(i)*time.Microsecond)
	}
	tests := []struct {
		name  string
		round Round
		q     float64
		want  time.Duration
	}{
		{"empty", Round{}, 0.5, 0},
		{"one", Round{Latencies: []time.Duration{3 * ms}}, 0.99, 3 * ms},
		{"ten p50", ten, 0.50, 5 * ms},
		{"ten p99", ten, 0.99, 10 * ms},
		{"ten p10", ten, 0.10, 1 * ms},
		{"hundred p99", hundred, 0.99, 99 * time.Microsecond},
		{"hundred p50", hundred, 0.50, 50 * time.Microsecond},
		{"tiny q takes the first", ten, 0.0001, 1 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.round.Quantile(tt.q); got != tt.want {
				t.Errorf("Quantile(%v) = %v, want %v", tt.q, got, tt.want)
			}
		})
	}
}

func TestStats(t *testing.T) {
	t.Parallel()
	r := Round{Latencies: []time.Duration{1 * ms, 2 * ms, 3 * ms, 4 * ms}, Errors: 1, Elapsed: 2 * time.Second}
	want := Stats{P50: 2 * ms, P99: 4 * ms, Throughput: 2, Requests: 4, Errors: 1}
	if got := r.Stats(); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
	if got := (Round{}).Throughput(); got != 0 {
		t.Errorf("Throughput of an empty round = %v, want 0", got)
	}
}

func TestClosedLoopSendsExactlyTheRequests(t *testing.T) {
	t.Parallel()
	failed := errors.New("refused")
	tests := []struct {
		name              string
		clients, requests int
		failEvery         int
		wantOK, wantError int
	}{
		{"one client", 1, 10, 0, 10, 0},
		{"more clients than requests", 8, 3, 0, 3, 0},
		{"sixteen clients", 16, 1000, 0, 1000, 0},
		{"every fourth fails", 4, 100, 4, 75, 25},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var (
				mu      sync.Mutex
				n       int
				clients = map[int]bool{}
			)
			r := ClosedLoop(context.Background(), tt.clients, tt.requests, func(_ context.Context, client int) error {
				mu.Lock()
				defer mu.Unlock()
				n++
				clients[client] = true
				if tt.failEvery > 0 && n%tt.failEvery == 0 {
					return failed
				}
				return nil
			})
			if len(r.Latencies) != tt.wantOK || r.Errors != tt.wantError {
				t.Errorf("ClosedLoop: %d ok, %d errors; want %d ok, %d errors", len(r.Latencies), r.Errors, tt.wantOK, tt.wantError)
			}
			if tt.wantError > 0 && !errors.Is(r.FirstError, failed) {
				t.Errorf("FirstError = %v, want %v", r.FirstError, failed)
			}
			if !slices.IsSorted(r.Latencies) {
				t.Error("Latencies are not sorted")
			}
			for c := range clients {
				if c < 0 || c >= tt.clients {
					t.Errorf("send got client index %d, want 0..%d", c, tt.clients-1)
				}
			}
		})
	}
}

func TestClosedLoopStopsWithItsContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	sent := 0
	r := ClosedLoop(ctx, 1, 1000, func(context.Context, int) error {
		sent++
		if sent == 5 {
			cancel()
		}
		return nil
	})
	if sent != 5 || len(r.Latencies) != 5 {
		t.Errorf("sent %d, recorded %d; want 5 and 5 after cancel", sent, len(r.Latencies))
	}
}

func TestInterleaveRunsRoundsInTurn(t *testing.T) {
	t.Parallel()
	var order []string
	variant := func(name string, latency time.Duration) Variant {
		return Variant{Name: name, Measure: func(context.Context) (Round, error) {
			order = append(order, name)
			return Round{Latencies: []time.Duration{latency}, Elapsed: time.Second}, nil
		}}
	}
	var progress bytes.Buffer
	got, err := Interleave(context.Background(), 2, []Variant{variant("a", ms), variant("b", 2*ms), variant("c", 3*ms)}, &progress)
	if err != nil {
		t.Fatalf("Interleave: %v", err)
	}
	if want := []string{"a", "b", "c", "a", "b", "c"}; !slices.Equal(order, want) {
		t.Errorf("order = %v, want %v", order, want)
	}
	wantB := Series{{P50: 2 * ms, P99: 2 * ms, Throughput: 1, Requests: 1}, {P50: 2 * ms, P99: 2 * ms, Throughput: 1, Requests: 1}}
	if len(got) != 3 || !slices.Equal(got[1], wantB) {
		t.Errorf("series of b = %+v, want %+v", got[1], wantB)
	}
	if lines := strings.Count(progress.String(), "\n"); lines != 6 {
		t.Errorf("progress has %d lines, want 6:\n%s", lines, progress.String())
	}
}

func TestInterleaveStopsOnAFailedRound(t *testing.T) {
	t.Parallel()
	broken := errors.New("port in use")
	calls := 0
	_, err := Interleave(context.Background(), 3, []Variant{{Name: "x", Measure: func(context.Context) (Round, error) {
		calls++
		return Round{}, broken
	}}}, &bytes.Buffer{})
	if !errors.Is(err, broken) || calls != 1 {
		t.Errorf("Interleave = %v after %d calls, want %v after 1", err, calls, broken)
	}
}

func TestMedianAndPairedComparisons(t *testing.T) {
	t.Parallel()
	base := Series{
		{P50: 1 * ms, P99: 4 * ms, Throughput: 1000, Requests: 10},
		{P50: 2 * ms, P99: 8 * ms, Throughput: 500, Requests: 10, Errors: 1},
		{P50: 1 * ms, P99: 5 * ms, Throughput: 900, Requests: 10},
	}
	other := Series{
		{P50: 1100 * time.Microsecond, P99: 5 * ms, Throughput: 950},
		{P50: 2 * ms, P99: 10 * ms, Throughput: 500},
		{P50: 1200 * time.Microsecond, P99: 5 * ms, Throughput: 720},
	}
	if got, want := base.Median(), (Stats{P50: 1 * ms, P99: 5 * ms, Throughput: 900, Requests: 30, Errors: 1}); got != want {
		t.Errorf("Median = %+v, want %+v", got, want)
	}
	even := Series{{P50: 1 * ms}, {P50: 4 * ms}, {P50: 2 * ms}, {P50: 3 * ms}}
	if got, want := even.Median().P50, 2500*time.Microsecond; got != want {
		t.Errorf("Median of an even count = %v, want %v", got, want)
	}
	tests := []struct {
		name string
		got  Spread
		want Spread
	}{
		// Per round 1.1, 1.0, 1.2.
		{"p50 ratios", SpreadOf(PairedRatios(base, other, P50)), Spread{Median: 1.1, Lower: 1.0, Upper: 1.2}},
		// Per round 1.25, 1.25, 1.0.
		{"p99 ratios", SpreadOf(PairedRatios(base, other, P99)), Spread{Median: 1.25, Lower: 1.0, Upper: 1.25}},
		// Per round 0.95, 1.0, 0.8.
		{"throughput ratios", SpreadOf(PairedRatios(base, other, Throughput)), Spread{Median: 0.95, Lower: 0.8, Upper: 1.0}},
		// Per round +1, +2, 0 ms.
		{"p99 differences", SpreadOf(PairedDifferences(base, other, P99)),
			Spread{Median: float64(1 * ms), Lower: 0, Upper: float64(2 * ms)}},
		{"ratios over nothing", SpreadOf(PairedRatios(nil, other, P50)), Spread{}},
		{"a zero base is left out", SpreadOf(PairedRatios(Series{{P50: 0}, {P50: 2 * ms}}, Series{{P50: ms}, {P50: 3 * ms}}, P50)),
			Spread{Median: 1.5, Lower: 1.5, Upper: 1.5}},
		// Even count: the median is the mean of the middle two; the
		// quartiles are nearest-rank values.
		{"four values", SpreadOf([]float64{4, 1, 3, 2}), Spread{Median: 2.5, Lower: 1, Upper: 3}},
	}
	for _, tt := range tests {
		for _, pair := range [][2]float64{{tt.got.Median, tt.want.Median}, {tt.got.Lower, tt.want.Lower}, {tt.got.Upper, tt.want.Upper}} {
			if math.Abs(pair[0]-pair[1]) > 1e-9 {
				t.Errorf("%s = %+v, want %+v", tt.name, tt.got, tt.want)
				break
			}
		}
	}
}

func TestMarkdown(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	Table{Header: []string{"variant", "p50"}, Rows: [][]string{{"stock", Millis(1234 * time.Microsecond)}}}.Markdown(&b)
	want := "| variant | p50 |\n| --- | ---: |\n| stock | 1.234 ms |\n"
	if b.String() != want {
		t.Errorf("Markdown =\n%s\nwant\n%s", b.String(), want)
	}
}
