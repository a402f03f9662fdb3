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
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

const (
	spiffeScheme = "spiffe://"
	// maxTrustDomainLength is the SPIFFE limit on a trust domain name.
	maxTrustDomainLength = 255
)

// ID is a workload's SPIFFE identity in SSM's layout:
// spiffe://<TrustDomain>/ns/<Namespace>/sa/<ServiceAccount>. It is comparable,
// so IDs can be map keys and compared with ==.
type ID struct {
	TrustDomain    string
	Namespace      string
	ServiceAccount string
}

// ServiceAccountName is the ServiceAccount a pod runs as: Kubernetes
// admits a pod with none named as the namespace's "default", and the
// identity SSM issues, mounts and verifies must be that same one.
func ServiceAccountName(name string) string {
	if name == "" {
		return "default"
	}
	return name
}

// NewID builds an ID without validating it; Validate or Issue check it.
func NewID(trustDomain, namespace, serviceAccount string) ID {
	return ID{TrustDomain: trustDomain, Namespace: namespace, ServiceAccount: serviceAccount}
}

// String is the SPIFFE URI of the ID.
func (id ID) String() string {
	return spiffeScheme + id.TrustDomain + "/ns/" + id.Namespace + "/sa/" + id.ServiceAccount
}

// Validate reports the first malformed part of the ID. The trust domain
// follows the SPIFFE charset; namespace and service account follow
// Kubernetes' own name rules, so an ID always names a real ServiceAccount.
func (id ID) Validate() error {
	if err := validateTrustDomain(id.TrustDomain); err != nil {
		return fmt.Errorf("SPIFFE ID %q: %w", id.String(), err)
	}
	if msgs := validation.IsDNS1123Label(id.Namespace); len(msgs) > 0 {
		return fmt.Errorf("SPIFFE ID %q: namespace %q: %s", id.String(), id.Namespace, strings.Join(msgs, "; "))
	}
	if msgs := validation.IsDNS1123Subdomain(id.ServiceAccount); len(msgs) > 0 {
		return fmt.Errorf("SPIFFE ID %q: service account %q: %s", id.String(), id.ServiceAccount, strings.Join(msgs, "; "))
	}
	return nil
}

// ParseID parses and validates a SPIFFE URI of the form
// spiffe://<trust-domain>/ns/<namespace>/sa/<serviceaccount>. It parses by
// hand rather than with net/url because SPIFFE forbids what url.Parse accepts
// silently: ports, user info, percent-encoding, queries and fragments.
func ParseID(uri string) (ID, error) {
	rest, ok := strings.CutPrefix(uri, spiffeScheme)
	if !ok {
		return ID{}, fmt.Errorf("SPIFFE ID %q: must start with %q", uri, spiffeScheme)
	}
	trustDomain, path, ok := strings.Cut(rest, "/")
	if !ok {
		return ID{}, fmt.Errorf("SPIFFE ID %q: has no path, want /ns/<namespace>/sa/<serviceaccount>", uri)
	}
	segments := strings.Split(path, "/")
	if len(segments) != 4 || segments[0] != "ns" || segments[2] != "sa" {
		return ID{}, fmt.Errorf("SPIFFE ID %q: path %q is not ns/<namespace>/sa/<serviceaccount>", uri, "/"+path)
	}
	id := NewID(trustDomain, segments[1], segments[3])
	if err := id.Validate(); err != nil {
		return ID{}, err
	}
	return id, nil
}

func validateTrustDomain(td string) error {
	if td == "" {
		return fmt.Errorf("trust domain is empty")
	}
	if len(td) > maxTrustDomainLength {
		return fmt.Errorf("trust domain is %d characters long, at most %d allowed", len(td), maxTrustDomainLength)
	}
	for _, r := range td {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '.' && r != '-' && r != '_' {
			return fmt.Errorf("trust domain %q: character %q not allowed, only a-z, 0-9, '.', '-' and '_'", td, r)
		}
	}
	return nil
}

// OwnID is the SPIFFE ID in src's own certificate: exactly one URI SAN.
// SSM's components take their trust domain from it, so that the
// controller, which issues every certificate, is the one place the trust
// domain is set.
func OwnID(src CertSource) (ID, error) {
	cert, err := src.Certificate()
	if err != nil {
		return ID{}, fmt.Errorf("own certificate: %w", err)
	}
	if cert == nil || len(cert.Certificate) == 0 {
		return ID{}, errors.New("own certificate: none loaded")
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return ID{}, fmt.Errorf("own certificate: %w", err)
		}
	}
	return idOfLeaf(leaf)
}

// IDOfCertificatePEM is the SPIFFE ID of a PEM certificate, as OwnID reads
// it: exactly one URI SAN.
func IDOfCertificatePEM(certPEM []byte) (ID, error) {
	leaf, err := parseSingleCertificate(certPEM)
	if err != nil {
		return ID{}, fmt.Errorf("certificate: %w", err)
	}
	return idOfLeaf(leaf)
}

func idOfLeaf(leaf *x509.Certificate) (ID, error) {
	if len(leaf.URIs) != 1 {
		return ID{}, fmt.Errorf("own certificate carries %d URI SANs, want exactly one SPIFFE ID", len(leaf.URIs))
	}
	id, err := ParseID(leaf.URIs[0].String())
	if err != nil {
		return ID{}, fmt.Errorf("own certificate: %w", err)
	}
	return id, nil
}
