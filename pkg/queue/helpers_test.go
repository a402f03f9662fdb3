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
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	pkgnet "knative.dev/pkg/network"

	"github.com/serverless-mesh/ssm/pkg/identity"
)

const (
	testTrustDomain = "cluster.local"
	testNamespace   = "team-a"
	testSystemNS    = "knative-serving"
	testServerName  = "queue.team-a.test"
)

// testNow is fixed so certificates do not depend on the wall clock beyond
// their (long) validity.
var testNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newTestCA(t testing.TB) *identity.CA {
	t.Helper()
	ca, err := identity.NewCA(testNow, 10*365*24*time.Hour)
	if err != nil {
		t.Fatalf("NewCA: %v", err)
	}
	return ca
}

func issue(t testing.TB, ca *identity.CA, spec identity.LeafSpec) (certPEM, keyPEM []byte) {
	t.Helper()
	spec.Validity = 5 * 365 * 24 * time.Hour
	certPEM, keyPEM, err := ca.Issue(testNow, spec)
	if err != nil {
		t.Fatalf("Issue %s: %v", spec.ID, err)
	}
	return certPEM, keyPEM
}

// writeServerIdentity writes the queue-proxy's own certificate and ca's
// bundle into dir, as the kubelet projects them.
func writeServerIdentity(t testing.TB, dir string, ca *identity.CA, mtime time.Time) {
	t.Helper()
	writeServerIdentityIn(t, dir, ca, mtime, testTrustDomain)
}

// writeServerIdentityIn is writeServerIdentity in the given trust domain.
func writeServerIdentityIn(t testing.TB, dir string, ca *identity.CA, mtime time.Time, trustDomain string) {
	t.Helper()
	certPEM, keyPEM := issue(t, ca, identity.LeafSpec{
		ID:       identity.NewID(trustDomain, testNamespace, "default"),
		DNSNames: []string{testServerName},
		Server:   true,
	})
	caPEM, _ := ca.PEM()
	for name, data := range map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM, "ca.crt": caPEM} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatalf("writing %s: %v", path, err)
		}
		// An explicit, distinct mtime makes the rewrite visible to the
		// source's change detection whatever the filesystem's clock grain.
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatalf("chtimes %s: %v", path, err)
		}
	}
}

// clientFor returns an HTTP client presenting a certificate for id from ca
// (none when ca is nil) and trusting serverCA.
func clientFor(t testing.TB, serverCA, ca *identity.CA, id identity.ID) *http.Client {
	t.Helper()
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS13,
		RootCAs:    serverCA.Bundle(),
		ServerName: testServerName,
	}
	if ca != nil {
		certPEM, keyPEM := issue(t, ca, identity.LeafSpec{ID: id, Client: true})
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatalf("client key pair: %v", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	transport := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}
	t.Cleanup(transport.CloseIdleConnections)
	return &http.Client{Transport: transport, Timeout: 20 * time.Second}
}

// startUpstream serves h on 127.0.0.1 as queue-proxy serves its main port
// (knative.dev/pkg's network.NewServer: HTTP/1.1 and prior-knowledge h2c)
// and returns its address.
func startUpstream(t testing.TB, h http.Handler) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	srv := pkgnet.NewServer("", h)
	go srv.Serve(l) //nolint:errcheck // ends with Close
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

// startMTLS serves an MTLSServer on 127.0.0.1 and returns its address.
func startMTLS(t testing.TB, source identity.CertSource, cfg mtlsServerConfig) string {
	t.Helper()
	addr, _ := startMTLSServer(t, source, cfg)
	return addr
}

// startMTLSServer is startMTLS that also returns the server; the test's
// cleanup closes it.
func startMTLSServer(t testing.TB, source identity.CertSource, cfg mtlsServerConfig) (string, *MTLSServer) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	srv := newMTLSServer(source, NewPeers(testTrustDomain, testNamespace, testSystemNS), cfg)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.closeAll()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return l.Addr().String(), srv
}

// echoUpstream answers with the request's protocol, Host and
// X-Forwarded-Proto and -For headers.
func echoUpstream() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "upstream saw "+r.Proto+" host="+r.Host+ //nolint:errcheck
			" proto="+r.Header.Get("X-Forwarded-Proto")+" for="+r.Header.Get("X-Forwarded-For"))
	})
}

func get(t testing.TB, c *http.Client, url string) (int, string, error) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", err
	}
	return resp.StatusCode, string(body), nil
}
