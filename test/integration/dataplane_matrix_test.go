//go:build integration

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

package integration

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	corev1 "k8s.io/api/core/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/serverless-mesh/ssm/test/wsframe"
)

// matrixTimeout is the matrix revisions' timeoutSeconds: no request may be
// held longer.
const matrixTimeout = 30 * time.Second

// matrixPath is how a revision is served: the annotations that make it so.
type matrixPath struct {
	name        string
	annotations map[string]string
}

var matrixPaths = []matrixPath{
	{"plain", nil}, // no ssm.dev annotation: Knative's own path
	{"sidecarless", map[string]string{"ssm.dev/lifecycle": "short-lived", "ssm.dev/proxy-pool": "none"}},
	{"leased", map[string]string{"ssm.dev/lifecycle": "short-lived"}},
}

// matrixRequest is one kind of request: n of them are sent at once, from
// zero, each with its own id, and each must be answered once.
type matrixRequest struct {
	name string
	// h2c revisions (port named h2c) serve HTTP/2 kinds, http1 ones the
	// rest: a websocket needs HTTP/1.1 all the way, gRPC HTTP/2.
	h2c  bool
	n    int
	send func(ctx context.Context, service, revision, id string) error
}

var matrixRequests = []matrixRequest{
	{name: "http1-get", n: 6, send: matrixGet},
	{name: "post-10MiB", n: 2, send: matrixPost},
	{name: "websocket", n: 3, send: matrixWebsocket},
	{name: "h2c-get", h2c: true, n: 6, send: matrixH2CGet},
	{name: "grpc-unary", h2c: true, n: 6, send: matrixGRPCUnary},
	{name: "grpc-stream", h2c: true, n: 3, send: matrixGRPCStream},
}

// matrixCell is one cell's outcome.
type matrixCell struct {
	name            string
	sent, lost, dup int
	late            int
	latencies       []time.Duration
	via             string
}

// TestDataplaneMatrix: containerConcurrency {0, 1, 10} × path {plain
// Knative, sidecar-less, leased} × request {HTTP/1.1 GET, 10 MiB POST,
// websocket, h2c GET, gRPC unary, gRPC server streaming}, each cell from
// zero through SSM's activator, each request with an id the function
// counts. Every cell: none lost, none run twice, none held past the
// revision's timeout. The table it logs has each cell's count and latency
// percentiles, and for leased cells how many requests a pooled stand-in
// carried: a burst from zero reaches its leased proxy before the new pod's
// endpoint does and falls back to Knative's path (the refusal the activator
// replays), and two stand-ins serve six leased revisions.
func TestDataplaneMatrix(t *testing.T) {
	requireDataplane(t)
	c := newClients(t)
	ensureNamespace(t, c, dataplaneNS)
	var (
		mu    sync.Mutex
		cells []matrixCell
	)
	// Every service at once, not t.Parallel: that would run only
	// GOMAXPROCS of them at a time, and each spends most of its time
	// waiting for its revision to scale to zero.
	var services sync.WaitGroup
	t.Run("cells", func(t *testing.T) {
		for _, cc := range []int64{0, 1, 10} {
			for _, path := range matrixPaths {
				for _, h2c := range []bool{false, true} {
					flavour := "http1"
					if h2c {
						flavour = "h2c"
					}
					service := fmt.Sprintf("m-%s-%s-cc%d", path.name, flavour, cc)
					services.Add(1)
					go func() {
						defer services.Done()
						t.Run(service, func(t *testing.T) {
							spec := servingv1.RevisionSpec{ContainerConcurrency: &cc, TimeoutSeconds: ptrInt64(int64(matrixTimeout / time.Second))}
							if h2c {
								spec.Containers = []corev1.Container{{Ports: []corev1.ContainerPort{{Name: "h2c", ContainerPort: 8080}}}}
							}
							revision := deployFunctionSpec(t, c, service, path.annotations, spec)
							for _, req := range matrixRequests {
								if req.h2c != h2c {
									continue
								}
								waitScaledToZero(t, c, revision)
								forwardedBefore := standinForwarded(c, revision)
								cell := runMatrixCell(t, c, service, revision, req)
								cell.name = fmt.Sprintf("cc=%-2d %-11s %-11s", cc, path.name, req.name)
								if path.name == "leased" {
									cell.via = fmt.Sprintf("%d by a proxy", standinForwarded(c, revision)-forwardedBefore)
								}
								mu.Lock()
								cells = append(cells, cell)
								mu.Unlock()
							}
						})
					}()
				}
			}
		}
		services.Wait()
	})
	sort.Slice(cells, func(i, j int) bool { return cells[i].name < cells[j].name })
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-52s %4s %4s %5s %4s %9s %9s %s\n", "cell", "sent", "lost", "twice", "late", "p50", "p99", "leased: carried")
	for _, cell := range cells {
		p50, p99 := percentile(cell.latencies, 50), percentile(cell.latencies, 99)
		fmt.Fprintf(&b, "%-52s %4d %4d %5d %4d %9v %9v %s\n", cell.name, cell.sent, cell.lost, cell.dup, cell.late,
			p50.Round(time.Millisecond), p99.Round(time.Millisecond), cell.via)
	}
	t.Log(b.String())
}

// runMatrixCell sends req.n requests at once to the revision at zero and
// checks, through the function's counts, that each ran exactly once.
func runMatrixCell(t *testing.T, c *clients, service, revision string, req matrixRequest) matrixCell {
	t.Helper()
	prefix := fmt.Sprintf("%s-%d-", req.name, time.Now().UnixNano())
	cell := matrixCell{sent: req.n}
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	for i := range req.n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), matrixTimeout+10*time.Second)
			defer cancel()
			start := time.Now()
			err := req.send(ctx, service, revision, fmt.Sprintf("%s%d", prefix, i))
			took := time.Since(start)
			mu.Lock()
			defer mu.Unlock()
			cell.latencies = append(cell.latencies, took)
			if took > matrixTimeout {
				cell.late++
				t.Errorf("%s %s request %d held %v, past the revision timeout %v", revision, req.name, i, took, matrixTimeout)
			}
			if err != nil {
				t.Errorf("%s %s request %d: %v", revision, req.name, i, err)
			}
		}()
	}
	wg.Wait()
	// The journals of every pod that ran the revision: a burst from zero
	// may have scaled it to several pods, which Knative may already have
	// removed again.
	counts, err := servedJournal(c, revision, prefix)
	if err != nil {
		t.Errorf("%s: %v", revision, err)
		cell.lost = req.n
		return cell
	}
	for i := range req.n {
		switch n := counts[fmt.Sprintf("%s%d", prefix, i)]; {
		case n == 0:
			cell.lost++
		case n > 1:
			cell.dup++
		}
	}
	if cell.lost > 0 || cell.dup > 0 {
		t.Errorf("%s %s: %d of %d never ran, %d ran more than once", revision, req.name, cell.lost, req.n, cell.dup)
	}
	return cell
}

// standinForwarded counts the requests of the revision the pooled
// stand-ins have forwarded so far (their logs).
func standinForwarded(c *clients, revision string) int {
	logs, err := standinLogs(c)
	if err != nil {
		return 0
	}
	return strings.Count(logs, "for cluster ssm/"+dataplaneNS+"/"+revision+" to ")
}

func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}

func ptrInt64(v int64) *int64 { return &v }

// revisionRequest is a request for the revision through the activator,
// with the headers a KIngress split adds.
func revisionRequest(ctx context.Context, method, scheme, service, revision, path string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, scheme+"://"+activatorAddr+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Knative-Serving-Namespace", dataplaneNS)
	req.Header.Set("Knative-Serving-Revision", revision)
	req.Host = service + "." + dataplaneNS + ".example.com"
	return req, nil
}

func expectBody(resp *http.Response, err error, want string) error {
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || string(body) != want {
		return fmt.Errorf("%s %d %q, want 200 %q", resp.Proto, resp.StatusCode, body, want)
	}
	return nil
}

var (
	http1Client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	h2cClient   = func() *http.Client {
		var p http.Protocols
		p.SetUnencryptedHTTP2(true)
		return &http.Client{Transport: &http.Transport{Protocols: &p}}
	}()
)

func matrixGet(ctx context.Context, service, revision, id string) error {
	req, err := revisionRequest(ctx, http.MethodGet, "http", service, revision, "/?id="+id, nil)
	if err != nil {
		return err
	}
	resp, err := http1Client.Do(req)
	return expectBody(resp, err, "hello from "+revision+" id "+id)
}

func matrixH2CGet(ctx context.Context, service, revision, id string) error {
	req, err := revisionRequest(ctx, http.MethodGet, "http", service, revision, "/?id="+id, nil)
	if err != nil {
		return err
	}
	resp, err := h2cClient.Do(req)
	if err == nil && resp.ProtoMajor != 2 {
		resp.Body.Close()
		return fmt.Errorf("answered in %s, want HTTP/2", resp.Proto)
	}
	return expectBody(resp, err, "hello from "+revision+" id "+id)
}

const tenMiB = 10 << 20

// zeroReader reads as zero bytes without end.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func matrixPost(ctx context.Context, service, revision, id string) error {
	req, err := revisionRequest(ctx, http.MethodPost, "http", service, revision, "/?id="+id, io.LimitReader(zeroReader{}, tenMiB))
	if err != nil {
		return err
	}
	req.ContentLength = tenMiB
	resp, err := http1Client.Do(req)
	return expectBody(resp, err, fmt.Sprintf("hello from %s id %s bytes %d", revision, id, tenMiB))
}

func matrixWebsocket(ctx context.Context, service, revision, id string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", activatorAddr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	br, err := wsframe.Handshake(conn, service+"."+dataplaneNS+".example.com", "/ws?id="+id, "websocket", map[string]string{
		"Knative-Serving-Namespace": dataplaneNS,
		"Knative-Serving-Revision":  revision,
	})
	if err != nil {
		return err
	}
	msg := "ping " + id
	if _, err := conn.Write(wsframe.Frame([]byte(msg), []byte{7, 1, 9, 3})); err != nil {
		return err
	}
	echo, err := wsframe.ReadFrame(br)
	if err != nil {
		return fmt.Errorf("reading the echo: %w", err)
	}
	if string(echo) != msg {
		return fmt.Errorf("echo %q, want %q", echo, msg)
	}
	return nil
}

func grpcHealth(ctx context.Context, service, revision string) (grpc_health_v1.HealthClient, context.Context, func(), error) {
	cc, err := grpc.NewClient(activatorAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithAuthority(service+"."+dataplaneNS+".example.com"))
	if err != nil {
		return nil, nil, nil, err
	}
	ctx = metadata.AppendToOutgoingContext(ctx, "knative-serving-namespace", dataplaneNS, "knative-serving-revision", revision)
	return grpc_health_v1.NewHealthClient(cc), ctx, func() { cc.Close() }, nil
}

func matrixGRPCUnary(ctx context.Context, service, revision, id string) error {
	health, ctx, done, err := grpcHealth(ctx, service, revision)
	if err != nil {
		return err
	}
	defer done()
	resp, err := health.Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: id})
	if err != nil {
		return err
	}
	if resp.GetStatus() != grpc_health_v1.HealthCheckResponse_SERVING {
		return fmt.Errorf("status %v", resp.GetStatus())
	}
	return nil
}

func matrixGRPCStream(ctx context.Context, service, revision, id string) error {
	health, ctx, done, err := grpcHealth(ctx, service, revision)
	if err != nil {
		return err
	}
	defer done()
	stream, err := health.Watch(ctx, &grpc_health_v1.HealthCheckRequest{Service: id})
	if err != nil {
		return err
	}
	n := 0
	for {
		if _, err := stream.Recv(); err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("after %d answers: %w", n, err)
		}
		n++
	}
	if n != 3 {
		return fmt.Errorf("%d answers, want 3", n)
	}
	return nil
}
