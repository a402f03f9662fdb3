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
	"io"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/serverless-mesh/ssm/pkg/identity"
)

// testMetrics returns metrics recorded into a manual reader.
func testMetrics(t *testing.T) (*metrics, *sdkmetric.ManualReader) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	m, err := newMetrics(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	if err != nil {
		t.Fatalf("newMetrics: %v", err)
	}
	return m, reader
}

// counterValue sums the data points of counter name whose attribute key has
// value.
func counterValue(t *testing.T, reader *sdkmetric.ManualReader, name, key, value string) int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("Collect: %v", err)
	}
	var total int64
	for _, sm := range rm.ScopeMetrics {
		for _, mt := range sm.Metrics {
			sum, ok := mt.Data.(metricdata.Sum[int64])
			if mt.Name != name || !ok {
				continue
			}
			for _, dp := range sum.DataPoints {
				if v, ok := dp.Attributes.Value(attribute.Key(key)); ok && v.AsString() == value {
					total += dp.Value
				}
			}
		}
	}
	return total
}

func TestMTLSServerPeerCheck(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t)
	foreign := newTestCA(t)
	dir := t.TempDir()
	writeServerIdentity(t, dir, ca, testNow)

	// The function sees the request exactly as the peer sent it: the Host
	// and the X-Forwarded-* headers the gateway set, over h2 prior-knowledge
	// h2c when the peer spoke h2.
	const accepted = "upstream saw HTTP/2.0 host=fn.team-a.example proto=http for=203.0.113.7"
	tests := []struct {
		name       string
		clientCA   *identity.CA
		id         identity.ID
		wantBody   string
		wantReason string // refused-peers reason; "" when accepted
	}{{
		name:     "pool proxy of the revision's namespace",
		clientCA: ca,
		id:       identity.NewID("cluster.local", "team-a", "ssm-proxy"),
		wantBody: accepted,
	}, {
		name:     "pool proxy of the system namespace",
		clientCA: ca,
		id:       identity.NewID("cluster.local", "knative-serving", "ssm-proxy"),
		wantBody: accepted,
	}, {
		name:     "activator",
		clientCA: ca,
		id:       identity.NewID("cluster.local", "knative-serving", "activator"),
		wantBody: accepted,
	}, {
		name:       "pool proxy of another namespace",
		clientCA:   ca,
		id:         identity.NewID("cluster.local", "team-b", "ssm-proxy"),
		wantReason: "not-allowed",
	}, {
		name:       "other service account in the revision's namespace",
		clientCA:   ca,
		id:         identity.NewID("cluster.local", "team-a", "default"),
		wantReason: "not-allowed",
	}, {
		name:       "activator name in the wrong namespace",
		clientCA:   ca,
		id:         identity.NewID("cluster.local", "team-a", "activator"),
		wantReason: "not-allowed",
	}, {
		name:       "other trust domain",
		clientCA:   ca,
		id:         identity.NewID("other.domain", "team-a", "ssm-proxy"),
		wantReason: "not-allowed",
	}, {
		name:       "foreign CA",
		clientCA:   foreign,
		id:         identity.NewID("cluster.local", "team-a", "ssm-proxy"),
		wantReason: "untrusted",
	}, {
		name:       "no client certificate",
		wantReason: "no-certificate",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, reader := testMetrics(t)
			forwarded := &forwardedPeers{}
			upstream := startUpstream(t, countForwarded(echoUpstream(), forwarded, m))
			addr := startMTLS(t, identity.NewFileSource(dir),
				mtlsServerConfig{upstream: upstream, forwarded: forwarded, metrics: m})
			client := clientFor(t, ca, tc.clientCA, tc.id)
			req, err := http.NewRequest(http.MethodGet, "https://"+addr+"/", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = "fn.team-a.example"
			req.Header.Set("X-Forwarded-For", "203.0.113.7")
			req.Header.Set("X-Forwarded-Proto", "http")
			resp, err := client.Do(req)
			if tc.wantReason != "" {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("request succeeded with status %d, want a refused handshake", resp.StatusCode)
				}
				if got := counterValue(t, reader, MetricRefusedPeers, attrReason, tc.wantReason); got != 1 {
					t.Errorf("%s{reason=%s} = %d, want 1", MetricRefusedPeers, tc.wantReason, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("request: %v", err)
			}
			defer resp.Body.Close()
			body := readAll(t, resp)
			if resp.StatusCode != http.StatusOK || body != tc.wantBody {
				t.Errorf("got %d %q, want 200 %q", resp.StatusCode, body, tc.wantBody)
			}
			if resp.ProtoMajor != 2 {
				t.Errorf("protocol %s, want HTTP/2 (pooled Envoys speak h2 upstream)", resp.Proto)
			}
			if got := counterValue(t, reader, MetricHandshakes, attrResult, "accepted"); got != 1 {
				t.Errorf("%s{result=accepted} = %d, want 1", MetricHandshakes, got)
			}
			// The upstream counts the request after its response has gone
			// out, so the count may trail the response by a moment.
			waitCounter(t, reader, MetricRequests, attrPeer, peerKindFor(tc.id), 1)
		})
	}
}

// waitCounter polls counter name{key=value} until it is want, for at most
// 10 s.
func waitCounter(t *testing.T, reader *sdkmetric.ManualReader, name, key, value string, want int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := counterValue(t, reader, name, key, value)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s{%s=%s} = %d after 10s, want %d", name, key, value, got, want)
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func peerKindFor(id identity.ID) string {
	if id.ServiceAccount == "activator" {
		return "activator"
	}
	return "pool-proxy"
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return string(b)
}

// TestMTLSServerRotation rewrites the certificate directory with a new CA, as
// the kubelet does when the projected Secret changes, and expects the running
// server to trust the new CA and distrust the old one on the next handshake.
func TestMTLSServerRotation(t *testing.T) {
	t.Parallel()
	oldCA, newCA := newTestCA(t), newTestCA(t)
	dir := t.TempDir()
	writeServerIdentity(t, dir, oldCA, testNow)
	upstream := startUpstream(t, echoUpstream())
	addr := startMTLS(t, identity.NewFileSource(dir), mtlsServerConfig{upstream: upstream})
	proxyID := identity.NewID("cluster.local", "team-a", "ssm-proxy")

	if code, _, err := get(t, clientFor(t, oldCA, oldCA, proxyID), "https://"+addr+"/"); err != nil || code != 200 {
		t.Fatalf("before rotation, old-CA client: code %d, err %v; want 200", code, err)
	}

	writeServerIdentity(t, dir, newCA, testNow.Add(time.Hour))

	if code, _, err := get(t, clientFor(t, newCA, newCA, proxyID), "https://"+addr+"/"); err != nil || code != 200 {
		t.Errorf("after rotation, new-CA client: code %d, err %v; want 200", code, err)
	}
	if code, _, err := get(t, clientFor(t, newCA, oldCA, proxyID), "https://"+addr+"/"); err == nil {
		t.Errorf("after rotation, old-CA client certificate: code %d, want a refused handshake", code)
	}
}
