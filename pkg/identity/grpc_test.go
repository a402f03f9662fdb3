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
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
)

// startHealthServer serves the gRPC health service on 127.0.0.1 behind
// ServerConfig and authz, and returns its address.
func startHealthServer(t *testing.T, source CertSource, authz *Authorizer) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	server := grpc.NewServer(
		grpc.Creds(credentials.NewTLS(ServerConfig(source))),
		grpc.ChainUnaryInterceptor(authz.Unary),
		grpc.ChainStreamInterceptor(authz.Stream),
	)
	healthpb.RegisterHealthServer(server, health.NewServer())
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = server.Serve(ln)
	}()
	t.Cleanup(func() {
		server.Stop()
		<-served
	})
	return ln.Addr().String()
}

func healthClient(t *testing.T, addr string, source CertSource) healthpb.HealthClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(ClientConfig(source, testServerName))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return healthpb.NewHealthClient(conn)
}

func TestAuthorizerOverGRPC(t *testing.T) {
	t.Parallel()
	now := time.Now()
	ca := mustCA(t, now, time.Hour)
	foreign := mustCA(t, now, time.Hour)
	serverCert, serverKey := mustIssue(t, ca, now, serverSpec())
	activator := NewID(testTrustDomain, "knative-serving", "activator")
	authz, err := NewAuthorizer(Policy{
		"/grpc.health.v1.Health/Check":       AllowIDs(activator),
		"/grpc.health.v1.Health/Watch":       AllowServiceAccount(testTrustDomain, ssm.PoolProxyServiceAccount),
		"/ssm.pool.v1alpha1.Leases/Lease":    AllowIDs(activator),
		"/envoy.service.discovery.v3.Aggreg": AllowServiceAccount(testTrustDomain, ssm.PoolProxyServiceAccount),
	})
	if err != nil {
		t.Fatal(err)
	}
	addr := startHealthServer(t, mustStaticSource(t, serverCert, serverKey, ca), authz)

	client := func(issuer *CA, spec *LeafSpec) CertSource {
		if spec == nil {
			return mustStaticSource(t, nil, nil, ca)
		}
		certPEM, keyPEM := mustIssue(t, issuer, now, *spec)
		return mustStaticSource(t, certPEM, keyPEM, ca)
	}
	activatorSpec := clientSpec("knative-serving", "activator")
	proxySpec := clientSpec("demo", "ssm-proxy")
	otherDomainProxy := LeafSpec{ID: NewID("other.domain", "demo", "ssm-proxy"), Client: true, Validity: time.Hour}

	tests := []struct {
		name     string
		source   CertSource
		stream   bool // Watch (a stream) rather than Check (unary)
		wantCode codes.Code
		wantMsg  string // a part of the status message, checked when not empty
	}{{
		name:     "allowed ID calls Check",
		source:   client(ca, &activatorSpec),
		wantCode: codes.OK,
	}, {
		name:     "other ID calls Check",
		source:   client(ca, &proxySpec),
		wantCode: codes.PermissionDenied,
		wantMsg:  "peer spiffe://cluster.local/ns/demo/sa/ssm-proxy may not call /grpc.health.v1.Health/Check",
	}, {
		name:     "pool proxy watches",
		source:   client(ca, &proxySpec),
		stream:   true,
		wantCode: codes.OK,
	}, {
		name:     "activator may not watch",
		source:   client(ca, &activatorSpec),
		stream:   true,
		wantCode: codes.PermissionDenied,
		wantMsg:  "peer spiffe://cluster.local/ns/knative-serving/sa/activator may not call /grpc.health.v1.Health/Watch",
	}, {
		name:     "pool proxy of another trust domain may not watch",
		source:   client(ca, &otherDomainProxy),
		stream:   true,
		wantCode: codes.PermissionDenied,
		wantMsg:  "peer spiffe://other.domain/ns/demo/sa/ssm-proxy may not call /grpc.health.v1.Health/Watch",
	}, {
		name:     "no client certificate: handshake fails",
		source:   client(ca, nil),
		wantCode: codes.Unavailable, // the alert itself is checked in TestServerConfigRejectsClients
	}, {
		name:     "client certificate of a foreign CA: handshake fails",
		source:   client(foreign, &activatorSpec),
		wantCode: codes.Unavailable,
	}, {
		name:     "certificate without URI SAN: unauthenticated",
		source:   uriSANSource(t, ca, now),
		wantCode: codes.Unauthenticated,
		wantMsg:  "certificate has no URI SAN",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), ioDeadline)
			defer cancel()
			health := healthClient(t, addr, tt.source)
			var resp *healthpb.HealthCheckResponse
			var err error
			if tt.stream {
				var watch grpc.ServerStreamingClient[healthpb.HealthCheckResponse]
				if watch, err = health.Watch(ctx, &healthpb.HealthCheckRequest{}); err == nil {
					resp, err = watch.Recv()
				}
			} else {
				resp, err = health.Check(ctx, &healthpb.HealthCheckRequest{})
			}
			st := status.Convert(err)
			if st.Code() != tt.wantCode {
				t.Fatalf("code = %v (%v), want %v", st.Code(), err, tt.wantCode)
			}
			if tt.wantMsg != "" && !strings.Contains(st.Message(), tt.wantMsg) {
				t.Errorf("message = %q, want it to contain %q", st.Message(), tt.wantMsg)
			}
			if tt.wantCode == codes.OK && resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Errorf("status = %v, want SERVING", resp.GetStatus())
			}
		})
	}
}
