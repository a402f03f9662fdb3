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

package xdsprobe

import (
	"context"
	"errors"
	"fmt"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"knative.dev/pkg/network"
)

// FetchRouteConfigurations asks istiod once, as workload's gateway, for its
// listeners and then for the RouteConfigurations they load, and returns
// those whole. It is the one-shot form of what Manager watches, for tests,
// benchmarks and tools that need the full routes rather than readiness.
func FetchRouteConfigurations(ctx context.Context, opts Options, workload Workload) ([]*routev3.RouteConfiguration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, node, closeConn, err := openStream(ctx, opts, workload)
	if err != nil {
		return nil, err
	}
	defer closeConn()

	if err := stream.Send(&discoveryv3.DiscoveryRequest{Node: node, TypeUrl: listenerTypeURL}); err != nil {
		return nil, fmt.Errorf("requesting listeners: %w", err)
	}
	var listeners []*listenerv3.Listener
	if err := receive(stream, listenerTypeURL, func(r *discoveryv3.DiscoveryResponse) error {
		for _, any := range r.GetResources() {
			l := &listenerv3.Listener{}
			if err := any.UnmarshalTo(l); err != nil {
				return fmt.Errorf("decoding a listener: %w", err)
			}
			listeners = append(listeners, l)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	names, err := routeNamesOf(listeners)
	if err != nil || len(names) == 0 {
		return nil, err
	}
	if err := stream.Send(&discoveryv3.DiscoveryRequest{TypeUrl: routeTypeURL, ResourceNames: names}); err != nil {
		return nil, fmt.Errorf("requesting routes %v: %w", names, err)
	}
	var configs []*routev3.RouteConfiguration
	err = receive(stream, routeTypeURL, func(r *discoveryv3.DiscoveryResponse) error {
		for _, any := range r.GetResources() {
			rc := &routev3.RouteConfiguration{}
			if err := any.UnmarshalTo(rc); err != nil {
				return fmt.Errorf("decoding a route configuration: %w", err)
			}
			configs = append(configs, rc)
		}
		return nil
	})
	return configs, err
}

// FetchEndpoints asks istiod once, as workload's gateway, for the endpoints
// of the named clusters (e.g. "outbound|80||name.ns.svc.cluster.local"):
// where the gateway would send a route's traffic.
func FetchEndpoints(ctx context.Context, opts Options, workload Workload, clusters ...string) ([]*endpointv3.ClusterLoadAssignment, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, node, closeConn, err := openStream(ctx, opts, workload)
	if err != nil {
		return nil, err
	}
	defer closeConn()
	if err := stream.Send(&discoveryv3.DiscoveryRequest{Node: node, TypeUrl: endpointTypeURL, ResourceNames: clusters}); err != nil {
		return nil, fmt.Errorf("requesting the endpoints of %v: %w", clusters, err)
	}
	var out []*endpointv3.ClusterLoadAssignment
	err = receive(stream, endpointTypeURL, func(r *discoveryv3.DiscoveryResponse) error {
		for _, any := range r.GetResources() {
			cla := &endpointv3.ClusterLoadAssignment{}
			if err := any.UnmarshalTo(cla); err != nil {
				return fmt.Errorf("decoding a cluster load assignment: %w", err)
			}
			out = append(out, cla)
		}
		return nil
	})
	return out, err
}

// FetchClusters asks istiod once, as workload's gateway, for every cluster
// it generates for that workload (CDS is a wildcard subscription) and
// returns those whose names are given, keyed by name: the connection pool,
// outlier detection and TLS the gateway would apply upstream.
func FetchClusters(ctx context.Context, opts Options, workload Workload, names ...string) (map[string]*clusterv3.Cluster, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, node, closeConn, err := openStream(ctx, opts, workload)
	if err != nil {
		return nil, err
	}
	defer closeConn()
	if err := stream.Send(&discoveryv3.DiscoveryRequest{Node: node, TypeUrl: clusterTypeURL}); err != nil {
		return nil, fmt.Errorf("requesting clusters: %w", err)
	}
	wanted := map[string]bool{}
	for _, n := range names {
		wanted[n] = true
	}
	out := map[string]*clusterv3.Cluster{}
	err = receive(stream, clusterTypeURL, func(r *discoveryv3.DiscoveryResponse) error {
		for _, any := range r.GetResources() {
			c := &clusterv3.Cluster{}
			if err := any.UnmarshalTo(c); err != nil {
				return fmt.Errorf("decoding a cluster: %w", err)
			}
			if wanted[c.GetName()] {
				out[c.GetName()] = c
			}
		}
		return nil
	})
	return out, err
}

// openStream opens an ADS stream to opts.Address and returns it with the
// gateway node to present in the first request.
func openStream(ctx context.Context, opts Options, workload Workload) (
	grpc.BidiStreamingClient[discoveryv3.DiscoveryRequest, discoveryv3.DiscoveryResponse], *corev3.Node, func(), error,
) {
	if opts.Address == "" {
		return nil, nil, nil, errors.New("xDS address is empty")
	}
	if opts.ClusterID == "" {
		opts.ClusterID = "Kubernetes"
	}
	if opts.ClusterDomain == "" {
		opts.ClusterDomain = network.GetClusterDomainName()
	}
	node, err := gatewayNode(workload, nodeOptions{clusterID: opts.ClusterID, clusterDomain: opts.ClusterDomain, istioVersion: opts.IstioVersion})
	if err != nil {
		return nil, nil, nil, err
	}
	conn, err := grpc.NewClient(opts.Address, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessageSize)))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("xDS address %q: %w", opts.Address, err)
	}
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		_ = conn.Close()
		return nil, nil, nil, fmt.Errorf("opening the ADS stream to %s: %w", opts.Address, err)
	}
	return stream, node, func() { _ = conn.Close() }, nil
}

// receive reads responses until one of typeURL arrives and hands it to use.
// Responses of other types (istiod may push them unasked) are skipped.
func receive(stream grpc.BidiStreamingClient[discoveryv3.DiscoveryRequest, discoveryv3.DiscoveryResponse],
	typeURL string, use func(*discoveryv3.DiscoveryResponse) error,
) error {
	for {
		r, err := stream.Recv()
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", typeURL, err)
		}
		if r.GetTypeUrl() == typeURL {
			return use(r)
		}
	}
}
