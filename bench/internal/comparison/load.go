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
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Round is one closed-loop round of one variant.
type Round struct {
	// Latencies of the requests that succeeded, sorted ascending.
	Latencies []time.Duration
	// Errors counts the requests that failed; FirstError is one of them.
	Errors     int
	FirstError error
	// Elapsed is the wall time from the first request's start to the last
	// one's end.
	Elapsed time.Duration
}

// ClosedLoop sends requests requests from clients concurrent clients, each
// sending its next request as soon as its previous one has returned (a
// closed loop: the system's speed sets the offered load). It stops early
// only when ctx ends; requests not sent then are not counted. send is
// called with the client's index, so a client can keep its own connection.
func ClosedLoop(ctx context.Context, clients, requests int, send func(ctx context.Context, client int) error) Round {
	clients = max(1, min(clients, requests))
	var (
		tickets   atomic.Int64
		wg        sync.WaitGroup
		latencies = make([][]time.Duration, clients)
		failures  = make([]int, clients)
		firstErrs = make([]error, clients)
	)
	start := time.Now()
	for c := range clients {
		latencies[c] = make([]time.Duration, 0, requests/clients+1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && tickets.Add(1) <= int64(requests) {
				began := time.Now()
				err := send(ctx, c)
				took := time.Since(began)
				if err != nil {
					failures[c]++
					if firstErrs[c] == nil {
						firstErrs[c] = err
					}
					continue
				}
				latencies[c] = append(latencies[c], took)
			}
		}()
	}
	wg.Wait()
	r := Round{Elapsed: time.Since(start), Latencies: slices.Concat(latencies...)}
	slices.Sort(r.Latencies)
	for c := range clients {
		r.Errors += failures[c]
		if r.FirstError == nil {
			r.FirstError = firstErrs[c]
		}
	}
	return r
}

// Quantile is the nearest-rank quantile q (0 < q <= 1) of the successful
// requests' latencies, zero when there are none.
func (r Round) Quantile(q float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	rank := int(math.Ceil(q * float64(len(r.Latencies))))
	return r.Latencies[min(max(rank, 1), len(r.Latencies))-1]
}

// Throughput is successful requests per second of wall time.
func (r Round) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(len(r.Latencies)) / r.Elapsed.Seconds()
}

// Stats are what the reports compare of one round.
type Stats struct {
	P50, P99   time.Duration
	Throughput float64
	Requests   int
	Errors     int
}

// Stats summarises the round.
func (r Round) Stats() Stats {
	return Stats{
		P50:        r.Quantile(0.50),
		P99:        r.Quantile(0.99),
		Throughput: r.Throughput(),
		Requests:   len(r.Latencies),
		Errors:     r.Errors,
	}
}
