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

package activator

import (
	"context"
	"fmt"
	"slices"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/apimachinery/pkg/types"

	"github.com/serverless-mesh/ssm/pkg/pool/leaseapi"
	"github.com/serverless-mesh/ssm/pkg/resolver"
)

// requestLease asks ssm-pool for a proxy for the revision, once per cold
// start and never while another call for it is outstanding, off the
// request path. The annotations are read there too, so a revision SSM does
// not pool costs its requests nothing but the goroutine's start.
func (h *Hook) requestLease(st *revisionState, cs *coldStart) {
	if !st.leasing.CompareAndSwap(false, true) {
		return
	}
	started := h.goBackground(func(ctx context.Context) {
		defer st.leasing.Store(false)
		pooled, err := h.pooled(st.key)
		if err != nil {
			h.opts.Logger.Debugw("Not leasing a proxy", zap.String("revision", st.key.String()), zap.Error(err))
		}
		if !pooled {
			st.pooled.Store(int32(poolingNo))
			return
		}
		st.pooled.Store(int32(poolingYes))
		h.lease(ctx, st, cs)
	})
	if !started {
		st.leasing.Store(false)
	}
}

// pooled reports whether SSM may lease a proxy for the revision: the
// decision stamped on it when it was admitted says its pods were born
// sidecar-less for a pool. ssm-pool reads the same stamp.
func (h *Hook) pooled(key types.NamespacedName) (bool, error) {
	rev, err := h.revisions.Revisions(key.Namespace).Get(key.Name)
	if err != nil {
		return false, fmt.Errorf("revision %s: %w", key, err)
	}
	return resolver.StampedPods(rev.Annotations).ProxyPool != "", nil
}

// lease makes one Lease call within the deadline and keeps the proxy when
// it is granted.
func (h *Hook) lease(ctx context.Context, st *revisionState, cs *coldStart) {
	ctx, cancel := context.WithTimeout(ctx, h.opts.LeaseDeadline)
	defer cancel()
	started := h.now()
	resp, err := h.leases.Lease(ctx, &leaseapi.LeaseRequest{
		Revision: &leaseapi.Revision{Namespace: st.key.Namespace, Name: st.key.Name},
	})
	outcome := leaseOutcome(resp, err)
	h.phases.leaseAnswered(ctx, outcome)
	if outcome != leaseapi.LeaseResponse_GRANTED.String() {
		h.opts.Logger.Debugw("No proxy leased; Knative's path serves the revision",
			zap.String("revision", st.key.String()), zap.String("outcome", outcome), zap.Error(err))
		return
	}
	st.lease.Store(newHeldLease(resp.GetAddress(), resp.GetProxy(), started, h.opts.leaseTiming(resp.GetIdleTimeout())))
	cs.leaseGranted(h.opts.Clock.Now())
}

// leaseOutcome names the result of a Lease call for metrics and logs. A
// GRANTED answer without an address is unusable and counted as invalid.
func leaseOutcome(resp *leaseapi.LeaseResponse, err error) string {
	switch {
	case err != nil:
		return "error:" + status.Code(err).String()
	case resp.GetOutcome() == leaseapi.LeaseResponse_GRANTED && resp.GetAddress() == "":
		return "invalid"
	default:
		return resp.GetOutcome().String()
	}
}

// maybeRenew renews a lease that carries traffic, at most once per renew
// interval and never on the request path. A renewal extends the lease from
// now, when it starts, not from its answer (see heldLease.validUntil).
func (h *Hook) maybeRenew(st *revisionState, l *heldLease, now int64) {
	last := l.lastRenew.Load()
	if now-last < int64(l.timing.Load().renewEvery) || !l.lastRenew.CompareAndSwap(last, now) {
		return
	}
	if !l.renewing.CompareAndSwap(false, true) {
		return
	}
	started := h.goBackground(func(ctx context.Context) {
		defer l.renewing.Store(false)
		ctx, cancel := context.WithTimeout(ctx, h.opts.LeaseDeadline)
		defer cancel()
		resp, err := h.leases.Renew(ctx, &leaseapi.RenewRequest{
			Revision: &leaseapi.Revision{Namespace: st.key.Namespace, Name: st.key.Name},
		})
		switch {
		case err == nil && !slices.Contains(resp.GetProxies(), l.proxy):
			// The pool is moving the lease, or has moved it, to another
			// proxy: this one no longer holds the revision.
			h.dropLease(st, l)
		case err == nil:
			timing := l.timing.Load()
			if resp.GetIdleTimeout() != nil {
				// The pool's spec.idleTimeout may have been edited since
				// the grant.
				current := h.opts.leaseTiming(resp.GetIdleTimeout())
				timing = &current
				l.timing.Store(timing)
			}
			l.validUntil.Store(now + int64(timing.ttl))
		case status.Code(err) == codes.NotFound:
			// The pool no longer knows the lease: its proxy may serve another
			// revision already.
			h.dropLease(st, l)
		default:
			// Keep the lease until its TTL, which the pool's idle timeout
			// bounds: a failing proxy is caught by the fallback of the
			// request it fails.
			h.opts.Logger.Debugw("Renewing a lease failed", zap.String("revision", st.key.String()), zap.Error(err))
		}
	})
	if !started {
		l.renewing.Store(false)
	}
}

// dropLease forgets the lease unless it has been replaced meanwhile.
func (h *Hook) dropLease(st *revisionState, l *heldLease) {
	if st.lease.CompareAndSwap(l, nil) {
		h.opts.Logger.Infow("Dropped leased proxy", zap.String("revision", st.key.String()),
			zap.String("proxy", l.proxy), zap.String("address", l.address))
	}
}
