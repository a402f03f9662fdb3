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
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// craftLeaf signs a client certificate with arbitrary URI SANs, which Issue
// refuses to make, to exercise PeerID's checks.
func craftLeaf(t *testing.T, ca *CA, now time.Time, uris ...string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(42),
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	for _, raw := range uris {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		template.URIs = append(template.URIs, u)
	}
	der, err := x509.CreateCertificate(rand.Reader, template, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM
}

func uriSANSource(t *testing.T, ca *CA, now time.Time) CertSource {
	t.Helper()
	certPEM, keyPEM := craftLeaf(t, ca, now)
	return mustStaticSource(t, certPEM, keyPEM, ca)
}

func testPeerAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1234} }

// peerContext is what grpc puts in a handler's context for a TLS peer whose
// verified chain starts with leaf.
func peerContext(leaf *x509.Certificate) context.Context {
	info := credentials.TLSInfo{State: tls.ConnectionState{}}
	if leaf != nil {
		info.State.VerifiedChains = [][]*x509.Certificate{{leaf}}
	}
	return peer.NewContext(context.Background(), &peer.Peer{Addr: testPeerAddr(), AuthInfo: info})
}

func TestPeerID(t *testing.T) {
	t.Parallel()
	ca := mustCA(t, t0, time.Hour)
	leaf := func(uris ...string) *x509.Certificate {
		certPEM, _ := craftLeaf(t, ca, t0, uris...)
		return mustParseCert(t, certPEM)
	}
	tests := []struct {
		name    string
		ctx     context.Context
		want    ID
		wantErr string
	}{{
		name: "one SPIFFE URI",
		ctx:  peerContext(leaf("spiffe://cluster.local/ns/knative-serving/sa/activator")),
		want: ID{TrustDomain: "cluster.local", Namespace: "knative-serving", ServiceAccount: "activator"},
	}, {
		name:    "no peer",
		ctx:     context.Background(),
		wantErr: "no gRPC peer in context",
	}, {
		name:    "plaintext peer",
		ctx:     peer.NewContext(context.Background(), &peer.Peer{Addr: testPeerAddr()}),
		wantErr: "peer 127.0.0.1:1234: connection is not TLS",
	}, {
		name:    "TLS without a verified chain",
		ctx:     peerContext(nil),
		wantErr: "peer 127.0.0.1:1234: no verified certificate chain",
	}, {
		name:    "no URI SAN",
		ctx:     peerContext(leaf()),
		wantErr: "peer 127.0.0.1:1234: certificate has no URI SAN",
	}, {
		name: "two URI SANs",
		ctx: peerContext(leaf("spiffe://cluster.local/ns/a/sa/b",
			"spiffe://cluster.local/ns/knative-serving/sa/activator")),
		wantErr: "peer 127.0.0.1:1234: certificate has 2 URI SANs " +
			"(spiffe://cluster.local/ns/a/sa/b, spiffe://cluster.local/ns/knative-serving/sa/activator), want exactly one",
	}, {
		name:    "URI SAN not in SSM's layout",
		ctx:     peerContext(leaf("spiffe://cluster.local/workload/a")),
		wantErr: `peer 127.0.0.1:1234: SPIFFE ID "spiffe://cluster.local/workload/a": path "/workload/a" is not ns/<namespace>/sa/<serviceaccount>`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := PeerID(tt.ctx)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("PeerID error = %v\nwant %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("PeerID: %v", err)
			}
			if got != tt.want {
				t.Errorf("PeerID = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestNewAuthorizerRejectsBadPolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		policy  Policy
		wantErr string
	}{{
		name:    "empty",
		wantErr: "authorization policy is empty: every call would be denied",
	}, {
		name:    "prefix without leading slash",
		policy:  Policy{"grpc.health.v1.Health/": AllowIDs()},
		wantErr: `authorization policy: method prefix "grpc.health.v1.Health/" must start with "/"`,
	}, {
		name:    "nil AllowFunc",
		policy:  Policy{"/grpc.health.v1.Health/": nil},
		wantErr: `authorization policy: method prefix "/grpc.health.v1.Health/" has no AllowFunc`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := NewAuthorizer(tt.policy); err == nil || err.Error() != tt.wantErr {
				t.Errorf("NewAuthorizer error = %v, want %s", err, tt.wantErr)
			}
		})
	}
}

func TestAuthorize(t *testing.T) {
	t.Parallel()
	ca := mustCA(t, t0, time.Hour)
	ctxFor := func(uri string) context.Context {
		certPEM, _ := craftLeaf(t, ca, t0, uri)
		return peerContext(mustParseCert(t, certPEM))
	}
	activator := ctxFor("spiffe://cluster.local/ns/knative-serving/sa/activator")
	controller := ctxFor("spiffe://cluster.local/ns/knative-serving/sa/controller")
	proxy := ctxFor("spiffe://cluster.local/ns/demo/sa/ssm-proxy")
	authz, err := NewAuthorizer(Policy{
		// The whole service for the activator and the controller, but Stats
		// for the controller only: the longer prefix decides.
		"/ssm.pool.v1alpha1.Leases/": AllowIDs(
			NewID("cluster.local", "knative-serving", "activator"),
			NewID("cluster.local", "knative-serving", "controller")),
		"/ssm.pool.v1alpha1.Leases/Stats":                         AllowIDs(NewID("cluster.local", "knative-serving", "controller")),
		"/envoy.service.discovery.v3.AggregatedDiscoveryService/": AllowServiceAccount("cluster.local", "ssm-proxy"),
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		ctx      context.Context
		method   string
		wantCode codes.Code
		wantMsg  string
	}{{
		name:   "activator leases",
		ctx:    activator,
		method: "/ssm.pool.v1alpha1.Leases/Lease",
	}, {
		name:   "controller reads stats",
		ctx:    controller,
		method: "/ssm.pool.v1alpha1.Leases/Stats",
	}, {
		name:     "activator may not read stats",
		ctx:      activator,
		method:   "/ssm.pool.v1alpha1.Leases/Stats",
		wantCode: codes.PermissionDenied,
		wantMsg:  "peer spiffe://cluster.local/ns/knative-serving/sa/activator may not call /ssm.pool.v1alpha1.Leases/Stats",
	}, {
		name:   "pool proxy streams ADS",
		ctx:    proxy,
		method: "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources",
	}, {
		name:     "pool proxy may not lease",
		ctx:      proxy,
		method:   "/ssm.pool.v1alpha1.Leases/Lease",
		wantCode: codes.PermissionDenied,
		wantMsg:  "peer spiffe://cluster.local/ns/demo/sa/ssm-proxy may not call /ssm.pool.v1alpha1.Leases/Lease",
	}, {
		name:     "method outside the policy",
		ctx:      controller,
		method:   "/grpc.health.v1.Health/Check",
		wantCode: codes.PermissionDenied,
		wantMsg:  "peer spiffe://cluster.local/ns/knative-serving/sa/controller may not call /grpc.health.v1.Health/Check: no policy covers the method",
	}, {
		name:     "no verified peer",
		ctx:      peerContext(nil),
		method:   "/ssm.pool.v1alpha1.Leases/Lease",
		wantCode: codes.Unauthenticated,
		wantMsg:  "calling /ssm.pool.v1alpha1.Leases/Lease: peer 127.0.0.1:1234: no verified certificate chain",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := authz.Authorize(tt.ctx, tt.method)
			st := status.Convert(err)
			if st.Code() != tt.wantCode || st.Message() != tt.wantMsg {
				t.Errorf("Authorize = %v %q, want %v %q", st.Code(), st.Message(), tt.wantCode, tt.wantMsg)
			}
		})
	}
}
