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

package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	netheader "knative.dev/networking/pkg/http/header"
)

// TestBackendAndStandIn checks the child's two servers: Knative's probe is
// answered as queue-proxy answers it, other requests as the function, and
// only the stand-in marks what passed it.
func TestBackendAndStandIn(t *testing.T) {
	t.Parallel()
	stdinR, stdinW := io.Pipe()
	stdoutR, stdoutW := io.Pipe()
	served := make(chan error, 1)
	go func() { served <- serveBackend(stdinR, stdoutW) }()
	line, err := bufio.NewReader(stdoutR).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the addresses: %v", err)
	}
	addrs := strings.Fields(line)
	if len(addrs) != 2 {
		t.Fatalf("announced %q, want two addresses", line)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	tests := []struct {
		name, addr string
		probe      bool
		wantBody   string
		wantVia    string
	}{
		{"backend probe", addrs[0], true, "queue", ""},
		{"backend request", addrs[0], false, greeting, ""},
		{"stand-in request", addrs[1], false, greeting, viaStandIn},
		{"probe through the stand-in", addrs[1], true, "queue", viaStandIn},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(http.MethodGet, "http://"+tt.addr+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		if tt.probe {
			req.Header.Set(netheader.ProbeKey, "queue")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(body) != tt.wantBody || resp.Header.Get(viaHeader) != tt.wantVia {
			t.Errorf("%s: body %q (%v), %s %q; want %q, %q", tt.name, body, err, viaHeader, resp.Header.Get(viaHeader), tt.wantBody, tt.wantVia)
		}
	}
	stdinW.Close()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("serveBackend: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serveBackend did not return after its input closed")
	}
}

// TestSenderChecksThePath checks that a response that did not take the
// variant's path fails the request, so a variant cannot silently measure
// another one's path.
func TestSenderChecksThePath(t *testing.T) {
	t.Parallel()
	direct := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Knative-Serving-Revision") != leasedRevision || r.Header.Get("Knative-Serving-Namespace") != benchNamespace {
			http.Error(w, "no revision headers", http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, greeting)
	}))
	defer direct.Close()
	addr := strings.TrimPrefix(direct.URL, "http://")
	tests := []struct {
		name      string
		via       bool
		checkPath bool
		wantErr   bool
	}{
		{"direct, expected direct", false, true, false},
		{"direct, expected the stand-in", true, true, true},
		{"direct, expected the stand-in, warm-up does not check", true, false, false},
	}
	for _, tt := range tests {
		send := sender(direct.Client(), target{activator: addr, revision: leasedRevision, viaStandIn: tt.via}, 1, tt.checkPath)
		if err := send(context.Background(), 0); (err != nil) != tt.wantErr {
			t.Errorf("%s: send = %v, want error %t", tt.name, err, tt.wantErr)
		}
	}
}
