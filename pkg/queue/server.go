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
	"sync"
	"time"

	"github.com/serverless-mesh/ssm/pkg/identity"
)

const (
	// handshakeTimeout bounds how long a connected peer may take to finish
	// the TLS handshake; pooled proxies and the activator take milliseconds.
	handshakeTimeout = 10 * time.Second
	// idleTimeout closes a forwarded connection on which no byte has moved
	// in either direction for this long. Pooled proxies reconnect at the
	// cost of one handshake. Activate raises it to the revision's timeout,
	// so that a request still computing its first byte is not cut here.
	idleTimeout = 5 * time.Minute
	// upstreamDialTimeout bounds the loopback dial to queue-proxy's port.
	upstreamDialTimeout = 5 * time.Second
	// acceptRetryMax caps the back-off after a failed Accept (out of file
	// descriptors, say), as net/http does.
	acceptRetryMax = time.Second
	// defaultMaxConns caps the connections one pod's mTLS port serves at
	// once; past it the server stops accepting and new connections wait in
	// the kernel's backlog, so a flood of peers cannot exhaust the pod's
	// file descriptors (each connection costs two). Pooled proxies and
	// activators keep a few connections each.
	defaultMaxConns = 4096
	// defaultMaxHandshakes caps the handshakes in progress: each costs a
	// signature, and a burst of them must not starve requests of CPU. A
	// connection that cannot start its handshake within the handshake
	// timeout is closed.
	defaultMaxHandshakes = 64
)

// MTLSServer terminates mTLS from pooled proxies and the activator and
// carries each accepted connection's decrypted byte stream, unparsed, over
// its own loopback TCP connection to queue-proxy's plaintext port.
//
// Forwarding into queue-proxy's port, rather than serving its handler chain
// directly, is what lets the breaker, concurrency reporting, request
// metrics, drain, probe handling, timeouts and the plugin's own deadline and
// plaintext guard apply to pool traffic unchanged: sharedmain builds that
// chain internally and exposes only ProxyHandler, its innermost piece.
// Forwarding at layer 4 rather than through an HTTP reverse proxy saves
// parsing and re-serialising every request and copying every response a
// second time (BenchmarkMTLSOverhead measures both). What the function sees
// is therefore exactly what the peer sent: the Host header and any
// X-Forwarded-* headers set by the gateway or the activator arrive
// untouched. ALPN offers h2 and HTTP/1.1, both of which queue-proxy's
// plaintext port serves (h2 as prior-knowledge h2c).
//
// Per-request metrics cannot be taken from an unparsed stream; the server
// records each upstream connection's local address with its peer's kind in
// forwardedPeers, and CountForwarded, in queue-proxy's chain, counts the
// requests that arrive on those connections.
type MTLSServer struct {
	tlsConfig *tls.Config
	peers     Peers
	cfg       mtlsServerConfig
	dialer    net.Dialer

	// connSlots and handshakeSlots hold one token per connection served and
	// per handshake in progress.
	connSlots      chan struct{}
	handshakeSlots chan struct{}

	mu           sync.Mutex
	shuttingDown bool
	listeners    map[net.Listener]struct{}
	links        map[*link]struct{}
	active       sync.WaitGroup
}

// mtlsServerConfig is what an MTLSServer needs besides its identity.
type mtlsServerConfig struct {
	// upstream is queue-proxy's plaintext port, host:port on loopback.
	upstream string
	// idleTimeout closes connections idle in both directions, and
	// handshakeTimeout those that do not finish the handshake; 0 means the
	// package default.
	idleTimeout      time.Duration
	handshakeTimeout time.Duration
	// maxConns caps the connections served at once, and maxHandshakes the
	// TLS handshakes in progress; 0 means the package defaults.
	maxConns      int
	maxHandshakes int
	// forwarded learns each upstream connection's peer kind; may be nil.
	forwarded *forwardedPeers
	// metrics records handshakes; may be nil.
	metrics *metrics
	// errorLog receives failed handshakes and dials; nil discards them.
	errorLog *log.Logger
}

// newMTLSServer returns a server that verifies peers against source's bundle
// and peers and forwards to cfg.upstream.
func newMTLSServer(source identity.CertSource, peers Peers, cfg mtlsServerConfig) *MTLSServer {
	if cfg.idleTimeout <= 0 {
		cfg.idleTimeout = idleTimeout
	}
	if cfg.handshakeTimeout <= 0 {
		cfg.handshakeTimeout = handshakeTimeout
	}
	if cfg.maxConns <= 0 {
		cfg.maxConns = defaultMaxConns
	}
	if cfg.maxHandshakes <= 0 {
		cfg.maxHandshakes = defaultMaxHandshakes
	}
	return &MTLSServer{
		connSlots:      make(chan struct{}, cfg.maxConns),
		handshakeSlots: make(chan struct{}, cfg.maxHandshakes),
		tlsConfig:      serverTLSConfig(source, peers, cfg.metrics),
		peers:          peers,
		cfg:            cfg,
		dialer:         net.Dialer{Timeout: upstreamDialTimeout},
		listeners:      map[net.Listener]struct{}{},
		links:          map[*link]struct{}{},
	}
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
// until Shutdown, and closes l. It returns nil after Shutdown.
func (s *MTLSServer) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.shuttingDown {
		s.mu.Unlock()
		l.Close()
		return nil
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
		l.Close()
	}()

	var backoff time.Duration
	for {
		s.connSlots <- struct{}{}
		conn, err := l.Accept()
		if err != nil {
			<-s.connSlots
			s.mu.Lock()
			stopping := s.shuttingDown
			s.mu.Unlock()
			if stopping {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("queue-proxy mTLS server on %s: %w", l.Addr(), err)
			}
			// Anything else (EMFILE, ECONNABORTED) passes; back off so
			// that a persistent one does not spin.
			backoff = min(max(2*backoff, 5*time.Millisecond), acceptRetryMax)
			s.logf("queue-proxy mTLS server: accept on %s: %v; retrying in %v", l.Addr(), err, backoff)
			timer := time.NewTimer(backoff)
			<-timer.C
			continue
		}
		backoff = 0
		lk := &link{client: conn}
		if !s.track(lk) {
			<-s.connSlots
			conn.Close()
			return nil
		}
		go s.serveLink(lk)
	}
}

// track registers lk for Shutdown; false when the server is shutting down.
func (s *MTLSServer) track(lk *link) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shuttingDown {
		return false
	}
	s.links[lk] = struct{}{}
	s.active.Add(1)
	return true
}

func (s *MTLSServer) untrack(lk *link) {
	s.mu.Lock()
	delete(s.links, lk)
	s.mu.Unlock()
	<-s.connSlots
	s.active.Done()
}

// Shutdown stops accepting connections and waits until every forwarded
// connection has ended or ctx ends, then closes what is left. At layer 4 the
// server cannot tell a keep-alive connection between requests from one in
// the middle of a response, so it leaves ending them to the peers and to
// queue-proxy, whose own shutdown closes its idle upstream connections.
func (s *MTLSServer) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shuttingDown = true
	for l := range s.listeners {
		l.Close()
	}
	s.mu.Unlock()

	drained := make(chan struct{})
	go func() {
		s.active.Wait()
		close(drained)
	}()
	select {
	case <-drained:
		return nil
	case <-ctx.Done():
	}
	s.closeAll()
	<-drained
	return fmt.Errorf("shutting down queue-proxy mTLS server: %w", context.Cause(ctx))
}

// closeAll closes every listener and connection at once.
func (s *MTLSServer) closeAll() {
	s.mu.Lock()
	s.shuttingDown = true
	for l := range s.listeners {
		l.Close()
	}
	links := make([]*link, 0, len(s.links))
	for lk := range s.links {
		links = append(links, lk)
	}
	s.mu.Unlock()
	for _, lk := range links {
		lk.close()
	}
}

func (s *MTLSServer) logf(format string, args ...any) {
	if s.cfg.errorLog != nil {
		s.cfg.errorLog.Printf(format, args...)
	}
}
