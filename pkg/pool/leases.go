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
	"errors"
	"fmt"
	"time"

	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/serverless-mesh/ssm/pkg/pool/leaseapi"
	"github.com/serverless-mesh/ssm/pkg/pool/revision"
	"github.com/serverless-mesh/ssm/pkg/pool/snapshot"
)

// lease is one revision's lease on this replica. Guarded by Server.mu.
type lease struct {
	key revision.Key
	cfg revision.Config
	// proxy holds (or is being given) the revision's configuration; nil
	// between placement attempts.
	proxy *proxy
	// granted once proxy ACKed; false while a placement runs.
	granted bool
	// ended by idle expiry or by the revision going away; a running
	// placement stops at its next look.
	ended        bool
	lastActivity time.Time
	// published are the proxy addresses last given to Options.Routes.
	published []string
	// placing is the current (or last) placement; concurrent Lease calls
	// for the revision wait for it instead of taking a second proxy.
	placing *placement
}

// placement is one attempt to put a lease on a proxy: resp and err are set
// before done is closed.
type placement struct {
	done chan struct{}
	resp *leaseapi.LeaseResponse
	err  error
}

func newPlacement() *placement { return &placement{done: make(chan struct{})} }

// ackWait is how a wait for a proxy's ACK ended.
type ackWait int

const (
	ackGranted ackWait = iota
	// ackLost: the proxy NACKed or disconnected; try another.
	ackLost
	ackDeadline
	ackEnded
)

// Lease gives the revision a warm proxy holding its configuration; see
// leaseapi.LeasesServer. It never waits for a proxy to become free.
func (s *Server) Lease(ctx context.Context, key revision.Key) (*leaseapi.LeaseResponse, error) {
	start := time.Now()
	resp, err := s.lease(ctx, key)
	s.metrics.observeLease(resp, err, time.Since(start))
	return resp, err
}

func (s *Server) lease(ctx context.Context, key revision.Key) (*leaseapi.LeaseResponse, error) {
	step := s.beginLease(key)
	switch {
	case step.await != nil:
		return awaitPlacement(ctx, key, step.await)
	case step.lease != nil:
		ctx, cancel := ackContext(ctx, s.opts.AckTimeout)
		defer cancel()
		pl := step.lease.placing
		s.place(ctx, step.lease, step.proxy)
		return pl.resp, pl.err
	default:
		return step.resp, step.err
	}
}

// leaseStep is what beginLease decided under mu: an answer (resp, err), a
// placement in progress to share (await), or a new lease whose proxy must
// now ACK it (lease, proxy).
type leaseStep struct {
	resp  *leaseapi.LeaseResponse
	err   error
	await *placement
	lease *lease
	proxy *proxy
}

// beginLease does the part of a Lease that needs mu.
func (s *Server) beginLease(key revision.Key) leaseStep {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Source.Get runs under mu so that the configuration pushed here and
	// the one RevisionChanged pushes cannot overtake each other.
	cfg, err := s.opts.Source.Get(key)
	if err != nil {
		if errors.Is(err, revision.ErrNotFound) {
			return leaseStep{err: status.Errorf(codes.NotFound, "revision %s not found", key)}
		}
		return leaseStep{err: status.Errorf(codes.Unavailable, "reading revision %s: %v", key, err)}
	}
	if !cfg.Pooled() {
		msg := fmt.Sprintf("revision %s uses no pooled proxy (proxy pool %q)", key, cfg.Policy.ProxyPool)
		if cfg.Unleasable != "" {
			msg = fmt.Sprintf("revision %s may not lease a pooled proxy: %s", key, cfg.Unleasable)
		}
		return leaseStep{resp: &leaseapi.LeaseResponse{Outcome: leaseapi.LeaseResponse_NOT_POOLED, Message: msg}}
	}
	if l := s.leases[key]; l != nil {
		if l.granted {
			l.lastActivity = s.opts.Clock.Now()
			return leaseStep{resp: s.grantedResponseLocked(l)}
		}
		return leaseStep{await: l.placing}
	}
	p := s.pickLocked(cfg.Pool)
	if p == nil {
		return leaseStep{resp: s.noProxyLocked(cfg.Pool, nil)}
	}
	l := &lease{key: key, cfg: cfg, placing: newPlacement()}
	s.leases[key] = l
	if err := s.assignLocked(l, p); err != nil {
		s.settleLocked(l, nil, err)
		return leaseStep{err: err}
	}
	return leaseStep{lease: l, proxy: p}
}

// awaitPlacement answers a Lease that found the revision's lease being
// placed: it shares that placement's result.
func awaitPlacement(ctx context.Context, key revision.Key, pl *placement) (*leaseapi.LeaseResponse, error) {
	select {
	case <-pl.done:
		if pl.err != nil {
			return nil, pl.err
		}
		return proto.Clone(pl.resp).(*leaseapi.LeaseResponse), nil
	case <-ctx.Done():
		return &leaseapi.LeaseResponse{
			Outcome: leaseapi.LeaseResponse_NOT_ACKED,
			Message: fmt.Sprintf("revision %s: deadline while waiting for its lease in progress: %v", key, ctx.Err()),
		}, nil
	}
}

// ackContext bounds an ACK wait by ctx's deadline, or by d if it has none.
func ackContext(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// assignLocked gives p the revision's configuration.
func (s *Server) assignLocked(l *lease, p *proxy) error {
	snap, err := s.revisionSnapshot(l.cfg)
	if err != nil {
		return status.Errorf(codes.Internal, "%v", err)
	}
	p.lease = l
	l.proxy = p
	s.setSnapshotLocked(p, snap)
	return nil
}

// revisionSnapshot is what a proxy leased to the revision holds.
func (s *Server) revisionSnapshot(cfg revision.Config) (*cachev3.Snapshot, error) {
	res, err := snapshot.ForRevision(s.opts.Snapshot, cfg)
	if err == nil {
		var snap *cachev3.Snapshot
		if snap, err = res.Snapshot(); err == nil {
			return snap, nil
		}
	}
	return nil, fmt.Errorf("building the configuration of revision %s: %w", cfg.Key, err)
}

// place waits until p ACKs l's configuration, moving on to other warm
// proxies (at most maxPlacementAttempts in all) when one NACKs or
// disconnects. It settles l's placement.
func (s *Server) place(ctx context.Context, l *lease, p *proxy) {
	var lost []string
	for attempt := 1; ; attempt++ {
		switch s.awaitAck(ctx, l, p) {
		case ackGranted:
			return
		case ackDeadline:
			s.settle(l, &leaseapi.LeaseResponse{
				Outcome: leaseapi.LeaseResponse_NOT_ACKED,
				Pool:    l.cfg.Pool.String(),
				Proxy:   p.node,
				Message: fmt.Sprintf("proxy %s did not ACK the configuration of revision %s in time: %v",
					p.node, l.key, ctx.Err()),
			}, nil)
			return
		case ackEnded:
			s.settle(l, &leaseapi.LeaseResponse{
				Outcome: leaseapi.LeaseResponse_NOT_ACKED,
				Pool:    l.cfg.Pool.String(),
				Message: fmt.Sprintf("the lease of revision %s ended while it was being placed", l.key),
			}, nil)
			return
		}
		lost = append(lost, p.node)
		s.mu.Lock()
		if attempt >= maxPlacementAttempts || l.ended {
			resp := &leaseapi.LeaseResponse{
				Outcome: leaseapi.LeaseResponse_NOT_ACKED,
				Pool:    l.cfg.Pool.String(),
				Message: fmt.Sprintf("revision %s: proxies %v rejected its configuration or disconnected", l.key, lost),
			}
			s.settleLocked(l, resp, nil)
			s.mu.Unlock()
			return
		}
		if p = s.pickLocked(l.cfg.Pool); p == nil {
			s.settleLocked(l, s.noProxyLocked(l.cfg.Pool, lost), nil)
			s.mu.Unlock()
			return
		}
		if err := s.assignLocked(l, p); err != nil {
			s.settleLocked(l, nil, err)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
	}
}

// awaitAck waits until p holds l's configuration (then grants l), loses it,
// or ctx ends (then p goes back to its idle configuration).
func (s *Server) awaitAck(ctx context.Context, l *lease, p *proxy) ackWait {
	// Each pass either returns or waits for p to change; ctx bounds it.
	for {
		s.mu.Lock()
		switch {
		case l.ended:
			s.mu.Unlock()
			return ackEnded
		case p.lease != l:
			s.mu.Unlock()
			return ackLost
		case p.synced:
			l.granted = true
			l.lastActivity = s.opts.Clock.Now()
			s.publishLocked(l)
			s.settleLocked(l, s.grantedResponseLocked(l), nil)
			s.mu.Unlock()
			s.log.Debugw("Lease granted", zap.Stringer("revision", l.key), zap.String("proxy", p.node))
			return ackGranted
		}
		changed := p.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			s.mu.Lock()
			if p.lease == l {
				s.returnLocked(p)
			}
			s.mu.Unlock()
			return ackDeadline
		}
	}
}

func (s *Server) settle(l *lease, resp *leaseapi.LeaseResponse, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked(l, resp, err)
}

// settleLocked finishes l's placement; a lease that was not granted is
// dropped.
func (s *Server) settleLocked(l *lease, resp *leaseapi.LeaseResponse, err error) {
	if !l.granted && s.leases[l.key] == l {
		delete(s.leases, l.key)
	}
	l.placing.resp, l.placing.err = resp, err
	close(l.placing.done)
}

// grantedResponseLocked tells the caller where its proxy is and how long
// the lease survives without a renewal: a caller that trusted it longer
// would send to a proxy that no longer holds the revision.
func (s *Server) grantedResponseLocked(l *lease) *leaseapi.LeaseResponse {
	return &leaseapi.LeaseResponse{
		Outcome:     leaseapi.LeaseResponse_GRANTED,
		Address:     l.proxy.address,
		Proxy:       l.proxy.node,
		Pool:        l.cfg.Pool.String(),
		IdleTimeout: durationpb.New(s.idleTimeout(l.cfg.Pool)),
	}
}

// replaceLocked moves a granted lease whose proxy was lost to another warm
// proxy, in the background; Lease calls meanwhile wait for it. When none
// takes it, the lease is dropped and the next Lease starts afresh.
func (s *Server) replaceLocked(l *lease, why string) {
	l.granted = false
	l.placing = newPlacement()
	// The lost proxy no longer holds the revision; the gateway must not
	// send it any more of its traffic.
	s.publishLocked(l)
	if s.closing {
		s.settleLocked(l, &leaseapi.LeaseResponse{Outcome: leaseapi.LeaseResponse_NOT_ACKED,
			Message: "ssm-pool is shutting down"}, nil)
		s.metrics.replacements.WithLabelValues(replacementDropped).Inc()
		return
	}
	s.log.Infow("Re-placing lease", zap.Stringer("revision", l.key), zap.String("reason", why))
	pl := l.placing
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(s.ctx, s.opts.AckTimeout)
		defer cancel()
		s.mu.Lock()
		var p *proxy
		switch {
		case l.ended:
			s.settleLocked(l, &leaseapi.LeaseResponse{Outcome: leaseapi.LeaseResponse_NOT_ACKED,
				Message: fmt.Sprintf("the lease of revision %s ended", l.key)}, nil)
		default:
			if p = s.pickLocked(l.cfg.Pool); p == nil {
				s.settleLocked(l, s.noProxyLocked(l.cfg.Pool, nil), nil)
			} else if err := s.assignLocked(l, p); err != nil {
				s.settleLocked(l, nil, err)
				p = nil
			}
		}
		s.mu.Unlock()
		if p != nil {
			s.place(ctx, l, p)
		}
		// Every path above has settled pl.
		result := replacementPlaced
		if pl.resp.GetOutcome() != leaseapi.LeaseResponse_GRANTED {
			result = replacementDropped
			s.log.Warnw("Dropped a lease whose proxy was lost", zap.Stringer("revision", l.key),
				zap.String("reason", pl.resp.GetMessage()), zap.Error(pl.err))
		}
		s.metrics.replacements.WithLabelValues(result).Inc()
	}()
}
