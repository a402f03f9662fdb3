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

package envoy

import (
	"time"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	httpopts "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// HTTPProtocolOptionsExtension is the typed_extension_protocol_options key of
// upstream HTTP protocol options.
const HTTPProtocolOptionsExtension = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"

// EDSCluster is a cluster whose endpoints come over ADS in the load
// assignment of the same name.
func EDSCluster(name string) *cluster.Cluster {
	return &cluster.Cluster{
		Name:                 name,
		ClusterDiscoveryType: &cluster.Cluster_Type{Type: cluster.Cluster_EDS},
		EdsClusterConfig: &cluster.Cluster_EdsClusterConfig{
			EdsConfig:   ADSConfigSource(),
			ServiceName: name,
		},
	}
}

// CircuitBreakers sets the default-priority connection and pending-request
// limits. A zero limit is left unset (Envoy's default of 1024); both zero
// returns nil.
func CircuitBreakers(maxConnections, maxPendingRequests uint32) *cluster.CircuitBreakers {
	if maxConnections == 0 && maxPendingRequests == 0 {
		return nil
	}
	t := &cluster.CircuitBreakers_Thresholds{Priority: core.RoutingPriority_DEFAULT}
	if maxConnections > 0 {
		t.MaxConnections = wrapperspb.UInt32(maxConnections)
	}
	if maxPendingRequests > 0 {
		t.MaxPendingRequests = wrapperspb.UInt32(maxPendingRequests)
	}
	return &cluster.CircuitBreakers{Thresholds: []*cluster.CircuitBreakers_Thresholds{t}}
}

// GatewayEjection ejects endpoints after consecutive gateway failures (502,
// 503, 504, connect failures). Zero durations and percent keep Envoy's
// defaults.
type GatewayEjection struct {
	ConsecutiveGatewayFailures uint32
	Interval                   time.Duration
	BaseEjectionTime           time.Duration
	MaxEjectionPercent         uint32
}

// OutlierDetection ejects only on gateway failures. Envoy enforces
// consecutive 5xx and success-rate ejection by default; both are turned off
// because a function's own 5xx says nothing about the health of its pod.
// ConsecutiveGatewayFailures 0 returns nil (no outlier detection).
func OutlierDetection(e GatewayEjection) *cluster.OutlierDetection {
	if e.ConsecutiveGatewayFailures == 0 {
		return nil
	}
	od := &cluster.OutlierDetection{
		ConsecutiveGatewayFailure:          wrapperspb.UInt32(e.ConsecutiveGatewayFailures),
		EnforcingConsecutiveGatewayFailure: wrapperspb.UInt32(100),
		EnforcingConsecutive_5Xx:           wrapperspb.UInt32(0),
		EnforcingSuccessRate:               wrapperspb.UInt32(0),
	}
	if e.Interval > 0 {
		od.Interval = durationpb.New(e.Interval)
	}
	if e.BaseEjectionTime > 0 {
		od.BaseEjectionTime = durationpb.New(e.BaseEjectionTime)
	}
	if e.MaxEjectionPercent > 0 {
		od.MaxEjectionPercent = wrapperspb.UInt32(e.MaxEjectionPercent)
	}
	return od
}

// HTTP1ProtocolOptions are typed_extension_protocol_options that make the
// upstream speak HTTP/1.1 and bound each connection's requests and idle
// time. Zero leaves a bound at Envoy's default (unlimited requests, 1 h
// idle).
func HTTP1ProtocolOptions(maxRequestsPerConnection uint32, idleTimeout time.Duration) (map[string]*anypb.Any, error) {
	return httpProtocolOptions(&httpopts.HttpProtocolOptions_ExplicitHttpConfig{
		ProtocolConfig: &httpopts.HttpProtocolOptions_ExplicitHttpConfig_HttpProtocolOptions{
			HttpProtocolOptions: &core.Http1ProtocolOptions{},
		},
	}, maxRequestsPerConnection, idleTimeout)
}

// HTTP2ProtocolOptions are HTTP1ProtocolOptions for an upstream that
// speaks HTTP/2 (an h2c or gRPC revision, whose queue-proxy serves HTTP/2
// behind the plugin's mTLS).
func HTTP2ProtocolOptions(maxRequestsPerConnection uint32, idleTimeout time.Duration) (map[string]*anypb.Any, error) {
	return httpProtocolOptions(&httpopts.HttpProtocolOptions_ExplicitHttpConfig{
		ProtocolConfig: &httpopts.HttpProtocolOptions_ExplicitHttpConfig_Http2ProtocolOptions{
			Http2ProtocolOptions: &core.Http2ProtocolOptions{},
		},
	}, maxRequestsPerConnection, idleTimeout)
}

func httpProtocolOptions(explicit *httpopts.HttpProtocolOptions_ExplicitHttpConfig, maxRequestsPerConnection uint32, idleTimeout time.Duration) (map[string]*anypb.Any, error) {
	opts := &httpopts.HttpProtocolOptions{
		UpstreamProtocolOptions: &httpopts.HttpProtocolOptions_ExplicitHttpConfig_{ExplicitHttpConfig: explicit},
	}
	if maxRequestsPerConnection > 0 || idleTimeout > 0 {
		common := &core.HttpProtocolOptions{}
		if maxRequestsPerConnection > 0 {
			common.MaxRequestsPerConnection = wrapperspb.UInt32(maxRequestsPerConnection)
		}
		if idleTimeout > 0 {
			common.IdleTimeout = durationpb.New(idleTimeout)
		}
		opts.CommonHttpProtocolOptions = common
	}
	typed, err := TypedConfig(opts)
	if err != nil {
		return nil, err
	}
	return map[string]*anypb.Any{HTTPProtocolOptionsExtension: typed}, nil
}
