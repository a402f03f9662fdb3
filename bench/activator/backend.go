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
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	netheader "knative.dev/networking/pkg/http/header"

	"github.com/serverless-mesh/ssm/pkg/pool/leaseapi"
)

const (
	// greeting is what the backend answers, as test/function does.
	greeting = "hello from the bench backend"
	// viaHeader marks responses that came through the leased-proxy
	// stand-in, so each request's path is checked, not assumed.
	viaHeader  = "X-Bench-Via"
	viaStandIn = "stand-in"
)

// serveBackend is the child process: the backend, which answers Knative's
// readiness probes as queue-proxy does and everything else as test/function
// does, and a plain HTTP forwarder to it standing in for a leased Envoy. It
// prints both addresses and serves until its input closes.
func serveBackend(stdin io.Reader, stdout io.Writer) error {
	backendL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("backend listener: %w", err)
	}
	forwarderL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("forwarder listener: %w", err)
	}
	backend := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(netheader.ProbeKey) == "queue" {
			_, _ = io.WriteString(w, "queue")
			return
		}
		_, _ = io.WriteString(w, greeting)
	})}
	target := &url.URL{Scheme: "http", Host: backendL.Addr().String()}
	forwarder := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
		},
		Transport: &http.Transport{MaxIdleConns: maxIdleProxyConns, MaxIdleConnsPerHost: maxIdleProxyConnsPerHost, DisableCompression: true},
		ModifyResponse: func(resp *http.Response) error {
			resp.Header.Set(viaHeader, viaStandIn)
			return nil
		},
	}}
	errc := make(chan error, 2)
	go func() { errc <- backend.Serve(backendL) }()
	go func() { errc <- forwarder.Serve(forwarderL) }()
	fmt.Fprintf(stdout, "%s %s\n", backendL.Addr(), forwarderL.Addr())
	inputClosed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, stdin)
		close(inputClosed)
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-inputClosed:
	}
	backend.Close()
	forwarder.Close()
	return nil
}

// backendProcess is the running child.
type backendProcess struct {
	cmd                *exec.Cmd
	stdin              io.Closer
	backend, forwarder string
	done               chan struct{}
}

// startBackend starts this binary as the backend child and reads its
// addresses. The child dies with this process.
func startBackend(ctx context.Context) (*backendProcess, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding this binary: %w", err)
	}
	cmd := exec.Command(self, "-role", "backend")
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("backend input: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("backend output: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the backend: %w", err)
	}
	p := &backendProcess{cmd: cmd, stdin: stdin, done: make(chan struct{})}
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- line
		_ = cmd.Wait()
		close(p.done)
	}()
	select {
	case line := <-lines:
		fields := strings.Fields(line)
		if len(fields) != 2 {
			p.stop()
			return nil, fmt.Errorf("backend announced %q, want two addresses", line)
		}
		p.backend, p.forwarder = fields[0], fields[1]
		return p, nil
	case <-time.After(10 * time.Second):
	case <-ctx.Done():
	}
	p.stop()
	return nil, errors.New("backend did not announce its addresses within 10s")
}

// stop closes the child's input, which ends it, and kills it if it lingers.
func (p *backendProcess) stop() {
	p.stdin.Close()
	select {
	case <-p.done:
		return
	case <-time.After(5 * time.Second):
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// leaseServer grants every Lease the stand-in's address, as ssm-pool does
// once a warm proxy has ACKed the revision's configuration, and renews.
type leaseServer struct {
	leaseapi.UnimplementedLeasesServer
	address string
}

func (s *leaseServer) Lease(context.Context, *leaseapi.LeaseRequest) (*leaseapi.LeaseResponse, error) {
	return &leaseapi.LeaseResponse{Outcome: leaseapi.LeaseResponse_GRANTED, Address: s.address, Proxy: "stand-in", Pool: "knative-serving/bench"}, nil
}

func (s *leaseServer) Renew(context.Context, *leaseapi.RenewRequest) (*leaseapi.RenewResponse, error) {
	return &leaseapi.RenewResponse{Proxies: []string{"stand-in"}}, nil
}

// serveLeases serves the lease API on loopback until the returned stop is
// called.
func serveLeases(standIn string) (address string, stop func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("lease API listener: %w", err)
	}
	gs := grpc.NewServer()
	leaseapi.RegisterLeasesServer(gs, &leaseServer{address: standIn})
	go func() { _ = gs.Serve(l) }()
	return l.Addr().String(), gs.Stop, nil
}
