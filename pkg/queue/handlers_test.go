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
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"
)

func TestRequirePodLocal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		remoteAddr string
		want       int
	}{
		{"IPv4 loopback (forwarded by the mTLS server)", "127.0.0.1:40000", http.StatusOK},
		{"other 127/8 address (Istio's inbound passthrough)", "127.0.0.6:40000", http.StatusOK},
		{"IPv6 loopback", "[::1]:40000", http.StatusOK},
		{"IPv4-mapped loopback", "[::ffff:127.0.0.1]:40000", http.StatusOK},
		{"IPv4-mapped pod network", "[::ffff:10.244.1.7]:40000", http.StatusForbidden},
		{"pod network", "10.244.1.7:40000", http.StatusForbidden},
		{"IPv6 pod network", "[fd00::7]:40000", http.StatusForbidden},
		{"unparsable address", "garbage", http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, reader := testMetrics(t)
			h := RequirePodLocal(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusOK)
			}), m)
			req := httptest.NewRequest(http.MethodGet, "http://fn.team-a.example/", nil)
			req.RemoteAddr = tc.remoteAddr
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Errorf("status %d, want %d", rec.Code, tc.want)
			}
			wantRefused := int64(0)
			if tc.want == http.StatusForbidden {
				wantRefused = 1
			}
			if got := counterValue(t, reader, MetricRefusedPeers, attrReason, "plaintext"); got != wantRefused {
				t.Errorf("%s{reason=plaintext} = %d, want %d", MetricRefusedPeers, got, wantRefused)
			}
		})
	}
}

func TestWithDeadline(t *testing.T) {
	t.Parallel()
	// The upstream answers fast paths at once and holds slow ones until the
	// proxy gives up on them, so the test waits on the deadline, not a sleep.
	upstream := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-r.Context().Done()
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	target := &url.URL{Scheme: "http", Host: upstream}
	// Like queue-proxy's ProxyHandler: a reverse proxy whose error handler
	// answers 502.
	proxy := httputil.NewSingleHostReverseProxy(target)

	tests := []struct {
		name    string
		timeout time.Duration
		path    string
		want    int
	}{
		{"fast request within the deadline", 10 * time.Second, "/fast", http.StatusOK},
		{"slow request past the deadline", 50 * time.Millisecond, "/slow", http.StatusGatewayTimeout},
		{"no deadline leaves the handler alone", 0, "/fast", http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(WithDeadline(proxy, tc.timeout))
			t.Cleanup(srv.Close)
			resp, err := srv.Client().Get(srv.URL + tc.path)
			if err != nil {
				t.Fatalf("GET: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}

func TestWithDeadlineNothingWritten(t *testing.T) {
	t.Parallel()
	// A handler that gives up silently when its context ends still yields 504.
	h := WithDeadline(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}), 20*time.Millisecond)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://fn/", nil))
	if rec.Code != http.StatusGatewayTimeout {
		t.Errorf("status %d, want 504", rec.Code)
	}
}
