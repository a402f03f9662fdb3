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
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"

	"github.com/serverless-mesh/ssm/pkg/identity"
	"github.com/serverless-mesh/ssm/pkg/pool/adsclient"
)

// Config says where the stand-in gets its configuration and where it
// listens.
type Config struct {
	// Conn reaches ssm-pool; Node is the node the stand-in announces (id =
	// pod name, cluster = "<pool-namespace>/<pool-name>").
	Conn grpc.ClientConnInterface
	Node *corev3.Node
	// Listen maps a listener port of the pushed configuration to the local
	// address the stand-in binds for it (e.g. 8081 → "127.0.0.1:0").
	Listen map[uint32]string
	// Identity is the proxy's certificate and trust bundle for upstream mTLS.
	Identity identity.CertSource
	// Logf, when set, gets one line per request the stand-in forwards.
	Logf func(format string, args ...any)
}

// Proxy is a running stand-in.
type Proxy struct {
	ads       *adsclient.Client
	identity  identity.CertSource
	logf      func(format string, args ...any)
	state     atomic.Pointer[state]
	lastErr   atomic.Pointer[error]
	listeners map[uint32]net.Listener
	servers   []*http.Server
	next      atomic.Uint64
	mu        sync.Mutex
	clients   map[string]*http.Client
	done      chan struct{}
	// hosts are the upstream hosts of the serving state; only rebuild, on
	// the ADS client's receive goroutine, touches them.
	hosts map[string]bool
}

// Start connects to ssm-pool and starts listening.
func Start(ctx context.Context, cfg Config) (*Proxy, error) {
	p := &Proxy{
		identity:  cfg.Identity,
		logf:      cfg.Logf,
		listeners: map[uint32]net.Listener{},
		clients:   map[string]*http.Client{},
		done:      make(chan struct{}),
	}
	p.state.Store(&state{ports: map[uint32][]route{}})
	for port, addr := range cfg.Listen {
		lis, err := net.Listen("tcp", addr)
		if err != nil {
			p.closeListeners()
			return nil, fmt.Errorf("stand-in: listening for port %d on %s: %w", port, addr, err)
		}
		p.listeners[port] = lis
		// Envoy's connection manager takes HTTP/1.1 and prior-knowledge
		// h2c on the same port (codec AUTO); the activator sends h2c for
		// HTTP/2 requests.
		var protocols http.Protocols
		protocols.SetHTTP1(true)
		protocols.SetUnencryptedHTTP2(true)
		srv := &http.Server{Handler: p.handler(port), ReadHeaderTimeout: 10 * time.Second, Protocols: &protocols}
		p.servers = append(p.servers, srv)
		go func() { _ = srv.Serve(lis) }()
	}
	ads, err := adsclient.Dial(ctx, cfg.Conn, adsclient.Config{
		Node:     cfg.Node,
		TypeURLs: []string{resourcev3.ClusterType, resourcev3.EndpointType, resourcev3.ListenerType, resourcev3.RouteType},
		// Envoy serves a configuration before it ACKs it; so does the stand-in.
		Applied: func(c *adsclient.Client, _ string) { p.rebuild(c) },
	})
	if err != nil {
		p.closeListeners()
		return nil, fmt.Errorf("stand-in: %w", err)
	}
	p.ads = ads
	go p.follow()
	return p, nil
}

// Addr is the local address serving the pushed listener port.
func (p *Proxy) Addr(port uint32) string {
	if lis, ok := p.listeners[port]; ok {
		return lis.Addr().String()
	}
	return ""
}

// Err is the last configuration the stand-in could not translate, if any.
func (p *Proxy) Err() error {
	if e := p.lastErr.Load(); e != nil {
		return *e
	}
	return nil
}

// ADS is the stand-in's ADS client, for tests that wait on its versions.
func (p *Proxy) ADS() *adsclient.Client { return p.ads }

// Close stops everything.
func (p *Proxy) Close() error {
	err := p.ads.Close()
	<-p.done
	for _, s := range p.servers {
		_ = s.Close()
	}
	return err
}

func (p *Proxy) closeListeners() {
	for _, l := range p.listeners {
		_ = l.Close()
	}
}

// rebuild translates the resources the ADS client holds into the serving
// state, on the client's receive goroutine before each ACK, as Envoy
// applies each version it ACKs; a set it cannot translate keeps the
// previous state.
func (p *Proxy) rebuild(ads *adsclient.Client) {
	st, err := translate(
		ads.Resources(resourcev3.ListenerType), ads.Resources(resourcev3.RouteType),
		ads.Resources(resourcev3.ClusterType), ads.Resources(resourcev3.EndpointType))
	if err != nil {
		p.lastErr.Store(&err)
		return
	}
	p.state.Store(st)
	// Envoy drains the connection pools of hosts that leave EDS. A kept
	// connection to a gone pod can hang until the route timeout: its
	// address may already belong to a new pod behind another MAC.
	now := st.hosts()
	for h := range p.hosts {
		if !now[h] {
			p.closeIdleConnections()
			break
		}
	}
	p.hosts = now
}

// follow drains the client's updates until its stream ends.
func (p *Proxy) follow() {
	defer close(p.done)
	for range p.ads.Updates() {
	}
}

// closeIdleConnections closes every upstream client's idle connections.
func (p *Proxy) closeIdleConnections() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.clients {
		c.CloseIdleConnections()
	}
}

func (p *Proxy) handler(port uint32) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		routes, ok := p.state.Load().ports[port]
		if !ok {
			// No listener on this port (yet): Envoy would refuse the connection.
			http.Error(w, "no listener", http.StatusServiceUnavailable)
			return
		}
		for _, rt := range routes {
			if !rt.matches(r.URL.Path, r.Header.Get) {
				continue
			}
			if rt.status != 0 {
				rt.finishHeaders(w.Header())
				w.WriteHeader(int(rt.status))
				_, _ = io.WriteString(w, rt.body)
				return
			}
			p.forward(w, r, rt)
			return
		}
		http.Error(w, "no route", http.StatusNotFound)
	})
}

// forward sends r to the route's cluster: round robin, a new endpoint on a
// connection failure (at most 1 + retries attempts), the route timeout over
// the whole exchange.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, rt route) {
	up := rt.cluster
	if len(up.endpoints) == 0 {
		notForwarded(w, rt, "no healthy upstream")
		return
	}
	if r.Header.Get("Upgrade") != "" {
		p.forwardUpgrade(w, r, rt)
		return
	}
	ctx := r.Context()
	if rt.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, rt.timeout)
		defer cancel()
	}
	// A request of unknown length on HTTP/2 (a gRPC stream) is passed on as
	// it arrives, and its first attempt is its only one: the transport
	// consumes the body. Others are read first, so that a connect failure
	// can be retried, as Envoy buffers a body for retries.
	streaming := r.ProtoMajor == 2 && r.ContentLength < 0
	retries := rt.retries
	var body []byte
	if streaming {
		retries = 0
	} else {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			http.Error(w, "reading the request", http.StatusBadRequest)
			return
		}
	}
	client := p.client(up)
	var lastErr error
	for attempt := uint32(0); attempt <= retries; attempt++ {
		ep := up.endpoints[int(p.next.Add(1))%len(up.endpoints)]
		scheme := "http"
		if up.peerURI != "" {
			scheme = "https"
		}
		in := bytesReader(body)
		if streaming {
			in = r.Body
		}
		out, err := http.NewRequestWithContext(ctx, r.Method, scheme+"://"+ep+r.URL.RequestURI(), in)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if streaming {
			out.ContentLength = -1
			out.Trailer = r.Trailer
		}
		out.Header = r.Header.Clone()
		out.Host = r.Host
		resp, err := client.Do(out)
		if err != nil {
			lastErr = err
			if ctx.Err() != nil {
				if p.logf != nil {
					p.logf("timed out forwarding %s %s for cluster %s to %s: %v", r.Method, r.URL.Path, up.name, ep, err)
				}
				http.Error(w, "upstream request timeout", http.StatusGatewayTimeout)
				return
			}
			if isConnectFailure(err) {
				continue
			}
			break
		}
		defer resp.Body.Close()
		if p.logf != nil {
			p.logf("forwarded %s %s for cluster %s to %s: %d", r.Method, r.URL.Path, up.name, ep, resp.StatusCode)
		}
		for k, vs := range resp.Header {
			w.Header()[k] = vs
		}
		rt.finishHeaders(w.Header())
		w.WriteHeader(resp.StatusCode)
		if _, err := io.Copy(flushingWriter{w}, resp.Body); err != nil && ctx.Err() != nil {
			// The deadline hit mid-body; the status is already sent.
			return
		}
		// gRPC's status travels in trailers.
		for k, vs := range resp.Trailer {
			w.Header()[http.TrailerPrefix+k] = vs
		}
		return
	}
	if p.logf != nil {
		p.logf("could not forward %s %s for cluster %s: %v", r.Method, r.URL.Path, up.name, lastErr)
	}
	if isConnectFailure(lastErr) {
		notForwarded(w, rt, "upstream connect error: "+lastErr.Error())
		return
	}
	http.Error(w, "upstream error: "+lastErr.Error(), http.StatusServiceUnavailable)
}

// forwardUpgrade passes an HTTP/1.1 upgrade (a websocket) to one of the
// route's endpoints and then copies bytes both ways, as Envoy does for an
// upgrade type its connection manager allows; any other is refused with
// Envoy's 403. An upgrade to an HTTP/2 cluster is refused loudly: the
// stand-in does not implement extended CONNECT.
func (p *Proxy) forwardUpgrade(w http.ResponseWriter, r *http.Request, rt route) {
	up := rt.cluster
	switch {
	case !rt.websocket || !strings.EqualFold(r.Header.Get("Upgrade"), "websocket"):
		http.Error(w, "upgrade not allowed", http.StatusForbidden)
		return
	case up.http2:
		http.Error(w, "stand-in: upgrade to an HTTP/2 cluster is not implemented", http.StatusNotImplemented)
		return
	}
	ep := up.endpoints[int(p.next.Add(1))%len(up.endpoints)]
	scheme := "http"
	if up.peerURI != "" {
		scheme = "https"
	}
	target := &url.URL{Scheme: scheme, Host: ep}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = r.Host
		},
		Transport: p.client(up).Transport,
		ModifyResponse: func(resp *http.Response) error {
			if p.logf != nil {
				p.logf("forwarded %s %s for cluster %s to %s: %d", r.Method, r.URL.Path, up.name, ep, resp.StatusCode)
			}
			rt.finishHeaders(resp.Header)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			if isConnectFailure(err) {
				notForwarded(w, rt, "upstream connect error: "+err.Error())
				return
			}
			http.Error(w, "upstream error: "+err.Error(), http.StatusServiceUnavailable)
		},
	}
	proxy.ServeHTTP(w, r)
}

// notForwarded answers a request that reached no upstream: Envoy's 503, or
// what the listener's local reply mapping makes of it.
func notForwarded(w http.ResponseWriter, rt route, msg string) {
	status := http.StatusServiceUnavailable
	// Envoy applies the route's header operations to its local reply, then
	// the local reply mapping's.
	rt.finishHeaders(w.Header())
	if r := rt.noUpstream; r != nil {
		status = r.status
		for k, v := range r.headers {
			w.Header().Set(k, v)
		}
	}
	http.Error(w, msg, status)
}

// client is one HTTP client per upstream identity: its TLS accepts only
// the cluster's SPIFFE ID, chained to the stand-in's trust bundle.
func (p *Proxy) client(up *upstream) *http.Client {
	key := fmt.Sprintf("%s|%s|%s|%v", up.peerURI, up.sni, up.connectTimeout, up.http2)
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.clients[key]; ok {
		return c
	}
	var protocols http.Protocols
	alpn := "http/1.1"
	switch {
	case up.http2 && up.peerURI != "":
		protocols.SetHTTP2(true)
		alpn = "h2"
	case up.http2:
		protocols.SetUnencryptedHTTP2(true)
	default:
		protocols.SetHTTP1(true)
	}
	tr := &http.Transport{
		Protocols:   &protocols,
		DialContext: (&net.Dialer{Timeout: up.connectTimeout}).DialContext,
	}
	if up.peerURI != "" {
		tr.TLSClientConfig = &tls.Config{
			MinVersion: tls.VersionTLS12,
			ServerName: up.sni,
			NextProtos: []string{alpn},
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				return p.identity.Certificate()
			},
			// Verified below against the current bundle and the one URI SAN
			// the cluster accepts, as Envoy's combined validation context does.
			InsecureSkipVerify: true,
			VerifyConnection: func(cs tls.ConnectionState) error {
				return p.verifyUpstream(cs, up.peerURI)
			},
		}
	}
	c := &http.Client{Transport: tr}
	p.clients[key] = c
	return c
}

func (p *Proxy) verifyUpstream(cs tls.ConnectionState, peerURI string) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("upstream presented no certificate")
	}
	bundle, err := p.identity.Bundle()
	if err != nil {
		return err
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	leaf := cs.PeerCertificates[0]
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: bundle, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		return fmt.Errorf("upstream certificate: %w", err)
	}
	for _, u := range leaf.URIs {
		if u.String() == peerURI {
			return nil
		}
	}
	return fmt.Errorf("upstream identity %v is not %s", leaf.URIs, peerURI)
}

func isConnectFailure(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func bytesReader(b []byte) io.Reader {
	if len(b) == 0 {
		return http.NoBody
	}
	return bytes.NewReader(b)
}

// flushingWriter sends each write on at once, as Envoy streams a response:
// a streaming gRPC reply must not wait for a buffer to fill.
type flushingWriter struct{ w http.ResponseWriter }

func (f flushingWriter) Write(b []byte) (int, error) {
	n, err := f.w.Write(b)
	if err == nil {
		err = http.NewResponseController(f.w).Flush()
	}
	return n, err
}
