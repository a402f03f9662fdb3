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
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"go.uber.org/zap"

	"github.com/serverless-mesh/ssm/pkg/pool/leaseapi"
	"github.com/serverless-mesh/ssm/pkg/pool/revision"
)

// Proxy states, as the ssm_pool_proxies metric labels them. They partition
// the connected proxies.
const (
	stateWarming   = "warming"
	stateWarm      = "warm"
	stateLeased    = "leased"
	stateUnhealthy = "unhealthy"
)

// proxy is one connected Envoy: one ADS stream, one node. All fields are
// guarded by Server.mu.
type proxy struct {
	node    string // node id: the pod name
	key     string // snapshot cache key, see nodeKey
	pool    revision.PoolKey
	address string // peer IP and the revision listener's port
	// returnedAt is when the proxy last became idle (first: connected);
	// the least recently returned warm proxy is leased first, which spreads
	// leases over the pool and gives a returning proxy time to re-ACK.
	returnedAt time.Time

	// want is the snapshot the cache holds for the proxy; types track what
	// the proxy holds of each type; synced caches holds(want).
	want   *cachev3.Snapshot
	types  map[string]*typeState
	synced bool

	lease     *lease
	unhealthy bool
	gone      bool
	// changed is closed and replaced whenever the proxy's ACK state, lease
	// or connection changes; Lease waits on it.
	changed chan struct{}
}

func newProxy(node, key string, pool revision.PoolKey, address string, now time.Time) *proxy {
	return &proxy{
		node:       node,
		key:        key,
		pool:       pool,
		address:    address,
		returnedAt: now,
		types:      map[string]*typeState{},
		changed:    make(chan struct{}),
	}
}

func (p *proxy) warm() bool { return !p.gone && !p.unhealthy && p.lease == nil && p.synced }

func (p *proxy) state() string {
	switch {
	case p.unhealthy:
		return stateUnhealthy
	case p.lease != nil:
		return stateLeased
	case p.synced:
		return stateWarm
	}
	return stateWarming
}

// notifyLocked wakes everyone waiting on p.
func (p *proxy) notifyLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// setSnapshotLocked makes snap the proxy's configuration. Identical
// per-type versions make go-control-plane send nothing, so this is cheap
// and silent when nothing changed.
func (s *Server) setSnapshotLocked(p *proxy, snap *cachev3.Snapshot) {
	p.want = snap
	p.synced = p.holds(snap)
	p.notifyLocked()
	if s.nodes[p.key] != p {
		// A newer stream of the same node owns the cache entry.
		return
	}
	// The watches SetSnapshot answers have one-slot channels that are
	// answered at most once, so it never blocks.
	if err := s.cache.SetSnapshot(context.Background(), p.key, snap); err != nil {
		s.log.Errorw("Setting a proxy's snapshot", zap.String("proxy", p.key), zap.Error(err))
	}
}

// idleSnapshot is what an idle proxy holds: the base configuration, except
// that a type whose base version the proxy rejected stays at the version it
// holds. go-control-plane answers a NACK by sending the current version
// again, so without this a proxy that rejects its base would loop. (Such a
// proxy keeps whatever it held of that type; it is unhealthy, so it is
// never leased and no revision's traffic is sent to it.)
func (s *Server) idleSnapshot(p *proxy) *cachev3.Snapshot {
	pinned := false
	snap := *s.base
	for i := range snap.Resources {
		typeURL, err := cachev3.GetResponseTypeURL(types.ResponseType(i))
		ts := p.types[typeURL]
		if err != nil || ts == nil || !ts.rejected[snap.Resources[i].Version] {
			continue
		}
		// No resources at the held version: go-control-plane sends nothing
		// while the versions are equal, and the proxy keeps what it has.
		snap.Resources[i] = cachev3.Resources{Version: ts.acked}
		pinned = true
	}
	if !pinned {
		return s.base
	}
	return &snap
}

// returnLocked ends p's lease (if any) and sets its idle configuration. It
// becomes warm again once it ACKs that.
func (s *Server) returnLocked(p *proxy) {
	if l := p.lease; l != nil {
		l.proxy = nil
		p.lease = nil
	}
	p.returnedAt = s.opts.Clock.Now()
	s.setSnapshotLocked(p, s.idleSnapshot(p))
}

// pickLocked is the warm idle proxy of pool to lease next: the least
// recently returned, then by name, so the choice is deterministic.
func (s *Server) pickLocked(pool revision.PoolKey) *proxy {
	var best *proxy
	for p := range s.pools[pool] {
		if !p.warm() {
			continue
		}
		if best == nil || cmp.Or(p.returnedAt.Compare(best.returnedAt), cmp.Compare(p.node, best.node)) < 0 {
			best = p
		}
	}
	return best
}

// noProxyLocked is the answer when pool has no warm idle proxy.
func (s *Server) noProxyLocked(pool revision.PoolKey, tried []string) *leaseapi.LeaseResponse {
	connected, warming := 0, 0
	for p := range s.pools[pool] {
		connected++
		if p.state() == stateWarming {
			warming++
		}
	}
	resp := &leaseapi.LeaseResponse{Pool: pool.String(), Outcome: leaseapi.LeaseResponse_EXHAUSTED}
	switch {
	case warming > 0:
		resp.Outcome = leaseapi.LeaseResponse_NO_WARM_PROXY
		resp.Message = fmt.Sprintf("pool %s: %d of %d connected proxies have not ACKed their base configuration yet",
			pool, warming, connected)
	case connected == 0:
		resp.Message = fmt.Sprintf("pool %s has no connected proxy on this replica", pool)
	default:
		resp.Message = fmt.Sprintf("pool %s: all %d connected proxies are leased or unhealthy", pool, connected)
	}
	if len(tried) > 0 {
		resp.Message += fmt.Sprintf(" (proxies %v rejected the configuration or disconnected)", tried)
	}
	return resp
}

// addLocked registers p as the owner of its node.
func (s *Server) addLocked(p *proxy) {
	s.nodes[p.key] = p
	members := s.pools[p.pool]
	if members == nil {
		members = map[*proxy]struct{}{}
		s.pools[p.pool] = members
	}
	members[p] = struct{}{}
}

// forgetLocked removes a proxy whose stream ended or was replaced by a newer
// stream of the same node. Its lease moves to another proxy.
func (s *Server) forgetLocked(p *proxy, why string) {
	if p.gone {
		return
	}
	p.gone = true
	if s.nodes[p.key] == p {
		delete(s.nodes, p.key)
	}
	if members := s.pools[p.pool]; members != nil {
		delete(members, p)
		if len(members) == 0 {
			delete(s.pools, p.pool)
		}
	}
	s.loseLeaseLocked(p, fmt.Sprintf("proxy %s %s", p.node, why))
	p.notifyLocked()
}

// loseLeaseLocked parts p from its lease, which p can no longer serve; a
// granted lease moves to another proxy.
func (s *Server) loseLeaseLocked(p *proxy, why string) {
	l := p.lease
	if l == nil {
		return
	}
	l.proxy = nil
	p.lease = nil
	if l.granted && !l.ended {
		s.replaceLocked(l, why)
	}
}
