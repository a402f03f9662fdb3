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
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.uber.org/zap"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	activatorhandler "knative.dev/serving/pkg/activator/handler"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
)

// activatorChain is Knative's activation handler with the hook around it,
// as cmd/activator builds it, minus the handlers that do not touch the
// throttler. The context handler is replaced by naming pooledRev directly.
func activatorChain(h *Hook) http.Handler {
	rev := &servingv1.Revision{ObjectMeta: metav1.ObjectMeta{Namespace: pooledRev.Namespace, Name: pooledRev.Name}}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	inner := activatorhandler.New(context.Background(), h, h.Transport(transport), false,
		zap.NewNop().Sugar(), false, nil, metricnoop.NewMeterProvider())
	chain := h.Handler(inner)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chain.ServeHTTP(w, r.WithContext(activatorhandler.WithRevisionAndID(r.Context(), rev, pooledRev)))
	})
}

// send POSTs body through chain as the ingress would, with Knative's
// revision headers, and returns the response body.
func send(t *testing.T, chain http.Handler, body string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "http://pooled.ns.example.com/", strings.NewReader(body))
	req.Header.Set("Knative-Serving-Namespace", pooledRev.Namespace)
	req.Header.Set("Knative-Serving-Revision", pooledRev.Name)
	rec := httptest.NewRecorder()
	chain.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// backend plays the revision's pod: it answers "backend:<body>" and counts
// requests that still carry Knative's revision headers (they must not).
type backend struct {
	leakedHeaders atomic.Int32
	hits          atomic.Int32
}

func (b *backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.hits.Add(1)
	if r.Header.Get("Knative-Serving-Revision") != "" {
		b.leakedHeaders.Add(1)
	}
	body, _ := io.ReadAll(r.Body)
	_, _ = io.WriteString(w, "backend:"+string(body))
}

// pooledProxy plays a leased Envoy: it serves only requests that name its
// revision, and answers others 421 as the lease's route does.
func pooledProxy(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Knative-Serving-Namespace") != pooledRev.Namespace || r.Header.Get("Knative-Serving-Revision") != pooledRev.Name {
		w.Header().Set("x-ssm-proxy-refused", "misdirected")
		http.Error(w, "this pooled proxy does not serve the requested revision", http.StatusMisdirectedRequest)
		return
	}
	body, _ := io.ReadAll(r.Body)
	_, _ = io.WriteString(w, "proxy:"+string(body))
}

func TestRequestsThroughTheLeasedProxy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// proxy answers at the leased address; nil means nothing listens.
		proxy     http.HandlerFunc
		wantCode  int
		wantBody  string
		wantLease bool
		// wantPodHits is how many of the requests reached the pod.
		wantPodHits int32
	}{{
		name:        "proxy serves the revision",
		proxy:       pooledProxy,
		wantBody:    "proxy:second",
		wantLease:   true,
		wantPodHits: 1,
	}, {
		name: "proxy leased to another revision answers 421 marked misdirected",
		proxy: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("x-ssm-proxy-refused", "misdirected")
			w.WriteHeader(http.StatusMisdirectedRequest)
		},
		wantBody:    "backend:second",
		wantLease:   false,
		wantPodHits: 2,
	}, {
		name: "the function's own 421 (no refusal mark) reaches the client once, never replayed",
		proxy: func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "function says: misdirected", http.StatusMisdirectedRequest)
		},
		wantCode:    http.StatusMisdirectedRequest,
		wantBody:    "function says: misdirected\n",
		wantLease:   true,
		wantPodHits: 1,
	}, {
		name: "proxy without the revision's new pod yet: 421 marked no-upstream, the request goes to the pod, the lease stays",
		proxy: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("x-ssm-proxy-refused", "no-upstream")
			http.Error(w, "no healthy upstream", http.StatusMisdirectedRequest)
		},
		wantBody:    "backend:second",
		wantLease:   true,
		wantPodHits: 2,
	}, {
		name: "another refusal value is a stale lease",
		proxy: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("x-ssm-proxy-refused", "something-else")
			w.WriteHeader(http.StatusMisdirectedRequest)
		},
		wantBody:    "backend:second",
		wantLease:   false,
		wantPodHits: 2,
	}, {
		name:        "proxy gone: connection refused",
		wantBody:    "backend:second",
		wantLease:   false,
		wantPodHits: 2,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pod := &backend{}
			podServer := httptest.NewServer(pod)
			t.Cleanup(podServer.Close)
			proxyAddr := downPoolAddress(t)
			if tc.proxy != nil {
				proxyServer := httptest.NewServer(tc.proxy)
				t.Cleanup(proxyServer.Close)
				proxyAddr = proxyServer.Listener.Addr().String()
			}
			// The grant is held back until the cold request is answered, so
			// that it takes the stock path (a grant that arrives first would
			// carry it, which another test covers).
			pool := &leaseServer{answer: granted(proxyAddr), hold: make(chan struct{})}
			stock := &fakeStock{dest: podServer.Listener.Addr().String()}
			h, _ := newTestHook(t, stock, serveLeases(t, pool), Options{LeaseDeadline: 10 * time.Second})
			chain := activatorChain(h)

			if code, body := send(t, chain, "first"); code != http.StatusOK || body != "backend:first" {
				t.Fatalf("cold request: %d %q, want 200 %q", code, body, "backend:first")
			}
			close(pool.hold)
			st := leaseSettled(t, h, pooledRev)
			if st.lease.Load() == nil {
				t.Fatal("no lease granted")
			}
			wantCode := tc.wantCode
			if wantCode == 0 {
				wantCode = http.StatusOK
			}
			if code, body := send(t, chain, "second"); code != wantCode || body != tc.wantBody {
				t.Errorf("request with the lease: %d %q, want %d %q", code, body, wantCode, tc.wantBody)
			}
			if got := pod.hits.Load(); got != tc.wantPodHits {
				t.Errorf("the pod served %d requests, want %d", got, tc.wantPodHits)
			}
			if got := st.lease.Load() != nil; got != tc.wantLease {
				t.Errorf("lease held = %v, want %v", got, tc.wantLease)
			}
			if got := pod.leakedHeaders.Load(); got != 0 {
				t.Errorf("%d requests reached the pod with Knative's revision headers", got)
			}
		})
	}
}

func TestReplayBody(t *testing.T) {
	t.Parallel()
	small := strings.Repeat("a", 10)
	large := strings.Repeat("b", maxReplayBytes+1)
	tests := []struct {
		name string
		body string
		// read is how much the refused attempt read before the fallback.
		read   int
		wantOK bool
	}{
		{name: "nothing read", body: small, read: 0, wantOK: true},
		{name: "part read", body: small, read: 4, wantOK: true},
		{name: "all read", body: small, read: 10, wantOK: true},
		{name: "more read than kept", body: large, read: maxReplayBytes + 1, wantOK: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := &replayBody{src: io.NopCloser(strings.NewReader(tc.body))}
			if _, err := io.ReadFull(b, make([]byte, tc.read)); err != nil {
				t.Fatalf("first read: %v", err)
			}
			replay, ok := b.detach()
			if ok != tc.wantOK {
				t.Fatalf("detach ok = %v, want %v", ok, tc.wantOK)
			}
			if _, err := b.Read(make([]byte, 1)); err != errBodyDetached {
				t.Errorf("read after detach: %v, want %v", err, errBodyDetached)
			}
			if !ok {
				return
			}
			got, err := io.ReadAll(replay)
			if err != nil {
				t.Fatalf("replay: %v", err)
			}
			if string(got) != tc.body {
				t.Errorf("replayed %d bytes %.20q..., want the whole body of %d bytes", len(got), got, len(tc.body))
			}
		})
	}
}
