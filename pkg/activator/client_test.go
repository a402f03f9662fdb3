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

package activator

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/serverless-mesh/ssm/pkg/identity"
	"github.com/serverless-mesh/ssm/pkg/pool/leaseapi"
)

const poolHost = "ssm-pool.knative-serving.svc"

func TestDialPool(t *testing.T) {
	t.Parallel()
	// The CA and leaves are valid around the wall clock: the TLS handshake
	// checks them against it.
	now := time.Now()
	ca, err := identity.NewCA(now.Add(-time.Hour), 24*time.Hour)
	if err != nil {
		t.Fatalf("NewCA: %v", err)
	}
	issue := func(dir string, spec identity.LeafSpec) {
		certPEM, keyPEM, err := ca.Issue(now.Add(-time.Minute), spec)
		if err != nil {
			t.Fatalf("Issue: %v", err)
		}
		caPEM, _ := ca.PEM()
		for name, data := range map[string][]byte{identity.TLSCertKey: certPEM, identity.TLSKeyKey: keyPEM, identity.CACertKey: caPEM} {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	serverDir, clientDir := t.TempDir(), t.TempDir()
	issue(serverDir, identity.LeafSpec{ID: identity.NewID("cluster.local", "knative-serving", "ssm-pool"),
		DNSNames: []string{poolHost}, Server: true})
	issue(clientDir, identity.LeafSpec{ID: identity.NewID("cluster.local", "knative-serving", "activator"), Client: true})

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	gs := grpc.NewServer(grpc.Creds(credentials.NewTLS(identity.ServerConfig(identity.NewFileSource(serverDir)))))
	leaseapi.RegisterLeasesServer(gs, &leaseServer{answer: granted(proxyAddress), called: make(chan struct{}, 1)})
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)

	t.Run("identity present", func(t *testing.T) {
		conn, err := DialPool(lis.Addr().String(), clientDir, poolHost)
		if err != nil {
			t.Fatalf("DialPool: %v", err)
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), waitDeadline)
		defer cancel()
		resp, err := leaseapi.NewLeasesClient(conn).Lease(ctx, &leaseapi.LeaseRequest{
			Revision: &leaseapi.Revision{Namespace: pooledRev.Namespace, Name: pooledRev.Name}})
		if err != nil {
			t.Fatalf("Lease over mTLS: %v", err)
		}
		if resp.GetAddress() != proxyAddress {
			t.Errorf("Lease address = %q, want %q", resp.GetAddress(), proxyAddress)
		}
	})
	t.Run("identity missing", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "none")
		_, err := DialPool(lis.Addr().String(), missing, poolHost)
		if err == nil || !strings.Contains(err.Error(), missing) {
			t.Errorf("DialPool without an identity: %v, want an error naming %s", err, missing)
		}
	})
}

func TestDefaultPoolAddress(t *testing.T) {
	t.Parallel()
	if got, want := DefaultPoolAddress("knative-serving"), "ssm-pool.knative-serving.svc:18000"; got != want {
		t.Errorf("DefaultPoolAddress = %q, want %q", got, want)
	}
	if got, want := PoolServerHost("knative-serving"), poolHost; got != want {
		t.Errorf("PoolServerHost = %q, want %q", got, want)
	}
}
