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

package pool

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	"github.com/serverless-mesh/ssm/pkg/identity"
	"github.com/serverless-mesh/ssm/pkg/pool/revision"
)

// peerInfo is what the transport says about a stream's peer.
type peerInfo struct {
	ip string
	// tls is true when the connection is TLS; then id is the peer's SPIFFE
	// ID, or idErr says why it has none.
	tls   bool
	id    identity.ID
	idErr error
}

func peerFromContext(ctx context.Context) peerInfo {
	var info peerInfo
	p, ok := peer.FromContext(ctx)
	if !ok {
		return info
	}
	if p.Addr != nil {
		if host, _, err := net.SplitHostPort(p.Addr.String()); err == nil {
			info.ip = host
		}
	}
	if _, ok := p.AuthInfo.(credentials.TLSInfo); ok {
		info.tls = true
		info.id, info.idErr = identity.PeerID(ctx)
	}
	return info
}

// proxyAddress is where the proxy serves leased revisions: the pod IP it
// states in its node metadata (ssm.PoolProxyPodIPMetadataKey, from the
// downward API), else the address its ADS stream comes from, and the
// revision listener's port. A stated value that is not one IP address is
// refused rather than ignored: traffic would go to the wrong place.
func (pi peerInfo) proxyAddress(node *corev3.Node, port uint32) (string, error) {
	ip := pi.ip
	if v, ok := node.GetMetadata().GetFields()[ssm.PoolProxyPodIPMetadataKey]; ok {
		stated := v.GetStringValue()
		if net.ParseIP(stated) == nil {
			return "", fmt.Errorf("node metadata %s is %q, not an IP address", ssm.PoolProxyPodIPMetadataKey, stated)
		}
		ip = stated
	}
	if ip == "" {
		return "", fmt.Errorf("no address: node metadata has no %s and the connection has no peer address", ssm.PoolProxyPodIPMetadataKey)
	}
	return net.JoinHostPort(ip, strconv.FormatUint(uint64(port), 10)), nil
}

// authorize admits a TLS peer as a proxy of pool only when its SPIFFE ID is
// the pool's proxy ServiceAccount in the pool's namespace: a proxy can only
// join (and be handed revisions of) pools of its own namespace. A plaintext
// peer has no identity to check; the transport is the caller's choice, and
// cmd/pool always serves mTLS.
func (s *Server) authorize(pi peerInfo, node string, pool revision.PoolKey) error {
	if !pi.tls {
		return nil
	}
	if pi.idErr != nil {
		return status.Errorf(codes.Unauthenticated, "proxy %s of pool %s: %v", node, pool, pi.idErr)
	}
	id := pi.id
	want := identity.NewID(s.opts.Snapshot.TrustDomain, pool.Namespace, ssm.PoolProxyServiceAccount)
	if id != want {
		return status.Errorf(codes.PermissionDenied,
			"proxy %s claims pool %s, but its identity %s has trust domain %q, namespace %q and service account %q; "+
				"want trust domain %q, namespace %q and service account %q",
			node, pool, id, id.TrustDomain, id.Namespace, id.ServiceAccount,
			want.TrustDomain, want.Namespace, want.ServiceAccount)
	}
	return nil
}

// parsePoolKey reads node.cluster, "<pool-namespace>/<pool-name>".
func parsePoolKey(cluster string) (revision.PoolKey, error) {
	ns, name, ok := strings.Cut(cluster, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return revision.PoolKey{}, fmt.Errorf("node cluster %q is not <pool-namespace>/<pool-name>", cluster)
	}
	return revision.PoolKey{Namespace: ns, Name: name}, nil
}
