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
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	knactivator "knative.dev/serving/pkg/activator"

	"github.com/serverless-mesh/ssm/bench/internal/comparison"
)

// The bench's revisions: one SSM does not pool, one SSM pools (its Lease is
// granted the stand-in), and one whose pod Knative reaches through the
// stand-in, as the hop-matched baseline of the leased one.
const (
	plainRevision     = "plain-00001"
	leasedRevision    = "leased-00001"
	forwardedRevision = "forwarded-00001"
)

// Bounds on the flags: every run stops by itself in minutes.
const (
	maxClients  = 256
	maxRequests = 200000
	maxRounds   = 50
)

type options struct {
	clients          []int
	requests, warmup int
	rounds           int
	timeout          time.Duration
}

func main() {
	role := flag.String("role", "bench", "bench, or backend (the child process the bench starts)")
	var o options
	clients := flag.String("clients", "1,16", "comma-separated concurrent keep-alive clients; one table each")
	flag.IntVar(&o.requests, "requests", 3000, "measured requests per round")
	flag.IntVar(&o.warmup, "warmup", 300, "requests per round before measuring, discarded")
	flag.IntVar(&o.rounds, "rounds", 15, "rounds of each variant, interleaved")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Minute, "hard limit on the whole run")
	flag.Parse()
	if *role == "backend" {
		if err := serveBackend(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "activator backend:", err)
			os.Exit(1)
		}
		return
	}
	var err error
	if o.clients, err = parseClients(*clients); err == nil {
		err = o.validate()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "activator:", err)
		os.Exit(2)
	}
	// The activator's pod has it from the downward API; Knative's and SSM's
	// config parsing read it.
	if os.Getenv("SYSTEM_NAMESPACE") == "" {
		os.Setenv("SYSTEM_NAMESPACE", systemNamespace) //nolint:errcheck // a valid name and value
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	err = run(ctx, o, os.Stdout, os.Stderr)
	cancel()
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "activator:", err)
		os.Exit(1)
	}
}

func parseClients(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > maxClients {
			return nil, fmt.Errorf("-clients %q: want numbers 1..%d", s, maxClients)
		}
		out = append(out, n)
	}
	return out, nil
}

func (o options) validate() error {
	switch {
	case o.requests < 100 || o.requests > maxRequests:
		return fmt.Errorf("-requests %d: want 100..%d", o.requests, maxRequests)
	case o.warmup < 0 || o.warmup > maxRequests:
		return fmt.Errorf("-warmup %d: want 0..%d", o.warmup, maxRequests)
	case o.rounds < 1 || o.rounds > maxRounds:
		return fmt.Errorf("-rounds %d: want 1..%d", o.rounds, maxRounds)
	case o.timeout <= 0:
		return errors.New("-timeout must be positive")
	}
	return nil
}

// target is what one variant's clients send to: an activator and a revision.
type target struct {
	activator, revision string
	// viaStandIn is whether the response must have passed the stand-in.
	viaStandIn bool
}

func run(ctx context.Context, o options, out, progress io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Knative's components log at info per revision change; errors only.
	logger := zap.NewNop().Sugar()
	if l, err := zap.NewProduction(zap.IncreaseLevel(zap.ErrorLevel)); err == nil {
		logger = l.Sugar()
	}
	backend, err := startBackend(ctx)
	if err != nil {
		return err
	}
	defer backend.stop()
	leases, stopLeases, err := serveLeases(backend.forwarder)
	if err != nil {
		return err
	}
	defer stopLeases()
	k, err := startKnative(ctx, logger, []revisionSpec{
		{name: plainRevision, pod: backend.backend, annotations: map[string]string{"autoscaling.knative.dev/min-scale": "0"}},
		{name: leasedRevision, pod: backend.backend, annotations: map[string]string{"ssm.dev/lifecycle": "short-lived"}},
		{name: forwardedRevision, pod: backend.forwarder},
	})
	if err != nil {
		return err
	}
	stockAddr, err := serveActivator(ctx, k, logger, stockPath(k))
	if err != nil {
		return err
	}
	hook, closeHook, err := hookPath(ctx, k, leases)
	if err != nil {
		return err
	}
	defer closeHook()
	hookAddr, err := serveActivator(ctx, k, logger, hook)
	if err != nil {
		return err
	}

	loadBefore := loadAverage()
	tables := &bytes.Buffer{}
	for _, c := range o.clients {
		variants := []comparison.Variant{
			{Name: fmt.Sprintf("a: stock → pod, C=%d", c), Measure: measure(o, c, target{stockAddr, plainRevision, false})},
			{Name: fmt.Sprintf("b: SSM → pod (not pooled), C=%d", c), Measure: measure(o, c, target{hookAddr, plainRevision, false})},
			{Name: fmt.Sprintf("c: SSM → leased stand-in → pod, C=%d", c), Measure: measure(o, c, target{hookAddr, leasedRevision, true})},
			{Name: fmt.Sprintf("d: stock → stand-in → pod, C=%d", c), Measure: measure(o, c, target{stockAddr, forwardedRevision, true})},
		}
		series, err := comparison.Interleave(ctx, o.rounds, variants, progress)
		if err != nil {
			return err
		}
		writeTables(tables, c, series)
	}
	writeHeader(out, o, loadBefore, loadAverage())
	_, err = tables.WriteTo(out)
	return err
}

// measure returns one round against t: fresh keep-alive connections, a
// warm-up, then the measured requests. For the leased revision the warm-up
// also waits until the hook holds its lease (its first request was a cold
// start, which asked for one off the request path).
func measure(o options, clients int, t target) func(context.Context) (comparison.Round, error) {
	return func(ctx context.Context) (comparison.Round, error) {
		transport := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients, DisableCompression: true}
		defer transport.CloseIdleConnections()
		client := &http.Client{Transport: transport, Timeout: 10 * time.Second}
		if warm := comparison.ClosedLoop(ctx, clients, o.warmup, sender(client, t, clients, false)); warm.Errors > 0 {
			return comparison.Round{}, fmt.Errorf("warm-up: %d errors, first: %w", warm.Errors, warm.FirstError)
		}
		send := sender(client, t, clients, true)
		if err := waitPath(ctx, send); err != nil {
			return comparison.Round{}, err
		}
		// Neither the warm-up's garbage nor the previous variant's is this
		// round's cost.
		runtime.GC()
		r := comparison.ClosedLoop(ctx, clients, o.requests, send)
		if r.Errors > 0 {
			return comparison.Round{}, fmt.Errorf("%d errors, first: %w", r.Errors, r.FirstError)
		}
		return r, ctx.Err()
	}
}

// waitPath polls with single requests until one takes the expected path.
func waitPath(ctx context.Context, send func(context.Context, int) error) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := send(ctx, 0)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("requests do not take the expected path after 5s: %w", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// sender sends a GET as Knative's ingress hands one to the activator (the
// revision in Knative's headers) and checks the backend's answer and,
// with checkPath, whether it passed the stand-in.
func sender(client *http.Client, t target, clients int, checkPath bool) func(context.Context, int) error {
	bodies := make([]bytes.Buffer, clients)
	want := []byte(greeting)
	url := "http://" + t.activator + "/"
	return func(ctx context.Context, c int) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		req.Host = t.revision + "." + benchNamespace + ".example.com"
		req.Header.Set(knactivator.RevisionHeaderNamespace, benchNamespace)
		req.Header.Set(knactivator.RevisionHeaderName, t.revision)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		body := &bodies[c]
		body.Reset()
		_, err = body.ReadFrom(resp.Body)
		resp.Body.Close()
		switch {
		case err != nil:
			return err
		case resp.StatusCode != http.StatusOK || !bytes.Equal(body.Bytes(), want):
			return fmt.Errorf("%s: %s: %q", t.revision, resp.Status, body.String())
		case checkPath && (resp.Header.Get(viaHeader) == viaStandIn) != t.viaStandIn:
			return fmt.Errorf("%s: %s %q, want through the stand-in: %t", t.revision, viaHeader, resp.Header.Get(viaHeader), t.viaStandIn)
		}
		return nil
	}
}
