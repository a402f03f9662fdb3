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
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// t0 is the fixed "now" of tests that do not handshake; tests that do use
// time.Now, since crypto/tls verifies against the real clock.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

const (
	testTrustDomain = "cluster.local"
	testServerName  = "ssm-pool.knative-serving.svc"
)

func mustCA(t *testing.T, now time.Time, validity time.Duration) *CA {
	t.Helper()
	ca, err := NewCA(now, validity)
	if err != nil {
		t.Fatalf("NewCA: %v", err)
	}
	return ca
}

func mustIssue(t *testing.T, ca *CA, now time.Time, spec LeafSpec) (certPEM, keyPEM []byte) {
	t.Helper()
	certPEM, keyPEM, err := ca.Issue(now, spec)
	if err != nil {
		t.Fatalf("Issue(%v): %v", spec.ID, err)
	}
	return certPEM, keyPEM
}

func mustParseCert(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	cert, err := parseSingleCertificate(certPEM)
	if err != nil {
		t.Fatalf("parsing certificate: %v", err)
	}
	return cert
}

func caPEM(ca *CA) []byte {
	cert, _ := ca.PEM()
	return cert
}

func serverSpec() LeafSpec {
	return LeafSpec{
		ID:       NewID(testTrustDomain, "knative-serving", "ssm-pool"),
		DNSNames: []string{testServerName},
		Validity: time.Hour,
		Server:   true,
	}
}

func clientSpec(namespace, serviceAccount string) LeafSpec {
	return LeafSpec{ID: NewID(testTrustDomain, namespace, serviceAccount), Validity: time.Hour, Client: true}
}

// staticSource is a CertSource over fixed PEM, for the side of a test
// connection that does not rotate.
type staticSource struct {
	cert   *tls.Certificate
	bundle *x509.CertPool
}

func (s staticSource) Certificate() (*tls.Certificate, error) { return s.cert, nil }
func (s staticSource) Bundle() (*x509.CertPool, error)        { return s.bundle, nil }

func mustStaticSource(t *testing.T, certPEM, keyPEM []byte, bundle ...*CA) staticSource {
	t.Helper()
	pool := x509.NewCertPool()
	for _, ca := range bundle {
		pool.AddCert(ca.Certificate())
	}
	if certPEM == nil {
		// No certificate at all: crypto/tls then sends an empty Certificate
		// message, as a client without a client certificate does.
		return staticSource{cert: &tls.Certificate{}, bundle: pool}
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("X509KeyPair: %v", err)
	}
	return staticSource{cert: &cert, bundle: pool}
}

// writeSecretVolume lays out files the way the kubelet publishes a Secret
// volume: a fresh directory per version, a ..data symlink swapped by rename,
// and one symlink per key through ..data.
func writeSecretVolume(t *testing.T, dir string, version int, files map[string][]byte) {
	t.Helper()
	versionDir := fmt.Sprintf("..v%d", version)
	if err := os.Mkdir(filepath.Join(dir, versionDir), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, versionDir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tmpLink := filepath.Join(dir, "..data_tmp")
	if err := os.Symlink(versionDir, tmpLink); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmpLink, filepath.Join(dir, kubeletDataLink)); err != nil {
		t.Fatal(err)
	}
	for name := range files {
		link := filepath.Join(dir, name)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(filepath.Join(kubeletDataLink, name), link); err != nil {
			t.Fatal(err)
		}
	}
}
