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
	"errors"
	"fmt"
)

// http2ALPN is the protocol gRPC negotiates; it must be in every config a
// GetConfigForClient callback returns, or gRPC clients reject the handshake.
const http2ALPN = "h2"

// ServerConfig is a TLS 1.3 server config for gRPC that requires a client
// certificate chaining to source's bundle. Certificate and bundle are read
// from source on every handshake, so rotation needs no restart.
func ServerConfig(source CertSource) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		NextProtos: []string{http2ALPN},
		ClientAuth: tls.RequireAndVerifyClientCert,
		// A resumed session would skip verifying the client against the
		// current bundle; gRPC connections are long-lived, so full handshakes
		// cost little.
		SessionTicketsDisabled: true,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			cert, err := source.Certificate()
			if err != nil {
				return nil, fmt.Errorf("server certificate: %w", err)
			}
			bundle, err := source.Bundle()
			if err != nil {
				return nil, fmt.Errorf("client CA bundle: %w", err)
			}
			return &tls.Config{
				MinVersion:             tls.VersionTLS13,
				NextProtos:             []string{http2ALPN},
				ClientAuth:             tls.RequireAndVerifyClientCert,
				SessionTicketsDisabled: true,
				Certificates:           []tls.Certificate{*cert},
				ClientCAs:              bundle,
			}, nil
		},
	}
}

// ClientConfig is a TLS 1.3 client config for gRPC that presents source's
// certificate and verifies the server's against source's bundle and
// serverName (or, when serverName is empty, the host name the client dials;
// an IP address is not enough). The server is identified by DNS name, not by
// SPIFFE ID: ssm-pool is the only server its clients talk to.
func ClientConfig(source CertSource, serverName string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		NextProtos: []string{http2ALPN},
		ServerName: serverName,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return source.Certificate()
		},
		// RootCAs is fixed per config, but the bundle must be re-read per
		// handshake, so Go's verification is switched off and done instead,
		// with the same checks, in VerifyConnection.
		InsecureSkipVerify: true, //nolint:gosec // verified in VerifyConnection
		VerifyConnection: func(state tls.ConnectionState) error {
			return verifyServer(source, serverName, state)
		},
	}
}

func verifyServer(source CertSource, serverName string, state tls.ConnectionState) error {
	if len(state.PeerCertificates) == 0 {
		return errors.New("server presented no certificate")
	}
	name := serverName
	if name == "" {
		name = state.ServerName
	}
	if name == "" {
		return errors.New("no server name to verify the server certificate against: pass one to ClientConfig")
	}
	bundle, err := source.Bundle()
	if err != nil {
		return fmt.Errorf("server CA bundle: %w", err)
	}
	intermediates := x509.NewCertPool()
	for _, cert := range state.PeerCertificates[1:] {
		intermediates.AddCert(cert)
	}
	opts := x509.VerifyOptions{
		Roots:         bundle,
		Intermediates: intermediates,
		DNSName:       name,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if _, err := state.PeerCertificates[0].Verify(opts); err != nil {
		return fmt.Errorf("verifying server certificate for %q: %w", name, err)
	}
	return nil
}
