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
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/types"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/utils/clock"
	servinglisters "knative.dev/serving/pkg/client/listers/serving/v1"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	"github.com/serverless-mesh/ssm/pkg/identity"
	"github.com/serverless-mesh/ssm/pkg/pool/leaseapi"
)

// Throttler is the activator's throttler as Knative's activation handler
// calls it (knative.dev/serving/pkg/activator/handler.Throttler).
type Throttler interface {
	Try(ctx context.Context, revID types.NamespacedName, fn func(dest string, isClusterIP bool) error) error
}

// Defaults of Options.
const (
	// DefaultLeaseDeadline bounds one Lease call. The request never waits for
	// it; it only limits how long a lease may still arrive for a cold start.
	DefaultLeaseDeadline = 500 * time.Millisecond
	// DefaultRenewInterval paces renewals of a lease that carries traffic;
	// a pool with a short idle timeout makes them more frequent (see
	// Options.leaseTiming).
	DefaultRenewInterval = 30 * time.Second
	// DefaultIdlePeriod is how long a revision must have had no request here
	// for its next request to count as a cold start: the autoscaler's default
	// stable window, after which Knative decides to scale an idle revision to
	// zero.
	DefaultIdlePeriod = 60 * time.Second
	// DefaultLeaseTTL is how long a lease is trusted at most after its
	// grant or last successful renewal. It is below ssm-pool's default idle
	// timeout (5 min) so the hook stops using a proxy before the pool can
	// re-lease it; when ssm-pool reports a pool's idle timeout, the TTL
	// follows it (see Options.leaseTiming). A proxy re-leased anyway answers
	// 421 and the request falls back.
	DefaultLeaseTTL = 4*time.Minute + 30*time.Second
	// DefaultTrustDomain is Kubernetes' and Istio's default trust domain,
	// for a hook without an identity (whose pods' identities it never
	// checks).
	DefaultTrustDomain = "cluster.local"
)

// Options configure a Hook. Zero fields take the defaults above.
type Options struct {
	LeaseDeadline time.Duration
	RenewInterval time.Duration
	IdlePeriod    time.Duration
	LeaseTTL      time.Duration
	// Clock is the time source (a fake one in tests).
	Clock clock.PassiveClock
	// MeterProvider and TracerProvider record the cold-start phases; nil
	// means no-op providers.
	MeterProvider  metric.MeterProvider
	TracerProvider trace.TracerProvider
	Logger         *zap.SugaredLogger

	// Identity is the activator's certificate and trust bundle, presented
	// to the pods of sidecar-less revisions. Nil means requests to those
	// pods stay plaintext, and the pods refuse them (they fail closed).
	Identity identity.CertSource
	// TrustDomain of the pods' SPIFFE IDs. Empty means the trust domain of
	// Identity's own certificate (SSM's controller issues every identity
	// and is the one place the trust domain is set), or DefaultTrustDomain
	// without an Identity.
	TrustDomain string
	// MTLSPort is where a sidecar-less pod's queue-proxy takes mTLS; zero
	// means ssm.QueueProxyMTLSPort. Only tests set it.
	MTLSPort int
	// Endpoints reads the revisions' private Endpoints, from which a
	// request Knative sends to a sidecar-less revision's ClusterIP is given
	// a pod (see Hook.Transport). Nil sends such requests as they are.
	Endpoints corev1listers.EndpointsLister
}

func (o Options) withDefaults() Options {
	if o.LeaseDeadline <= 0 {
		o.LeaseDeadline = DefaultLeaseDeadline
	}
	if o.RenewInterval <= 0 {
		o.RenewInterval = DefaultRenewInterval
	}
	if o.IdlePeriod <= 0 {
		o.IdlePeriod = DefaultIdlePeriod
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = DefaultLeaseTTL
	}
	if o.TrustDomain == "" {
		o.TrustDomain = DefaultTrustDomain
	}
	if o.MTLSPort <= 0 {
		o.MTLSPort = ssm.QueueProxyMTLSPort
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.MeterProvider == nil {
		o.MeterProvider = metricnoop.NewMeterProvider()
	}
	if o.TracerProvider == nil {
		o.TracerProvider = tracenoop.NewTracerProvider()
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop().Sugar()
	}
	return o
}

// Hook wraps the stock throttler. Its Handler must wrap Knative's activation
// handler and its Transport must be the transport that handler proxies with:
// together they let a request through a leased proxy fall back to the stock
// path without being lost.
type Hook struct {
	stock     Throttler
	leases    leaseapi.LeasesClient
	revisions servinglisters.RevisionLister
	opts      Options
	phases    *phaseRecorder

	// epoch turns the clock into monotonic offsets that fit an atomic int64.
	epoch time.Time

	states sync.Map // types.NamespacedName → *revisionState

	// podTransports reach sidecar-less pods over mTLS.
	podTransports sync.Map // identity.ID → *podMTLS
	// nextPod spreads ClusterIP requests over a revision's ready pods.
	nextPod atomic.Uint64

	// background bounds the goroutines the hook starts (Lease, Renew calls):
	// Close cancels them and waits.
	mu       sync.Mutex
	closed   bool
	cancel   context.CancelFunc
	bgCtx    context.Context
	inFlight sync.WaitGroup
}

// New wraps stock. leases is the ssm-pool client; revisions decides which
// revisions SSM pools. Close releases the hook's background work.
func New(stock Throttler, leases leaseapi.LeasesClient, revisions servinglisters.RevisionLister, opts Options) (*Hook, error) {
	if stock == nil || leases == nil || revisions == nil {
		return nil, errors.New("activator hook: stock throttler, lease client and revision lister are required")
	}
	if opts.TrustDomain == "" && opts.Identity != nil {
		own, err := identity.OwnID(opts.Identity)
		if err != nil {
			return nil, fmt.Errorf("activator hook: the trust domain of its own identity: %w", err)
		}
		opts.TrustDomain = own.TrustDomain
	}
	opts = opts.withDefaults()
	phases, err := newPhaseRecorder(opts.MeterProvider, opts.TracerProvider)
	if err != nil {
		return nil, err
	}
	bgCtx, cancel := context.WithCancel(context.Background())
	return &Hook{
		stock:     stock,
		leases:    leases,
		revisions: revisions,
		opts:      opts,
		phases:    phases,
		epoch:     opts.Clock.Now(),
		bgCtx:     bgCtx,
		cancel:    cancel,
	}, nil
}

// Close cancels outstanding Lease and Renew calls and waits for them.
func (h *Hook) Close() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.cancel()
	h.inFlight.Wait()
	h.closePodTransports()
}

// goBackground runs fn off the request path unless the hook is closed, and
// reports whether it did.
func (h *Hook) goBackground(fn func(ctx context.Context)) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.inFlight.Add(1)
	go func() {
		defer h.inFlight.Done()
		fn(h.bgCtx)
	}()
	return true
}

// now is the clock's time as an offset from the hook's epoch, plus one so
// that zero can mean "never".
func (h *Hook) now() int64 { return int64(h.opts.Clock.Since(h.epoch)) + 1 }

// Try implements Throttler. The stock throttler serves the request unless
// the revision holds a lease, its first pod has been ready since the cold
// start began (before that the proxy would have no endpoint to send to), and
// the request came through Handler (so Transport can fall back).
func (h *Hook) Try(ctx context.Context, revID types.NamespacedName, fn func(dest string, isClusterIP bool) error) error {
	now := h.now()
	st := h.stateFor(revID)
	cold := st.arrive(now, int64(h.opts.IdlePeriod))
	if cold {
		cs := h.phases.begin(ctx, revID, h.opts.Clock.Now())
		st.coldStart.Store(cs)
		defer cs.endSpan()
		h.requestLease(st, cs)
	}
	cs := st.coldStart.Load()
	a := attemptFrom(ctx)
	if a != nil {
		a.rev = st
		if cs != nil && !cs.firstByteSeen() {
			a.coldStart = cs
		}
	}
	// The lease carries a request only inside the stock throttler's
	// callback, that is while Knative has a ready pod for it: a leased
	// proxy routes to the revision's ready pods and answers 503 when there
	// are none (after a scale to zero within the idle period, say), which
	// must never reach a client. The throttler's concurrency accounting
	// then covers leased requests too, and the slot it grants is the one a
	// refused request falls back in: Transport sends it to dest, never
	// through the throttler again (with containerConcurrency 1 a second Try
	// would wait for the slot the request itself holds).
	return h.stock.Try(ctx, revID, func(dest string, isClusterIP bool) error {
		if cs != nil && !cs.podReadySeen() {
			cs.podReady(h.opts.Clock.Now())
		}
		if a != nil {
			a.dest, a.destIsClusterIP = dest, isClusterIP
		}
		if l := st.lease.Load(); l != nil && a != nil && a.replayable {
			now := h.now()
			if l.usable(now) {
				a.lease = l
				h.maybeRenew(st, l, now)
				return fn(l.address, false)
			}
			st.lease.CompareAndSwap(l, nil)
		}
		return fn(dest, isClusterIP)
	})
}

// stateFor returns the revision's state, creating it on its first request.
func (h *Hook) stateFor(revID types.NamespacedName) *revisionState {
	if v, ok := h.states.Load(revID); ok {
		return v.(*revisionState)
	}
	v, _ := h.states.LoadOrStore(revID, &revisionState{key: revID})
	return v.(*revisionState)
}

// lookup returns the revision's state or nil, without creating it.
func (h *Hook) lookup(revID types.NamespacedName) *revisionState {
	if v, ok := h.states.Load(revID); ok {
		return v.(*revisionState)
	}
	return nil
}

// Sweep forgets revisions that have been idle for two idle periods and hold
// no lease, so the table does not grow with every revision ever served, and
// closes the transports to sidecar-less pods that no request used for as
// long. It returns how many revisions it forgot.
func (h *Hook) Sweep() int {
	now := h.now()
	forgotten := 0
	h.states.Range(func(k, v any) bool {
		st := v.(*revisionState)
		if st.lease.Load() == nil && !st.leasing.Load() && now-st.lastArrival.Load() > 2*int64(h.opts.IdlePeriod) {
			h.states.Delete(k)
			forgotten++
		}
		return true
	})
	h.sweepPodTransports(now - 2*int64(h.opts.IdlePeriod))
	return forgotten
}

// Run sweeps once per idle period until ctx is done.
func (h *Hook) Run(ctx context.Context) {
	ticker := time.NewTicker(h.opts.IdlePeriod)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			h.Sweep()
		}
	}
}
