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
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
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

func main() {
	role := flag.String("role", "bench", "bench, or backend (the child process the bench starts)")
	var load comparison.Load
	load.RegisterFlags(flag.CommandLine)
	flag.Parse()
	if *role == "backend" {
		if err := serveBackend(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "activator backend:", err)
			os.Exit(1)
		}
		return
	}
	if err := load.Validate(); err != nil {
		fmt.Fprintln(os.Stderr, "activator:", err)
		os.Exit(2)
	}
	// The activator's pod has it from the downward API; Knative's and SSM's
	// config parsing read it.
	if os.Getenv("SYSTEM_NAMESPACE") == "" {
		os.Setenv("SYSTEM_NAMESPACE", systemNamespace) //nolint:errcheck // a valid name and value
	}
	os.Exit(load.Run("activator", os.Stderr, func(ctx context.Context) error {
		return run(ctx, load, os.Stdout, os.Stderr)
	}))
}

// target is what one variant's clients send to: an activator and a revision.
type target struct {
	activator, revision string
	// viaStandIn is whether the response must have passed the stand-in.
	viaStandIn bool
}

func run(ctx context.Context, load comparison.Load, out, progress io.Writer) error {
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

	loadBefore := comparison.LoadAverage()
	tables := &bytes.Buffer{}
	for _, c := range load.Clients {
		variants := []comparison.Variant{
			{Name: fmt.Sprintf("a: stock → pod, C=%d", c), Measure: measure(load, c, target{stockAddr, plainRevision, false})},
			{Name: fmt.Sprintf("b: SSM → pod (not pooled), C=%d", c), Measure: measure(load, c, target{hookAddr, plainRevision, false})},
			{Name: fmt.Sprintf("c: SSM → leased stand-in → pod, C=%d", c), Measure: measure(load, c, target{hookAddr, leasedRevision, true})},
			{Name: fmt.Sprintf("d: stock → stand-in → pod, C=%d", c), Measure: measure(load, c, target{stockAddr, forwardedRevision, true})},
		}
		series, err := comparison.Interleave(ctx, load.Rounds, variants, progress)
		if err != nil {
			return err
		}
		writeTables(tables, c, series)
	}
	load.WriteHeader(out, "activator", loadBefore, comparison.LoadAverage())
	_, err = tables.WriteTo(out)
	return err
}

// measure returns one round against t: fresh keep-alive connections, a
// warm-up, then the measured requests. For the leased revision the warm-up
// also waits until the hook holds its lease (its first request was a cold
// start, which asked for one off the request path).
func measure(load comparison.Load, clients int, t target) func(context.Context) (comparison.Round, error) {
	return func(ctx context.Context) (comparison.Round, error) {
		transport := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients, DisableCompression: true}
		defer transport.CloseIdleConnections()
		client := &http.Client{Transport: transport, Timeout: 10 * time.Second}
		if warm := comparison.ClosedLoop(ctx, clients, load.Warmup, sender(client, t, clients, false)); warm.Errors > 0 {
			return comparison.Round{}, fmt.Errorf("warm-up: %d errors, first: %w", warm.Errors, warm.FirstError)
		}
		send := sender(client, t, clients, true)
		if err := waitPath(ctx, send); err != nil {
			return comparison.Round{}, err
		}
		// Neither the warm-up's garbage nor the previous variant's is this
		// round's cost.
		runtime.GC()
		r := comparison.ClosedLoop(ctx, clients, load.Requests, send)
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
