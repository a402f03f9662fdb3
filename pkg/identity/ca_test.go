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
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"
)

func TestNewCA(t *testing.T) {
	t.Parallel()
	ca := mustCA(t, t0, 24*time.Hour)
	cert := ca.Certificate()
	if cert.Subject.CommonName != "ssm-ca" || !cert.IsCA || !cert.MaxPathLenZero {
		t.Errorf("CA subject %q IsCA %v MaxPathLenZero %v, want ssm-ca true true", cert.Subject.CommonName, cert.IsCA, cert.MaxPathLenZero)
	}
	if want := time.Date(2026, 1, 2, 3, 3, 5, 0, time.UTC); !cert.NotBefore.Equal(want) {
		t.Errorf("NotBefore = %v, want %v (one minute of clock skew)", cert.NotBefore, want)
	}
	if want := time.Date(2026, 1, 3, 3, 4, 5, 0, time.UTC); !cert.NotAfter.Equal(want) {
		t.Errorf("NotAfter = %v, want %v", cert.NotAfter, want)
	}
	if _, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || cert.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("public key %T, want ECDSA", cert.PublicKey)
	}

	certPEM, keyPEM := ca.PEM()
	parsed, err := ParseCA(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("ParseCA(PEM()): %v", err)
	}
	if !parsed.Certificate().Equal(cert) {
		t.Error("ParseCA(PEM()) returned another certificate")
	}

	if _, err := NewCA(t0, 0); err == nil || err.Error() != "CA validity 0s: must be positive" {
		t.Errorf("NewCA(validity 0) error = %v", err)
	}
}

func TestParseCAErrors(t *testing.T) {
	t.Parallel()
	ca := mustCA(t, t0, 24*time.Hour)
	other := mustCA(t, t0, 24*time.Hour)
	certPEM, keyPEM := ca.PEM()
	_, otherKey := other.PEM()
	leafCert, leafKey := mustIssue(t, ca, t0, clientSpec("demo", "app"))

	// A bring-your-own CA may come with a SEC 1 ("EC PRIVATE KEY") key.
	sec1, err := x509.MarshalECPrivateKey(ca.key.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	sec1PEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})

	tests := []struct {
		name    string
		cert    []byte
		key     []byte
		wantErr string
	}{{
		name: "SEC 1 key accepted",
		cert: certPEM,
		key:  sec1PEM,
	}, {
		name:    "garbage certificate",
		cert:    []byte("not PEM"),
		key:     keyPEM,
		wantErr: "CA certificate: no PEM block found",
	}, {
		name:    "two certificates",
		cert:    append(append([]byte{}, certPEM...), certPEM...),
		key:     keyPEM,
		wantErr: "CA certificate: more than one PEM block",
	}, {
		name:    "key where the certificate belongs",
		cert:    keyPEM,
		key:     keyPEM,
		wantErr: `CA certificate: PEM block is "PRIVATE KEY", want "CERTIFICATE"`,
	}, {
		name:    "leaf is not a CA",
		cert:    leafCert,
		key:     leafKey,
		wantErr: `CA certificate "app.demo": is not a CA (basic constraints)`,
	}, {
		name:    "garbage key",
		cert:    certPEM,
		key:     []byte("not PEM"),
		wantErr: "CA key: no PEM block found",
	}, {
		name:    "key of another CA",
		cert:    certPEM,
		key:     otherKey,
		wantErr: `CA key does not belong to CA certificate "ssm-ca"`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseCA(tt.cert, tt.key)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseCA: %v", err)
				}
				if gotKey := got.keyPEM; string(gotKey) != string(keyPEM) {
					t.Error("ParseCA did not re-encode the key as PKCS#8")
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("ParseCA error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestIssueVerifies(t *testing.T) {
	t.Parallel()
	ca := mustCA(t, t0, 365*24*time.Hour)
	foreign := mustCA(t, t0, 365*24*time.Hour)
	at := t0.Add(time.Minute)

	tests := []struct {
		name      string
		issuer    *CA
		spec      LeafSpec
		usage     x509.ExtKeyUsage
		dnsName   string
		wantURI   string
		wantValid bool
	}{{
		name:      "server certificate for its DNS name",
		issuer:    ca,
		spec:      serverSpec(),
		usage:     x509.ExtKeyUsageServerAuth,
		dnsName:   "ssm-pool.knative-serving.svc",
		wantURI:   "spiffe://cluster.local/ns/knative-serving/sa/ssm-pool",
		wantValid: true,
	}, {
		name:    "server certificate for another DNS name",
		issuer:  ca,
		spec:    serverSpec(),
		usage:   x509.ExtKeyUsageServerAuth,
		dnsName: "evil.example.com",
		wantURI: "spiffe://cluster.local/ns/knative-serving/sa/ssm-pool",
	}, {
		name:      "client certificate",
		issuer:    ca,
		spec:      clientSpec("knative-serving", "activator"),
		usage:     x509.ExtKeyUsageClientAuth,
		wantURI:   "spiffe://cluster.local/ns/knative-serving/sa/activator",
		wantValid: true,
	}, {
		name:    "server-only certificate used as client",
		issuer:  ca,
		spec:    serverSpec(),
		usage:   x509.ExtKeyUsageClientAuth,
		wantURI: "spiffe://cluster.local/ns/knative-serving/sa/ssm-pool",
	}, {
		name:    "foreign CA",
		issuer:  foreign,
		spec:    clientSpec("knative-serving", "activator"),
		usage:   x509.ExtKeyUsageClientAuth,
		wantURI: "spiffe://cluster.local/ns/knative-serving/sa/activator",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			certPEM, _ := mustIssue(t, tt.issuer, t0, tt.spec)
			cert := mustParseCert(t, certPEM)
			if len(cert.URIs) != 1 || cert.URIs[0].String() != tt.wantURI {
				t.Errorf("URIs = %v, want [%s]", cert.URIs, tt.wantURI)
			}
			if cert.IsCA {
				t.Error("leaf is a CA")
			}
			_, err := cert.Verify(x509.VerifyOptions{
				Roots:       ca.Bundle(),
				DNSName:     tt.dnsName,
				CurrentTime: at,
				KeyUsages:   []x509.ExtKeyUsage{tt.usage},
			})
			if gotValid := err == nil; gotValid != tt.wantValid {
				t.Errorf("Verify error = %v, want valid %v", err, tt.wantValid)
			}
		})
	}
}

func TestIssueLifetime(t *testing.T) {
	t.Parallel()
	ca := mustCA(t, t0, 48*time.Hour)
	tests := []struct {
		name         string
		validity     time.Duration
		wantNotAfter time.Time
	}{{
		name:         "explicit validity",
		validity:     3 * time.Hour,
		wantNotAfter: time.Date(2026, 1, 2, 6, 4, 5, 0, time.UTC),
	}, {
		name:         "default validity capped by the CA",
		validity:     0,
		wantNotAfter: time.Date(2026, 1, 4, 3, 4, 5, 0, time.UTC),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			spec := clientSpec("demo", "app")
			spec.Validity = tt.validity
			certPEM, _ := mustIssue(t, ca, t0, spec)
			cert := mustParseCert(t, certPEM)
			if want := time.Date(2026, 1, 2, 3, 3, 5, 0, time.UTC); !cert.NotBefore.Equal(want) {
				t.Errorf("NotBefore = %v, want %v", cert.NotBefore, want)
			}
			if !cert.NotAfter.Equal(tt.wantNotAfter) {
				t.Errorf("NotAfter = %v, want %v", cert.NotAfter, tt.wantNotAfter)
			}
		})
	}
}

func TestIssueRejectsBadSpec(t *testing.T) {
	t.Parallel()
	ca := mustCA(t, t0, 24*time.Hour)
	good := NewID("cluster.local", "demo", "app")
	tests := []struct {
		name    string
		spec    LeafSpec
		wantErr string
	}{{
		name:    "no ID",
		spec:    LeafSpec{Client: true},
		wantErr: "leaf spec: SPIFFE ID is required",
	}, {
		name:    "malformed ID",
		spec:    LeafSpec{ID: NewID("cluster.local", "Demo", "app"), Client: true},
		wantErr: `leaf spec: SPIFFE ID "spiffe://cluster.local/ns/Demo/sa/app": namespace "Demo"`,
	}, {
		name:    "no usage",
		spec:    LeafSpec{ID: good},
		wantErr: "leaf spec for spiffe://cluster.local/ns/demo/sa/app: neither Server nor Client is set",
	}, {
		name:    "server without DNS names",
		spec:    LeafSpec{ID: good, Server: true},
		wantErr: "leaf spec for spiffe://cluster.local/ns/demo/sa/app: a server certificate needs DNS names for clients to verify",
	}, {
		name:    "bad DNS name",
		spec:    LeafSpec{ID: good, Server: true, DNSNames: []string{"Not_A_Name"}},
		wantErr: `leaf spec for spiffe://cluster.local/ns/demo/sa/app: DNS name "Not_A_Name"`,
	}, {
		name:    "negative validity",
		spec:    LeafSpec{ID: good, Client: true, Validity: -time.Second},
		wantErr: "leaf spec for spiffe://cluster.local/ns/demo/sa/app: validity -1s is negative",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			certPEM, keyPEM, err := ca.Issue(t0, tt.spec)
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("Issue error = %v, want prefix %q", err, tt.wantErr)
			}
			if certPEM != nil || keyPEM != nil {
				t.Error("Issue returned PEM with an error")
			}
		})
	}
}

func TestNeedsRenewal(t *testing.T) {
	t.Parallel()
	ca := mustCA(t, t0, 365*24*time.Hour)
	foreign := mustCA(t, t0, 365*24*time.Hour)
	spec := clientSpec("demo", "app")
	spec.Validity = 3 * time.Hour
	// NotBefore t0-1m, NotAfter t0+3h: lifetime 181m, 2/3 of it is reached
	// at t0+119m40s.
	leaf, _ := mustIssue(t, ca, t0, spec)
	foreignLeaf, _ := mustIssue(t, foreign, t0, spec)

	tests := []struct {
		name       string
		certPEM    []byte
		now        time.Time
		want       bool
		wantReason string
	}{{
		name:       "missing",
		now:        t0,
		want:       true,
		wantReason: "certificate is missing",
	}, {
		name:       "unparseable",
		certPEM:    []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
		now:        t0,
		want:       true,
		wantReason: "certificate is unparseable: parsing certificate: x509: malformed certificate",
	}, {
		name:    "fresh at t0",
		certPEM: leaf,
		now:     t0,
	}, {
		name:    "just before 2/3",
		certPEM: leaf,
		now:     t0.Add(119*time.Minute + 39*time.Second),
	}, {
		name:       "at 2/3",
		certPEM:    leaf,
		now:        t0.Add(119*time.Minute + 40*time.Second),
		want:       true,
		wantReason: "certificate is past 2/3 of its lifetime (renew at 2026-01-02T05:03:45Z)",
	}, {
		name:       "at 70% of the requested validity",
		certPEM:    leaf,
		now:        t0.Add(126 * time.Minute),
		want:       true,
		wantReason: "certificate is past 2/3 of its lifetime (renew at 2026-01-02T05:03:45Z)",
	}, {
		name:       "expired",
		certPEM:    leaf,
		now:        t0.Add(3 * time.Hour),
		want:       true,
		wantReason: "certificate expired at 2026-01-02T06:04:05Z",
	}, {
		name:       "foreign CA",
		certPEM:    foreignLeaf,
		now:        t0,
		want:       true,
		wantReason: "certificate is not signed by the current CA: x509: ECDSA verification failure",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, reason := NeedsRenewal(ca, tt.certPEM, tt.now)
			if got != tt.want || reason != tt.wantReason {
				t.Errorf("NeedsRenewal = %v, %q; want %v, %q", got, reason, tt.want, tt.wantReason)
			}
		})
	}
}
