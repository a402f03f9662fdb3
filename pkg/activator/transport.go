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
	"io"
	"net"
	"net/http"
	"syscall"

	"k8s.io/apimachinery/pkg/types"

	"go.uber.org/zap"
	knactivator "knative.dev/serving/pkg/activator"
	activatorhandler "knative.dev/serving/pkg/activator/handler"
	"knative.dev/serving/pkg/reconciler/serverlessservice/resources/names"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
)

// attempt carries one request's dealings with the hook from Try, which
// picks the destination, to Transport, which sees the outcome. Knative's
// activation handler derives both the throttler's and the proxy's contexts
// from the request's, so Handler puts it there.
type attempt struct {
	rev *revisionState
	// coldStart is set while the revision's latest cold start awaits its
	// first byte.
	coldStart *coldStart
	// lease is set when Try sent the request to a leased proxy.
	lease *heldLease
	// podMTLS is set when the revision is sidecar-less: its pods take only
	// mTLS.
	podMTLS *podMTLS
	// dest and destIsClusterIP are what the stock throttler chose, inside
	// whose slot the request runs, lease or not.
	dest            string
	destIsClusterIP bool
	// replayable is set when the request's whole body can be kept for a
	// second attempt (see replayable): only such a request may take a path
	// that can refuse it.
	replayable bool
}

type attemptKey struct{}

func attemptFrom(ctx context.Context) *attempt {
	a, _ := ctx.Value(attemptKey{}).(*attempt)
	return a
}

// Handler wraps Knative's activation handler; it must run inside Knative's
// context handler, which names the revision. Requests of a revision that has
// nothing to do with the hook just now pass through untouched: giving a
// request an attempt costs a copy of the request.
func (h *Hook) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		revID := activatorhandler.RevIDFrom(r.Context())
		st := h.lookup(revID)
		target := h.podMTLSFor(r.Context(), revID, st)
		if target == nil && !h.needsAttempt(st) {
			next.ServeHTTP(w, r)
			return
		}
		a := &attempt{podMTLS: target, replayable: replayable(r)}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), attemptKey{}, a)))
	})
}

// replayable reports whether r's body, if any, fits what a refused attempt
// keeps for the next one. A body of unknown length (chunked, HTTP/2 without
// content-length) or over maxReplayBytes may be gone when a pooled proxy
// refuses the request, so such a request never goes through a lease: it
// takes Knative's path, as it would without SSM.
func replayable(r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody {
		return true
	}
	return r.ContentLength >= 0 && r.ContentLength <= maxReplayBytes
}

// needsAttempt reports whether a request of the revision may go through a
// lease or mark a cold-start phase: unless SSM does not pool the revision,
// its latest cold start has had its first byte, and the request cannot
// start a new one.
func (h *Hook) needsAttempt(st *revisionState) bool {
	if st == nil || pooling(st.pooled.Load()) != poolingNo || st.leasing.Load() {
		return true
	}
	if cs := st.coldStart.Load(); cs != nil && !cs.firstByteSeen() {
		return true
	}
	// Within a resolution of the idle period, Try may find this request cold.
	return h.now()-st.lastArrival.Load() > int64(h.opts.IdlePeriod)-arrivalResolution
}

// Transport wraps the transport Knative's activation handler proxies with.
// A request Try sent to a leased proxy gets back the revision headers that
// Knative's proxy strips (the pooled proxy routes on them), and falls back
// to the destination the stock throttler granted when the proxy cannot be
// reached or marks its 421 as a refusal. A request of a sidecar-less
// revision that the stock throttler sent to a pod goes to the pod's mTLS
// port instead (see podMTLSFor). One it sent to the revision's ClusterIP
// (Knative's mesh-compatibility mode, or before it has probed the pods)
// cannot be upgraded as addressed, since the hook cannot tell which pod,
// and thus which port, kube-proxy would pick: the hook picks a ready pod
// itself from the revision's private Endpoints, as kube-proxy would, and
// sends there over mTLS.
func (h *Hook) Transport(next http.RoundTripper) http.RoundTripper {
	return &leaseTransport{hook: h, next: next}
}

type leaseTransport struct {
	hook *Hook
	next http.RoundTripper
}

// maxReplayBytes bounds the request body kept for a fallback. A proxy that
// refuses (421, connection refused) has read little or nothing of it.
const maxReplayBytes = 64 << 10

// RoundTrip implements http.RoundTripper.
func (t *leaseTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	a := attemptFrom(req.Context())
	if a == nil || a.rev == nil {
		return t.next.RoundTrip(req)
	}
	if a.lease != nil && req.URL.Host == a.lease.address {
		return t.throughLease(req, a)
	}
	var (
		resp *http.Response
		err  error
	)
	if a.podMTLS != nil && req.URL.Host == a.dest {
		resp, err = t.toRevisionPod(req, a, a.destIsClusterIP)
	} else {
		resp, err = t.next.RoundTrip(req)
	}
	if err == nil && a.coldStart != nil {
		a.coldStart.firstByteVia(t.hook.opts.Clock.Now(), viaKnative)
	}
	return resp, err
}

// toRevisionPod sends req where the stock throttler chose for a
// sidecar-less revision: over mTLS when that is a pod.
func (t *leaseTransport) toRevisionPod(req *http.Request, a *attempt, isClusterIP bool) (*http.Response, error) {
	if !isClusterIP {
		return t.viaPodMTLS(req, a.podMTLS)
	}
	if pod := t.hook.readyPod(a.rev.key); pod != "" {
		out := req.Clone(req.Context())
		out.URL.Host = net.JoinHostPort(pod, "0") // viaPodMTLS sets the port
		return t.viaPodMTLS(out, a.podMTLS)
	}
	if a.rev.clusterIPLogged.CompareAndSwap(false, true) {
		t.hook.opts.Logger.Warnw("Sending plaintext to the ClusterIP of a sidecar-less revision, which has no ready "+
			"pod in its private Endpoints; its pods refuse it", zap.String("revision", a.rev.key.String()), zap.String("address", req.URL.Host))
	}
	return t.next.RoundTrip(req)
}

// readyPod is the address of one of the revision's ready pods, in turn,
// from its private Service's Endpoints; empty when there is none or no
// lister.
func (h *Hook) readyPod(rev types.NamespacedName) string {
	if h.opts.Endpoints == nil {
		return ""
	}
	eps, err := h.opts.Endpoints.Endpoints(rev.Namespace).Get(names.PrivateService(rev.Name))
	if err != nil {
		return ""
	}
	// Counted, then walked to the chosen one: this runs per request, and
	// the lister's object must not be modified or copied.
	n := 0
	for _, subset := range eps.Subsets {
		n += len(subset.Addresses)
	}
	if n == 0 {
		return ""
	}
	i := int(h.nextPod.Add(1) % uint64(n))
	for _, subset := range eps.Subsets {
		if i < len(subset.Addresses) {
			return subset.Addresses[i].IP
		}
		i -= len(subset.Addresses)
	}
	return ""
}

func (t *leaseTransport) throughLease(req *http.Request, a *attempt) (*http.Response, error) {
	out := req.Clone(req.Context())
	out.Header.Set(knactivator.RevisionHeaderNamespace, a.rev.key.Namespace)
	out.Header.Set(knactivator.RevisionHeaderName, a.rev.key.Name)
	var body *replayBody
	if req.Body != nil && req.Body != http.NoBody {
		body = &replayBody{src: req.Body}
		out.Body = body
	}
	resp, err := t.next.RoundTrip(out)
	refusal := ""
	if resp != nil {
		refusal = resp.Header.Get(ssm.PoolProxyRefusalHeader)
	}
	if err == nil && (resp.StatusCode != http.StatusMisdirectedRequest || refusal == "") {
		// The proxy passed the request on. A 421 without the refusal header
		// is the function's own answer: the proxy removes that header from
		// every upstream response, so a function cannot make its answer
		// look like a refusal and be run again.
		if a.coldStart != nil {
			a.coldStart.firstByteVia(t.hook.opts.Clock.Now(), viaLease)
		}
		return resp, nil
	}
	if err != nil && !isConnectionError(err) {
		// The proxy may have passed the request on: sending it again could
		// run the function twice.
		return nil, err
	}
	if refusal != ssm.PoolProxyNoUpstream {
		// Unreachable, or a stale lease (the proxy serves another revision
		// now). A proxy that merely has no endpoint of the revision yet
		// (Knative saw the new pod ready before its EndpointSlice did)
		// keeps the lease: the next request will find the endpoint.
		t.hook.dropLease(a.rev, a.lease)
	}
	replay := req.Body
	if body != nil {
		var ok bool
		if replay, ok = body.detach(); !ok {
			// Unreachable for a request Try let through the lease (its
			// body fits); kept so that a wrong caller fails, not replays.
			if resp != nil {
				resp.Body.Close()
			}
			return nil, fmt.Errorf("revision %s: leased proxy refused a request whose body was not kept", a.rev.key)
		}
	}
	if resp != nil {
		// Read a little so the connection can be reused; a 421 is short.
		_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
		resp.Body.Close()
	}
	t.hook.opts.Logger.Debugw("Leased proxy did not pass a request on; Knative's path serves it",
		zap.String("revision", a.rev.key.String()), zap.String("address", a.lease.address),
		zap.String("refusal", refusal), zap.Error(err))
	return t.toStockDest(req, replay, a)
}

// toStockDest sends the request where the stock throttler said when it
// granted the request its slot, as Knative's handler would have, had Try
// not chosen the lease.
func (t *leaseTransport) toStockDest(req *http.Request, body io.ReadCloser, a *attempt) (*http.Response, error) {
	out := req.Clone(req.Context())
	out.URL.Host = a.dest
	out.Body = body
	var (
		resp *http.Response
		err  error
	)
	if a.podMTLS != nil {
		resp, err = t.toRevisionPod(out, a, a.destIsClusterIP)
	} else {
		resp, err = t.next.RoundTrip(out)
	}
	if err == nil && a.coldStart != nil {
		a.coldStart.firstByteVia(t.hook.opts.Clock.Now(), viaKnative)
	}
	return resp, err
}

// isConnectionError reports whether the request never reached the proxy.
func isConnectionError(err error) bool {
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// Compile-time check that Hook fits where Knative's handler takes a
// throttler.
var _ activatorhandler.Throttler = (*Hook)(nil)
