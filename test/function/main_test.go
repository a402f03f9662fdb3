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
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"

	"github.com/serverless-mesh/ssm/test/wsframe"
)

func TestHandler(t *testing.T) {
	t.Parallel()
	h := handler("fn-00001")
	get := func(target string) (int, string) {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		body, err := io.ReadAll(rec.Result().Body)
		if err != nil {
			t.Fatalf("GET %s: reading the body: %v", target, err)
		}
		return rec.Code, string(body)
	}
	// In order: the counts of /served depend on the requests before them.
	steps := []struct {
		target   string
		wantCode int
		wantBody string
	}{
		{"/", http.StatusOK, "hello from fn-00001"},
		{"/?id=a-1", http.StatusOK, "hello from fn-00001 id a-1"},
		{"/?id=a-2", http.StatusOK, "hello from fn-00001 id a-2"},
		{"/?id=a-1", http.StatusOK, "hello from fn-00001 id a-1"},
		{"/?id=b-1", http.StatusOK, "hello from fn-00001 id b-1"},
		{"/sleep?d=1ms", http.StatusOK, "hello from fn-00001"},
		{"/sleep?d=soon", http.StatusBadRequest, "d must be a duration such as 200ms\n"},
		{"/served?prefix=a-", http.StatusOK, `{"a-1":2,"a-2":1}` + "\n"},
		{"/served?prefix=b-", http.StatusOK, `{"b-1":1}` + "\n"},
		{"/served?prefix=c-", http.StatusOK, "{}\n"},
		{"/served", http.StatusOK, `{"a-1":2,"a-2":1,"b-1":1}` + "\n"},
	}
	for _, s := range steps {
		code, body := get(s.target)
		if code != s.wantCode || body != s.wantBody {
			t.Errorf("GET %s = %d %q, want %d %q", s.target, code, body, s.wantCode, s.wantBody)
		}
	}
}

// TestProtocols: over a real listener, as queue-proxy reaches the function:
// a POST's body is counted, a websocket message is echoed, and gRPC's
// Health Check and Watch (over h2c) count their IDs.
func TestProtocols(t *testing.T) {
	t.Parallel()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{Handler: handler("fn-00001"), Protocols: &protocols, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { srv.Close() })
	addr := lis.Addr().String()

	resp, err := http.Post("http://"+addr+"/?id=post-1", "application/octet-stream", strings.NewReader(strings.Repeat("x", 1<<20)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := "hello from fn-00001 id post-1 bytes 1048576"; string(body) != want {
		t.Errorf("POST = %q, want %q", body, want)
	}

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	br, err := wsframe.Handshake(conn, "fn", "/ws?id=ws-1", "websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(wsframe.Frame([]byte("ping ws-1"), []byte{1, 2, 3, 4})); err != nil {
		t.Fatal(err)
	}
	if echo, err := wsframe.ReadFrame(br); err != nil || string(echo) != "ping ws-1" {
		t.Errorf("websocket echo = %q, %v", echo, err)
	}

	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	health := grpc_health_v1.NewHealthClient(cc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if r, err := health.Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: "grpc-1"}); err != nil || r.GetStatus() != grpc_health_v1.HealthCheckResponse_SERVING {
		t.Errorf("Check = %v, %v", r, err)
	}
	stream, err := health.Watch(ctx, &grpc_health_v1.HealthCheckRequest{Service: "grpc-2"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		if _, err := stream.Recv(); err != nil {
			if err != io.EOF {
				t.Errorf("Watch: %v", err)
			}
			break
		}
		n++
	}
	if n != 3 {
		t.Errorf("Watch sent %d answers, want 3", n)
	}

	rec := httptest.NewRecorder()
	srv.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/served", nil))
	if want := `{"grpc-1":1,"grpc-2":1,"post-1":1,"ws-1":1}` + "\n"; rec.Body.String() != want {
		t.Errorf("/served = %q, want %q", rec.Body.String(), want)
	}
}

// TestJournalOutlivesTheProcess: every served ID is a line of the journal,
// which a test reads after Knative removed the pod.
func TestJournalOutlivesTheProcess(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := newServedIDs(openJournal(dir, "fn-00001"))
	for _, id := range []string{"a-1", "a-2", "a-1"} {
		s.add(id)
	}
	if err := s.journal.Close(); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "fn-00001-*.log"))
	if err != nil || len(files) != 1 {
		t.Fatalf("journals = %v (%v), want one", files, err)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(data), "a-1\na-2\na-1\n"; got != want {
		t.Errorf("journal = %q, want %q", got, want)
	}
	if got := newServedIDs(openJournal("", "fn-00001")).journal; got != nil {
		t.Errorf("journal without a directory = %v, want none", got)
	}
}
