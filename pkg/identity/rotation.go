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
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"time"
)

// Rotation of SSM's CA without an outage. Every peer verifies against a
// trust bundle (the ca.crt of its leaf Secret) that may hold several CAs,
// so a CA is replaced in three steps, each safe for every certificate in
// use at that moment:
//
//  1. Introduce: a successor CA is created and added to the bundle, but
//     signs nothing. Every leaf Secret gets the new bundle.
//  2. Promote, TrustPropagation later (once every mount has the bundle):
//     the successor signs; every leaf signed by the old CA is re-issued
//     (NeedsRenewal). The old CA stays in the bundle, retired.
//  3. Retire: a retired CA leaves the bundle when every leaf it signed has
//     expired (DefaultLeafValidity after its promotion ended its signing).
//
// A rotation starts when an operator sets RotateCAAnnotationKey on the CA
// Secret to a new value, or by itself when the signing CA is past 2/3 of
// its lifetime.

const (
	// TrustPropagation is how long a CA is in the bundle before it signs:
	// the kubelet's sync period (1m by default) plus its Secret cache, the
	// time a changed leaf Secret takes to reach every pod that mounts it.
	TrustPropagation = 2 * time.Minute

	// RotateCAAnnotationKey, set on the CA Secret to a value it has not had
	// before, asks for a rotation; RotatedForAnnotationKey records the value
	// the last rotation was started for.
	RotateCAAnnotationKey   = "ssm.dev/rotate-ca"
	RotatedForAnnotationKey = "ssm.dev/rotated-for"
	// NextTrustedAtAnnotationKey is when the successor entered the bundle.
	NextTrustedAtAnnotationKey = "ssm.dev/next-ca-trusted-at"

	// Keys of the CA Secret besides ca.crt and ca.key (the signing CA).
	NextCertKey    = "next.crt"
	NextKeyKey     = "next.key"
	RetiredCertKey = "retired.crt"

	// retireAfterHeader is the PEM header of a retired CA certificate in
	// retired.crt: when it may leave the bundle.
	retireAfterHeader = "Retire-After"
)

// Authority is SSM's CA as issuers use it: the CA that signs now and the
// bundle of every CA a peer must trust now, which every leaf Secret carries
// as ca.crt.
type Authority struct {
	Signer *CA
	Trust  []byte
	// NextStep is when the rotation moves on by itself (zero: only an
	// operator's request starts one); the CA's owner looks again then.
	NextStep time.Time
}

// retiredCA is a CA that no longer signs, trusted until RetireAfter.
type retiredCA struct {
	cert        *x509.Certificate
	retireAfter time.Time
}

// caState is the CA Secret's content, parsed.
type caState struct {
	signer        *CA
	next          *CA
	nextTrustedAt time.Time
	retired       []retiredCA
	rotatedFor    string
}

// authority is the signing CA and the bundle for s.
func (s caState) authority() *Authority {
	var trust bytes.Buffer
	trust.Write(s.signer.certPEM)
	if s.next != nil {
		trust.Write(s.next.certPEM)
	}
	for _, r := range s.retired {
		trust.Write(pem.EncodeToMemory(&pem.Block{Type: pemTypeCertificate, Bytes: r.cert.Raw}))
	}
	return &Authority{Signer: s.signer, Trust: trust.Bytes(), NextStep: s.nextStepAt()}
}

// step moves the rotation on at now and says what it did ("" for nothing).
// rotateRequest is the CA Secret's RotateCAAnnotationKey value.
func (s caState) step(now time.Time, rotateRequest string) (caState, string, error) {
	var did []string
	kept := s.retired[:0:0]
	for _, r := range s.retired {
		if now.Before(r.retireAfter) {
			kept = append(kept, r)
		} else {
			did = append(did, "retired CA "+serialOf(r.cert)+" left the trust bundle")
		}
	}
	s.retired = kept

	if s.next != nil && !now.Before(s.nextTrustedAt.Add(TrustPropagation)) {
		s.retired = append(s.retired, retiredCA{cert: s.signer.cert, retireAfter: now.Add(DefaultLeafValidity)})
		did = append(did, fmt.Sprintf("CA %s signs from now on; CA %s is retired and trusted until every leaf it signed has expired",
			serialOf(s.next.cert), serialOf(s.signer.cert)))
		s.signer, s.next, s.nextTrustedAt = s.next, nil, time.Time{}
	}

	if s.next == nil {
		requested := rotateRequest != "" && rotateRequest != s.rotatedFor
		life := s.signer.cert.NotAfter.Sub(s.signer.cert.NotBefore)
		aging := !now.Before(s.signer.cert.NotBefore.Add(life * 2 / 3))
		if requested || aging {
			next, err := NewCA(now, DefaultCAValidity)
			if err != nil {
				return s, "", fmt.Errorf("creating the successor CA: %w", err)
			}
			s.next, s.nextTrustedAt = next, now
			if requested {
				s.rotatedFor = rotateRequest
			}
			why := "past 2/3 of its lifetime"
			if requested {
				why = fmt.Sprintf("%s=%q", RotateCAAnnotationKey, rotateRequest)
			}
			did = append(did, fmt.Sprintf("rotation (%s): CA %s is trusted now and signs from %s",
				why, serialOf(next.cert), now.Add(TrustPropagation).UTC().Format(time.RFC3339)))
		}
	}
	if len(did) == 0 {
		return s, "", nil
	}
	return s, strings.Join(did, "; "), nil
}

// nextStepAt is when step will next have something to do, zero if only an
// operator's request can start one.
func (s caState) nextStepAt() time.Time {
	var at time.Time
	earlier := func(t time.Time) {
		if at.IsZero() || t.Before(at) {
			at = t
		}
	}
	if s.next != nil {
		earlier(s.nextTrustedAt.Add(TrustPropagation))
	}
	for _, r := range s.retired {
		earlier(r.retireAfter)
	}
	return at
}

func serialOf(c *x509.Certificate) string { return fmt.Sprintf("%x", c.SerialNumber) }

// parseRetired reads retired.crt: CA certificates, each with its
// Retire-After header.
func parseRetired(data []byte) ([]retiredCA, error) {
	var out []retiredCA
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			if len(bytes.TrimSpace(rest)) != 0 {
				return nil, fmt.Errorf("trailing data that is not PEM")
			}
			return out, nil
		}
		if block.Type != pemTypeCertificate {
			return nil, fmt.Errorf("PEM block of type %q, want %q", block.Type, pemTypeCertificate)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		if !cert.IsCA {
			return nil, fmt.Errorf("certificate %s is not a CA", serialOf(cert))
		}
		at, err := time.Parse(time.RFC3339, block.Headers[retireAfterHeader])
		if err != nil {
			return nil, fmt.Errorf("certificate %s: header %s: %w", serialOf(cert), retireAfterHeader, err)
		}
		out = append(out, retiredCA{cert: cert, retireAfter: at})
	}
}

func formatRetired(retired []retiredCA) []byte {
	var buf bytes.Buffer
	for _, r := range retired {
		_ = pem.Encode(&buf, &pem.Block{
			Type:    pemTypeCertificate,
			Headers: map[string]string{retireAfterHeader: r.retireAfter.UTC().Format(time.RFC3339)},
			Bytes:   r.cert.Raw,
		})
	}
	return buf.Bytes()
}
