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

package standin

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	"github.com/serverless-mesh/ssm/pkg/identity"
	"github.com/serverless-mesh/ssm/pkg/policy"
	"github.com/serverless-mesh/ssm/pkg/pool"
	"github.com/serverless-mesh/ssm/pkg/pool/leaseapi"
	"github.com/serverless-mesh/ssm/pkg/pool/revision"
	"github.com/serverless-mesh/ssm/pkg/pool/snapshot"
	"github.com/serverless-mesh/ssm/test/wsframe"
)

var (
	testPool = revision.PoolKey{Namespace: "knative-serving", Name: "default"}
	now      = time.Now()
)

// writeIdentity issues a certificate for id and writes it as a mounted
// Secret would be (tls.crt, tls.key, ca.crt), returning the directory.
func writeIdentity(t *testing.T, ca *identity.CA, spec identity.LeafSpec) string {
	t.Helper()
	certPEM, keyPEM, err := ca.Issue(now, spec)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, _ := ca.PEM()
	dir := t.TempDir()
	for name, data := range map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM, "ca.crt": caPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

type mapSource map[revision.Key]revision.Config

func (m mapSource) Get(k revision.Key) (revision.Config, error) {
	c, ok := m[k]
	if !ok {
		return revision.Config{}, fmt.Errorf("%s: %w", k, revision.ErrNotFound)
	}
	return c, nil
}

// upstream is a revision pod's mTLS port, answering with its own name.
func podServer(t *testing.T, ca *identity.CA, id identity.ID, name string, release <-chan struct{}) string {
	t.Helper()
	dir := writeIdentity(t, ca, identity.LeafSpec{ID: id, DNSNames: []string{"pod.local"}, Server: true})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			// Far past the route timeout, whatever happens to the request's
			// context, and bounded: release ends it when the test does.
			select {
			case <-release:
			case <-time.After(2 * time.Second):
			}
		}
		if r.URL.Path == "/ws" {
			// A websocket: echo one message.
			conn, rw, err := wsframe.Upgrade(w, r)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			defer conn.Close()
			if msg, err := wsframe.ReadFrame(rw.Reader); err == nil {
				_, _ = conn.Write(wsframe.Frame([]byte(name+" "+string(msg)), nil))
			}
			return
		}
		if r.URL.Path == "/proto" {
			w.Header().Set("Trailer", "X-Done")
			fmt.Fprintf(w, "%s %s", name, r.Proto)
			w.Header().Set("X-Done", "yes")
			return
		}
		if r.URL.Path == "/own-421" {
			// A function's own 421, trying to pass as the proxy's refusal.
			w.Header().Set(ssm.PoolProxyRefusalHeader, ssm.PoolProxyNoUpstream)
			w.WriteHeader(http.StatusMisdirectedRequest)
		}
		fmt.Fprintf(w, "%s %s", name, r.URL.Path)
	}))
	// As the plugin: h2 and HTTP/1.1 by ALPN.
	srv.TLS = identity.ServerConfig(identity.NewFileSource(dir))
	srv.TLS.NextProtos = []string{"h2", "http/1.1"}
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

func endpoint(t *testing.T, addr string) revision.Endpoint {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return revision.Endpoint{IP: host, Port: uint32(p)}
}

// TestStandInServesALeasedRevision: ssm-pool leases the stand-in to a
// revision; requests carrying that revision's headers reach its pod over
// mTLS, others get 421, the route timeout cuts a slow request, and a pod
// presenting another identity is never talked to.
func TestStandInServesALeasedRevision(t *testing.T) {
	t.Parallel()
	ca, err := identity.NewCA(now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	good := podServer(t, ca, identity.NewID("cluster.local", "fn-ns", "fn-sa"), "fn-pod", release)
	impostor := podServer(t, ca, identity.NewID("cluster.local", "other-ns", "fn-sa"), "impostor", release)

	short := policy.Policy{
		Lifecycle: policy.LifecycleShortLived, Timeout: 300 * time.Millisecond,
		Retries: 1, RetryOn: "connect-failure", MTLSMode: policy.MTLSLightweight, ProxyPool: "default",
	}
	src := mapSource{
		{Namespace: "fn-ns", Name: "fn-00001"}: {
			Key: revision.Key{Namespace: "fn-ns", Name: "fn-00001"}, Pool: testPool, Policy: short,
			ServiceAccount: "fn-sa", Endpoints: []revision.Endpoint{endpoint(t, good)},
		},
		{Namespace: "fn-ns", Name: "h2c-00001"}: {
			Key: revision.Key{Namespace: "fn-ns", Name: "h2c-00001"}, Pool: testPool, Policy: short,
			ServiceAccount: "fn-sa", Endpoints: []revision.Endpoint{endpoint(t, good)}, PortName: revision.PortNameHTTP2,
		},
		{Namespace: "fn-ns", Name: "spoofed-00001"}: {
			Key: revision.Key{Namespace: "fn-ns", Name: "spoofed-00001"}, Pool: testPool, Policy: short,
			ServiceAccount: "fn-sa", Endpoints: []revision.Endpoint{endpoint(t, impostor)},
		},
	}

	// ssm-pool, in process, with mTLS.
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	srv := pool.New(pool.Options{Snapshot: snapshot.DefaultOptions(), Source: src})
	go func() { _ = srv.Run(ctx) }()
	serverDir := writeIdentity(t, ca, identity.LeafSpec{
		ID: identity.NewID("cluster.local", "knative-serving", ssm.PoolServerName), DNSNames: []string{"ssm-pool"}, Server: true,
	})
	g := grpc.NewServer(grpc.Creds(credentials.NewTLS(identity.ServerConfig(identity.NewFileSource(serverDir)))))
	srv.Register(g)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)

	// The stand-in, as a pooled proxy of knative-serving/default.
	proxyDir := writeIdentity(t, ca, identity.LeafSpec{
		ID: identity.NewID("cluster.local", "knative-serving", ssm.PoolProxyServiceAccount), Client: true,
	})
	proxyIdentity := identity.NewFileSource(proxyDir)
	conn, err := grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(credentials.NewTLS(identity.ClientConfig(proxyIdentity, "ssm-pool"))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	p, err := Start(ctx, Config{
		Conn:     conn,
		Node:     &corev3.Node{Id: "standin-0", Cluster: testPool.String()},
		Listen:   map[uint32]string{ssm.PoolProxyPort: "127.0.0.1:0", ssm.PoolProxyHealthPort: "127.0.0.1:0"},
		Identity: proxyIdentity,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })

	get := func(port uint32, path string, headers map[string]string) (int, string) {
		t.Helper()
		return getVia(t, p, port, path, headers)
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor("the stand-in to be warm (/ready)", func() bool {
		code, _ := get(ssm.PoolProxyHealthPort, "/ready", nil)
		return code == http.StatusOK
	})

	// /ready answers once the listener is applied; ssm-pool counts the
	// proxy warm once every type's ACK has arrived.
	waitFor("ssm-pool to count the stand-in warm", func() bool { return srv.Stats(testPool).GetWarm() == 1 })
	resp, err := srv.Lease(ctx, revision.Key{Namespace: "fn-ns", Name: "fn-00001"})
	if err != nil || resp.GetOutcome() != leaseapi.LeaseResponse_GRANTED {
		t.Fatalf("Lease = %v, %v; want GRANTED", resp, err)
	}
	// The lease answered after the ACK; the stand-in applies what it ACKed.
	waitFor("the revision's route on the stand-in", func() bool {
		code, _ := get(ssm.PoolProxyPort, "/", map[string]string{"Knative-Serving-Namespace": "fn-ns", "Knative-Serving-Revision": "fn-00001"})
		return code == http.StatusOK
	})

	revisionHeaders := map[string]string{"Knative-Serving-Namespace": "fn-ns", "Knative-Serving-Revision": "fn-00001"}
	for _, tc := range []struct {
		name        string
		path        string
		headers     map[string]string
		wantCode    int
		wantBody    string
		wantRefusal string
	}{{
		name: "the leased revision's request reaches its pod over mTLS", path: "/hello",
		headers: revisionHeaders, wantCode: 200, wantBody: "fn-pod /hello",
	}, {
		name: "another revision's request is misdirected, marked as the proxy's refusal", path: "/hello",
		headers:  map[string]string{"Knative-Serving-Namespace": "fn-ns", "Knative-Serving-Revision": "other-00001"},
		wantCode: 421, wantBody: "this pooled proxy does not serve the requested revision\n", wantRefusal: "misdirected",
	}, {
		name: "a request without revision headers is misdirected", path: "/hello",
		wantCode: 421, wantBody: "this pooled proxy does not serve the requested revision\n", wantRefusal: "misdirected",
	}, {
		name: "the function's own 421 loses the refusal mark it forged", path: "/own-421",
		headers: revisionHeaders, wantCode: 421, wantBody: "fn-pod /own-421",
	}, {
		name: "the route timeout (300ms) cuts a slow request", path: "/slow",
		headers: revisionHeaders, wantCode: 504, wantBody: "upstream request timeout\n",
	}, {
		name: "an HTTP/1.1 revision's pod is spoken to in HTTP/1.1", path: "/proto",
		headers: revisionHeaders, wantCode: 200, wantBody: "fn-pod HTTP/1.1",
	}} {
		code, body, refusal := getRefusal(t, p, ssm.PoolProxyPort, tc.path, tc.headers)
		if code != tc.wantCode || body != tc.wantBody || refusal != tc.wantRefusal {
			t.Errorf("%s: got %d %q %s=%q, want %d %q %q", tc.name, code, body,
				ssm.PoolProxyRefusalHeader, refusal, tc.wantCode, tc.wantBody, tc.wantRefusal)
		}
	}
	// A websocket passes (the lease's listener allows the upgrade); any
	// other upgrade is refused, as Envoy refuses one it is not configured
	// for.
	if echo, err := websocketVia(p.Addr(ssm.PoolProxyPort), "websocket", revisionHeaders); err != nil || echo != "fn-pod hi" {
		t.Errorf("websocket through the stand-in: %q, %v; want the pod's echo", echo, err)
	}
	if _, err := websocketVia(p.Addr(ssm.PoolProxyPort), "spdy/3", revisionHeaders); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("an upgrade the listener does not allow: %v, want 403", err)
	}
	once.Do(func() { close(release) })
	if err := p.Err(); err != nil {
		t.Errorf("the stand-in could not translate a configuration: %v", err)
	}

	// A second stand-in, leased to a revision whose pod presents another
	// namespace's identity: the request never reaches that pod.
	conn2, err := grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(credentials.NewTLS(identity.ClientConfig(proxyIdentity, "ssm-pool"))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn2.Close() })
	p2, err := Start(ctx, Config{
		Conn: conn2, Node: &corev3.Node{Id: "standin-1", Cluster: testPool.String()},
		Listen: map[uint32]string{ssm.PoolProxyPort: "127.0.0.1:0"}, Identity: proxyIdentity,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p2.Close() })
	waitFor("a second warm proxy", func() bool { return srv.Stats(testPool).GetWarm() == 1 })
	// NO_WARM_PROXY is an immediate answer while the new proxy's ACK of
	// its base is still on its way: a caller asks again.
	waitFor("a lease for the spoofed revision", func() bool {
		resp, err := srv.Lease(ctx, revision.Key{Namespace: "fn-ns", Name: "spoofed-00001"})
		if err != nil {
			t.Fatalf("Lease(spoofed) = %v", err)
		}
		return resp.GetOutcome() == leaseapi.LeaseResponse_GRANTED
	})
	spoofed := map[string]string{"Knative-Serving-Namespace": "fn-ns", "Knative-Serving-Revision": "spoofed-00001"}
	waitFor("the spoofed revision's listener on the second stand-in", func() bool {
		_, body := getVia(t, p2, ssm.PoolProxyPort, "/", spoofed)
		return body != "no listener\n"
	})
	code, body := getVia(t, p2, ssm.PoolProxyPort, "/hello", spoofed)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "is not spiffe://cluster.local/ns/fn-ns/sa/fn-sa") {
		t.Errorf("request to a pod with the wrong identity: got %d %q, want 503 naming the expected identity", code, body)
	}

	// A third stand-in, leased to an h2c revision: h2c in (as the activator
	// sends HTTP/2 requests), HTTP/2 over mTLS to the pod, trailers back.
	p3, err := Start(ctx, Config{
		Conn: conn2, Node: &corev3.Node{Id: "standin-2", Cluster: testPool.String()},
		Listen: map[uint32]string{ssm.PoolProxyPort: "127.0.0.1:0"}, Identity: proxyIdentity,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p3.Close() })
	waitFor("a lease for the h2c revision", func() bool {
		resp, err := srv.Lease(ctx, revision.Key{Namespace: "fn-ns", Name: "h2c-00001"})
		if err != nil {
			t.Fatalf("Lease(h2c) = %v", err)
		}
		return resp.GetOutcome() == leaseapi.LeaseResponse_GRANTED
	})
	var h2c http.Protocols
	h2c.SetUnencryptedHTTP2(true)
	client := &http.Client{Transport: &http.Transport{Protocols: &h2c}}
	t.Cleanup(client.CloseIdleConnections)
	h2cGet := func() (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+p3.Addr(ssm.PoolProxyPort)+"/proto", nil)
		req.Header.Set("Knative-Serving-Namespace", "fn-ns")
		req.Header.Set("Knative-Serving-Revision", "h2c-00001")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("h2c GET: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	waitFor("the h2c revision's route on the third stand-in", func() bool {
		resp, _ := h2cGet()
		return resp.StatusCode == http.StatusOK
	})
	h2resp, h2body := h2cGet()
	if h2resp.ProtoMajor != 2 || h2body != "fn-pod HTTP/2.0" || h2resp.Trailer.Get("X-Done") != "yes" {
		t.Errorf("h2c request: %s %q, trailer X-Done %q; want HTTP/2 both ways and the trailer", h2resp.Proto, h2body, h2resp.Trailer.Get("X-Done"))
	}
}

// getVia sends GET path to the stand-in's listener for port.
func getVia(t *testing.T, p *Proxy, port uint32, path string, headers map[string]string) (int, string) {
	t.Helper()
	code, body, _ := getRefusal(t, p, port, path, headers)
	return code, body
}

// getRefusal is getVia that also returns the proxy's refusal header.
func getRefusal(t *testing.T, p *Proxy, port uint32, path string, headers map[string]string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+p.Addr(port)+path, nil)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get(ssm.PoolProxyRefusalHeader)
}

// websocketVia upgrades GET /ws at addr to protocol, sends "hi" and returns
// the echo.
func websocketVia(addr, protocol string, headers map[string]string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	br, err := wsframe.Handshake(conn, "fn", "/ws", protocol, headers)
	if err != nil {
		return "", err
	}
	if _, err := conn.Write(wsframe.Frame([]byte("hi"), []byte{1, 2, 3, 4})); err != nil {
		return "", err
	}
	echo, err := wsframe.ReadFrame(br)
	return string(echo), err
}
