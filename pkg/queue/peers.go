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
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	"github.com/serverless-mesh/ssm/pkg/identity"
)

const (
	// ActivatorServiceAccount is the ServiceAccount of Knative's activator.
	ActivatorServiceAccount = "activator"

	// Refusal reasons, the "reason" attribute of the refused-peers metric.
	reasonNoCertificate = "no-certificate"
	reasonUntrusted     = "untrusted"
	reasonBadIdentity   = "bad-identity"
	reasonNotAllowed    = "not-allowed"
	reasonNoMaterial    = "no-certificate-material"
	reasonPlaintext     = "plaintext"
)

// Peers are the identities that may reach a revision over mTLS.
type Peers struct {
	allowed map[identity.ID]string
}

// NewPeers allows the pool proxies whose pool may serve a revision in
// namespace (pools in the revision's own namespace and in the system
// namespace) and the activator, all in trustDomain.
func NewPeers(trustDomain, namespace, systemNamespace string) Peers {
	p := Peers{allowed: map[identity.ID]string{
		identity.NewID(trustDomain, systemNamespace, ssm.PoolProxyServiceAccount): "pool-proxy",
		identity.NewID(trustDomain, systemNamespace, ActivatorServiceAccount):     "activator",
	}}
	p.allowed[identity.NewID(trustDomain, namespace, ssm.PoolProxyServiceAccount)] = "pool-proxy"
	return p
}

// kind returns what an allowed peer is ("pool-proxy", "activator"), or ""
// when id may not connect.
func (p Peers) kind(id identity.ID) string { return p.allowed[id] }

// refusal is a handshake refused by the peer check, with the metric reason.
type refusal struct {
	reason string
	err    error
}

func (r *refusal) Error() string { return r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

// serverTLSConfig builds the mTLS server's configuration. It re-reads source
// on every handshake, so a rotated certificate or bundle applies to the next
// connection without a restart. Client certificates are requested but
// verified here rather than by crypto/tls, so that every refusal, including
// a missing certificate, passes through one place and is counted by reason.
func serverTLSConfig(source identity.CertSource, peers Peers, m *metrics) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			cert, err := source.Certificate()
			if err != nil {
				m.handshake(false, reasonNoMaterial)
				return nil, fmt.Errorf("queue-proxy mTLS server certificate: %w", err)
			}
			bundle, err := source.Bundle()
			if err != nil {
				m.handshake(false, reasonNoMaterial)
				return nil, fmt.Errorf("queue-proxy mTLS client CA bundle: %w", err)
			}
			return &tls.Config{
				MinVersion:             tls.VersionTLS13,
				NextProtos:             []string{"h2", "http/1.1"},
				Certificates:           []tls.Certificate{*cert},
				ClientAuth:             tls.RequestClientCert,
				SessionTicketsDisabled: true,
				VerifyConnection: func(state tls.ConnectionState) error {
					kind, err := verifyPeer(state, bundle, peers)
					if err != nil {
						var r *refusal
						reason := reasonUntrusted
						if errors.As(err, &r) {
							reason = r.reason
						}
						m.handshake(false, reason)
						return err
					}
					m.handshake(true, kind)
					return nil
				},
			}, nil
		},
	}
}

// verifyPeer checks that the client certificate chains to bundle for client
// authentication and carries exactly one SPIFFE ID that peers allows.
func verifyPeer(state tls.ConnectionState, bundle *x509.CertPool, peers Peers) (string, error) {
	if len(state.PeerCertificates) == 0 {
		return "", &refusal{reasonNoCertificate, errors.New("client presented no certificate")}
	}
	leaf := state.PeerCertificates[0]
	intermediates := x509.NewCertPool()
	for _, c := range state.PeerCertificates[1:] {
		intermediates.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots:         bundle,
		Intermediates: intermediates,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return "", &refusal{reasonUntrusted, fmt.Errorf("client certificate: %w", err)}
	}
	if len(leaf.URIs) != 1 {
		return "", &refusal{reasonBadIdentity, fmt.Errorf("client certificate has %d URI SANs, want one SPIFFE ID", len(leaf.URIs))}
	}
	id, err := identity.ParseID(leaf.URIs[0].String())
	if err != nil {
		return "", &refusal{reasonBadIdentity, fmt.Errorf("client certificate: %w", err)}
	}
	kind := peers.kind(id)
	if kind == "" {
		return "", &refusal{reasonNotAllowed, fmt.Errorf("peer %s may not call this revision", id)}
	}
	return kind, nil
}
