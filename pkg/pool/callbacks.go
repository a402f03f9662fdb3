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

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/serverless-mesh/ssm/pkg/pool/revision"
)

// stream is one open ADS stream; proxy is set by its first request.
type stream struct {
	id   int64
	peer peerInfo
	// proxy is nil until the first request names the node.
	proxy *proxy
}

// unhealthyEvent is reported to Options.OnUnhealthy outside the lock.
type unhealthyEvent struct {
	proxy  string
	pool   revision.PoolKey
	reason string
}

// callbacks connect go-control-plane's stream events to the Server. Each
// stream's callbacks run on that stream's goroutine, in protocol order.
type callbacks struct {
	s *Server
}

var _ serverv3.Callbacks = (*callbacks)(nil)

// OnStreamOpen records who the peer is; the node is only known from the
// first request, which is where the peer is authorised.
func (c *callbacks) OnStreamOpen(ctx context.Context, id int64, typeURL string) error {
	if typeURL != resource.AnyType {
		return status.Errorf(codes.Unimplemented, "ssm-pool serves only ADS, not %s", typeURL)
	}
	info := peerFromContext(ctx)
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.streams[id] = &stream{id: id, peer: info}
	return nil
}

// OnStreamClosed forgets the stream's proxy; its lease is re-placed.
func (c *callbacks) OnStreamClosed(id int64, _ *core.Node) {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.streams[id]
	delete(s.streams, id)
	if st == nil || st.proxy == nil || st.proxy.gone {
		return
	}
	p := st.proxy
	s.forgetLocked(p, "disconnected")
	s.cache.ClearSnapshot(p.key)
	s.log.Infow("Proxy disconnected", zap.String("proxy", p.node), zap.Stringer("pool", p.pool))
}

// OnStreamRequest registers the proxy on its first request and tracks
// ACKs and NACKs. An error closes the stream.
func (c *callbacks) OnStreamRequest(id int64, req *discovery.DiscoveryRequest) error {
	s := c.s
	s.mu.Lock()
	st := s.streams[id]
	if st == nil {
		s.mu.Unlock()
		return status.Errorf(codes.Internal, "stream %d is not open", id)
	}
	if st.proxy == nil {
		if err := s.registerLocked(st, req.GetNode()); err != nil {
			s.mu.Unlock()
			s.log.Warnw("Refused a proxy", zap.Error(err))
			return err
		}
	}
	p := st.proxy
	if p.gone {
		s.mu.Unlock()
		return status.Errorf(codes.Aborted, "proxy %s of pool %s connected again on a newer stream", p.node, p.pool)
	}
	if key := nodeKey(req.GetNode()); key != p.key {
		// go-control-plane keys each request's watch by the node it names:
		// a stream that changed its node would read another proxy's
		// configuration.
		s.mu.Unlock()
		return status.Errorf(codes.InvalidArgument, "proxy %s of pool %s changed its node to %q on the same stream",
			p.node, p.pool, key)
	}
	event := s.observeRequestLocked(p, req)
	s.mu.Unlock()
	if event != nil && s.opts.OnUnhealthy != nil {
		s.opts.OnUnhealthy(event.proxy, event.pool, event.reason)
	}
	return nil
}

// OnStreamResponse records what was sent, so that the proxy's next request
// can be told apart as an ACK, a NACK or a stale request.
func (c *callbacks) OnStreamResponse(_ context.Context, id int64, _ *discovery.DiscoveryRequest, resp *discovery.DiscoveryResponse) {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.streams[id]
	if st == nil || st.proxy == nil {
		return
	}
	ts := st.proxy.typeState(resp.GetTypeUrl())
	ts.sentNonce, ts.sentVersion = resp.GetNonce(), resp.GetVersionInfo()
}

// Incremental xDS and REST fetches are not served: leases are built on the
// state-of-the-world ACK semantics above.

func (c *callbacks) OnDeltaStreamOpen(context.Context, int64, string) error {
	return status.Error(codes.Unimplemented, "ssm-pool serves only state-of-the-world ADS")
}
func (c *callbacks) OnDeltaStreamClosed(int64, *core.Node) {}
func (c *callbacks) OnStreamDeltaRequest(int64, *discovery.DeltaDiscoveryRequest) error {
	return status.Error(codes.Unimplemented, "ssm-pool serves only state-of-the-world ADS")
}
func (c *callbacks) OnStreamDeltaResponse(int64, *discovery.DeltaDiscoveryRequest, *discovery.DeltaDiscoveryResponse) {
}
func (c *callbacks) OnFetchRequest(context.Context, *discovery.DiscoveryRequest) error {
	return status.Error(codes.Unimplemented, "ssm-pool serves only ADS streams")
}
func (c *callbacks) OnFetchResponse(*discovery.DiscoveryRequest, *discovery.DiscoveryResponse) {}

// registerLocked admits the stream's node as a proxy of the pool its
// node.cluster names, and gives it the base configuration.
func (s *Server) registerLocked(st *stream, node *core.Node) error {
	if s.baseErr != nil {
		return status.Errorf(codes.Internal, "ssm-pool has no base configuration: %v", s.baseErr)
	}
	if node.GetId() == "" {
		return status.Error(codes.InvalidArgument, "node id is empty; it must be the proxy's pod name")
	}
	pool, err := parsePoolKey(node.GetCluster())
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "proxy %s: %v", node.GetId(), err)
	}
	if err := s.authorize(st.peer, node.GetId(), pool); err != nil {
		return err
	}
	address, err := st.peer.proxyAddress(node, s.opts.Snapshot.ProxyPort)
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "proxy %s: %v", node.GetId(), err)
	}
	key := nodeKey(node)
	if old := s.nodes[key]; old != nil {
		// The same pod reconnected before its old stream ended: the newer
		// stream wins and the old one is closed on its next request.
		s.forgetLocked(old, "reconnected")
	}
	p := newProxy(node.GetId(), key, pool, address, s.opts.Clock.Now())
	st.proxy = p
	s.addLocked(p)
	s.setSnapshotLocked(p, s.base)
	s.log.Infow("Proxy connected", zap.String("proxy", p.node), zap.Stringer("pool", pool),
		zap.String("address", p.address))
	return nil
}

// typeLabel is the short name of an xDS type for labels and messages.
func typeLabel(typeURL string) string {
	switch typeURL {
	case resource.ListenerType:
		return "listener"
	case resource.RouteType:
		return "route"
	case resource.ClusterType:
		return "cluster"
	case resource.EndpointType:
		return "endpoint"
	case resource.SecretType:
		return "secret"
	}
	return "other"
}
