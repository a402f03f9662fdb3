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

// Command function is the user container of the local cluster's running
// data plane (hack/cluster.sh, SSM_DATAPLANE=1): test/podrunner starts it
// for every container whose image is not the queue-proxy's. It is a test
// fixture and never ships.
//
//	GET /            "hello from $K_REVISION"
//	GET /?id=ID      "hello from $K_REVISION id ID", and counts ID as served
//	POST /?id=ID     the same, plus " bytes N" (the body's length)
//	GET /sleep?d=D   sleeps D (at most 30s), then answers the same
//	GET /served?prefix=P  JSON {"ID": times served, ...} of the IDs this
//	                 process served that start with P
//	GET /ws?id=ID    a websocket: echoes one text message, then closes
//	gRPC grpc.health.v1.Health: Check and Watch count the request's
//	                 service field as the ID; Watch sends three answers
//
// It serves HTTP/1.1 and prior-knowledge h2c on one port (gRPC needs
// HTTP/2), so one binary plays an http1 and an h2c revision.
//
// The counts let a test prove that each of its requests ran exactly once
// (none lost, none run twice by a retry or a loop) and in which revision.
// With SERVED_JOURNAL_DIR set, each served ID is also appended as a line to
// $SERVED_JOURNAL_DIR/$K_REVISION-<pid>.log, so the counts outlive a pod
// that Knative scales down before the test asks it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health/grpc_health_v1"
)

// maxSleep bounds /sleep so that a typo in a test cannot hold a pod forever.
const maxSleep = 30 * time.Second

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	revision := os.Getenv("K_REVISION")
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{Addr: ":" + port, Handler: handler(revision), ReadHeaderTimeout: 10 * time.Second, Protocols: &protocols}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Printf("function %q serving on :%s", revision, port)

	select {
	case err := <-errc:
		log.Fatalf("serving: %v", err)
	case <-ctx.Done():
	}
	// Like a well-behaved user container: finish in-flight requests. The
	// queue-proxy in front has already stopped sending new ones.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Printf("shutdown: %v", err)
	}
	log.Print("function stopped")
}

// handler serves the function's endpoints for revision.
func handler(revision string) http.Handler {
	greeting := "hello from " + revision
	served := newServedIDs(openJournal(os.Getenv("SERVED_JOURNAL_DIR"), revision))
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("id")
		if id == "" {
			fmt.Fprint(w, greeting)
			return
		}
		if r.Method == http.MethodPost {
			n, err := io.Copy(io.Discard, r.Body)
			if err != nil {
				http.Error(w, "reading the body: "+err.Error(), http.StatusBadRequest)
				return
			}
			served.add(id)
			fmt.Fprintf(w, "%s id %s bytes %d", greeting, id, n)
			return
		}
		served.add(id)
		fmt.Fprint(w, greeting+" id "+id)
	})
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		serveWebsocket(w, r, served)
	})
	mux.HandleFunc("/served", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if err := json.NewEncoder(w).Encode(served.withPrefix(r.URL.Query().Get("prefix"))); err != nil {
			log.Printf("/served: %v", err)
		}
	})
	mux.HandleFunc("/sleep", func(w http.ResponseWriter, r *http.Request) {
		d, err := time.ParseDuration(r.URL.Query().Get("d"))
		if err != nil || d < 0 {
			http.Error(w, "d must be a duration such as 200ms", http.StatusBadRequest)
			return
		}
		select {
		case <-time.After(min(d, maxSleep)):
		case <-r.Context().Done():
			return
		}
		fmt.Fprint(w, greeting)
	})
	grpcServer := grpc.NewServer()
	grpc_health_v1.RegisterHealthServer(grpcServer, &health{served: served})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
			grpcServer.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// health is grpc.health.v1.Health, counting the service field as the ID.
type health struct {
	grpc_health_v1.UnimplementedHealthServer
	served *servedIDs
}

func (h *health) Check(_ context.Context, req *grpc_health_v1.HealthCheckRequest) (*grpc_health_v1.HealthCheckResponse, error) {
	h.served.add(req.GetService())
	return &grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING}, nil
}

func (h *health) Watch(req *grpc_health_v1.HealthCheckRequest, stream grpc_health_v1.Health_WatchServer) error {
	h.served.add(req.GetService())
	for range 3 {
		if err := stream.Send(&grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING}); err != nil {
			return err
		}
	}
	return nil
}

// maxServedIDs bounds the memory a long-running function spends on counts;
// beyond it new IDs are not counted (tests send far fewer to one pod).
const maxServedIDs = 1 << 20

// servedIDs counts how often each request ID was served.
type servedIDs struct {
	mu     sync.Mutex
	counts map[string]int
	// journal, when not nil, gets one line per served ID.
	journal *os.File
}

func newServedIDs(journal *os.File) *servedIDs {
	return &servedIDs{counts: map[string]int{}, journal: journal}
}

// openJournal opens this process's journal in dir; nil when dir is empty.
// A journal that cannot be opened stops the function: a test that asked for
// one would otherwise count requests as lost.
func openJournal(dir, revision string) *os.File {
	if dir == "" {
		return nil
	}
	name := filepath.Join(dir, fmt.Sprintf("%s-%d.log", revision, os.Getpid()))
	f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		log.Fatalf("opening the served-ID journal: %v", err)
	}
	return f
}

func (s *servedIDs) add(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.counts[id]; ok || len(s.counts) < maxServedIDs {
		s.counts[id]++
	}
	if s.journal != nil {
		// Under mu, one write per line: lines never interleave.
		if _, err := s.journal.WriteString(id + "\n"); err != nil {
			log.Printf("served-ID journal: %v", err)
		}
	}
}

func (s *servedIDs) withPrefix(prefix string) map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for id, n := range s.counts {
		if strings.HasPrefix(id, prefix) {
			out[id] = n
		}
	}
	return out
}
