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
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/types"
	activatorhandler "knative.dev/serving/pkg/activator/handler"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/serverless-mesh/ssm/pkg/identity"
	"github.com/serverless-mesh/ssm/pkg/resolver"
)

// A sidecar-less revision's pod has no Istio sidecar: its queue-proxy
// plugin refuses plaintext from outside the pod and accepts only mTLS on
// its own port, from pooled proxies and the activator. Knative's activator
// would send plaintext to the pod's port 8012 and be refused, so the hook
// sends those requests to the plugin's mTLS port with the activator's
// identity instead. Which revisions are sidecar-less is read from the
// decision SSM stamped on the Revision when it was admitted
// (resolver.StampedPods), the one the Deployment webhook made its pods by.

// podMTLS is how the hook reaches the pods of the revisions whose
// queue-proxy presents one identity: HTTP/1.1 for HTTP/1.1 requests
// (websocket upgrades included), HTTP/2 negotiated by ALPN for HTTP/2
// requests (h2c and gRPC revisions), as Knative's own transport picks h2c
// or HTTP/1.1 by the request's protocol. The plugin carries either to
// queue-proxy's plaintext port unchanged.
type podMTLS struct {
	server    identity.ID
	transport *http.Transport
	h2        *http.Transport
	// lastUsed is the hook's clock when a request last chose it, within
	// arrivalResolution.
	lastUsed atomic.Int64
}

// maxPodTransports bounds the transports (and their idle connections)
// kept for sidecar-less pods: one per namespace and ServiceAccount in use.
const maxPodTransports = 1024

// evictPodTransports closes and forgets the least recently used transports
// until at most keep remain. A request holding an evicted one finishes on
// it; the next one gets a new transport.
func (h *Hook) evictPodTransports(keep int) int {
	var all []*podMTLS
	h.podTransports.Range(func(_, v any) bool {
		all = append(all, v.(*podMTLS))
		return true
	})
	if len(all) <= keep {
		return 0
	}
	slices.SortFunc(all, func(a, b *podMTLS) int { return cmp.Compare(a.lastUsed.Load(), b.lastUsed.Load()) })
	evicted := 0
	for _, t := range all[:len(all)-keep] {
		if h.podTransports.CompareAndDelete(t.server, t) {
			t.closeIdleConnections()
			evicted++
		}
	}
	return evicted
}

// sweepPodTransports closes and forgets transports no request chose since
// before idleBefore, on the hook's clock.
func (h *Hook) sweepPodTransports(idleBefore int64) int {
	evicted := 0
	h.podTransports.Range(func(k, v any) bool {
		t := v.(*podMTLS)
		if t.lastUsed.Load() < idleBefore && h.podTransports.CompareAndDelete(k, t) {
			t.closeIdleConnections()
			evicted++
		}
		return true
	})
	return evicted
}

// forRequest is the transport for req's protocol.
func (p *podMTLS) forRequest(req *http.Request) *http.Transport {
	if req.ProtoMajor == 2 {
		return p.h2
	}
	return p.transport
}

// sidecarlessVerdict caches whether a revision is sidecar-less for one
// resourceVersion of it.
type sidecarlessVerdict struct {
	resourceVersion string
	// server is the identity its pods present; nil when the revision keeps
	// its sidecar. The transport is looked up per request, so that an
	// evicted one is never used again (see podTransport).
	server *identity.ID
}

// podMTLSFor returns how to reach the pods of the request's revision over
// mTLS, or nil when they take Knative's plaintext (the revision's pods were
// born with their sidecar, or the hook has no identity to present). It
// reads the revision Knative's context handler put on ctx and caches the
// verdict in st, so a request pays an atomic load and two comparisons.
func (h *Hook) podMTLSFor(ctx context.Context, revID types.NamespacedName, st *revisionState) *podMTLS {
	if h.opts.Identity == nil {
		return nil
	}
	rev := activatorhandler.RevisionFrom(ctx)
	if rev == nil {
		var err error
		if rev, err = h.revisions.Revisions(revID.Namespace).Get(revID.Name); err != nil {
			h.opts.Logger.Debugw("Revision not found; sending plaintext", zap.String("revision", revID.String()), zap.Error(err))
			return nil
		}
	}
	var server *identity.ID
	if v := verdictOf(st); v != nil && v.resourceVersion == rev.ResourceVersion {
		server = v.server
	} else {
		server = h.resolvePodServer(rev)
		if st != nil {
			st.sidecarless.Store(&sidecarlessVerdict{resourceVersion: rev.ResourceVersion, server: server})
		}
	}
	if server == nil {
		return nil
	}
	return h.podTransport(*server)
}

func verdictOf(st *revisionState) *sidecarlessVerdict {
	if st == nil {
		return nil
	}
	return st.sidecarless.Load()
}

// resolvePodServer returns the identity rev's pods present, nil when they
// were born with their sidecar (and take plaintext).
func (h *Hook) resolvePodServer(rev *servingv1.Revision) *identity.ID {
	if !resolver.StampedPods(rev.Annotations).Sidecarless {
		return nil
	}
	sa := identity.ServiceAccountName(rev.Spec.ServiceAccountName)
	id := identity.NewID(h.opts.TrustDomain, rev.Namespace, sa)
	return &id
}

// podTransport returns the transport for pods presenting server, creating
// it once. Each server identity has its own connection pool: a pooled
// connection is verified once, and a pod IP reused by a pod of another
// identity must not inherit a connection verified for the previous one.
// Transports unused for two idle periods are closed by Sweep, and at most
// maxPodTransports are kept: the least recently used goes first.
func (h *Hook) podTransport(server identity.ID) *podMTLS {
	now := h.now()
	if v, ok := h.podTransports.Load(server); ok {
		t := v.(*podMTLS)
		if now-t.lastUsed.Load() >= arrivalResolution {
			t.lastUsed.Store(now)
		}
		return t
	}
	h.evictPodTransports(maxPodTransports - 1)
	newTransport := func(protocol string) *http.Transport {
		tr := &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSClientConfig:     podClientTLS(h.opts.Identity, server, protocol),
			TLSHandshakeTimeout: 10 * time.Second,
			MaxIdleConnsPerHost: 100,
			IdleConnTimeout:     90 * time.Second,
		}
		var p http.Protocols
		if protocol == "h2" {
			p.SetHTTP2(true)
		} else {
			p.SetHTTP1(true)
		}
		tr.Protocols = &p
		return tr
	}
	t := &podMTLS{server: server, transport: newTransport("http/1.1"), h2: newTransport("h2")}
	t.lastUsed.Store(now)
	v, loaded := h.podTransports.LoadOrStore(server, t)
	if loaded {
		t.closeIdleConnections()
	}
	return v.(*podMTLS)
}

// closePodTransports drops the idle connections to sidecar-less pods.
func (h *Hook) closePodTransports() {
	h.podTransports.Range(func(_, v any) bool {
		v.(*podMTLS).closeIdleConnections()
		return true
	})
}

func (p *podMTLS) closeIdleConnections() {
	p.transport.CloseIdleConnections()
	p.h2.CloseIdleConnections()
}

// podClientTLS presents source's certificate and accepts only a server
// certificate that chains to source's bundle and carries exactly the
// SPIFFE ID server. Both are read per handshake, so a rotated identity
// applies to the next connection. Session resumption is off (no client
// session cache): every connection verifies against the current bundle.
func podClientTLS(source identity.CertSource, server identity.ID, protocol string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		NextProtos: []string{protocol},
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return source.Certificate()
		},
		// The pod is dialled by IP and identified by SPIFFE ID, not by name,
		// and the bundle must be re-read per handshake: Go's verification
		// is off and done instead in VerifyConnection.
		InsecureSkipVerify: true, //nolint:gosec // verified in VerifyConnection
		VerifyConnection: func(state tls.ConnectionState) error {
			return verifyPodServer(source, server, state)
		},
	}
}

func verifyPodServer(source identity.CertSource, want identity.ID, state tls.ConnectionState) error {
	if len(state.PeerCertificates) == 0 {
		return fmt.Errorf("pod of %s presented no certificate", want)
	}
	bundle, err := source.Bundle()
	if err != nil {
		return fmt.Errorf("CA bundle to verify the pod of %s: %w", want, err)
	}
	leaf := state.PeerCertificates[0]
	intermediates := x509.NewCertPool()
	for _, c := range state.PeerCertificates[1:] {
		intermediates.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots:         bundle,
		Intermediates: intermediates,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}); err != nil {
		return fmt.Errorf("pod certificate, want %s: %w", want, err)
	}
	if len(leaf.URIs) != 1 || leaf.URIs[0].String() != want.String() {
		return fmt.Errorf("pod certificate carries URI SANs %v, want exactly %s", leaf.URIs, want)
	}
	return nil
}

// viaPodMTLS sends req, addressed to a pod's plaintext port, to the same
// pod's mTLS port instead. req is not modified.
func (t *leaseTransport) viaPodMTLS(req *http.Request, target *podMTLS) (*http.Response, error) {
	host, _, err := net.SplitHostPort(req.URL.Host)
	if err != nil {
		return nil, fmt.Errorf("pod destination %q of a sidecar-less revision: %w", req.URL.Host, err)
	}
	out := req.Clone(req.Context())
	out.URL.Scheme = "https"
	out.URL.Host = net.JoinHostPort(host, strconv.Itoa(t.hook.opts.MTLSPort))
	resp, err := target.forRequest(out).RoundTrip(out)
	if err != nil {
		return nil, fmt.Errorf("mTLS to pod %s as %s: %w", out.URL.Host, target.server, err)
	}
	return resp, nil
}
