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
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/serverless-mesh/ssm/pkg/pool/identity"
)

// BenchmarkMTLSOverhead compares one request through the plugin's mTLS port
// (TLS 1.3 + HTTP/2 termination, peer check at the handshake, loopback hop to
// the upstream) with the same request sent in plaintext straight to the
// upstream. Both clients keep connections alive, so the handshake is paid
// once; the difference is the per-request cost pool traffic pays.
func BenchmarkMTLSOverhead(b *testing.B) {
	ca := newTestCA(b)
	dir := b.TempDir()
	writeServerIdentity(b, dir, ca, testNow)
	upstream := startUpstream(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok") //nolint:errcheck
	}))
	mtlsAddr := startMTLS(b, identity.NewFileSource(dir), upstream, nil)

	plain := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 10 * time.Second}
	b.Cleanup(plain.CloseIdleConnections)
	cases := []struct {
		name   string
		client *http.Client
		url    string
	}{
		{"plaintext-direct", plain, "http://" + upstream + "/"},
		{"mtls-via-plugin", clientFor(b, ca, ca, identity.NewID("cluster.local", "team-a", "ssm-proxy")), "https://" + mtlsAddr + "/"},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				resp, err := bc.client.Get(bc.url)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body) //nolint:errcheck
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}
