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
	"net"
	"os"
	"runtime"
	"sync"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	"github.com/serverless-mesh/ssm/pkg/identity"
	"github.com/serverless-mesh/ssm/pkg/pool"
	"github.com/serverless-mesh/ssm/pkg/pool/snapshot"
)

// The server role runs in a child process so that its heap is measured
// alone: the proxies' clients, in the parent, would otherwise be most of it.
// It prints "addr <host:port>", then answers each "mem" line on stdin with
// "mem <heap in use> <heap alloc> <goroutines>", and stops at end of input.

const (
	serverPool  = "pool"
	serverPlain = "plain"
)

func runServer(ctx context.Context, kind, certRoot string, revisions int) error {
	logger, err := warnLogger()
	if err != nil {
		return err
	}
	g, err := newSecureServer(newCertDirs(certRoot).server)
	if err != nil {
		return err
	}
	healthpb.RegisterHealthServer(g, health.NewServer())
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var running sync.WaitGroup
	switch kind {
	case serverPool:
		src, err := newRevisionSource(revisions)
		if err != nil {
			return err
		}
		srv := pool.New(pool.Options{Snapshot: snapshot.DefaultOptions(), Source: src, Logger: logger})
		srv.Register(g)
		running.Add(1)
		go func() {
			defer running.Done()
			if err := srv.Run(runCtx); err != nil {
				logger.Errorw("pool server stopped", zap.Error(err))
			}
		}()
	case serverPlain:
		if err := registerPlain(runCtx, g); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown server kind %q", kind)
	}

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listening on loopback: %w", err)
	}
	running.Add(1)
	go func() {
		defer running.Done()
		_ = g.Serve(lis)
	}()
	fmt.Printf("addr %s\n", lis.Addr())

	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if in.Text() != "mem" {
			continue
		}
		h := heapAfterGC()
		fmt.Printf("mem %d %d %d %d\n", h.inuse, h.alloc, h.stacks, h.goroutines)
	}
	stop()
	g.Stop()
	running.Wait()
	return nil
}

// heapAfterGC is the live heap (bytes in in-use spans and in live objects)
// and the goroutine stacks, which the heap figures leave out.
func heapAfterGC() heap {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return heap{inuse: m.HeapInuse, alloc: m.HeapAlloc, stacks: m.StackInuse, goroutines: runtime.NumGoroutine()}
}

func warnLogger() (*zap.SugaredLogger, error) {
	cfg := zap.NewProductionConfig()
	cfg.Level = zap.NewAtomicLevelAt(zapcore.WarnLevel)
	l, err := cfg.Build()
	if err != nil {
		return nil, fmt.Errorf("building the logger: %w", err)
	}
	return l.Sugar().Named("ssm-pool"), nil
}

// newSecureServer is a gRPC server with cmd/pool's security: mTLS with the
// run's CA, proxies may only stream ADS, the activator may call the lease
// API and the health check used as the baseline.
func newSecureServer(certDir string) (*grpc.Server, error) {
	activator := identity.AllowIDs(identity.NewID(trustDomain, systemNamespace, activatorAccount))
	authz, err := identity.NewAuthorizer(identity.Policy{
		"/envoy.service.discovery.v3.AggregatedDiscoveryService/": identity.AllowServiceAccount(trustDomain, ssm.PoolProxyServiceAccount),
		"/ssm.pool.v1alpha1.Leases/":                              activator,
		"/grpc.health.v1.Health/":                                 activator,
	})
	if err != nil {
		return nil, fmt.Errorf("authorisation policy: %w", err)
	}
	creds := credentials.NewTLS(identity.ServerConfig(identity.NewFileSource(certDir)))
	return grpc.NewServer(grpc.Creds(creds), grpc.ChainUnaryInterceptor(authz.Unary), grpc.ChainStreamInterceptor(authz.Stream)), nil
}

// registerPlain serves go-control-plane's own ADS server, handing every
// node the same base snapshot the pool gives a warm proxy: the memory of a
// plain control plane to compare ssm-pool with.
func registerPlain(ctx context.Context, g *grpc.Server) error {
	base, err := snapshot.Base(snapshot.DefaultOptions()).Snapshot()
	if err != nil {
		return fmt.Errorf("building the base snapshot: %w", err)
	}
	snapshots := cachev3.NewSnapshotCache(true, cachev3.IDHash{}, nil)
	var mu sync.Mutex
	nodes := map[int64]string{}
	callbacks := serverv3.CallbackFuncs{
		StreamRequestFunc: func(stream int64, req *discoveryv3.DiscoveryRequest) error {
			mu.Lock()
			defer mu.Unlock()
			if _, ok := nodes[stream]; ok {
				return nil
			}
			node := req.GetNode().GetId()
			nodes[stream] = node
			return snapshots.SetSnapshot(ctx, node, base)
		},
		StreamClosedFunc: func(stream int64, _ *corev3.Node) {
			mu.Lock()
			defer mu.Unlock()
			snapshots.ClearSnapshot(nodes[stream])
			delete(nodes, stream)
		},
	}
	discoveryv3.RegisterAggregatedDiscoveryServiceServer(g, serverv3.NewServer(ctx, snapshots, callbacks))
	return nil
}
