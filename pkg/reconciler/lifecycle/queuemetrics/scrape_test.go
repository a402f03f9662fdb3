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

package queuemetrics

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// otelContentType is what knative.dev/pkg's Prometheus server answers with.
const otelContentType = "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"

func readTestdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatalf("read testdata: %v", err)
	}
	return string(b)
}

// serveMetrics starts a loopback server whose /metrics handler is h and
// returns a scraper pointed at its port.
func serveMetrics(t *testing.T, h http.HandlerFunc) *HTTPScraper {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatalf("server address: %v", err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatalf("server port: %v", err)
	}
	s := NewHTTPScraper(p)
	s.Client = srv.Client()
	return s
}

func TestHTTPScraper(t *testing.T) {
	t.Parallel()
	exposition := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasPrefix(r.Header.Get("Accept"), "text/plain") {
				http.Error(w, "want the text format", http.StatusNotAcceptable)
				return
			}
			w.Header().Set("Content-Type", otelContentType)
			_, _ = w.Write([]byte(body))
		}
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		timeout time.Duration
		want    Histogram
		wantErr string
		wantIs  error
	}{{
		name:    "queue-proxy exposition",
		handler: exposition(readTestdata(t, "queue-proxy-1.txt")),
		want:    exposition1,
	}, {
		name:    "later exposition",
		handler: exposition(readTestdata(t, "queue-proxy-2.txt")),
		want:    exposition2,
	}, {
		name: "request metrics off",
		handler: exposition("# HELP target_info Target metadata\n# TYPE target_info gauge\n" +
			`target_info{k8s_container_name="queue-proxy"} 1` + "\n"),
		wantIs: ErrNoInvocationMetric,
	}, {
		name: "bucket bounds out of order",
		handler: exposition("# TYPE kn_serving_invocation_duration_seconds histogram\n" +
			`kn_serving_invocation_duration_seconds_bucket{le="1"} 2` + "\n" +
			`kn_serving_invocation_duration_seconds_bucket{le="0.5"} 1` + "\n" +
			`kn_serving_invocation_duration_seconds_bucket{le="+Inf"} 2` + "\n" +
			"kn_serving_invocation_duration_seconds_sum 1\nkn_serving_invocation_duration_seconds_count 2\n"),
		wantErr: "bucket bounds not ascending",
	}, {
		name:    "not found",
		handler: func(w http.ResponseWriter, _ *http.Request) { http.NotFound(w, nil) },
		wantErr: "status 404",
	}, {
		name:    "not an exposition",
		handler: exposition("<html>hello</html>\n"),
		wantIs:  ErrNoInvocationMetric,
	}, {
		name: "malformed sample",
		handler: exposition("# TYPE kn_serving_invocation_duration_seconds histogram\n" +
			`kn_serving_invocation_duration_seconds_bucket{le="1" 2` + "\n"),
		wantErr: "parse exposition",
	}, {
		name: "pod too slow",
		handler: func(_ http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		},
		timeout: 50 * time.Millisecond,
		wantIs:  context.DeadlineExceeded,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := serveMetrics(t, tc.handler)
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			got, err := s.Scrape(ctx, "127.0.0.1")
			switch {
			case tc.wantIs != nil:
				if !errors.Is(err, tc.wantIs) {
					t.Fatalf("Scrape error = %v, want one wrapping %v", err, tc.wantIs)
				}
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Scrape error = %v, want one containing %q", err, tc.wantErr)
				}
			case err != nil:
				t.Fatalf("Scrape: %v", err)
			default:
				if diff := cmp.Diff(tc.want, got, approxSum); diff != "" {
					t.Errorf("Scrape (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// FuzzParseInvocationHistogram feeds the parser what a pod could serve: it
// must never panic, and whatever it accepts must be a well-formed histogram.
func FuzzParseInvocationHistogram(f *testing.F) {
	// The 500-status series of queue-proxy-1.txt and its neighbours: the
	// whole file is too big a seed for the mutator to get anywhere.
	f.Add("# HELP kn_serving_invocation_duration_seconds The duration of task execution\n" +
		"# TYPE kn_serving_invocation_duration_seconds histogram\n" +
		`kn_serving_invocation_duration_seconds_bucket{http_response_status_code="500",otel_scope_name="knative.dev/serving/pkg/queue",le="0.1"} 0` + "\n" +
		`kn_serving_invocation_duration_seconds_bucket{http_response_status_code="500",otel_scope_name="knative.dev/serving/pkg/queue",le="0.25"} 1` + "\n" +
		`kn_serving_invocation_duration_seconds_bucket{http_response_status_code="500",otel_scope_name="knative.dev/serving/pkg/queue",le="10"} 1` + "\n" +
		`kn_serving_invocation_duration_seconds_bucket{http_response_status_code="500",otel_scope_name="knative.dev/serving/pkg/queue",le="+Inf"} 1` + "\n" +
		`kn_serving_invocation_duration_seconds_sum{http_response_status_code="500",otel_scope_name="knative.dev/serving/pkg/queue"} 0.2` + "\n" +
		`kn_serving_invocation_duration_seconds_count{http_response_status_code="500",otel_scope_name="knative.dev/serving/pkg/queue"} 1` + "\n" +
		"# HELP kn_serving_queue_depth Number of current requests in the queue\n# TYPE kn_serving_queue_depth gauge\n" +
		`kn_serving_queue_depth{otel_scope_name="knative.dev/serving/pkg/queue"} 0` + "\n")
	f.Add("# TYPE kn_serving_invocation_duration_seconds histogram\n" +
		`kn_serving_invocation_duration_seconds_bucket{le="+Inf"} 3` + "\n" +
		"kn_serving_invocation_duration_seconds_sum 6\nkn_serving_invocation_duration_seconds_count 3\n")
	f.Fuzz(func(t *testing.T, exposition string) {
		h, err := Parse(strings.NewReader(exposition))
		if err != nil {
			return
		}
		if h.Counts != nil && len(h.Counts) != len(h.Bounds)+1 {
			t.Fatalf("%d counts for %d bounds", len(h.Counts), len(h.Bounds))
		}
		var total uint64
		for _, c := range h.Counts {
			total += c
		}
		if total != h.Count {
			t.Fatalf("bucket counts add up to %d, Count is %d", total, h.Count)
		}
		if p50, p99 := h.Quantile(0.5), h.Quantile(0.99); p50 < 0 || p99 < p50 {
			t.Fatalf("p50 %v, p99 %v", p50, p99)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	body := readTestdata(b, "queue-proxy-2.txt")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(strings.NewReader(body)); err != nil {
			b.Fatal(err)
		}
	}
}
