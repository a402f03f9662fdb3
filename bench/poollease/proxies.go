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
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/serverless-mesh/ssm/pkg/identity"
	"github.com/serverless-mesh/ssm/pkg/pool/adsclient"
)

// childServer is the server process and the line protocol to it.
type childServer struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	addr  string
}

// startServer runs this binary again in the server role and waits for its
// address.
func startServer(ctx context.Context, kind, certRoot string, revisions int) (*childServer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding this program to start the server: %w", err)
	}
	cmd := exec.CommandContext(ctx, exe, "-role=server", "-server="+kind, "-certs="+certRoot,
		"-revisions="+strconv.Itoa(revisions))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("server stdin: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("server stdout: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the server process: %w", err)
	}
	c := &childServer{cmd: cmd, stdin: stdin, lines: make(chan string, 4)}
	go func() {
		defer close(c.lines)
		scan := bufio.NewScanner(stdout)
		for scan.Scan() {
			c.lines <- scan.Text()
		}
	}()
	line, err := c.next(ctx)
	if err != nil {
		c.stop()
		return nil, err
	}
	addr, ok := strings.CutPrefix(line, "addr ")
	if !ok {
		c.stop()
		return nil, fmt.Errorf("server process said %q, want its address", line)
	}
	c.addr = addr
	return c, nil
}

func (c *childServer) next(ctx context.Context) (string, error) {
	select {
	case line, ok := <-c.lines:
		if !ok {
			return "", errors.New("server process exited")
		}
		return line, nil
	case <-ctx.Done():
		return "", fmt.Errorf("waiting for the server process: %w", ctx.Err())
	}
}

// heap is one process's memory after a GC.
type heap struct {
	inuse, alloc, stacks uint64
	goroutines           int
}

func (c *childServer) heap(ctx context.Context) (heap, error) {
	if _, err := io.WriteString(c.stdin, "mem\n"); err != nil {
		return heap{}, fmt.Errorf("asking the server for its heap: %w", err)
	}
	line, err := c.next(ctx)
	if err != nil {
		return heap{}, err
	}
	var h heap
	if _, err := fmt.Sscanf(line, "mem %d %d %d %d", &h.inuse, &h.alloc, &h.stacks, &h.goroutines); err != nil {
		return heap{}, fmt.Errorf("server heap line %q: %w", line, err)
	}
	return h, nil
}

// stop ends the server: end of input, then a kill if it lingers.
func (c *childServer) stop() {
	_ = c.stdin.Close()
	exited := make(chan struct{})
	go func() {
		_ = c.cmd.Wait()
		close(exited)
	}()
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-exited
	}
}

// proxy is one simulated pooled Envoy: its own connection, as each Envoy
// pod has, and one ADS stream.
type proxy struct {
	conn *grpc.ClientConn
	ads  *adsclient.Client
}

func (p proxy) close() {
	if p.ads != nil {
		_ = p.ads.Close()
	}
	_ = p.conn.Close()
}

// connectProxies opens n proxies, parallel at a time, and returns them even
// when one fails, so the caller can close what was opened.
func connectProxies(ctx context.Context, addr, certDir string, n, parallel int) ([]proxy, error) {
	creds := credentials.NewTLS(identity.ClientConfig(identity.NewFileSource(certDir), serverName))
	proxies := make([]proxy, n)
	errs := make([]error, n)
	slots := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i := range n {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return compact(proxies), fmt.Errorf("connecting proxies: %w", ctx.Err())
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			proxies[i], errs[i] = connectProxy(ctx, addr, creds, i)
		}()
	}
	wg.Wait()
	return compact(proxies), errors.Join(errs...)
}

func connectProxy(ctx context.Context, addr string, creds credentials.TransportCredentials, i int) (proxy, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		return proxy{}, fmt.Errorf("proxy %d: %w", i, err)
	}
	ads, err := adsclient.Dial(ctx, conn, adsclient.Config{
		Node: &corev3.Node{
			Id:      fmt.Sprintf("ssm-proxy-%05d", i),
			Cluster: systemNamespace + "/" + poolName,
		},
		TypeURLs: []string{resourcev3.ClusterType, resourcev3.EndpointType, resourcev3.ListenerType, resourcev3.RouteType},
		// Nobody reads the updates; one slot keeps the client small.
		UpdatesBuffer: 1,
	})
	if err != nil {
		_ = conn.Close()
		return proxy{}, fmt.Errorf("proxy %d: %w", i, err)
	}
	return proxy{conn: conn, ads: ads}, nil
}

func compact(proxies []proxy) []proxy {
	out := proxies[:0:0]
	for _, p := range proxies {
		if p.conn != nil {
			out = append(out, p)
		}
	}
	return out
}
