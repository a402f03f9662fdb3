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
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

const (
	// CACommonName is the subject of the CA certificate SSM creates.
	CACommonName = "ssm-ca"
	// DefaultCAValidity is how long a CA SSM creates lives; it is rotated
	// at two thirds of it (rotation.go), or earlier on request.
	DefaultCAValidity = 10 * 365 * 24 * time.Hour
	// DefaultLeafValidity is used when LeafSpec.Validity is zero. Leaves are
	// renewed after 2/3 of it, so a controller outage of up to a third of it
	// (over two days) costs nothing.
	DefaultLeafValidity = 7 * 24 * time.Hour

	// clockSkew backdates NotBefore so that a certificate issued by the
	// controller is already valid on a peer whose clock lags a little.
	clockSkew = time.Minute

	pemTypeCertificate = "CERTIFICATE"
	pemTypePrivateKey  = "PRIVATE KEY"
	pemTypeECKey       = "EC PRIVATE KEY"
)

// CA is SSM's certificate authority: a self-signed certificate and its key.
type CA struct {
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte
	keyPEM  []byte
}

// LeafSpec says what a leaf certificate is for.
type LeafSpec struct {
	// ID is the certificate's only URI SAN. Required.
	ID ID
	// DNSNames are the names clients verify a server certificate against;
	// required when Server is set.
	DNSNames []string
	// Validity is the certificate's lifetime; zero means DefaultLeafValidity.
	// A leaf never outlives its CA.
	Validity time.Duration
	// Server and Client select the extended key usages; at least one is set.
	Server bool
	Client bool
}

// NewCA creates a self-signed ECDSA P-256 CA valid from now for validity.
func NewCA(now time.Time, validity time.Duration) (*CA, error) {
	if validity <= 0 {
		return nil, fmt.Errorf("CA validity %v: must be positive", validity)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating CA key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	template := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: CACommonName, Organization: []string{"ssm"}},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		// SSM signs leaves directly; no intermediate may be minted from it.
		MaxPathLenZero: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("self-signing CA certificate: %w", err)
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return nil, err
	}
	return ParseCA(pem.EncodeToMemory(&pem.Block{Type: pemTypeCertificate, Bytes: der}), keyPEM)
}

// ParseCA parses a CA certificate and its private key (PKCS#8 or SEC 1), and
// checks that the certificate is a CA and that the key belongs to it.
func ParseCA(certPEM, keyPEM []byte) (*CA, error) {
	cert, err := parseSingleCertificate(certPEM)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("CA certificate %q: is not a CA (basic constraints)", cert.Subject.CommonName)
	}
	key, err := parsePrivateKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("CA key: %w", err)
	}
	if !publicKeysEqual(key.Public(), cert.PublicKey) {
		return nil, fmt.Errorf("CA key does not belong to CA certificate %q", cert.Subject.CommonName)
	}
	canonicalKey, err := encodeKey(key)
	if err != nil {
		return nil, err
	}
	return &CA{
		cert:    cert,
		key:     key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: pemTypeCertificate, Bytes: cert.Raw}),
		keyPEM:  canonicalKey,
	}, nil
}

// PEM returns the CA certificate and key, PEM-encoded; the key is PKCS#8.
func (ca *CA) PEM() (cert, key []byte) {
	return slices.Clone(ca.certPEM), slices.Clone(ca.keyPEM)
}

// Certificate is the parsed CA certificate. Callers must not modify it.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

// Bundle is a pool holding only this CA, for verifying its leaves.
func (ca *CA) Bundle() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	return pool
}

// Issue creates a fresh ECDSA P-256 key and a leaf certificate for it signed
// by the CA, in the X.509-SVID shape: exactly one URI SAN, not a CA.
func (ca *CA) Issue(now time.Time, spec LeafSpec) (certPEM, keyPEM []byte, err error) {
	if err := validateLeafSpec(spec); err != nil {
		return nil, nil, err
	}
	validity := spec.Validity
	if validity == 0 {
		validity = DefaultLeafValidity
	}
	notAfter := now.Add(validity)
	if notAfter.After(ca.cert.NotAfter) {
		// x509 verification rejects a chain with an expired CA anyway; capping
		// makes NeedsRenewal see the real end of the leaf's usefulness.
		notAfter = ca.cert.NotAfter
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating key for %s: %w", spec.ID, err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, nil, err
	}
	uri, err := url.Parse(spec.ID.String())
	if err != nil {
		return nil, nil, fmt.Errorf("SPIFFE ID %s as URL: %w", spec.ID, err)
	}
	var usages []x509.ExtKeyUsage
	if spec.Server {
		usages = append(usages, x509.ExtKeyUsageServerAuth)
	}
	if spec.Client {
		usages = append(usages, x509.ExtKeyUsageClientAuth)
	}
	template := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: spec.ID.ServiceAccount + "." + spec.ID.Namespace, Organization: []string{"ssm"}},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           usages,
		BasicConstraintsValid: true,
		URIs:                  []*url.URL{uri},
		DNSNames:              slices.Clone(spec.DNSNames),
	}
	der, err := x509.CreateCertificate(rand.Reader, template, ca.cert, key.Public(), ca.key)
	if err != nil {
		return nil, nil, fmt.Errorf("signing certificate for %s: %w", spec.ID, err)
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemTypeCertificate, Bytes: der}), keyPEM, nil
}

func validateLeafSpec(spec LeafSpec) error {
	if spec.ID == (ID{}) {
		return errors.New("leaf spec: SPIFFE ID is required")
	}
	if err := spec.ID.Validate(); err != nil {
		return fmt.Errorf("leaf spec: %w", err)
	}
	if spec.Validity < 0 {
		return fmt.Errorf("leaf spec for %s: validity %v is negative", spec.ID, spec.Validity)
	}
	if !spec.Server && !spec.Client {
		return fmt.Errorf("leaf spec for %s: neither Server nor Client is set", spec.ID)
	}
	if spec.Server && len(spec.DNSNames) == 0 {
		return fmt.Errorf("leaf spec for %s: a server certificate needs DNS names for clients to verify", spec.ID)
	}
	for _, name := range spec.DNSNames {
		if msgs := validation.IsDNS1123Subdomain(name); len(msgs) > 0 {
			return fmt.Errorf("leaf spec for %s: DNS name %q: %s", spec.ID, name, strings.Join(msgs, "; "))
		}
	}
	return nil
}

// NeedsRenewal says whether the leaf certificate in certPEM must be re-issued
// by ca at now, and why: it is missing, unparseable, expired, past 2/3 of its
// lifetime (NotBefore to NotAfter), or not signed by ca. Renewing at 2/3
// leaves a third of the lifetime for the new Secret to reach every mount.
func NeedsRenewal(ca *CA, certPEM []byte, now time.Time) (bool, string) {
	if len(certPEM) == 0 {
		return true, "certificate is missing"
	}
	cert, err := parseSingleCertificate(certPEM)
	if err != nil {
		return true, "certificate is unparseable: " + err.Error()
	}
	if !now.Before(cert.NotAfter) {
		return true, "certificate expired at " + cert.NotAfter.UTC().Format(time.RFC3339)
	}
	renewAt := cert.NotBefore.Add(cert.NotAfter.Sub(cert.NotBefore) * 2 / 3)
	if !now.Before(renewAt) {
		return true, "certificate is past 2/3 of its lifetime (renew at " + renewAt.UTC().Format(time.RFC3339) + ")"
	}
	if err := cert.CheckSignatureFrom(ca.cert); err != nil {
		return true, "certificate is not signed by the current CA: " + err.Error()
	}
	return false, ""
}

func parseSingleCertificate(certPEM []byte) (*x509.Certificate, error) {
	block, rest := pem.Decode(certPEM)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	if block.Type != pemTypeCertificate {
		return nil, fmt.Errorf("PEM block is %q, want %q", block.Type, pemTypeCertificate)
	}
	if len(strings.TrimSpace(string(rest))) > 0 {
		return nil, errors.New("more than one PEM block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parsing certificate: %w", err)
	}
	return cert, nil
}

func parsePrivateKey(keyPEM []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	switch block.Type {
	case pemTypeECKey:
		key, err := x509.ParseECPrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing EC private key: %w", err)
		}
		return key, nil
	case pemTypePrivateKey:
		key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing PKCS#8 private key: %w", err)
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("private key of type %T cannot sign", key)
		}
		return signer, nil
	default:
		return nil, fmt.Errorf("PEM block is %q, want %q or %q", block.Type, pemTypePrivateKey, pemTypeECKey)
	}
}

func encodeKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemTypePrivateKey, Bytes: der}), nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}

func randomSerial() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("generating serial number: %w", err)
	}
	return serial, nil
}
