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
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/serverless-mesh/ssm/pkg/identity"
	"github.com/serverless-mesh/ssm/pkg/pool/adsclient"
	"github.com/serverless-mesh/ssm/pkg/pool/leaseapi"
)

// Bounds on the flags: the benchmark is a load test of this machine's
// loopback, not an open-ended generator.
const (
	maxProxies = 20000
	maxLeases  = 20000
	maxRate    = 10000
)

type options struct {
	mode      string
	proxies   int
	leases    int
	rate      float64
	exhausted bool
	parallel  int
}

func main() {
	var o options
	role := flag.String("role", "bench", "bench, or server (the child process the bench starts)")
	flag.StringVar(&o.mode, "mode", serverPool, "pool: ssm-pool with leases; plain: go-control-plane's server with the same base snapshot, connections and memory only")
	flag.IntVar(&o.proxies, "proxies", 1000, "pooled proxies to connect, one mTLS connection and ADS stream each")
	flag.IntVar(&o.leases, "leases", 1000, "leases (and baseline calls) to issue, one distinct revision each")
	flag.Float64Var(&o.rate, "rate", 100, "leases per second, open loop; the baseline runs at the same rate, interleaved")
	flag.BoolVar(&o.exhausted, "exhausted", false, "then lease every proxy left and measure -leases more leases, each answered EXHAUSTED")
	flag.IntVar(&o.parallel, "dial-parallel", 8, "proxies connecting at once")
	timeout := flag.Duration("timeout", 3*time.Minute, "hard limit on the whole run")
	serverKind := flag.String("server", serverPool, "server role: pool or plain")
	certs := flag.String("certs", "", "server role: certificate directory the bench wrote")
	revisions := flag.Int("revisions", 0, "server role: revisions the source holds")
	flag.Parse()

	if *role == "server" {
		// The child ends when the bench closes its input (or kills it at
		// the bench's timeout).
		if err := runServer(context.Background(), *serverKind, *certs, *revisions); err != nil {
			fmt.Fprintln(os.Stderr, "poollease server:", err)
			os.Exit(1)
		}
		return
	}
	if err := o.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "poollease:", err)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	err := run(ctx, o)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "poollease:", err)
		os.Exit(1)
	}
}

func (o options) validate() error {
	switch {
	case o.mode != serverPool && o.mode != serverPlain:
		return fmt.Errorf("-mode %q: want pool or plain", o.mode)
	case o.proxies < 1 || o.proxies > maxProxies:
		return fmt.Errorf("-proxies %d: want 1..%d", o.proxies, maxProxies)
	case o.leases < 1 || o.leases > maxLeases:
		return fmt.Errorf("-leases %d: want 1..%d", o.leases, maxLeases)
	case o.rate <= 0 || o.rate > maxRate:
		return fmt.Errorf("-rate %v: want (0, %d]", o.rate, maxRate)
	case o.parallel < 1:
		return fmt.Errorf("-dial-parallel %d: want at least 1", o.parallel)
	}
	return nil
}

func run(ctx context.Context, o options) error {
	root, err := os.MkdirTemp("", "poollease-")
	if err != nil {
		return fmt.Errorf("certificate directory: %w", err)
	}
	defer os.RemoveAll(root)
	dirs, err := writeCerts(root)
	if err != nil {
		return err
	}
	// Leases, then at most one per proxy to fill the pool, then the
	// exhausted leases: every lease names a revision of its own.
	srv, err := startServer(ctx, o.mode, root, 2*o.leases+o.proxies)
	if err != nil {
		return err
	}
	var proxies []proxy
	// The server goes first, so that it does not log every proxy leaving
	// as a lost lease.
	defer func() {
		srv.stop()
		closeAll(proxies)
	}()

	r := report{options: o}
	if r.server[0], err = srv.heap(ctx); err != nil {
		return err
	}
	r.client[0] = clientHeap()
	began := time.Now()
	proxies, err = connectProxies(ctx, srv.addr, dirs.proxy, o.proxies, o.parallel)
	if err != nil {
		return err
	}
	conn, err := grpc.NewClient(srv.addr, grpc.WithTransportCredentials(
		credentials.NewTLS(identity.ClientConfig(identity.NewFileSource(dirs.activator), serverName))))
	if err != nil {
		return fmt.Errorf("activator connection: %w", err)
	}
	defer conn.Close()
	leases := leaseapi.NewLeasesClient(conn)
	if err := waitWarm(ctx, o, leases, proxies); err != nil {
		return err
	}
	r.warmAfter = time.Since(began)
	if r.server[1], err = srv.heap(ctx); err != nil {
		return err
	}
	r.client[1] = clientHeap()
	if o.mode == serverPlain {
		r.print(os.Stdout)
		return nil
	}

	r.lease, r.baseline = leaseAndBaseline(ctx, o, leases, healthpb.NewHealthClient(conn))
	if r.server[2], err = srv.heap(ctx); err != nil {
		return err
	}
	r.client[2] = clientHeap()
	if o.exhausted {
		if r.fill, r.exhaustedLease, err = leaseExhausted(ctx, o, leases); err != nil {
			return err
		}
	}
	r.print(os.Stdout)
	return ctx.Err()
}

func closeAll(proxies []proxy) {
	for _, p := range proxies {
		p.close()
	}
}

// waitWarm waits until every proxy is warm: for ssm-pool, its own count
// (the proxy ACKed its base configuration); for the plain server, each
// client's ACK of the listeners.
func waitWarm(ctx context.Context, o options, leases leaseapi.LeasesClient, proxies []proxy) error {
	if o.mode == serverPlain {
		for i, p := range proxies {
			if err := p.ads.WaitFor(ctx, func(c *adsclient.Client) bool { return c.Version(resourcev3.ListenerType) != "" }); err != nil {
				return fmt.Errorf("proxy %d never took its listeners: %w", i, err)
			}
		}
		return nil
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last *leaseapi.StatsResponse
	for {
		stats, err := leases.Stats(ctx, &leaseapi.StatsRequest{PoolNamespace: systemNamespace, PoolName: poolName})
		if err == nil {
			last = stats
			if stats.GetWarm() == int32(o.proxies) {
				return nil
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d warm proxies (last stats %v, error %v): %w", o.proxies, last, err, ctx.Err())
		}
	}
}

// leaseAndBaseline issues the leases and, at the same rate and offset by
// half an interval, the baseline calls on the same connection.
func leaseAndBaseline(ctx context.Context, o options, leases leaseapi.LeasesClient, baseline healthpb.HealthClient) (lease, base []sample) {
	start := time.Now().Add(10 * time.Millisecond)
	half := time.Duration(float64(time.Second) / o.rate / 2)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		lease = paced(ctx, start, 0, o.rate, o.leases, func(ctx context.Context, i int) string {
			return leaseOutcome(ctx, leases, i)
		})
	}()
	go func() {
		defer wg.Done()
		base = paced(ctx, start, half, o.rate, o.leases, func(ctx context.Context, _ int) string {
			resp, err := baseline.Check(ctx, &healthpb.HealthCheckRequest{})
			if err != nil {
				return "error: " + status.Code(err).String()
			}
			return resp.GetStatus().String()
		})
	}()
	wg.Wait()
	return lease, base
}

// leaseExhausted leases every proxy still warm, then measures o.leases more
// leases, which the full pool must answer at once.
func leaseExhausted(ctx context.Context, o options, leases leaseapi.LeasesClient) (fill, exhausted []sample, err error) {
	stats, err := leases.Stats(ctx, &leaseapi.StatsRequest{PoolNamespace: systemNamespace, PoolName: poolName})
	if err != nil {
		return nil, nil, fmt.Errorf("pool stats before filling: %w", err)
	}
	warm := int(stats.GetWarm())
	if warm > o.proxies {
		return nil, nil, errors.New("pool reports more warm proxies than were connected")
	}
	if warm > 0 {
		fill = paced(ctx, time.Now(), 0, o.rate, warm, func(ctx context.Context, i int) string {
			return leaseOutcome(ctx, leases, o.leases+i)
		})
	}
	exhausted = paced(ctx, time.Now(), 0, o.rate, o.leases, func(ctx context.Context, i int) string {
		return leaseOutcome(ctx, leases, o.leases+o.proxies+i)
	})
	return fill, exhausted, nil
}

func leaseOutcome(ctx context.Context, leases leaseapi.LeasesClient, i int) string {
	key := revisionKey(i)
	resp, err := leases.Lease(ctx, &leaseapi.LeaseRequest{Revision: &leaseapi.Revision{Namespace: key.Namespace, Name: key.Name}})
	if err != nil {
		return "error: " + status.Code(err).String()
	}
	return resp.GetOutcome().String()
}

// clientHeap is this process's memory: the proxies' and the activator's side.
func clientHeap() heap { return heapAfterGC() }
