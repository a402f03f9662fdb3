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
	"net/http"
	"net/http/httptest"
	"testing"

	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.uber.org/zap"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	activatorhandler "knative.dev/serving/pkg/activator/handler"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
)

// benchStock is the cheapest stock throttler: capacity is always there.
type benchStock struct{ dest string }

func (s benchStock) Try(_ context.Context, _ types.NamespacedName, fn func(string, bool) error) error {
	return fn(s.dest, false)
}

func noopDest(string, bool) error { return nil }

// BenchmarkTry compares a request's Try through the hook, for a revision
// SSM does not pool and after its cold start, with the stock throttler
// alone. Compare with benchstat: the ratio is the hook's overhead on Try.
func BenchmarkTry(b *testing.B) {
	stock := benchStock{dest: stockDest}
	h, err := New(stock, dialLeases(b, "127.0.0.1:1"), revisionLister(b), Options{Clock: clock.RealClock{}})
	if err != nil {
		b.Fatalf("New: %v", err)
	}
	defer h.Close()
	ctx := withAttempt(context.Background())
	// The cold start: the revision is found not pooled, off the request path.
	if err := h.Try(ctx, plainRev, noopDest); err != nil {
		b.Fatalf("Try: %v", err)
	}
	leaseSettled(b, h, plainRev)
	if err := h.Try(ctx, plainRev, noopDest); err != nil {
		b.Fatalf("Try: %v", err)
	}

	b.Run("stock", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = stock.Try(ctx, plainRev, noopDest)
		}
	})
	b.Run("hook", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = h.Try(ctx, plainRev, noopDest)
		}
	})
}

// BenchmarkActivatorChain sends GETs through Knative's activation handler
// to a loopback backend, with the stock throttler alone and with the hook
// (Handler, Try, Transport) around it, for a revision SSM does not pool.
// The ratio is the hook's overhead on a proxied request.
func BenchmarkActivatorChain(b *testing.B) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}))
	defer backend.Close()
	stock := &fakeStock{dest: backend.Listener.Addr().String()}
	h, err := New(benchStock{dest: stock.dest}, dialLeases(b, "127.0.0.1:1"), revisionLister(b), Options{})
	if err != nil {
		b.Fatalf("New: %v", err)
	}
	defer h.Close()
	rev := &servingv1.Revision{ObjectMeta: metav1.ObjectMeta{Namespace: plainRev.Namespace, Name: plainRev.Name}}
	chain := func(t activatorhandler.Throttler, wrapTransport func(http.RoundTripper) http.RoundTripper,
		wrapHandler func(http.Handler) http.Handler) http.Handler {
		transport := http.DefaultTransport.(*http.Transport).Clone()
		b.Cleanup(transport.CloseIdleConnections)
		inner := wrapHandler(activatorhandler.New(context.Background(), t, wrapTransport(transport), false,
			zap.NewNop().Sugar(), false, nil, metricnoop.NewMeterProvider()))
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			inner.ServeHTTP(w, r.WithContext(activatorhandler.WithRevisionAndID(r.Context(), rev, plainRev)))
		})
	}
	same := func(rt http.RoundTripper) http.RoundTripper { return rt }
	sameHandler := func(h http.Handler) http.Handler { return h }
	chains := []struct {
		name  string
		chain http.Handler
	}{
		{name: "stock", chain: chain(benchStock{dest: stock.dest}, same, sameHandler)},
		{name: "hook", chain: chain(h, h.Transport, h.Handler)},
	}
	get := func(c http.Handler) {
		rec := httptest.NewRecorder()
		c.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://plain.ns.example.com/", nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("GET: %d", rec.Code)
		}
	}
	// The revision's cold start, and a first connection for each chain.
	for _, c := range chains {
		get(c.chain)
	}
	leaseSettled(b, h, plainRev)
	for _, c := range chains {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				get(c.chain)
			}
		})
	}
}
