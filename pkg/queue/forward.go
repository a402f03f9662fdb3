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
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// copyBufferSize fits one TLS record's plaintext (16 KiB), so a read from
// upstream becomes at most one record towards the peer.
const copyBufferSize = 16 << 10

// link is one accepted connection and, once the peer is verified, its
// loopback connection to queue-proxy.
type link struct {
	client net.Conn

	mu       sync.Mutex
	upstream net.Conn
	closed   bool

	// moved counts bytes carried in either direction. A read that times
	// out checks it, so that a direction waiting while the other one is
	// busy (a long upload before the response starts) is not idle.
	moved atomic.Int64
}

// setUpstream attaches up unless the link was closed meanwhile.
func (lk *link) setUpstream(up net.Conn) bool {
	lk.mu.Lock()
	defer lk.mu.Unlock()
	if lk.closed {
		return false
	}
	lk.upstream = up
	return true
}

// close closes both sides; it unblocks every read and write on them.
func (lk *link) close() {
	lk.mu.Lock()
	lk.closed = true
	up := lk.upstream
	lk.mu.Unlock()
	lk.client.Close()
	if up != nil {
		up.Close()
	}
}

// serveLink handshakes, dials queue-proxy and carries bytes both ways until
// both directions end, either side fails or the link is idle.
func (s *MTLSServer) serveLink(lk *link) {
	defer s.untrack(lk)
	defer lk.close()

	conn := tls.Server(lk.client, s.tlsConfig)
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.handshakeTimeout)
	defer cancel()
	select {
	case s.handshakeSlots <- struct{}{}:
	case <-ctx.Done():
		s.logf("queue-proxy mTLS server: %d handshakes in progress; closing %s", cap(s.handshakeSlots), lk.client.RemoteAddr())
		return
	}
	err := conn.HandshakeContext(ctx)
	<-s.handshakeSlots
	if err != nil {
		// Refused peers are counted by the TLS config; the line is for
		// debugging.
		s.logf("queue-proxy mTLS handshake from %s: %v", lk.client.RemoteAddr(), err)
		return
	}
	state := conn.ConnectionState()
	up, err := s.dialer.DialContext(ctx, "tcp", s.cfg.upstream)
	if err != nil {
		s.logf("queue-proxy mTLS server: dialing queue-proxy at %s for %s: %v", s.cfg.upstream, lk.client.RemoteAddr(), err)
		return
	}
	if !lk.setUpstream(up) {
		up.Close()
		return
	}
	// Registered before the first byte goes up, so the first request is
	// attributed; released before the socket closes, so that a new
	// connection reusing the port is never taken for this one.
	release := s.cfg.forwarded.add(up.LocalAddr().String(), peerKind(s.peers, &state))
	defer release()

	errs := make(chan error, 2)
	go func() { errs <- lk.pipe(up, conn, s.cfg.idleTimeout, closeWriter(up)) }()
	go func() { errs <- lk.pipe(conn, up, s.cfg.idleTimeout, conn.CloseWrite) }()
	for range 2 {
		if err := <-errs; err != nil {
			// One direction failed: the other cannot finish meaningfully.
			lk.close()
		}
	}
}

// closeWriter half-closes a TCP connection, passing the peer's end of
// stream on.
func closeWriter(c net.Conn) func() error {
	return func() error {
		if tc, ok := c.(interface{ CloseWrite() error }); ok {
			return tc.CloseWrite()
		}
		return nil
	}
}

// pipe copies src to dst until src ends, then half-closes dst with
// closeWrite. It returns nil at a clean end of stream and the error
// otherwise, including idleness in both directions for idle.
func (lk *link) pipe(dst, src net.Conn, idle time.Duration, closeWrite func() error) error {
	buf := make([]byte, copyBufferSize)
	seen := lk.moved.Load()
	var writeDeadline time.Time
	// One read deadline per idle period rather than per read: a deadline
	// update on every read would cost a timer operation per record.
	if err := src.SetReadDeadline(time.Now().Add(idle)); err != nil {
		return err
	}
	for {
		n, err := src.Read(buf)
		if n > 0 {
			lk.moved.Add(int64(n))
			// A peer that stops reading must not hold the link forever. The
			// deadline moves only when half of it is used up, not on every
			// record: each move is a timer operation.
			if now := time.Now(); writeDeadline.Sub(now) < idle/2 {
				writeDeadline = now.Add(idle)
				if werr := dst.SetWriteDeadline(writeDeadline); werr != nil {
					return werr
				}
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			return closeWrite()
		case errors.Is(err, os.ErrDeadlineExceeded):
			now := lk.moved.Load()
			if now == seen {
				return err
			}
			seen = now
			if derr := src.SetReadDeadline(time.Now().Add(idle)); derr != nil {
				return derr
			}
		default:
			return err
		}
	}
}

// forwardedPeers maps the local address of each loopback connection the
// mTLS server holds to queue-proxy to the kind of peer behind it. A nil
// *forwardedPeers records and knows nothing.
type forwardedPeers struct {
	byAddr sync.Map // string → *forwardedPeer
}

type forwardedPeer struct{ kind string }

// add records addr's peer kind until the returned function is called.
func (f *forwardedPeers) add(addr, kind string) (release func()) {
	if f == nil {
		return func() {}
	}
	entry := &forwardedPeer{kind: kind}
	f.byAddr.Store(addr, entry)
	return func() { f.byAddr.CompareAndDelete(addr, entry) }
}

// kind returns the peer kind of a request whose RemoteAddr is addr, and
// whether the mTLS server forwarded it at all.
func (f *forwardedPeers) kind(addr string) (string, bool) {
	if f == nil {
		return "", false
	}
	v, ok := f.byAddr.Load(addr)
	if !ok {
		return "", false
	}
	return v.(*forwardedPeer).kind, true
}
