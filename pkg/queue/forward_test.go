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
	"strconv"
	"testing"
	"time"

	"github.com/serverless-mesh/ssm/pkg/identity"
)

// rawUpstream accepts one TCP connection on 127.0.0.1 and hands it to serve,
// standing in for queue-proxy where the test needs to see the byte stream.
func rawUpstream(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		serve(conn)
	}()
	return l.Addr().String()
}

// dialPoolProxy opens a TLS connection to addr as a pooled proxy of the
// revision's namespace, with a certificate from ca, and finishes the
// handshake.
func dialPoolProxy(t *testing.T, ca *identity.CA, addr string) *tls.Conn {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, poolProxyTLS(t, ca))
	if err != nil {
		t.Fatalf("dialing %s: %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	// TLS 1.3 reports a refused client certificate only on the first read;
	// every test here is an accepted peer, so the handshake is done.
	return conn
}

// identityDir writes a server identity from a new CA and returns both.
func identityDir(t *testing.T) (*identity.CA, identity.CertSource) {
	t.Helper()
	ca := newTestCA(t)
	dir := t.TempDir()
	writeServerIdentity(t, dir, ca, testNow)
	return ca, identity.NewFileSource(dir)
}

// readUntilClosed reads c to its end, failing the test if that takes 10 s.
func readUntilClosed(t *testing.T, c net.Conn) (string, error) {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(c)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connection still open after 10s (read %q)", b)
	}
	return string(b), err
}

// TestForwardHalfClose checks that each side's end of stream reaches the
// other: the upstream answers only once it has read the peer's whole stream,
// and the peer reads the answer to its end.
func TestForwardHalfClose(t *testing.T) {
	t.Parallel()
	ca, source := identityDir(t)
	upstream := rawUpstream(t, func(c net.Conn) {
		got, err := io.ReadAll(c)
		if err != nil {
			return
		}
		io.WriteString(c, "upstream read "+string(got)) //nolint:errcheck
	})
	addr := startMTLS(t, source, mtlsServerConfig{upstream: upstream})

	conn := dialPoolProxy(t, ca, addr)
	if _, err := io.WriteString(conn, "hello"); err != nil {
		t.Fatal(err)
	}
	if err := conn.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := readUntilClosed(t, conn)
	if err != nil || got != "upstream read hello" {
		t.Errorf("peer read %q, %v; want %q, nil", got, err, "upstream read hello")
	}
}

// TestForwardIdle checks that a link with no traffic is closed after the
// idle timeout, and that traffic in one direction keeps it open.
func TestForwardIdle(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		beats int // bytes the peer sends, one per 50 ms, before closing its side
		want  string
	}{
		{"silent link is closed", 0, ""}, // either "" or the answer; see below
		// 30 beats take 1.5 s, longer than the 1 s idle timeout.
		{"upload without a response stays open", 30, "upstream read 30 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ca, source := identityDir(t)
			upstream := rawUpstream(t, func(c net.Conn) {
				got, _ := io.ReadAll(c)
				io.WriteString(c, "upstream read "+strconv.Itoa(len(got))+" bytes") //nolint:errcheck
			})
			addr := startMTLS(t, source, mtlsServerConfig{upstream: upstream, idleTimeout: time.Second})
			conn := dialPoolProxy(t, ca, addr)
			if tc.beats > 0 {
				ticker := time.NewTicker(50 * time.Millisecond)
				for range tc.beats {
					<-ticker.C
					if _, err := conn.Write([]byte{'x'}); err != nil {
						t.Fatalf("write: %v", err)
					}
				}
				ticker.Stop()
				if err := conn.CloseWrite(); err != nil {
					t.Fatal(err)
				}
			}
			// readUntilClosed fails the test if the link outlives 10 s. The
			// idle close ends both sides at once, so a silent link's peer
			// may or may not see the upstream's answer.
			got, _ := readUntilClosed(t, conn)
			if tc.beats > 0 && got != tc.want {
				t.Errorf("peer read %q, want %q", got, tc.want)
			}
		})
	}
}

// TestForwardHandshakeTimeout checks that a peer that connects and never
// handshakes is disconnected.
func TestForwardHandshakeTimeout(t *testing.T) {
	t.Parallel()
	_, source := identityDir(t)
	addr := startMTLS(t, source, mtlsServerConfig{upstream: "127.0.0.1:1", handshakeTimeout: 100 * time.Millisecond})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if got, _ := readUntilClosed(t, conn); got != "" {
		t.Errorf("read %q from a server that never got a ClientHello", got)
	}
}

// TestForwardUpstreamDown checks that a verified peer is disconnected, not
// left hanging, when queue-proxy's port refuses the loopback connection.
func TestForwardUpstreamDown(t *testing.T) {
	t.Parallel()
	ca, source := identityDir(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := l.Addr().String()
	l.Close()
	addr := startMTLS(t, source, mtlsServerConfig{upstream: closedPort})
	conn := dialPoolProxy(t, ca, addr)
	if got, _ := readUntilClosed(t, conn); got != "" {
		t.Errorf("read %q with no upstream", got)
	}
}

// TestForwardShutdown checks that Shutdown waits for a link in use and
// lets it finish, and that it closes what is left when its ctx ends.
func TestForwardShutdown(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		release  bool // the upstream answers while Shutdown waits
		wantRead string
		wantErr  error
	}{
		{"in-flight link finishes", true, "answer", nil},
		{"link still open when ctx ends is closed", false, "", context.DeadlineExceeded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ca, source := identityDir(t)
			received, release := make(chan struct{}), make(chan struct{})
			upstream := rawUpstream(t, func(c net.Conn) {
				buf := make([]byte, 7)
				if _, err := io.ReadFull(c, buf); err != nil {
					return
				}
				close(received)
				select {
				case <-release:
					io.WriteString(c, "answer") //nolint:errcheck
				case <-time.After(20 * time.Second):
				}
			})
			addr, srv := startMTLSServer(t, source, mtlsServerConfig{upstream: upstream})
			conn := dialPoolProxy(t, ca, addr)
			if _, err := io.WriteString(conn, "request"); err != nil {
				t.Fatal(err)
			}
			<-received

			timeout := 10 * time.Second
			if !tc.release {
				timeout = 100 * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			shutdown := make(chan error, 1)
			go func() { shutdown <- srv.Shutdown(ctx) }()
			if tc.release {
				close(release)
			}
			got, _ := readUntilClosed(t, conn)
			if got != tc.wantRead {
				t.Errorf("peer read %q, want %q", got, tc.wantRead)
			}
			// Like an HTTP client at the upstream's end of stream, the peer
			// closes; the half-closed link then ends.
			conn.Close()
			if err := <-shutdown; !errors.Is(err, tc.wantErr) {
				t.Errorf("Shutdown = %v, want %v", err, tc.wantErr)
			}
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				t.Errorf("%s still accepts connections after Shutdown", addr)
			}
		})
	}
}

// TestForwardConnectionCap: past maxConns the server stops accepting; a new
// peer waits in the backlog and is served once a connection ends.
func TestForwardConnectionCap(t *testing.T) {
	t.Parallel()
	ca, source := identityDir(t)
	upstream := startUpstream(t, echoUpstream())
	addr := startMTLS(t, source, mtlsServerConfig{upstream: upstream, maxConns: 2})
	first := dialPoolProxy(t, ca, addr)
	_ = dialPoolProxy(t, ca, addr)

	handshakeWaitsUntil(t, ca, addr, "past the cap of 2 connections", func() { first.Close() })
}

// handshakeWaitsUntil starts a pooled proxy's handshake with addr, checks
// that it has not finished 300 ms later, calls free, and checks that it
// then finishes.
func handshakeWaitsUntil(t *testing.T, ca *identity.CA, addr, why string, free func()) {
	t.Helper()
	done := make(chan error, 1)
	cfg := poolProxyTLS(t, ca)
	go func() {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 20 * time.Second}, "tcp", addr, cfg)
		if err == nil {
			conn.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("a handshake finished %s (err %v)", why, err)
	case <-time.After(300 * time.Millisecond):
	}
	free()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("the waiting handshake, once freed: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the waiting handshake did not finish once freed")
	}
}

// poolProxyTLS is the client side of a pooled proxy of the revision's
// namespace, with a certificate from ca.
func poolProxyTLS(t *testing.T, ca *identity.CA) *tls.Config {
	t.Helper()
	certPEM, keyPEM := issue(t, ca, identity.LeafSpec{
		ID: identity.NewID(testTrustDomain, testNamespace, "ssm-proxy"), Client: true})
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("client key pair: %v", err)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		RootCAs:      ca.Bundle(),
		ServerName:   testServerName,
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"http/1.1"},
	}
}

// TestForwardHandshakeCap: past maxHandshakes a new connection's handshake
// waits for a slot; a peer that stalls its handshake holds one until it
// gives up or the handshake timeout ends it.
func TestForwardHandshakeCap(t *testing.T) {
	t.Parallel()
	ca, source := identityDir(t)
	upstream := startUpstream(t, echoUpstream())
	addr, srv := startMTLSServer(t, source, mtlsServerConfig{upstream: upstream, maxHandshakes: 1, handshakeTimeout: 20 * time.Second})
	staller, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer staller.Close()
	// The staller's connection is accepted first, but its goroutine may
	// reach the slot after the next one's: wait until it holds it.
	deadline := time.Now().Add(10 * time.Second)
	for len(srv.handshakeSlots) < cap(srv.handshakeSlots) {
		if time.Now().After(deadline) {
			t.Fatal("the stalling peer never took the handshake slot")
		}
		time.Sleep(5 * time.Millisecond)
	}

	handshakeWaitsUntil(t, ca, addr, "while the only handshake slot was held", func() { staller.Close() })
}
