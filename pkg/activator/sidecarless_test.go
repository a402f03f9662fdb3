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

package activator

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	_ "knative.dev/pkg/system/testing" // config-ssm's default gateways name the system namespace
	activatorhandler "knative.dev/serving/pkg/activator/handler"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/serverless-mesh/ssm/pkg/identity"
)

const activatorID = "spiffe://cluster.local/ns/knative-serving/sa/activator"

// testPKI is a CA with the activator's identity written as its mounted
// Secret would be.
type testPKI struct {
	ca          *identity.CA
	activatorID string
	source      identity.CertSource
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	return newTestPKIIn(t, "cluster.local")
}

// newTestPKIIn is newTestPKI with the activator's identity in trustDomain.
func newTestPKIIn(t *testing.T, trustDomain string) testPKI {
	t.Helper()
	now := time.Now()
	ca, err := identity.NewCA(now, time.Hour)
	if err != nil {
		t.Fatalf("NewCA: %v", err)
	}
	certPEM, keyPEM, err := ca.Issue(now, identity.LeafSpec{
		ID: identity.NewID(trustDomain, "knative-serving", "activator"), Client: true})
	if err != nil {
		t.Fatalf("Issue(activator): %v", err)
	}
	caPEM, _ := ca.PEM()
	dir := t.TempDir()
	for name, data := range map[string][]byte{identity.TLSCertKey: certPEM, identity.TLSKeyKey: keyPEM, identity.CACertKey: caPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatalf("writing %s: %v", name, err)
		}
	}
	return testPKI{ca: ca, source: identity.NewFileSource(dir)}
}

// podServers stand in for a sidecar-less pod: the plugin's mTLS port,
// which records the client's SPIFFE ID, and the plaintext port 8012 the
// plugin would refuse (here it answers, so a test sees what reached it).
type podServers struct {
	mtls, plain         *httptest.Server
	mtlsHits, plainHits atomic.Int32
	peer                atomic.Value // string
	// proto is the protocol of the latest request over mTLS.
	proto atomic.Value // string
}

func newPodServers(t *testing.T, pki testPKI, serverSA string) *podServers {
	t.Helper()
	return newPodServersIn(t, pki, "cluster.local", serverSA)
}

// newPodServersIn is newPodServers with the pod's identity in trustDomain.
func newPodServersIn(t *testing.T, pki testPKI, trustDomain, serverSA string) *podServers {
	t.Helper()
	now := time.Now()
	certPEM, keyPEM, err := pki.ca.Issue(now, identity.LeafSpec{
		ID: identity.NewID(trustDomain, "ns", serverSA), DNSNames: []string{serverSA + ".ns.svc"}, Server: true})
	if err != nil {
		t.Fatalf("Issue(%s): %v", serverSA, err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("X509KeyPair: %v", err)
	}
	p := &podServers{}
	p.mtls = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mtlsHits.Add(1)
		p.proto.Store(r.Proto)
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 && len(r.TLS.PeerCertificates[0].URIs) == 1 {
			p.peer.Store(r.TLS.PeerCertificates[0].URIs[0].String())
		}
		_, _ = io.WriteString(w, "mtls")
	}))
	// As the plugin's server: TLS 1.3, a verified client certificate.
	p.mtls.TLS = &tls.Config{
		MinVersion:   tls.VersionTLS13,
		NextProtos:   []string{"h2", "http/1.1"},
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pki.ca.Bundle(),
	}
	p.mtls.EnableHTTP2 = true
	p.mtls.StartTLS()
	t.Cleanup(p.mtls.Close)
	p.plain = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		p.plainHits.Add(1)
		_, _ = io.WriteString(w, "plain")
	}))
	t.Cleanup(p.plain.Close)
	return p
}

func (p *podServers) mtlsPort(t *testing.T) int {
	t.Helper()
	_, port, err := net.SplitHostPort(p.mtls.Listener.Addr().String())
	if err != nil {
		t.Fatalf("SplitHostPort: %v", err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatalf("port %q: %v", port, err)
	}
	return n
}

// revisionChain is Knative's activation handler with the hook around it,
// for requests of rev.
func revisionChain(t *testing.T, h *Hook, rev *servingv1.Revision) http.Handler {
	t.Helper()
	transport := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(transport.CloseIdleConnections)
	inner := h.Handler(activatorhandler.New(context.Background(), h, h.Transport(transport), false,
		zap.NewNop().Sugar(), false, nil, metricnoop.NewMeterProvider()))
	revID := types.NamespacedName{Namespace: rev.Namespace, Name: rev.Name}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner.ServeHTTP(w, r.WithContext(activatorhandler.WithRevisionAndID(r.Context(), rev, revID)))
	})
}

func getThrough(c http.Handler) (int, string) {
	rec := httptest.NewRecorder()
	c.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://fn.ns.example.com/", nil))
	return rec.Code, rec.Body.String()
}

func testRevision(name, serviceAccount string, annotations map[string]string) *servingv1.Revision {
	return &servingv1.Revision{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, ResourceVersion: "1", Annotations: annotations},
		Spec:       servingv1.RevisionSpec{PodSpec: corev1.PodSpec{ServiceAccountName: serviceAccount}},
	}
}

// The decisions SSM's revisions webhook stamps on a Revision
// (resolver.Pods.Stamp); what decides them is tested in pkg/resolver and
// pkg/webhook.
var (
	stampedSidecarless = map[string]string{"ssm.dev/lifecycle": "short-lived",
		"resolved.ssm.dev/pods": "sidecarless", "resolved.ssm.dev/proxy-pool": "default"}
	stampedSidecar = map[string]string{"ssm.dev/lifecycle": "short-lived", "resolved.ssm.dev/pods": "sidecar"}
)

func TestSidecarlessRevisionTransport(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		rev        *servingv1.Revision
		serverSA   string
		noIdentity bool
		clusterIP  bool
		// privateEndpoints are the ready addresses of the revision's
		// private Service.
		privateEndpoints []string
		wantCode         int
		wantBody         string
		wantMTLS         int32
		wantPlain        int32
		wantPeerURI      string
	}{{
		name: "stamped sidecar-less goes over mTLS", rev: testRevision("fn-00001", "fn-sa", stampedSidecarless),
		serverSA: "fn-sa", wantCode: 200, wantBody: "mtls", wantMTLS: 1, wantPeerURI: activatorID,
	}, {
		name: "default service account", rev: testRevision("fn-00001", "", stampedSidecarless),
		serverSA: "default", wantCode: 200, wantBody: "mtls", wantMTLS: 1, wantPeerURI: activatorID,
	}, {
		name:     "sidecar-less without a pool (governed only by a ServerlessPolicy) goes over mTLS",
		rev:      testRevision("fn-00001", "fn-sa", map[string]string{"resolved.ssm.dev/pods": "sidecarless"}),
		serverSA: "fn-sa", wantCode: 200, wantBody: "mtls", wantMTLS: 1, wantPeerURI: activatorID,
	}, {
		name: "wrong server identity is not sent", rev: testRevision("fn-00001", "fn-sa", stampedSidecarless),
		serverSA: "other-sa", wantCode: http.StatusBadGateway,
	}, {
		name: "stamped with its sidecar keeps plaintext", rev: testRevision("fn-00001", "fn-sa", stampedSidecar),
		serverSA: "fn-sa", wantCode: 200, wantBody: "plain", wantPlain: 1,
	}, {
		name:     "short-lived but never stamped keeps plaintext",
		rev:      testRevision("fn-00001", "fn-sa", map[string]string{"ssm.dev/lifecycle": "short-lived"}),
		serverSA: "fn-sa", wantCode: 200, wantBody: "plain", wantPlain: 1,
	}, {
		name:     "an unknown stamp keeps plaintext",
		rev:      testRevision("fn-00001", "fn-sa", map[string]string{"resolved.ssm.dev/pods": "later"}),
		serverSA: "fn-sa", wantCode: 200, wantBody: "plain", wantPlain: 1,
	}, {
		name: "no SSM annotations keeps plaintext", rev: testRevision("fn-00001", "fn-sa", nil),
		serverSA: "fn-sa", wantCode: 200, wantBody: "plain", wantPlain: 1,
	}, {
		name: "no identity keeps plaintext", rev: testRevision("fn-00001", "fn-sa", stampedSidecarless),
		serverSA: "fn-sa", noIdentity: true, wantCode: 200, wantBody: "plain", wantPlain: 1,
	}, {
		name: "ClusterIP (mesh mode): a ready pod from the private Endpoints, over mTLS", rev: testRevision("fn-00001", "fn-sa", stampedSidecarless),
		serverSA: "fn-sa", clusterIP: true, privateEndpoints: []string{"127.0.0.1"},
		wantCode: 200, wantBody: "mtls", wantMTLS: 1, wantPeerURI: activatorID,
	}, {
		name: "ClusterIP without a ready pod in the private Endpoints is sent as is", rev: testRevision("fn-00001", "fn-sa", stampedSidecarless),
		serverSA: "fn-sa", clusterIP: true, wantCode: 200, wantBody: "plain", wantPlain: 1,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pki := newTestPKI(t)
			pod := newPodServers(t, pki, tc.serverSA)
			opts := Options{Identity: pki.source, MTLSPort: pod.mtlsPort(t), Endpoints: privateEndpoints(t, tc.rev, tc.privateEndpoints)}
			if tc.noIdentity {
				opts.Identity = nil
			}
			stock := &fakeStock{dest: pod.plain.Listener.Addr().String(), clusterIP: tc.clusterIP}
			h, _ := newTestHook(t, stock, dialLeases(t, downPoolAddress(t)), opts)
			code, body := getThrough(revisionChain(t, h, tc.rev))
			if code != tc.wantCode || (tc.wantBody != "" && body != tc.wantBody) {
				t.Errorf("GET = %d %q, want %d %q", code, body, tc.wantCode, tc.wantBody)
			}
			if got := pod.mtlsHits.Load(); got != tc.wantMTLS {
				t.Errorf("requests over mTLS = %d, want %d", got, tc.wantMTLS)
			}
			if got := pod.plainHits.Load(); got != tc.wantPlain {
				t.Errorf("plaintext requests = %d, want %d", got, tc.wantPlain)
			}
			if got, _ := pod.peer.Load().(string); got != tc.wantPeerURI {
				t.Errorf("client identity at the pod = %q, want %q", got, tc.wantPeerURI)
			}
		})
	}
}

// The cached verdict follows the revision: a new resourceVersion is seen by
// the next request.
func TestSidecarlessVerdictFollowsChanges(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t)
	pod := newPodServers(t, pki, "fn-sa")
	stock := &fakeStock{dest: pod.plain.Listener.Addr().String()}
	h, _ := newTestHook(t, stock, dialLeases(t, downPoolAddress(t)), Options{Identity: pki.source, MTLSPort: pod.mtlsPort(t)})
	sidecarless := testRevision("fn-00001", "fn-sa", stampedSidecarless)
	sidecar := testRevision("fn-00001", "fn-sa", stampedSidecar)
	sidecar.ResourceVersion = "2"

	steps := []struct {
		name     string
		rev      *servingv1.Revision
		wantBody string
	}{
		{"sidecar-less", sidecarless, "mtls"},
		{"cached", sidecarless, "mtls"},
		{"stamp changed", sidecar, "plain"},
		{"stamp back", sidecarless, "mtls"},
	}
	for _, step := range steps {
		code, body := getThrough(revisionChain(t, h, step.rev))
		if code != http.StatusOK || body != step.wantBody {
			t.Errorf("%s: GET = %d %q, want 200 %q", step.name, code, body, step.wantBody)
		}
	}
}

// A sidecar-less revision that holds a lease: its leased requests are
// unchanged, and when the proxy refuses, the fallback to Knative's path
// reaches the pod over mTLS too.
func TestSidecarlessRevisionWithLease(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t)
	pod := newPodServers(t, pki, "fn-sa")
	var refuse atomic.Bool
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if refuse.Load() {
			w.Header().Set("x-ssm-proxy-refused", "misdirected")
			w.WriteHeader(http.StatusMisdirectedRequest)
			return
		}
		pooledProxy(w, r)
	}))
	t.Cleanup(proxy.Close)
	pool := &leaseServer{answer: granted(proxy.Listener.Addr().String())}
	stock := &fakeStock{dest: pod.plain.Listener.Addr().String()}
	h, _ := newTestHook(t, stock, serveLeases(t, pool), Options{Identity: pki.source, MTLSPort: pod.mtlsPort(t)})
	rev := testRevision(pooledRev.Name, "fn-sa", stampedSidecarless)
	chain := revisionChain(t, h, rev)

	if code, body := getThrough(chain); code != http.StatusOK || body != "mtls" {
		t.Fatalf("cold request: %d %q, want 200 %q", code, body, "mtls")
	}
	if st := leaseSettled(t, h, pooledRev); st.lease.Load() == nil {
		t.Fatal("no lease granted")
	}
	if code, body := getThrough(chain); code != http.StatusOK || body != "proxy:" {
		t.Errorf("request with the lease: %d %q, want 200 %q", code, body, "proxy:")
	}
	refuse.Store(true)
	if code, body := getThrough(chain); code != http.StatusOK || body != "mtls" {
		t.Errorf("request the proxy refused: %d %q, want 200 %q", code, body, "mtls")
	}
	if got := pod.mtlsHits.Load(); got != 2 {
		t.Errorf("requests over mTLS = %d, want 2", got)
	}
	if got := pod.plainHits.Load(); got != 0 {
		t.Errorf("plaintext requests = %d, want 0", got)
	}
}

// TestSidecarlessRevisionKeepsTheProtocol: an HTTP/2 request (h2c, gRPC)
// reaches a sidecar-less pod as HTTP/2 over mTLS, negotiated by ALPN; an
// HTTP/1.1 request (which a websocket upgrade needs) stays HTTP/1.1.
func TestSidecarlessRevisionKeepsTheProtocol(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		protoMajor int
		want       string
	}{{1, "HTTP/1.1"}, {2, "HTTP/2.0"}} {
		t.Run(tc.want, func(t *testing.T) {
			t.Parallel()
			pki := newTestPKI(t)
			pod := newPodServers(t, pki, "fn-sa")
			stock := &fakeStock{dest: pod.plain.Listener.Addr().String()}
			h, _ := newTestHook(t, stock, dialLeases(t, downPoolAddress(t)), Options{Identity: pki.source, MTLSPort: pod.mtlsPort(t)})
			chain := revisionChain(t, h, testRevision("fn-00001", "fn-sa", stampedSidecarless))
			req := httptest.NewRequest(http.MethodGet, "http://fn.ns.example.com/", nil)
			req.ProtoMajor, req.ProtoMinor = tc.protoMajor, 0
			if tc.protoMajor == 1 {
				req.ProtoMinor = 1
			}
			req.Proto = tc.want
			rec := httptest.NewRecorder()
			chain.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK || rec.Body.String() != "mtls" {
				t.Fatalf("GET = %d %q, want 200 %q", rec.Code, rec.Body.String(), "mtls")
			}
			if got, _ := pod.proto.Load().(string); got != tc.want {
				t.Errorf("the pod saw %s, want %s", got, tc.want)
			}
		})
	}
}

// TestSidecarlessTrustDomainFromOwnIdentity: told no trust domain, the hook
// expects pods in the trust domain of its own certificate, and refuses a
// pod of another.
func TestSidecarlessTrustDomainFromOwnIdentity(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		podTrustDomain string
		wantCode       int
	}{{"mesh.example", http.StatusOK}, {"cluster.local", http.StatusBadGateway}} {
		t.Run("pod in "+tc.podTrustDomain, func(t *testing.T) {
			t.Parallel()
			pki := newTestPKIIn(t, "mesh.example")
			pod := newPodServersIn(t, pki, tc.podTrustDomain, "fn-sa")
			stock := &fakeStock{dest: pod.plain.Listener.Addr().String()}
			h, _ := newTestHook(t, stock, dialLeases(t, downPoolAddress(t)), Options{Identity: pki.source, MTLSPort: pod.mtlsPort(t)})
			if h.opts.TrustDomain != "mesh.example" {
				t.Errorf("trust domain = %q, want mesh.example from the hook's own certificate", h.opts.TrustDomain)
			}
			code, _ := getThrough(revisionChain(t, h, testRevision("fn-00001", "fn-sa", stampedSidecarless)))
			if code != tc.wantCode {
				t.Errorf("GET = %d, want %d", code, tc.wantCode)
			}
			if got := pod.plainHits.Load(); got != 0 {
				t.Errorf("plaintext requests = %d, want 0", got)
			}
		})
	}
}

// TestPodTransportsAreBounded: the hook keeps at most maxPodTransports
// transports to sidecar-less pods, dropping the least recently used, and
// Sweep closes those unused for two idle periods.
func TestPodTransportsAreBounded(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t)
	h, clk := newTestHook(t, &fakeStock{dest: stockDest}, dialLeases(t, downPoolAddress(t)), Options{Identity: pki.source})
	count := func() int {
		n := 0
		h.podTransports.Range(func(any, any) bool { n++; return true })
		return n
	}
	id := func(i int) identity.ID { return identity.NewID("cluster.local", fmt.Sprintf("ns-%d", i), "default") }
	for i := range maxPodTransports + 10 {
		h.podTransport(id(i))
		clk.SetTime(clk.Now().Add(2 * time.Second)) // each a distinct use
	}
	if got := count(); got != maxPodTransports {
		t.Errorf("%d transports kept, want at most %d", got, maxPodTransports)
	}
	if _, ok := h.podTransports.Load(id(0)); ok {
		t.Error("the least recently used transport was kept")
	}
	if _, ok := h.podTransports.Load(id(maxPodTransports + 9)); !ok {
		t.Error("the most recently used transport was dropped")
	}
	clk.SetTime(clk.Now().Add(2*DefaultIdlePeriod + time.Second))
	h.podTransport(id(7)) // in use: kept
	h.Sweep()
	if got := count(); got != 1 {
		t.Errorf("after a sweep %d transports kept, want only the one in use", got)
	}
}

// privateEndpoints is an Endpoints lister holding rev's private Service
// with the given ready addresses.
func privateEndpoints(t *testing.T, rev *servingv1.Revision, ready []string) corev1listers.EndpointsLister {
	t.Helper()
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	eps := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Namespace: rev.Namespace, Name: rev.Name + "-private"}}
	if len(ready) > 0 {
		subset := corev1.EndpointSubset{Ports: []corev1.EndpointPort{{Name: "http", Port: 8012}}}
		for _, ip := range ready {
			subset.Addresses = append(subset.Addresses, corev1.EndpointAddress{IP: ip})
		}
		eps.Subsets = []corev1.EndpointSubset{subset}
	}
	if err := indexer.Add(eps); err != nil {
		t.Fatal(err)
	}
	return corev1listers.NewEndpointsLister(indexer)
}

// TestReadyPodTakesTurns: a ClusterIP request of a sidecar-less revision
// goes to each ready address of its private Endpoints in turn, across
// subsets, and to none when there is none.
func TestReadyPodTakesTurns(t *testing.T) {
	t.Parallel()
	rev := testRevision("fn-00001", "fn-sa", nil)
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	if err := indexer.Add(&corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Namespace: rev.Namespace, Name: rev.Name + "-private"},
		Subsets: []corev1.EndpointSubset{
			{Addresses: []corev1.EndpointAddress{{IP: "10.0.0.1"}, {IP: "10.0.0.2"}}},
			{Addresses: []corev1.EndpointAddress{{IP: "10.0.0.3"}}, NotReadyAddresses: []corev1.EndpointAddress{{IP: "10.0.0.9"}}},
		},
	}); err != nil {
		t.Fatal(err)
	}
	h, _ := newTestHook(t, &fakeStock{dest: stockDest}, dialLeases(t, downPoolAddress(t)), Options{Endpoints: corev1listers.NewEndpointsLister(indexer)})
	seen := map[string]int{}
	for range 6 {
		seen[h.readyPod(types.NamespacedName{Namespace: rev.Namespace, Name: rev.Name})]++
	}
	if want := map[string]int{"10.0.0.1": 2, "10.0.0.2": 2, "10.0.0.3": 2}; !maps.Equal(seen, want) {
		t.Errorf("6 picks went to %v, want %v", seen, want)
	}
	if got := h.readyPod(types.NamespacedName{Namespace: rev.Namespace, Name: "other-00001"}); got != "" {
		t.Errorf("a revision without private Endpoints got %q, want none", got)
	}
}
