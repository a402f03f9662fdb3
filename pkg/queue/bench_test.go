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
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	"github.com/serverless-mesh/ssm/pkg/identity"
)

// BenchmarkMTLSOverhead compares one request through the plugin's mTLS port
// (TLS 1.3 termination, peer check at the handshake, layer-4 forwarding over
// loopback to the upstream) with the same request sent in plaintext straight
// to the upstream, and with the HTTP reverse proxy the plugin used to
// forward through (http-hop), over h2 and HTTP/1.1. All clients keep
// connections alive, so the handshake is paid once; the difference is the
// per-request cost pool traffic pays.
func BenchmarkMTLSOverhead(b *testing.B) {
	ca := newTestCA(b)
	dir := b.TempDir()
	writeServerIdentity(b, dir, ca, testNow)
	upstream := startUpstream(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok") //nolint:errcheck
	}))
	source := identity.NewFileSource(dir)
	l4Addr := startMTLS(b, source, mtlsServerConfig{upstream: upstream})
	hopAddr := startHTTPHopForwarder(b, source, upstream)

	plain := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 10 * time.Second}
	b.Cleanup(plain.CloseIdleConnections)
	proxyID := identity.NewID("cluster.local", "team-a", "ssm-proxy")
	h2 := clientFor(b, ca, ca, proxyID)
	h1 := clientFor(b, ca, ca, proxyID)
	h1.Transport.(*http.Transport).TLSClientConfig.NextProtos = []string{"http/1.1"}
	h1.Transport.(*http.Transport).ForceAttemptHTTP2 = false
	cases := []struct {
		name   string
		client *http.Client
		url    string
		proto  int
	}{
		{"plaintext-direct", plain, "http://" + upstream + "/", 1},
		{"mtls-h2-http-hop", h2, "https://" + hopAddr + "/", 2},
		{"mtls-h2-l4", h2, "https://" + l4Addr + "/", 2},
		{"mtls-h1-http-hop", h1, "https://" + hopAddr + "/", 1},
		{"mtls-h1-l4", h1, "https://" + l4Addr + "/", 1},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				resp, err := bc.client.Get(bc.url)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body) //nolint:errcheck
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || resp.ProtoMajor != bc.proto {
					b.Fatalf("%s %d, want HTTP/%d 200", resp.Proto, resp.StatusCode, bc.proto)
				}
			}
		})
	}
}

// startHTTPHopForwarder serves the plugin's former forwarder, kept here as
// the benchmark's baseline: the same TLS configuration in front of an
// httputil.ReverseProxy to upstream, which parses each request and
// re-serialises it onto a pooled loopback HTTP/1.1 connection.
func startHTTPHopForwarder(b *testing.B, source identity.CertSource, upstream string) string {
	b.Helper()
	target := &url.URL{Scheme: "http", Host: upstream}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConns:        1000,
			MaxIdleConnsPerHost: 1000,
			IdleConnTimeout:     idleTimeout,
			DisableCompression:  true,
		},
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		proxy.ServeHTTP(sw, r)
	})
	srv := &http.Server{
		Handler:           handler,
		TLSConfig:         serverTLSConfig(source, NewPeers(testTrustDomain, testNamespace, testSystemNS), nil),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       idleTimeout,
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatalf("listen: %v", err)
	}
	go srv.ServeTLS(l, "", "") //nolint:errcheck // ends with Close
	b.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}
