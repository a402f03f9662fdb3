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
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.uber.org/zap/zaptest"
	pkgnet "knative.dev/pkg/network"

	"github.com/serverless-mesh/ssm/pkg/identity"
)

func TestActivate(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t)
	certDir := t.TempDir()
	writeServerIdentity(t, certDir, ca, testNow)

	tests := []struct {
		name            string
		annotations     *string // nil: no file
		wantActive      bool
		wantPlainRemote int // status of a plaintext request from 10.0.0.9
	}{
		{"no podinfo file", nil, false, http.StatusOK},
		{"switch off", ptr("ssm.dev/lifecycle=\"short-lived\"\n"), false, http.StatusOK},
		{"lightweight", ptr("qpoption.knative.dev/ssm-activate=\"enable\"\nssm.dev/lifecycle=\"short-lived\"\n"), true, http.StatusForbidden},
		{"full", ptr("qpoption.knative.dev/ssm-activate=\"enable\"\nssm.dev/mtls-mode=\"full\"\nssm.dev/proxy-pool=\"none\"\n"), true, http.StatusOK},
		{"unparsable file fails closed", ptr("qpoption.knative.dev/ssm-activate=enable\n"), true, http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "annotations")
			if tc.annotations != nil {
				if err := os.WriteFile(path, []byte(*tc.annotations), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			// queue-proxy's main port, serving the plugin's Handler, so that
			// mTLS requests pass the same chain as plaintext ones.
			mainPort, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			upstream := mainPort.Addr().String()
			reader := sdkmetric.NewManualReader()
			ctx, cancel := context.WithCancel(context.Background())
			opts := Options{
				AnnotationsPath: path,
				CertDir:         certDir,
				TrustDomain:     testTrustDomain,
				SystemNamespace: testSystemNS,
				MTLSAddr:        "127.0.0.1:0",
				Upstream:        upstream,
				RevisionTimeout: time.Minute,
				MeterProvider:   sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
			}
			inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
			p := Activate(ctx, zaptest.NewLogger(t).Sugar(), testNamespace, opts, inner)
			t.Cleanup(func() {
				cancel()
				select {
				case <-p.Stopped():
				case <-time.After(30 * time.Second):
					t.Error("mTLS server did not stop within 30s of ctx ending")
				}
			})

			mainServer := pkgnet.NewServer("", p.Handler)
			go mainServer.Serve(mainPort) //nolint:errcheck // ends with Close
			t.Cleanup(func() { mainServer.Close() })

			if p.Settings.Active != tc.wantActive {
				t.Fatalf("Active = %v, want %v (settings %+v)", p.Settings.Active, tc.wantActive, p.Settings)
			}
			req := httptest.NewRequest(http.MethodGet, "http://fn/", nil)
			req.RemoteAddr = "10.0.0.9:5000"
			rec := httptest.NewRecorder()
			p.Handler.ServeHTTP(rec, req)
			if rec.Code != tc.wantPlainRemote {
				t.Errorf("plaintext from 10.0.0.9: status %d, want %d", rec.Code, tc.wantPlainRemote)
			}
			if !tc.wantActive {
				if p.MTLSAddr() != nil {
					t.Errorf("MTLSAddr = %v, want no mTLS server", p.MTLSAddr())
				}
				return
			}
			client := clientFor(t, ca, ca, identity.NewID("cluster.local", "team-a", "ssm-proxy"))
			code, body, err := get(t, client, "https://"+p.MTLSAddr().String()+"/")
			if err != nil || code != http.StatusOK {
				t.Fatalf("through the mTLS port: %d %q %v, want 200", code, body, err)
			}
			waitCounter(t, reader, MetricRequests, attrPeer, "pool-proxy", 1)
		})
	}
}

func ptr(s string) *string { return &s }

// TestActivateTakesTheTrustDomainFromThePodsCertificate: in a pod the
// plugin is told no trust domain; it accepts pooled proxies of the trust
// domain its own certificate names, and no other. Without a certificate
// it opens no mTLS port and still refuses plaintext from outside.
func TestActivateTakesTheTrustDomainFromThePodsCertificate(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t)
	path := filepath.Join(t.TempDir(), "annotations")
	if err := os.WriteFile(path, []byte("qpoption.knative.dev/ssm-activate=\"enable\"\nssm.dev/lifecycle=\"short-lived\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := OptionsFromEnv(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	opts.AnnotationsPath, opts.MTLSAddr, opts.Upstream = path, "127.0.0.1:0", startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
	opts.MeterProvider = sdkmetric.NewMeterProvider()
	opts.DrainDelay = time.Millisecond
	activate := func(certDir string) *Plugin {
		t.Helper()
		opts := opts
		opts.CertDir = certDir
		ctx, cancel := context.WithCancel(context.Background())
		p := Activate(ctx, zaptest.NewLogger(t).Sugar(), testNamespace, opts, http.NotFoundHandler())
		t.Cleanup(func() {
			cancel()
			<-p.Stopped()
		})
		return p
	}

	certDir := t.TempDir()
	writeServerIdentityIn(t, certDir, ca, testNow, "mesh.example")
	p := activate(certDir)
	if p.MTLSAddr() == nil {
		t.Fatal("no mTLS port")
	}
	url := "https://" + p.MTLSAddr().String() + "/"
	if code, body, err := get(t, clientFor(t, ca, ca, identity.NewID("mesh.example", "team-a", "ssm-proxy")), url); err != nil || code != http.StatusOK {
		t.Errorf("pooled proxy of the pod's trust domain: %d %q %v, want 200", code, body, err)
	}
	if code, _, err := get(t, clientFor(t, ca, ca, identity.NewID("cluster.local", "team-a", "ssm-proxy")), url); err == nil {
		t.Errorf("pooled proxy of another trust domain: %d, want the handshake refused", code)
	}

	empty := activate(t.TempDir())
	if empty.MTLSAddr() != nil {
		t.Errorf("without a certificate: mTLS port %v, want none", empty.MTLSAddr())
	}
	req := httptest.NewRequest(http.MethodGet, "http://fn/", nil)
	req.RemoteAddr = "10.0.0.9:5000"
	rec := httptest.NewRecorder()
	empty.Handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Errorf("without a certificate, plaintext from 10.0.0.9: %d, want %d", rec.Code, http.StatusForbidden)
	}
}
