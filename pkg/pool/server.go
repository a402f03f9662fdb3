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

package pool

import (
	"context"
	lrs "github.com/envoyproxy/go-control-plane/envoy/service/load_stats/v3"
	"sync"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc"
	"k8s.io/utils/clock"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
	"github.com/serverless-mesh/ssm/pkg/pool/leaseapi"
	"github.com/serverless-mesh/ssm/pkg/pool/revision"
	"github.com/serverless-mesh/ssm/pkg/pool/snapshot"
)

const (
	// DefaultIdleTimeout ends a lease that nobody renewed for this long.
	DefaultIdleTimeout = v1alpha1.DefaultProxyPoolIdleTimeout
	// DefaultAckTimeout bounds the wait for a proxy's ACK when the caller
	// of Lease set no deadline.
	DefaultAckTimeout = 2 * time.Second

	// reapInterval is how often idle leases are looked for: a lease ends at
	// most this long after its idle timeout, which is minutes.
	reapInterval = time.Second
	// maxPlacementAttempts bounds how many proxies one placement tries when
	// proxies NACK or disconnect, so a pool of broken proxies cannot make a
	// lease loop.
	maxPlacementAttempts = 3
)

// Options configure a Server.
type Options struct {
	// Snapshot are the ports and names of every proxy's configuration.
	Snapshot snapshot.Options
	// Source supplies revision configurations (policy, pool, endpoints).
	Source revision.Source
	// IdleTimeout of a pool's leases; nil or a non-positive answer means
	// DefaultIdleTimeout.
	IdleTimeout func(revision.PoolKey) time.Duration
	// AckTimeout bounds the wait for a proxy's ACK inside Lease when the
	// caller's context has no deadline, and every background re-placement;
	// 0 means DefaultAckTimeout.
	AckTimeout time.Duration
	// Clock drives idle expiry; nil means the real clock. ACK waits are
	// network timeouts and always run on real time.
	Clock clock.WithTicker
	// Registerer receives the ssm_pool_* metrics; nil means no metrics.
	Registerer prometheus.Registerer
	// Logger; nil means no logging.
	Logger *zap.SugaredLogger
	// OnUnhealthy is called (outside any lock, on the proxy's stream
	// goroutine) when a proxy first rejects a configuration, e.g. to record
	// an Event. It may be nil.
	OnUnhealthy func(proxy string, pool revision.PoolKey, reason string)
	// Routes publishes the proxies that can serve each leased revision as
	// its lease Service's endpoints; nil publishes nothing.
	Routes RoutePublisher
	// DrainPeriod and MaxFallbackWait: see DefaultDrainPeriod and
	// DefaultMaxFallbackWait; 0 means the default.
	DrainPeriod     time.Duration
	MaxFallbackWait time.Duration
}

// Server is one replica's lease manager and ADS server.
type Server struct {
	opts    Options
	log     *zap.SugaredLogger
	metrics *metrics
	cache   cachev3.SnapshotCache
	xds     serverv3.Server
	// base is every idle proxy's snapshot, built once: its versions are
	// content hashes, so all proxies share them. baseErr refuses every
	// stream when the Options cannot produce it.
	base    *cachev3.Snapshot
	baseErr error

	// ctx ends every ADS stream and background re-placement when Run
	// returns; wg counts the re-placements.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// mu guards everything below, every proxy and every lease. SetSnapshot
	// is called with mu held so that the cache and the bookkeeping of what
	// each proxy should hold never disagree; go-control-plane never calls
	// back into Server while holding its own locks, so this cannot deadlock.
	mu      sync.Mutex
	closing bool
	streams map[int64]*stream
	nodes   map[string]*proxy
	pools   map[revision.PoolKey]map[*proxy]struct{}
	leases  map[revision.Key]*lease
}

// New builds a Server. It serves nothing until Register and Run.
func New(o Options) *Server {
	if o.AckTimeout <= 0 {
		o.AckTimeout = DefaultAckTimeout
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.DrainPeriod <= 0 {
		o.DrainPeriod = DefaultDrainPeriod
	}
	if o.MaxFallbackWait <= 0 {
		o.MaxFallbackWait = DefaultMaxFallbackWait
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop().Sugar()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		opts:    o,
		log:     o.Logger,
		ctx:     ctx,
		cancel:  cancel,
		streams: map[int64]*stream{},
		nodes:   map[string]*proxy{},
		pools:   map[revision.PoolKey]map[*proxy]struct{}{},
		leases:  map[revision.Key]*lease{},
	}
	s.base, s.baseErr = snapshot.Base(o.Snapshot).Snapshot()
	if s.baseErr != nil {
		s.log.Errorw("Cannot build the base configuration; every proxy will be refused", zap.Error(s.baseErr))
	}
	s.metrics = newMetrics(s)
	s.metrics.register(o.Registerer, s.log)
	// go-control-plane logs a stale nonce at info level, which is normal
	// protocol traffic; only its warnings are worth a line.
	xdsLog := s.log.Desugar().WithOptions(zap.IncreaseLevel(zapcore.WarnLevel)).Sugar()
	s.cache = cachev3.NewSnapshotCache(true, nodeKeyHash{}, xdsLog)
	s.xds = serverv3.NewServer(ctx, s.cache, &callbacks{s: s})
	return s
}

// Register serves ADS, load reports and the lease API on g. g's credentials authenticate
// the peers; Register adds no interceptor.
func (s *Server) Register(g *grpc.Server) {
	discovery.RegisterAggregatedDiscoveryServiceServer(g, s.xds)
	lrs.RegisterLoadReportingServiceServer(g, &loadReports{s: s})
	leaseapi.RegisterLeasesServer(g, &leasesServer{s: s})
}

// Run ends idle leases until ctx is done. Then it ends every ADS stream (so
// that a graceful gRPC stop is not held up by them) and waits for background
// re-placements to finish.
func (s *Server) Run(ctx context.Context) error {
	ticker := s.opts.Clock.NewTicker(reapInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C():
			s.expireIdle()
		case <-ctx.Done():
			s.mu.Lock()
			s.closing = true
			withdrawn := s.withdrawAllLocked()
			s.mu.Unlock()
			// The proxies lose their configuration when their streams
			// close; give the gateways time to stop using them first.
			s.awaitFallback(withdrawn...)
			s.cancel()
			s.wg.Wait()
			return nil
		}
	}
}

// idleTimeout of a pool's leases.
func (s *Server) idleTimeout(pool revision.PoolKey) time.Duration {
	if s.opts.IdleTimeout == nil {
		return DefaultIdleTimeout
	}
	if d := s.opts.IdleTimeout(pool); d > 0 {
		return d
	}
	return DefaultIdleTimeout
}

// nodeKeyHash keys the snapshot cache by "<pool-namespace>/<pool>/<node id>":
// node ids are pod names, which are unique only within a namespace.
type nodeKeyHash struct{}

func (nodeKeyHash) ID(node *core.Node) string { return nodeKey(node) }

func nodeKey(node *core.Node) string { return node.GetCluster() + "/" + node.GetId() }
