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
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"

	"github.com/serverless-mesh/ssm/pkg/pool/identity"
)

const (
	// readHeaderTimeout bounds how long a connected peer may take to send a
	// request's headers; bodies and responses are bounded by the revision's
	// own timeouts instead, since functions may stream.
	readHeaderTimeout = 10 * time.Second
	// idleTimeout closes idle keep-alive connections from pooled proxies,
	// which reconnect at the cost of one handshake.
	idleTimeout = 5 * time.Minute
	// maxIdleUpstream keeps loopback connections to queue-proxy's main port
	// for reuse; loopback sockets are cheap, a new one per request is not.
	maxIdleUpstream = 1000
)

// MTLSServer terminates mTLS from pooled proxies and the activator and hands
// accepted requests to queue-proxy's own plaintext port on 127.0.0.1.
//
// Forwarding over loopback, rather than serving queue-proxy's handler chain
// directly, is what lets the breaker, concurrency reporting, request metrics,
// drain and probe handling of queue-proxy apply to pool traffic unchanged:
// sharedmain builds that chain internally and exposes only ProxyHandler, its
// innermost piece. The cost is one loopback HTTP hop per request
// (BenchmarkMTLSOverhead measures it).
type MTLSServer struct {
	server *http.Server
}

// NewMTLSServer returns a server that verifies peers against source's bundle
// and peers, and forwards to upstream (host:port, plaintext HTTP/1.1).
func NewMTLSServer(source identity.CertSource, peers Peers, upstream string, m *metrics, errorLog *log.Logger) *MTLSServer {
	target := &url.URL{Scheme: "http", Host: upstream}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			// The function sees the Host the caller asked for, as it would
			// behind the ingress gateway.
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		Transport: &http.Transport{
			Proxy:               nil, // loopback: never through an HTTP proxy
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConns:        maxIdleUpstream,
			MaxIdleConnsPerHost: maxIdleUpstream,
			IdleConnTimeout:     idleTimeout,
			DisableCompression:  true,
		},
		ErrorLog: errorLog,
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		proxy.ServeHTTP(sw, r)
		code := sw.code
		if code == 0 {
			code = http.StatusOK
		}
		m.request(r.Context(), peerKind(peers, r.TLS), code, time.Since(start))
	})
	return &MTLSServer{server: &http.Server{
		Handler:           handler,
		TLSConfig:         serverTLSConfig(source, peers, m),
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          errorLog,
	}}
}

// peerKind names the kind of a peer the handshake already verified.
func peerKind(peers Peers, state *tls.ConnectionState) string {
	if state == nil || len(state.PeerCertificates) == 0 || len(state.PeerCertificates[0].URIs) != 1 {
		return "unknown"
	}
	id, err := identity.ParseID(state.PeerCertificates[0].URIs[0].String())
	if err != nil {
		return "unknown"
	}
	return peers.kind(id)
}

// Serve accepts connections on l (a plain TCP listener; TLS is added here)
// until Shutdown. It returns nil after Shutdown.
func (s *MTLSServer) Serve(l net.Listener) error {
	err := s.server.ServeTLS(l, "", "")
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("queue-proxy mTLS server on %s: %w", l.Addr(), err)
	}
	return nil
}

// Shutdown stops accepting connections and waits for in-flight requests
// until ctx ends.
func (s *MTLSServer) Shutdown(ctx context.Context) error {
	if err := s.server.Shutdown(ctx); err != nil {
		return fmt.Errorf("shutting down queue-proxy mTLS server: %w", err)
	}
	return nil
}
