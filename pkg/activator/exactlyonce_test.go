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
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingPod plays the revision's pod: it answers "pod:<id>:<body
// length>" and counts how often each request id ran.
type countingPod struct {
	mu   sync.Mutex
	runs map[string]int
}

func (p *countingPod) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n, _ := io.Copy(io.Discard, r.Body)
	id := r.Header.Get("X-Request-Id")
	p.mu.Lock()
	if p.runs == nil {
		p.runs = map[string]int{}
	}
	p.runs[id]++
	p.mu.Unlock()
	fmt.Fprintf(w, "pod:%s:%d", id, n)
}

func (p *countingPod) ranOnce(t *testing.T, ids []string) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, id := range ids {
		if got := p.runs[id]; got != 1 {
			t.Errorf("request %s ran %d times in the pod, want exactly 1", id, got)
		}
	}
}

// refusingProxy is a leased proxy that has no endpoint of the revision yet:
// it answers every request with its marked 421, having read the body.
type refusingProxy struct {
	hits atomic.Int32
}

func (p *refusingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.hits.Add(1)
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set("x-ssm-proxy-refused", "no-upstream")
	http.Error(w, "no healthy upstream", http.StatusMisdirectedRequest)
}

// sendID sends a request with the given id and body through chain, within
// deadline, as the ingress would.
func sendID(chain http.Handler, id string, body io.Reader, contentLength int64, deadline time.Duration) (int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "http://pooled.ns.example.com/", body)
	req.ContentLength = contentLength
	req.Header.Set("X-Request-Id", id)
	req.Header.Set("Knative-Serving-Namespace", pooledRev.Namespace)
	req.Header.Set("Knative-Serving-Revision", pooledRev.Name)
	rec := httptest.NewRecorder()
	chain.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// leasedChainOnKnative is the activator's chain over Knative's own
// throttler at containerConcurrency cc, holding a lease to proxy. It
// returns once the lease is held.
func leasedChainOnKnative(t *testing.T, cc int64, pod http.Handler, proxy http.Handler) http.Handler {
	t.Helper()
	podServer := httptest.NewServer(pod)
	t.Cleanup(podServer.Close)
	proxyServer := httptest.NewServer(proxy)
	t.Cleanup(proxyServer.Close)
	throttler, revisions := knativeThrottler(t, cc, podServer.Listener.Addr().String())
	pool := &leaseServer{answer: granted(proxyServer.Listener.Addr().String()), hold: make(chan struct{})}
	h, _ := newHookOn(t, throttler, serveLeases(t, pool), revisions, Options{LeaseDeadline: 10 * time.Second})
	chain := activatorChain(h)
	// The cold request goes Knative's way while the grant is held back.
	if code, body := sendID(chain, "cold", nil, 0, 5*time.Second); code != http.StatusOK || body != "pod:cold:0" {
		t.Fatalf("cold request: %d %q", code, body)
	}
	close(pool.hold)
	if st := leaseSettled(t, h, pooledRev); st.lease.Load() == nil {
		t.Fatal("no lease granted")
	}
	return chain
}

// TestRefusedRequestFallsBackInItsOwnSlot: with Knative's throttler, at
// every containerConcurrency, a request the leased proxy refuses is served
// by the pod inside the slot the throttler granted it, exactly once, well
// within its deadline. Taking a second slot would wait forever at
// containerConcurrency 1: the request itself holds the only one.
func TestRefusedRequestFallsBackInItsOwnSlot(t *testing.T) {
	t.Parallel()
	for _, cc := range []int64{0, 1, 10} {
		t.Run(fmt.Sprintf("containerConcurrency=%d", cc), func(t *testing.T) {
			t.Parallel()
			pod := &countingPod{}
			proxy := &refusingProxy{}
			chain := leasedChainOnKnative(t, cc, pod, proxy)

			const n = 12
			var wg sync.WaitGroup
			ids := make([]string, n)
			for i := range n {
				ids[i] = fmt.Sprintf("r%d", i)
				wg.Add(1)
				go func() {
					defer wg.Done()
					code, body := sendID(chain, ids[i], strings.NewReader("hello"), 5, 3*time.Second)
					if want := "pod:" + ids[i] + ":5"; code != http.StatusOK || body != want {
						t.Errorf("request %s: %d %q, want 200 %q", ids[i], code, body, want)
					}
				}()
			}
			wg.Wait()
			pod.ranOnce(t, ids)
			if got := proxy.hits.Load(); got != n {
				t.Errorf("the leased proxy saw %d requests, want all %d", got, n)
			}
		})
	}
}

// TestBodiesThatCannotBeReplayedNeverTakeTheLease: a body too large to
// keep, or of unknown length, goes Knative's way even while a lease is
// held, so no refusal can find it gone; a small one takes the lease.
func TestBodiesThatCannotBeReplayedNeverTakeTheLease(t *testing.T) {
	t.Parallel()
	const tenMiB = 10 << 20
	tests := []struct {
		name          string
		size          int64
		contentLength int64
		wantProxyHits int32
	}{
		{name: "10 MiB with its length", size: tenMiB, contentLength: tenMiB, wantProxyHits: 0},
		{name: "100 KiB chunked (unknown length)", size: 100 << 10, contentLength: -1, wantProxyHits: 0},
		{name: "16 KiB chunked (unknown length)", size: 16 << 10, contentLength: -1, wantProxyHits: 0},
		{name: "exactly the replay limit", size: maxReplayBytes, contentLength: maxReplayBytes, wantProxyHits: 1},
		{name: "1 KiB", size: 1 << 10, contentLength: 1 << 10, wantProxyHits: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pod := &countingPod{}
			proxy := &refusingProxy{}
			chain := leasedChainOnKnative(t, 1, pod, proxy)
			body := io.LimitReader(zeros{}, tc.size)
			code, got := sendID(chain, "big", body, tc.contentLength, 20*time.Second)
			if want := fmt.Sprintf("pod:big:%d", tc.size); code != http.StatusOK || got != want {
				t.Errorf("POST: %d %.60q, want 200 %q", code, got, want)
			}
			pod.ranOnce(t, []string{"big"})
			if got := proxy.hits.Load(); got != tc.wantProxyHits {
				t.Errorf("the leased proxy saw %d requests, want %d", got, tc.wantProxyHits)
			}
		})
	}
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestShippedDefaultNeverLeases: with config-ssm's shipped
// sidecarless-revisions "false", SSM's revisions webhook stamps annotated
// revisions as keeping their sidecar, so the hook never asks ssm-pool for
// a proxy and every request goes Knative's way.
func TestShippedDefaultNeverLeases(t *testing.T) {
	t.Parallel()
	pod := &countingPod{}
	podServer := httptest.NewServer(pod)
	t.Cleanup(podServer.Close)
	throttler, revisions := knativeThrottlerFor(t, 1, podServer.Listener.Addr().String(), stampedSidecar)
	pool := &leaseServer{answer: granted(downPoolAddress(t))}
	h, clk := newHookOn(t, throttler, serveLeases(t, pool), revisions, Options{})
	chain := activatorChain(h)
	var ids []string
	for i := range 20 {
		id := fmt.Sprintf("r%d", i)
		ids = append(ids, id)
		if code, body := sendID(chain, id, nil, 0, 3*time.Second); code != http.StatusOK || body != "pod:"+id+":0" {
			t.Errorf("request %s: %d %q", id, code, body)
		}
		// Every request a cold start: each would have asked for a lease.
		clk.SetTime(clk.Now().Add(2 * DefaultIdlePeriod))
		leaseSettled(t, h, pooledRev)
	}
	pod.ranOnce(t, ids)
	if got := pool.leaseCalls.Load(); got != 0 {
		t.Errorf("Lease called %d times, want 0", got)
	}
}
