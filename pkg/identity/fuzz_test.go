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
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzParseID checks that ParseID accepts exactly the URIs that are the
// String of a valid ID, and that such a URI survives net/url, which is how
// Issue puts it into a certificate and how a peer's certificate hands it back.
func FuzzParseID(f *testing.F) {
	f.Add("spiffe://cluster.local/ns/default/sa/default")
	f.Add("spiffe://cluster.local/ns/knative-serving/sa/ssm-pool")
	f.Add("spiffe://td_1.example-2/ns/a/sa/a.b-c")
	f.Add("spiffe://cluster.local/ns/default/sa/default/extra")
	f.Add("spiffe://cluster.local:8080/ns/default/sa/default")
	f.Add("spiffe://user@cluster.local/ns/default/sa/default")
	f.Add("spiffe://cluster.local/ns/de%66ault/sa/default")
	f.Add("spiffe://cluster.local/ns/default/sa/default?q#f")
	f.Add("spiffe://Cluster.Local/ns/default/sa/default")
	f.Add("SPIFFE://cluster.local/ns/default/sa/default")
	f.Add("spiffe:///ns/default/sa/default")
	f.Add("spiffe://cluster.local")
	f.Add("")
	f.Fuzz(func(t *testing.T, uri string) {
		id, err := ParseID(uri)
		if err != nil {
			if id != (ID{}) {
				t.Errorf("ParseID(%q) failed with %v but returned %#v", uri, err, id)
			}
			if !strings.HasPrefix(err.Error(), "SPIFFE ID ") {
				t.Errorf("error %q does not say which SPIFFE ID is wrong", err)
			}
			return
		}
		if err := id.Validate(); err != nil {
			t.Errorf("ParseID(%q) = %#v, which does not validate: %v", uri, id, err)
		}
		if id.String() != uri {
			t.Errorf("ParseID(%q).String() = %q, want the input back", uri, id.String())
		}
		again, err := ParseID(id.String())
		if err != nil || again != id {
			t.Errorf("ParseID(%q) = %#v, %v; want %#v", id.String(), again, err, id)
		}
		u, err := url.Parse(id.String())
		if err != nil {
			t.Fatalf("url.Parse(%q): %v", id.String(), err)
		}
		if u.String() != id.String() {
			t.Errorf("url.Parse(%q).String() = %q: the ID would change inside a certificate", id.String(), u.String())
		}
	})
}

// FuzzIDValidate builds IDs from parts: Validate and ParseID agree, so an ID
// that validates (as Issue requires) is one a peer can parse back.
func FuzzIDValidate(f *testing.F) {
	f.Add("cluster.local", "default", "default")
	f.Add("cluster.local", "knative-serving", "ssm-pool")
	f.Add("cluster.local", "ns", "a/sa/b")
	f.Add("cluster.local/ns/x", "default", "default")
	f.Add("", "default", "default")
	f.Add("cluster.local", "Default", "sa")
	f.Add("cluster.local", "a.b", "c.d")
	f.Add(strings.Repeat("a", maxTrustDomainLength+1), "default", "default")
	f.Fuzz(func(t *testing.T, trustDomain, namespace, serviceAccount string) {
		id := NewID(trustDomain, namespace, serviceAccount)
		err := id.Validate()
		got, parseErr := ParseID(id.String())
		if err != nil {
			if parseErr == nil && got == id {
				t.Errorf("%#v does not validate (%v), but ParseID(%q) returns it", id, err, id.String())
			}
			if !strings.Contains(err.Error(), "SPIFFE ID ") {
				t.Errorf("error %q does not name the SPIFFE ID", err)
			}
			return
		}
		if parseErr != nil || got != id {
			t.Errorf("%#v validates, but ParseID(%q) = %#v, %v", id, id.String(), got, parseErr)
		}
	})
}

// fuzzCA is a fixed CA and a leaf of it, made once per fuzz target: key
// generation is random, but nothing below depends on the keys' values.
type fuzzCA struct {
	ca                 *CA
	certPEM, keyPEM    []byte
	leafPEM, leafKey   []byte
	sec1KeyPEM         []byte
	otherCertPEM       []byte
	twoURIsPEM         []byte
	nonSPIFFEURIPEM    []byte
	rsaCAPEM, rsaCAKey []byte
}

func newFuzzCA(f *testing.F) fuzzCA {
	f.Helper()
	ca, err := NewCA(t0, time.Hour)
	if err != nil {
		f.Fatalf("NewCA: %v", err)
	}
	other, err := NewCA(t0, time.Hour)
	if err != nil {
		f.Fatalf("NewCA: %v", err)
	}
	var fc fuzzCA
	fc.ca = ca
	fc.certPEM, fc.keyPEM = ca.PEM()
	fc.otherCertPEM, _ = other.PEM()
	fc.leafPEM, fc.leafKey, err = ca.Issue(t0, serverSpec())
	if err != nil {
		f.Fatalf("Issue: %v", err)
	}
	ecKey, ok := ca.key.(*ecdsa.PrivateKey)
	if !ok {
		f.Fatalf("CA key is a %T, want *ecdsa.PrivateKey", ca.key)
	}
	sec1, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		f.Fatalf("MarshalECPrivateKey: %v", err)
	}
	fc.sec1KeyPEM = pem.EncodeToMemory(&pem.Block{Type: pemTypeECKey, Bytes: sec1})

	// Certificates Issue never makes, which a Secret edited by hand may hold.
	fc.twoURIsPEM = fuzzSelfSigned(f, &x509.Certificate{URIs: []*url.URL{
		{Scheme: "spiffe", Host: "cluster.local", Path: "/ns/a/sa/b"},
		{Scheme: "spiffe", Host: "cluster.local", Path: "/ns/c/sa/d"},
	}}, nil)
	fc.nonSPIFFEURIPEM = fuzzSelfSigned(f, &x509.Certificate{URIs: []*url.URL{
		{Scheme: "https", Host: "cluster.local", Path: "/ns/a/sa/b"},
	}}, nil)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		f.Fatalf("rsa.GenerateKey: %v", err)
	}
	fc.rsaCAPEM = fuzzSelfSigned(f, &x509.Certificate{IsCA: true, BasicConstraintsValid: true}, rsaKey)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(rsaKey)
	if err != nil {
		f.Fatalf("MarshalPKCS8PrivateKey: %v", err)
	}
	fc.rsaCAKey = pem.EncodeToMemory(&pem.Block{Type: pemTypePrivateKey, Bytes: pkcs8})
	return fc
}

// fuzzSelfSigned signs template with key (a fresh P-256 key when nil) at t0.
func fuzzSelfSigned(f *testing.F, template *x509.Certificate, key crypto.Signer) []byte {
	f.Helper()
	if key == nil {
		var err error
		if key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			f.Fatalf("GenerateKey: %v", err)
		}
	}
	template.SerialNumber = big.NewInt(1)
	template.Subject = pkix.Name{CommonName: "fuzz"}
	template.NotBefore, template.NotAfter = t0, t0.Add(time.Hour)
	der, err := x509.CreateCertificate(rand.Reader, template, template, key.Public(), key)
	if err != nil {
		f.Fatalf("CreateCertificate: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemTypeCertificate, Bytes: der})
}

// FuzzParseCA checks that a CA ParseCA accepts is a CA certificate with the
// key that signs for it, and that its canonical PEM parses back to itself.
func FuzzParseCA(f *testing.F) {
	fc := newFuzzCA(f)
	f.Add(fc.certPEM, fc.keyPEM)
	f.Add(fc.certPEM, fc.sec1KeyPEM)
	f.Add(fc.rsaCAPEM, fc.rsaCAKey)
	f.Add(fc.otherCertPEM, fc.keyPEM)
	f.Add(fc.leafPEM, fc.leafKey)
	f.Add(append(append([]byte{}, fc.certPEM...), fc.certPEM...), fc.keyPEM)
	f.Add(fc.keyPEM, fc.certPEM)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), fc.keyPEM)
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, certPEM, keyPEM []byte) {
		ca, err := ParseCA(certPEM, keyPEM)
		if err != nil {
			if ca != nil {
				t.Errorf("ParseCA failed with %v but returned a CA", err)
			}
			if err.Error() == "" {
				t.Error("ParseCA failed with an empty message")
			}
			return
		}
		cert := ca.Certificate()
		if !cert.IsCA {
			t.Error("accepted certificate is not a CA")
		}
		block, _ := pem.Decode(certPEM)
		if block == nil || !bytes.Equal(block.Bytes, cert.Raw) {
			t.Error("accepted CA certificate is not the first PEM block of the input")
		}
		assertSignsFor(t, ca.key, cert)

		gotCert, gotKey := ca.PEM()
		again, err := ParseCA(gotCert, gotKey)
		if err != nil {
			t.Fatalf("ParseCA of the CA's own PEM: %v", err)
		}
		if !bytes.Equal(again.Certificate().Raw, cert.Raw) {
			t.Error("ParseCA of the CA's own PEM gives another certificate")
		}
		if againCert, againKey := again.PEM(); !bytes.Equal(againCert, gotCert) || !bytes.Equal(againKey, gotKey) {
			t.Error("the CA's PEM is not canonical: parsing it and encoding again changes it")
		}
	})
}

// assertSignsFor proves key belongs to cert by signing with it and checking
// the signature with the certificate's public key.
func assertSignsFor(t *testing.T, key crypto.Signer, cert *x509.Certificate) {
	t.Helper()
	msg := []byte("ssm fuzz")
	digest := sha256.Sum256(msg)
	var (
		algo x509.SignatureAlgorithm
		sig  []byte
		err  error
	)
	switch key.(type) {
	case *ecdsa.PrivateKey:
		algo = x509.ECDSAWithSHA256
		sig, err = key.Sign(rand.Reader, digest[:], crypto.SHA256)
	case *rsa.PrivateKey:
		algo = x509.SHA256WithRSA
		sig, err = key.Sign(rand.Reader, digest[:], crypto.SHA256)
	case ed25519.PrivateKey:
		algo = x509.PureEd25519
		sig, err = key.Sign(rand.Reader, msg, crypto.Hash(0))
	default:
		t.Fatalf("CA key of unexpected type %T", key)
	}
	if err != nil {
		// A key that parses but cannot sign (e.g. an RSA key whose parameters
		// are inconsistent) must not have been accepted.
		t.Fatalf("accepted CA key cannot sign: %v", err)
	}
	if err := cert.CheckSignature(algo, msg, sig); err != nil {
		t.Errorf("accepted CA key does not belong to the certificate: %v", err)
	}
}

// FuzzIDOfCertificatePEM checks that an ID read from a certificate validates
// and is the certificate's only URI SAN.
func FuzzIDOfCertificatePEM(f *testing.F) {
	fc := newFuzzCA(f)
	f.Add(fc.leafPEM)
	f.Add(fc.certPEM)
	f.Add(fc.twoURIsPEM)
	f.Add(fc.nonSPIFFEURIPEM)
	f.Add(append(append([]byte{}, fc.leafPEM...), fc.certPEM...))
	f.Add(append(append([]byte{}, fc.leafPEM...), "\n\t \n"...))
	f.Add(fc.leafKey)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, certPEM []byte) {
		id, err := IDOfCertificatePEM(certPEM)
		if err != nil {
			if id != (ID{}) {
				t.Errorf("IDOfCertificatePEM failed with %v but returned %#v", err, id)
			}
			if !strings.Contains(err.Error(), "certificate") {
				t.Errorf("error %q does not say it is about the certificate", err)
			}
			return
		}
		if err := id.Validate(); err != nil {
			t.Errorf("ID %#v read from the certificate does not validate: %v", id, err)
		}
		block, _ := pem.Decode(certPEM)
		if block == nil {
			t.Fatal("accepted input has no PEM block")
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatalf("accepted certificate does not parse: %v", err)
		}
		if len(cert.URIs) != 1 || cert.URIs[0].String() != id.String() {
			t.Errorf("ID %s is not the certificate's only URI SAN %v", id, cert.URIs)
		}
	})
}
