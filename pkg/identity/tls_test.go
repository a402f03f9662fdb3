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

package identity

import (
	"crypto/tls"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"
)

// ioDeadline bounds every network step, so a broken handshake fails the
// test instead of hanging it.
const ioDeadline = 10 * time.Second

// startTLSServer accepts on 127.0.0.1 with cfg; after a successful handshake
// it writes one byte, so the client learns whether the server accepted it
// (in TLS 1.3 the client's Handshake returns before the server has verified
// the client certificate).
func startTLSServer(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return // listener closed
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(ioDeadline))
				if err := conn.(*tls.Conn).Handshake(); err != nil {
					return
				}
				_, _ = conn.Write([]byte{1})
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

// dialTLS handshakes with the server at addr and returns the serial number
// of the certificate it presented, or why the connection failed.
func dialTLS(addr string, cfg *tls.Config) (*big.Int, error) {
	dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: ioDeadline}, Config: cfg}
	conn, err := dialer.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(ioDeadline))
	tlsConn := conn.(*tls.Conn)
	serial := tlsConn.ConnectionState().PeerCertificates[0].SerialNumber
	if _, err := io.ReadFull(conn, make([]byte, 1)); err != nil {
		return nil, err
	}
	return serial, nil
}

func TestFileSourceRotationOverTLS(t *testing.T) {
	t.Parallel()
	now := time.Now()
	ca1 := mustCA(t, now, time.Hour)
	ca2 := mustCA(t, now, time.Hour)
	server1Cert, server1Key := mustIssue(t, ca1, now, serverSpec())
	server2Cert, server2Key := mustIssue(t, ca2, now, serverSpec())
	client1Cert, client1Key := mustIssue(t, ca1, now, clientSpec("knative-serving", "activator"))
	client2Cert, client2Key := mustIssue(t, ca2, now, clientSpec("knative-serving", "activator"))
	// Both clients trust both CAs, so only the server's side decides.
	client1 := ClientConfig(mustStaticSource(t, client1Cert, client1Key, ca1, ca2), testServerName)
	client2 := ClientConfig(mustStaticSource(t, client2Cert, client2Key, ca1, ca2), testServerName)

	dir := t.TempDir()
	writeSecretVolume(t, dir, 1, map[string][]byte{"tls.crt": server1Cert, "tls.key": server1Key, "ca.crt": caPEM(ca1)})
	addr := startTLSServer(t, ServerConfig(NewFileSource(dir)))

	steps := []struct {
		name       string
		rotate     bool
		client     *tls.Config
		wantSerial *big.Int // nil: the server rejects the client
	}{
		{name: "v1, client of CA 1", client: client1, wantSerial: mustParseCert(t, server1Cert).SerialNumber},
		{name: "v1, client of CA 2", client: client2},
		{name: "v2, client of CA 1", rotate: true, client: client1},
		{name: "v2, client of CA 2", client: client2, wantSerial: mustParseCert(t, server2Cert).SerialNumber},
	}
	for _, step := range steps {
		if step.rotate {
			writeSecretVolume(t, dir, 2, map[string][]byte{"tls.crt": server2Cert, "tls.key": server2Key, "ca.crt": caPEM(ca2)})
		}
		serial, err := dialTLS(addr, step.client)
		switch {
		case step.wantSerial == nil && err == nil:
			t.Errorf("%s: server accepted the client", step.name)
		case step.wantSerial != nil && err != nil:
			t.Errorf("%s: %v", step.name, err)
		case step.wantSerial != nil && serial.Cmp(step.wantSerial) != 0:
			t.Errorf("%s: server presented serial %v, want %v", step.name, serial, step.wantSerial)
		}
	}
}

func TestClientConfigVerifiesServer(t *testing.T) {
	t.Parallel()
	now := time.Now()
	ca := mustCA(t, now, time.Hour)
	foreign := mustCA(t, now, time.Hour)
	clientCert, clientKey := mustIssue(t, ca, now, clientSpec("knative-serving", "activator"))
	clientSource := mustStaticSource(t, clientCert, clientKey, ca)

	serverCert, serverKey := mustIssue(t, ca, now, serverSpec())
	foreignCert, foreignKey := mustIssue(t, foreign, now, serverSpec())
	good := startTLSServer(t, ServerConfig(mustStaticSource(t, serverCert, serverKey, ca)))
	impostor := startTLSServer(t, ServerConfig(mustStaticSource(t, foreignCert, foreignKey, ca)))
	broken := startTLSServer(t, ServerConfig(NewFileSource(t.TempDir())))

	tests := []struct {
		name       string
		addr       string
		serverName string
		wantErr    string
	}{{
		name:       "own CA, right name",
		addr:       good,
		serverName: testServerName,
	}, {
		name:       "own CA, wrong name",
		addr:       good,
		serverName: "other.knative-serving.svc",
		wantErr:    `verifying server certificate for "other.knative-serving.svc": x509: certificate is valid for ssm-pool.knative-serving.svc, not other.knative-serving.svc`,
	}, {
		// crypto/tls sends no SNI for an IP address, so there is no name.
		name:    "no server name, IP address dialled",
		addr:    good,
		wantErr: "no server name to verify the server certificate against: pass one to ClientConfig",
	}, {
		name:       "foreign CA",
		addr:       impostor,
		serverName: testServerName,
		wantErr: `verifying server certificate for "ssm-pool.knative-serving.svc": x509: certificate signed by unknown authority` +
			` (possibly because of "x509: ECDSA verification failure" while trying to verify candidate authority certificate "ssm-ca")`,
	}, {
		name:       "server cannot load its certificate",
		addr:       broken,
		serverName: testServerName,
		wantErr:    "remote error: tls: internal error",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := dialTLS(tt.addr, ClientConfig(clientSource, tt.serverName))
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("dial: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("dial error = %v\nwant %s", err, tt.wantErr)
			}
		})
	}
}

// TestServerConfigRejectsClients checks the alert the server sends, which
// gRPC clients do not reliably surface (their preface write can lose the
// race with the server closing the connection).
func TestServerConfigRejectsClients(t *testing.T) {
	t.Parallel()
	now := time.Now()
	ca := mustCA(t, now, time.Hour)
	foreign := mustCA(t, now, time.Hour)
	serverCert, serverKey := mustIssue(t, ca, now, serverSpec())
	addr := startTLSServer(t, ServerConfig(mustStaticSource(t, serverCert, serverKey, ca)))
	ownCert, ownKey := mustIssue(t, ca, now, clientSpec("knative-serving", "activator"))
	foreignCert, foreignKey := mustIssue(t, foreign, now, clientSpec("knative-serving", "activator"))
	serverOnlyCert, serverOnlyKey := mustIssue(t, ca, now, serverSpec())

	tests := []struct {
		name    string
		source  CertSource
		wantErr string
	}{{
		name:   "client of the CA",
		source: mustStaticSource(t, ownCert, ownKey, ca),
	}, {
		name:    "no client certificate",
		source:  mustStaticSource(t, nil, nil, ca),
		wantErr: "remote error: tls: certificate required",
	}, {
		name:    "client of a foreign CA",
		source:  mustStaticSource(t, foreignCert, foreignKey, ca),
		wantErr: "remote error: tls: unknown certificate authority",
	}, {
		name:    "server-only certificate used by a client",
		source:  mustStaticSource(t, serverOnlyCert, serverOnlyKey, ca),
		wantErr: "remote error: tls: bad certificate",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := dialTLS(addr, ClientConfig(tt.source, testServerName))
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("dial: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("dial error = %v, want %s", err, tt.wantErr)
			}
		})
	}
}
