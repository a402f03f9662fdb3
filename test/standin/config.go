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
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/proto"
)

// state is one consistent view of the proxy's configuration: for each
// listener port, the routes of its route configuration.
type state struct {
	ports map[uint32][]route
}

// hosts are the upstream endpoints of every route.
func (s *state) hosts() map[string]bool {
	out := map[string]bool{}
	for _, routes := range s.ports {
		for _, r := range routes {
			if r.cluster != nil {
				for _, ep := range r.cluster.endpoints {
					out[ep] = true
				}
			}
		}
	}
	return out
}

// route is one route: a match and either a cluster or a direct response.
type route struct {
	prefix  string
	headers map[string]string
	// direct response, when status != 0
	status uint32
	body   string
	// forwarding
	cluster *upstream
	timeout time.Duration
	retries uint32
	// noUpstream replaces the stand-in's own 503 when the request reaches
	// no upstream (Envoy's response flags UH, UF, NC), as the listener's
	// local reply mapping says; nil keeps the 503.
	noUpstream *localReply
	// removeHeaders and addHeaders are the route's response header
	// operations, applied to every response of the route, removals first.
	removeHeaders []string
	addHeaders    map[string]string
	// websocket: the listener's connection manager passes websocket
	// upgrades (upgrade_configs); Envoy refuses any other upgrade with 403.
	websocket bool
}

// finishHeaders applies the route's response header operations to h.
func (r route) finishHeaders(h http.Header) {
	for _, name := range r.removeHeaders {
		h.Del(name)
	}
	for name, value := range r.addHeaders {
		h.Set(name, value)
	}
}

// localReply is a local reply mapping's status and added headers.
type localReply struct {
	status  int
	headers map[string]string
}

// upstream is a cluster with its endpoints and the only identity it accepts.
type upstream struct {
	name      string
	endpoints []string
	peerURI   string
	sni       string
	// connectTimeout is the cluster's, or Envoy's default of 5 s.
	connectTimeout time.Duration
	// http2: the cluster's explicit protocol is HTTP/2, with ALPN h2.
	http2 bool
}

func (r route) matches(path string, header func(string) string) bool {
	if len(path) < len(r.prefix) || path[:len(r.prefix)] != r.prefix {
		return false
	}
	for name, want := range r.headers {
		if header(name) != want {
			return false
		}
	}
	return true
}

// translate builds a state from ADS resources, by name. A resource the
// stand-in does not understand is an error: it must never silently serve
// something an Envoy would serve differently.
func translate(listeners, routes, clusters, loads map[string]proto.Message) (*state, error) {
	st := &state{ports: map[uint32][]route{}}
	for name, m := range listeners {
		l, ok := m.(*listenerv3.Listener)
		if !ok {
			return nil, fmt.Errorf("listener %s: unexpected type %T", name, m)
		}
		hcm, err := connectionManager(l)
		if err != nil {
			return nil, fmt.Errorf("listener %s: %w", name, err)
		}
		rc := hcm.GetRouteConfig()
		if rds := hcm.GetRds(); rds != nil {
			got, ok := routes[rds.GetRouteConfigName()].(*routev3.RouteConfiguration)
			if !ok {
				// Not received yet: Envoy keeps such a listener warming.
				continue
			}
			rc = got
		}
		rs, err := translateRoutes(rc, clusters, loads)
		if err != nil {
			return nil, fmt.Errorf("listener %s: %w", name, err)
		}
		reply, err := translateLocalReply(hcm.GetLocalReplyConfig())
		if err != nil {
			return nil, fmt.Errorf("listener %s: %w", name, err)
		}
		websocket := false
		for _, u := range hcm.GetUpgradeConfigs() {
			if u.GetUpgradeType() != "websocket" || len(u.GetFilters()) > 0 || u.GetEnabled() != nil {
				return nil, fmt.Errorf("listener %s: upgrade config %v: only a plain websocket upgrade is supported", name, u)
			}
			websocket = true
		}
		for i := range rs {
			rs[i].noUpstream = reply
			rs[i].websocket = websocket
		}
		st.ports[l.GetAddress().GetSocketAddress().GetPortValue()] = rs
	}
	return st, nil
}

func connectionManager(l *listenerv3.Listener) (*hcmv3.HttpConnectionManager, error) {
	if len(l.GetFilterChains()) != 1 || len(l.GetFilterChains()[0].GetFilters()) != 1 {
		return nil, errors.New("want exactly one filter chain with one filter")
	}
	hcm := &hcmv3.HttpConnectionManager{}
	if err := l.GetFilterChains()[0].GetFilters()[0].GetTypedConfig().UnmarshalTo(hcm); err != nil {
		return nil, fmt.Errorf("HTTP connection manager: %w", err)
	}
	return hcm, nil
}

func translateRoutes(rc *routev3.RouteConfiguration, clusters, loads map[string]proto.Message) ([]route, error) {
	if len(rc.GetVirtualHosts()) != 1 {
		return nil, fmt.Errorf("route configuration %s: want one virtual host", rc.GetName())
	}
	var out []route
	for _, r := range rc.GetVirtualHosts()[0].GetRoutes() {
		tr := route{prefix: r.GetMatch().GetPrefix(), headers: map[string]string{}}
		if p := r.GetMatch().GetPath(); p != "" {
			tr.prefix = p // exact paths are only /ready here; a prefix match is close enough for it
		}
		for _, h := range r.GetMatch().GetHeaders() {
			tr.headers[h.GetName()] = h.GetStringMatch().GetExact()
		}
		if err := translateResponseHeaders(r, &tr); err != nil {
			return nil, err
		}
		switch {
		case r.GetDirectResponse() != nil:
			tr.status = r.GetDirectResponse().GetStatus()
			tr.body = r.GetDirectResponse().GetBody().GetInlineString()
		case r.GetRoute() != nil:
			a := r.GetRoute()
			up, err := translateCluster(a.GetCluster(), clusters, loads)
			if err != nil {
				return nil, err
			}
			tr.cluster = up
			tr.timeout = a.GetTimeout().AsDuration()
			tr.retries = a.GetRetryPolicy().GetNumRetries().GetValue()
		default:
			return nil, fmt.Errorf("route %s: neither a cluster nor a direct response", r.GetName())
		}
		out = append(out, tr)
	}
	return out, nil
}

// translateResponseHeaders takes the route's response header operations:
// removals, and additions that overwrite. Request header operations and
// other append actions are errors: the stand-in does not apply them.
func translateResponseHeaders(r *routev3.Route, tr *route) error {
	if len(r.GetRequestHeadersToAdd()) > 0 || len(r.GetRequestHeadersToRemove()) > 0 {
		return fmt.Errorf("route %s: request header operations are not supported", r.GetName())
	}
	tr.removeHeaders = append(tr.removeHeaders, r.GetResponseHeadersToRemove()...)
	for _, h := range r.GetResponseHeadersToAdd() {
		if h.GetAppendAction() != corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD {
			return fmt.Errorf("route %s: response header %s: only OVERWRITE_IF_EXISTS_OR_ADD is supported", r.GetName(), h.GetHeader().GetKey())
		}
		if tr.addHeaders == nil {
			tr.addHeaders = map[string]string{}
		}
		tr.addHeaders[h.GetHeader().GetKey()] = h.GetHeader().GetValue()
	}
	return nil
}

// translateLocalReply understands only the mapping pkg/pool/envoy's
// NotForwardedReply writes: one mapper, filtered on exactly the response
// flags of a request that reached no upstream. Anything else is an error,
// since the stand-in could not answer as Envoy would.
func translateLocalReply(c *hcmv3.LocalReplyConfig) (*localReply, error) {
	if c == nil {
		return nil, nil
	}
	if len(c.GetMappers()) != 1 || c.GetBodyFormat() != nil {
		return nil, errors.New("local reply config: want exactly one mapper and no body format")
	}
	m := c.GetMappers()[0]
	flags := m.GetFilter().GetResponseFlagFilter().GetFlags()
	if !slices.Equal(flags, []string{"UH", "UF", "NC"}) || m.GetBody() != nil || m.GetBodyFormatOverride() != nil {
		return nil, fmt.Errorf("local reply mapper: want the response flags UH, UF, NC and no body, got %v", m)
	}
	reply := &localReply{status: int(m.GetStatusCode().GetValue()), headers: map[string]string{}}
	for _, h := range m.GetHeadersToAdd() {
		reply.headers[h.GetHeader().GetKey()] = h.GetHeader().GetValue()
	}
	return reply, nil
}

func translateCluster(name string, clusters, loads map[string]proto.Message) (*upstream, error) {
	c, ok := clusters[name].(*clusterv3.Cluster)
	if !ok {
		return nil, fmt.Errorf("cluster %s: not received", name)
	}
	up := &upstream{name: name, connectTimeout: 5 * time.Second}
	if d := c.GetConnectTimeout(); d != nil {
		up.connectTimeout = d.AsDuration()
	}
	http2, err := upstreamHTTP2(c)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	up.http2 = http2
	if ts := c.GetTransportSocket(); ts != nil {
		tlsCtx := &tlsv3.UpstreamTlsContext{}
		if err := ts.GetTypedConfig().UnmarshalTo(tlsCtx); err != nil {
			return nil, fmt.Errorf("cluster %s: upstream TLS: %w", name, err)
		}
		wantALPN := []string{"http/1.1"}
		if http2 {
			wantALPN = []string{"h2"}
		}
		if alpn := tlsCtx.GetCommonTlsContext().GetAlpnProtocols(); !slices.Equal(alpn, wantALPN) {
			return nil, fmt.Errorf("cluster %s: ALPN %v does not match the upstream protocol, want %v", name, alpn, wantALPN)
		}
		sans := tlsCtx.GetCommonTlsContext().GetCombinedValidationContext().GetDefaultValidationContext().GetMatchTypedSubjectAltNames()
		if len(sans) != 1 || sans[0].GetSanType() != tlsv3.SubjectAltNameMatcher_URI {
			return nil, fmt.Errorf("cluster %s: want exactly one URI SAN matcher", name)
		}
		up.peerURI = sans[0].GetMatcher().GetExact()
		up.sni = tlsCtx.GetSni()
	}
	if cla, ok := loads[name].(*endpointv3.ClusterLoadAssignment); ok {
		for _, le := range cla.GetEndpoints() {
			for _, lb := range le.GetLbEndpoints() {
				sa := lb.GetEndpoint().GetAddress().GetSocketAddress()
				up.endpoints = append(up.endpoints, net.JoinHostPort(sa.GetAddress(), strconv.FormatUint(uint64(sa.GetPortValue()), 10)))
			}
		}
	}
	return up, nil
}

// upstreamHTTP2 reads the cluster's explicit upstream protocol: HTTP/1.1
// when none is set (Envoy's default), HTTP/2 when http2_protocol_options
// is. Automatic or downstream-following protocol selection is an error:
// the stand-in does not implement it.
func upstreamHTTP2(c *clusterv3.Cluster) (bool, error) {
	typed, ok := c.GetTypedExtensionProtocolOptions()["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
	if !ok {
		return false, nil
	}
	opts := &httpv3.HttpProtocolOptions{}
	if err := typed.UnmarshalTo(opts); err != nil {
		return false, fmt.Errorf("HTTP protocol options: %w", err)
	}
	explicit := opts.GetExplicitHttpConfig()
	switch {
	case explicit == nil:
		return false, errors.New("HTTP protocol options: only an explicit HTTP config is supported")
	case explicit.GetHttp2ProtocolOptions() != nil:
		return true, nil
	case explicit.GetHttpProtocolOptions() != nil:
		return false, nil
	default:
		return false, errors.New("HTTP protocol options: want HTTP/1.1 or HTTP/2")
	}
}
