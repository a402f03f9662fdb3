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

package queue

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"time"
)

// errRevisionDeadline is the cause of a context cut by the revision's
// deadline, which tells it apart from a client that went away.
var errRevisionDeadline = errors.New("revision deadline exceeded")

// RequirePodLocal refuses, with 403, requests that reach queue-proxy's main
// port in plaintext from outside the pod. It wraps sharedmain's ProxyHandler,
// which sits inside queue-proxy's drainer: kubelet probes (User-Agent
// kube-probe/...), Knative probes (K-Network-Probe) and the activator's and
// autoscaler's health checks are answered by the drainer and never get here,
// so they need no exception. Requests the mTLS server forwards come from
// 127.0.0.1 and pass.
func RequirePodLocal(next http.Handler, m *metrics) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !fromLoopback(r.RemoteAddr) {
			m.refusedPlaintext(r.Context())
			http.Error(w, "this revision accepts only mTLS from pooled proxies and the activator", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// fromLoopback reports whether addr (host:port) is a loopback address. An
// address that does not parse is not loopback: refusing is the safe answer.
func fromLoopback(addr string) bool {
	ap, err := netip.ParseAddrPort(addr)
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

// WithDeadline bounds each request by timeout and answers 504 when the
// deadline, not the client, ended it. Knative's own timeout handler, outside
// this one, still applies the revision's timeoutSeconds; this adds the
// tighter SSM deadline. A response that has started when the deadline hits
// is cut short, as with any proxy deadline.
func WithDeadline(next http.Handler, timeout time.Duration) http.Handler {
	if timeout <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeoutCause(r.Context(), timeout, errRevisionDeadline)
		defer cancel()
		dw := &deadlineWriter{ResponseWriter: w, ctx: ctx}
		next.ServeHTTP(dw, r.WithContext(ctx))
		if !dw.wroteHeader && context.Cause(ctx) == errRevisionDeadline {
			dw.WriteHeader(http.StatusGatewayTimeout)
		}
	})
}

// deadlineWriter turns the 502 a reverse proxy writes for a cancelled
// upstream call into 504 when the revision deadline cancelled it.
type deadlineWriter struct {
	http.ResponseWriter
	ctx         context.Context
	wroteHeader bool
}

func (w *deadlineWriter) WriteHeader(code int) {
	if !w.wroteHeader && code == http.StatusBadGateway && context.Cause(w.ctx) == errRevisionDeadline {
		code = http.StatusGatewayTimeout
	}
	// 1xx responses are interim: the final status is still to come.
	if code >= http.StatusOK {
		w.wroteHeader = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *deadlineWriter) Write(b []byte) (int, error) {
	w.wroteHeader = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush and Hijack underneath, which
// the reverse proxy needs for streaming and protocol upgrades.
func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// countForwarded records the plugin's per-request metrics for the requests
// the mTLS server forwarded, recognised by their loopback connection's
// address in forwarded, and passes every request to next. It sits in
// queue-proxy's chain because the mTLS server forwards unparsed bytes; the
// duration is therefore the time queue-proxy's proxy handler took, without
// the breaker's queueing or the TLS hop. Queue-proxy's own request metrics
// count every request, forwarded or not.
func countForwarded(next http.Handler, forwarded *forwardedPeers, m *metrics) http.Handler {
	if m == nil || forwarded == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, ok := forwarded.kind(r.RemoteAddr)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		code := sw.code
		if code == 0 {
			code = http.StatusOK
		}
		m.request(r.Context(), peer, code, time.Since(start))
	})
}

// statusWriter remembers the status code for the request metrics.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 && code >= http.StatusOK {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
