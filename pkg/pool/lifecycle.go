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
	"errors"
	"sort"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/serverless-mesh/ssm/pkg/pool/leaseapi"
	"github.com/serverless-mesh/ssm/pkg/pool/revision"
)

// RevisionChanged re-pushes a leased revision's configuration after its
// policy or endpoints changed. Only types whose content changed get new
// versions, so an endpoint change sends only EDS. A revision that is gone,
// no longer pooled or moved to another pool loses its lease.
func (s *Server) RevisionChanged(key revision.Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.leases[key]
	if l == nil {
		return
	}
	cfg, err := s.opts.Source.Get(key)
	switch {
	case errors.Is(err, revision.ErrNotFound):
		// Its lease Service went with it: no traffic to hand back.
		s.endLocked(l, "revision not found", false)
		return
	case err != nil:
		// Keep serving the configuration the proxy has; the next change
		// retries.
		s.log.Warnw("Reading a changed revision", zap.Stringer("revision", key), zap.Error(err))
		return
	case !cfg.Pooled():
		s.endLocked(l, "revision no longer uses a pooled proxy", true)
		return
	case cfg.Pool != l.cfg.Pool:
		s.endLocked(l, "revision moved to pool "+cfg.Pool.String(), true)
		return
	}
	l.cfg = cfg
	s.publishLocked(l)
	p := l.proxy
	if p == nil {
		// Between placement attempts: the next attempt builds from l.cfg.
		return
	}
	snap, err := s.revisionSnapshot(cfg)
	if err != nil {
		s.log.Errorw("The proxy keeps the revision's previous configuration", zap.Error(err))
		return
	}
	s.setSnapshotLocked(p, snap)
}

// Renew resets the idle timer of the revision's lease and returns the
// proxies holding it on this replica (none while it is being re-placed)
// and the pool's idle timeout now, which may have changed since the grant.
func (s *Server) Renew(key revision.Key) (*leaseapi.RenewResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.leases[key]
	if l == nil {
		return nil, status.Errorf(codes.NotFound, "revision %s holds no lease on this replica", key)
	}
	l.lastActivity = s.opts.Clock.Now()
	resp := &leaseapi.RenewResponse{
		Proxies:     []string{},
		IdleTimeout: durationpb.New(s.idleTimeout(l.cfg.Pool)),
	}
	if l.granted {
		resp.Proxies = []string{l.proxy.node}
	}
	return resp, nil
}

// expireIdle ends every granted lease nobody renewed for its pool's idle
// timeout.
func (s *Server) expireIdle() {
	now := s.opts.Clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.leases {
		if !l.granted || now.Sub(l.lastActivity) < s.idleTimeout(l.cfg.Pool) {
			continue
		}
		s.endLocked(l, "idle", true)
		s.metrics.expiries.Inc()
	}
}

// endLocked ends a lease: its proxy goes back to its idle configuration and
// a placement in progress stops.
//
// drain false gives a published proxy back at once: for a revision that is
// gone, whose lease Service is gone too.
func (s *Server) endLocked(l *lease, why string, drain bool) {
	if s.leases[l.key] == l {
		delete(s.leases, l.key)
	}
	l.ended = true
	if p := l.proxy; p != nil {
		if drain && len(l.published) > 0 && !s.closing {
			s.drainLocked(l, p)
		} else {
			s.withdrawLocked(l)
			s.returnLocked(p)
		}
		s.log.Infow("Lease ended", zap.Stringer("revision", l.key), zap.String("proxy", p.node),
			zap.String("reason", why))
	}
}

// Stats counts the pool's proxies on this replica.
func (s *Server) Stats(pool revision.PoolKey) *leaseapi.StatsResponse {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := &leaseapi.StatsResponse{}
	for p := range s.pools[pool] {
		out.Connected++
		switch p.state() {
		case stateWarm:
			out.Warm++
		case stateLeased:
			out.Leased++
			out.LeasedProxies = append(out.LeasedProxies, p.node)
		case stateUnhealthy:
			out.Unhealthy++
		}
	}
	sort.Strings(out.LeasedProxies)
	return out
}

// countLocked is the number of proxies in each pool and state.
func (s *Server) countLocked() map[revision.PoolKey]map[string]int {
	out := make(map[revision.PoolKey]map[string]int, len(s.pools))
	for pool, members := range s.pools {
		counts := map[string]int{stateWarming: 0, stateWarm: 0, stateLeased: 0, stateUnhealthy: 0}
		for p := range members {
			counts[p.state()]++
		}
		out[pool] = counts
	}
	return out
}
