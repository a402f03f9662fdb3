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

package adsclient

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/config/route/v3" // registers RouteConfiguration for Any
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3" // registers Secret for Any
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// resourceWrapperType is the envelope go-control-plane uses for resources
// with a TTL.
const resourceWrapperType = resourcev3.APITypePrefix + "envoy.service.discovery.v3.Resource"

// typeState is the client's view of one subscribed type. Only the receive
// goroutine writes it, under Client.mu.
type typeState struct {
	// parent is the type whose resources name this type's resources
	// (clusters for endpoints, listeners for routes); "" for a wildcard type.
	parent string
	// child is the subscribed type this type's resources name, if any.
	child string
	// requested is true once a request for the type went out; the server has
	// no subscription before that.
	requested bool
	// names are the subscribed resource names of a child type, sorted.
	names []string
	// version is the last ACKed version_info; nonce the last received nonce.
	version   string
	nonce     string
	resources map[string]proto.Message
}

func newTypeStates(typeURLs []string) (map[string]*typeState, error) {
	if len(typeURLs) == 0 {
		return nil, errors.New("no type URLs to subscribe to")
	}
	states := make(map[string]*typeState, len(typeURLs))
	for _, typeURL := range typeURLs {
		if _, dup := states[typeURL]; dup {
			return nil, fmt.Errorf("type %s listed twice", typeURL)
		}
		states[typeURL] = &typeState{parent: parentType(typeURL), resources: map[string]proto.Message{}}
	}
	for typeURL, st := range states {
		if st.parent == "" {
			continue
		}
		parent, ok := states[st.parent]
		if !ok {
			return nil, fmt.Errorf("type %s follows %s, which is not subscribed", typeURL, st.parent)
		}
		parent.child = typeURL
	}
	return states, nil
}

// parentType is the type whose resources reference resources of typeURL.
func parentType(typeURL string) string {
	switch typeURL {
	case resourcev3.EndpointType:
		return resourcev3.ClusterType
	case resourcev3.RouteType:
		return resourcev3.ListenerType
	default:
		return ""
	}
}

// request builds the request that subscribes to st's names and answers the
// last response of the type: an ACK when version is that response's, a NACK
// (previous version, errorDetail set) otherwise.
func (c *Client) request(typeURL string, st *typeState, version, errorDetail string) *discoveryv3.DiscoveryRequest {
	req := &discoveryv3.DiscoveryRequest{
		VersionInfo:   version,
		Node:          c.cfg.Node,
		ResourceNames: slices.Clone(st.names),
		TypeUrl:       typeURL,
		ResponseNonce: st.nonce,
	}
	if errorDetail != "" {
		req.ErrorDetail = &statuspb.Status{Code: int32(codes.InvalidArgument), Message: errorDetail}
	}
	return req
}

// handle answers one response: decode, decide, then either NACK or apply,
// update the child type's subscription and ACK.
func (c *Client) handle(resp *discoveryv3.DiscoveryResponse) error {
	typeURL := resp.GetTypeUrl()
	// c.types is fixed at Dial; only the states it points to change.
	st, ok := c.types[typeURL]
	if !ok {
		// Envoy ignores a response for a type it has no watch on.
		c.mu.Lock()
		c.publishLocked(Update{TypeURL: typeURL, Version: resp.GetVersionInfo(), Nonce: resp.GetNonce(),
			Error: "type not subscribed; ignored"})
		c.mu.Unlock()
		return nil
	}

	decoded, order, err := decode(typeURL, resp)
	var childNames []string
	if err == nil && st.child != "" {
		childNames, err = referencedNames(typeURL, decoded)
	}
	if err == nil && c.cfg.Decide != nil {
		err = c.cfg.Decide(typeURL, resp)
	}
	if err != nil {
		return c.nack(typeURL, st, resp, order, err)
	}
	return c.accept(typeURL, st, resp, decoded, order, childNames)
}

func (c *Client) nack(typeURL string, st *typeState, resp *discoveryv3.DiscoveryResponse, order []string, reason error) error {
	c.mu.Lock()
	st.nonce = resp.GetNonce()
	c.mu.Unlock()
	if err := c.send(c.request(typeURL, st, st.version, reason.Error())); err != nil {
		return err
	}
	c.mu.Lock()
	c.publishLocked(Update{TypeURL: typeURL, Version: resp.GetVersionInfo(), Nonce: resp.GetNonce(), Names: order,
		Error: reason.Error()})
	c.broadcastLocked()
	c.mu.Unlock()
	return nil
}

func (c *Client) accept(typeURL string, st *typeState, resp *discoveryv3.DiscoveryResponse,
	decoded map[string]proto.Message, order, childNames []string) error {
	resources := decoded
	if st.parent != "" {
		// Endpoints and routes are not full state in SotW: a response updates
		// the resources it names and leaves the other subscribed ones alone.
		resources = maps.Clone(st.resources)
		for name, msg := range decoded {
			if slices.Contains(st.names, name) {
				resources[name] = msg
			}
		}
	}

	var child *typeState
	if st.child != "" {
		child = c.types[st.child]
		if slices.Equal(child.names, childNames) || (!child.requested && len(childNames) == 0) {
			child = nil
		}
	}
	c.mu.Lock()
	st.nonce = resp.GetNonce()
	if child != nil {
		child.names = childNames
		child.resources = pruned(child.resources, childNames)
	}
	// The resources are in place before the ACK goes out, as Envoy installs
	// a configuration before it ACKs it: a server that acts on the ACK (a
	// lease granted once the proxy ACKed) finds the client already serving it.
	st.resources = resources
	c.mu.Unlock()
	if c.cfg.Applied != nil {
		c.cfg.Applied(c, typeURL)
	}

	// As Envoy does, the request for the newly referenced endpoints or routes
	// goes out before the ACK of the clusters or listeners that name them.
	if child != nil {
		if err := c.send(c.request(st.child, child, child.version, "")); err != nil {
			return err
		}
	}
	if err := c.send(c.request(typeURL, st, resp.GetVersionInfo(), "")); err != nil {
		return err
	}

	c.mu.Lock()
	if child != nil {
		child.requested = true
	}
	st.version = resp.GetVersionInfo()
	c.publishLocked(Update{TypeURL: typeURL, Version: resp.GetVersionInfo(), Nonce: resp.GetNonce(), Names: order, Acked: true})
	c.broadcastLocked()
	c.mu.Unlock()
	return nil
}

// pruned keeps the resources whose names are still subscribed.
func pruned(resources map[string]proto.Message, names []string) map[string]proto.Message {
	out := make(map[string]proto.Message, len(names))
	for _, name := range names {
		if msg, ok := resources[name]; ok {
			out[name] = msg
		}
	}
	return out
}

// decode unmarshals every resource of a response, by name, and returns the
// names in the response's order.
func decode(typeURL string, resp *discoveryv3.DiscoveryResponse) (map[string]proto.Message, []string, error) {
	decoded := make(map[string]proto.Message, len(resp.GetResources()))
	order := make([]string, 0, len(resp.GetResources()))
	for i, packed := range resp.GetResources() {
		if packed.GetTypeUrl() == resourceWrapperType {
			wrapper := &discoveryv3.Resource{}
			if err := packed.UnmarshalTo(wrapper); err != nil {
				return nil, nil, fmt.Errorf("resource %d: %w", i, err)
			}
			if wrapper.GetResource() == nil {
				return nil, nil, fmt.Errorf("resource %d (%q): TTL heartbeats are not supported", i, wrapper.GetName())
			}
			packed = wrapper.GetResource()
		}
		msg, name, err := decodeOne(typeURL, packed)
		if err != nil {
			return nil, nil, fmt.Errorf("resource %d: %w", i, err)
		}
		if _, dup := decoded[name]; dup {
			return nil, nil, fmt.Errorf("resource %d: name %q appears twice", i, name)
		}
		decoded[name] = msg
		order = append(order, name)
	}
	return decoded, order, nil
}

func decodeOne(typeURL string, packed *anypb.Any) (proto.Message, string, error) {
	if packed.GetTypeUrl() != typeURL {
		return nil, "", fmt.Errorf("type %s in a %s response", packed.GetTypeUrl(), typeURL)
	}
	msg, err := packed.UnmarshalNew()
	if err != nil {
		return nil, "", fmt.Errorf("unmarshalling %s: %w", typeURL, err)
	}
	var name string
	switch m := msg.(type) {
	case *endpointv3.ClusterLoadAssignment:
		name = m.GetClusterName()
	case interface{ GetName() string }:
		name = m.GetName()
	}
	if name == "" {
		return nil, "", fmt.Errorf("%s without a name", typeURL)
	}
	return msg, name, nil
}

// referencedNames are the endpoint or route names that a type's resources
// reference, sorted and unique.
func referencedNames(typeURL string, resources map[string]proto.Message) ([]string, error) {
	var names []string
	for name, msg := range resources {
		switch m := msg.(type) {
		case *clusterv3.Cluster:
			names = append(names, edsName(m)...)
		case *listenerv3.Listener:
			routes, err := rdsNames(m)
			if err != nil {
				return nil, fmt.Errorf("%s %q: %w", typeURL, name, err)
			}
			names = append(names, routes...)
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// edsName is the endpoint resource an EDS cluster subscribes to: its
// eds_cluster_config.service_name, or its own name when that is empty.
func edsName(c *clusterv3.Cluster) []string {
	if c.GetType() != clusterv3.Cluster_EDS {
		return nil
	}
	if service := c.GetEdsClusterConfig().GetServiceName(); service != "" {
		return []string{service}
	}
	return []string{c.GetName()}
}

// rdsNames are the route configurations a listener's HTTP connection
// managers load over RDS.
func rdsNames(l *listenerv3.Listener) ([]string, error) {
	var packed []*anypb.Any
	chains := l.GetFilterChains()
	if l.GetDefaultFilterChain() != nil {
		chains = append(slices.Clone(chains), l.GetDefaultFilterChain())
	}
	for _, chain := range chains {
		for _, f := range chain.GetFilters() {
			packed = append(packed, f.GetTypedConfig())
		}
	}
	if api := l.GetApiListener().GetApiListener(); api != nil {
		packed = append(packed, api)
	}
	var names []string
	for _, p := range packed {
		if p == nil || !p.MessageIs(&hcmv3.HttpConnectionManager{}) {
			continue
		}
		hcm := &hcmv3.HttpConnectionManager{}
		if err := p.UnmarshalTo(hcm); err != nil {
			return nil, fmt.Errorf("http connection manager: %w", err)
		}
		if name := hcm.GetRds().GetRouteConfigName(); name != "" {
			names = append(names, name)
		}
	}
	return names, nil
}
