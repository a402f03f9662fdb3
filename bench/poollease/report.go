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
	"maps"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/serverless-mesh/ssm/pkg/pool/leaseapi"
)

// Memory samples: before proxies, proxies warm, after the leases.
const (
	memBefore = iota
	memWarm
	memLeased
	memSamples
)

type report struct {
	options
	warmAfter      time.Duration
	server, client [memSamples]heap
	lease          []sample
	baseline       []sample
	fill           []sample
	exhaustedLease []sample
}

var (
	granted   = leaseapi.LeaseResponse_GRANTED.String()
	exhausted = leaseapi.LeaseResponse_EXHAUSTED.String()
)

func (r report) print(w io.Writer) {
	fmt.Fprintf(w, "poollease: -mode=%s -proxies=%d -rate=%g -leases=%d -exhausted=%t; %s, GOMAXPROCS=%d\n\n",
		r.mode, r.proxies, r.rate, r.leases, r.exhausted, runtime.Version(), runtime.GOMAXPROCS(0))
	fmt.Fprintf(w, "%d proxies connected (mTLS, one ADS stream each) and warm in %v.\n\n", r.proxies, r.warmAfter.Round(time.Millisecond))
	if r.mode == serverPool {
		r.printLatency(w)
	}
	r.printMemory(w)
}

func (r report) printLatency(w io.Writer) {
	lease, base := summarise(r.lease), summarise(r.baseline)
	fmt.Fprintf(w, "| client-side latency, %g calls/s open loop | n | p50 | p90 | p99 | max |\n", r.rate)
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: |")
	row(w, "Lease → GRANTED", lease[granted])
	row(w, "baseline: grpc.health.v1 Check, same server and connection", base["SERVING"])
	if l, b := lease[granted], base["SERVING"]; l.n > 0 && b.n > 0 {
		fmt.Fprintf(w, "| ratio Lease / baseline | | %s | %s | %s | %s |\n",
			ratio(l.p50, b.p50), ratio(l.p90, b.p90), ratio(l.p99, b.p99), ratio(l.max, b.max))
	}
	if r.exhausted {
		row(w, "Lease, pool full → EXHAUSTED", summarise(r.exhaustedLease)[exhausted])
	}
	fmt.Fprintln(w)
	others := []string{
		"other Lease outcomes: " + otherOutcomes(lease, granted),
		"other baseline outcomes: " + otherOutcomes(base, "SERVING"),
	}
	if r.exhausted {
		others = append(others,
			"leases that filled the pool: "+otherOutcomes(summarise(r.fill), ""),
			"other outcomes with the pool full: "+otherOutcomes(summarise(r.exhaustedLease), exhausted))
	}
	fmt.Fprintln(w, strings.Join(others, "; ")+".")
	fmt.Fprintln(w)
}

func row(w io.Writer, name string, d distribution) {
	fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s |\n", name, d.n, ms(d.p50), ms(d.p90), ms(d.p99), ms(d.max))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func ratio(a, b time.Duration) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f×", float64(a)/float64(b))
}

// otherOutcomes counts the outcomes other than except, "none" if there are none.
func otherOutcomes(by map[string]distribution, except string) string {
	var parts []string
	for _, outcome := range slices.Sorted(maps.Keys(by)) {
		if outcome != except {
			parts = append(parts, fmt.Sprintf("%s %d", outcome, by[outcome].n))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func (r report) printMemory(w io.Writer) {
	server := "ssm-pool"
	if r.mode == serverPlain {
		server = "go-control-plane"
	}
	fmt.Fprintf(w, "| after GC | %s heap in use | %s goroutine stacks | bench heap in use (proxies' clients) |\n", server, server)
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: |")
	memRow(w, "before proxies", r.server[memBefore], r.client[memBefore])
	memRow(w, fmt.Sprintf("%d proxies connected, warm", r.proxies), r.server[memWarm], r.client[memWarm])
	perRow(w, "per connected proxy", r.server[memWarm], r.server[memBefore], r.client[memWarm], r.client[memBefore], r.proxies)
	if r.mode == serverPool {
		n := summarise(r.lease)[granted].n
		memRow(w, fmt.Sprintf("after %d granted leases", n), r.server[memLeased], r.client[memLeased])
		perRow(w, "per granted lease", r.server[memLeased], r.server[memWarm], r.client[memLeased], r.client[memWarm], n)
	}
	fmt.Fprintf(w, "\n%s goroutines: %d before proxies, %d warm", server, r.server[memBefore].goroutines, r.server[memWarm].goroutines)
	if r.mode == serverPool {
		fmt.Fprintf(w, ", %d after the leases", r.server[memLeased].goroutines)
	}
	fmt.Fprintln(w, ".")
}

func memRow(w io.Writer, name string, server, client heap) {
	fmt.Fprintf(w, "| %s | %s | %s | %s |\n", name, mib(server.inuse), mib(server.stacks), mib(client.inuse))
}

func perRow(w io.Writer, name string, server, serverBase, client, clientBase heap, n int) {
	fmt.Fprintf(w, "| %s | %s | %s | %s |\n", name, perItem(server.inuse, serverBase.inuse, n),
		perItem(server.stacks, serverBase.stacks, n), perItem(client.inuse, clientBase.inuse, n))
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// perItem is the heap growth per item, in KiB; negative when the heap shrank.
func perItem(after, before uint64, n int) string {
	if n == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f KiB", (float64(after)-float64(before))/float64(n)/1024)
}
