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

package resources

import (
	"fmt"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	overloadv3 "github.com/envoyproxy/go-control-plane/envoy/config/overload/v3"
	downstreamconnectionsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/resource_monitors/downstream_connections/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	upstreamhttpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	"github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
	"github.com/serverless-mesh/ssm/pkg/reconciler/proxypool/resources/names"
)

const (
	// poolServerConnectTimeout bounds the TCP connect to ssm-pool, inside
	// the cluster; a slow connect is better retried on a fresh DNS answer.
	poolServerConnectTimeout = time.Second
	// adsKeepaliveInterval and adsKeepaliveTimeout make a proxy notice an
	// ssm-pool replica that vanished without closing the stream (node loss)
	// within seconds rather than TCP's minutes, so it reconnects to a live
	// replica and becomes leasable again.
	adsKeepaliveInterval = 30 * time.Second
	adsKeepaliveTimeout  = 5 * time.Second
	// maxDownstreamConnections caps a proxy's open downstream connections
	// (Envoy warns when no cap is set); one proxy serves one revision at a
	// time, far below this.
	maxDownstreamConnections = 50000
)

// MakeBootstrap builds the Envoy bootstrap of pool's proxies. The node id is
// left out: each Envoy takes its pod name from --service-node. Everything
// beyond the connection to ssm-pool — listeners, the health listener that
// makes a pod Ready, revision clusters — arrives over ADS.
func MakeBootstrap(pool *v1alpha1.ProxyPool, cfg Config) (*bootstrapv3.Bootstrap, error) {
	poolServer, err := poolServerCluster(cfg)
	if err != nil {
		return nil, err
	}
	overload, err := typedConfig(&downstreamconnectionsv3.DownstreamConnectionsConfig{
		MaxActiveDownstreamConnections: maxDownstreamConnections,
	})
	if err != nil {
		return nil, err
	}
	return &bootstrapv3.Bootstrap{
		Node: &corev3.Node{Cluster: NodeCluster(pool)},
		// On localhost only: the admin API can drain and reconfigure Envoy.
		Admin: &bootstrapv3.Admin{Address: socketAddress("127.0.0.1", ssm.PoolProxyAdminPort)},
		// Load reports to ssm-pool: requests to a leased revision's cluster
		// are its traffic, which keeps the lease from expiring as idle.
		ClusterManager: &bootstrapv3.ClusterManager{
			LoadStatsConfig: &corev3.ApiConfigSource{
				ApiType:             corev3.ApiConfigSource_GRPC,
				TransportApiVersion: corev3.ApiVersion_V3,
				GrpcServices: []*corev3.GrpcService{{
					TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{
						EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{ClusterName: names.EnvoyPoolServerCluster},
					},
				}},
			},
		},
		DynamicResources: &bootstrapv3.Bootstrap_DynamicResources{
			AdsConfig: &corev3.ApiConfigSource{
				ApiType:             corev3.ApiConfigSource_GRPC,
				TransportApiVersion: corev3.ApiVersion_V3,
				GrpcServices: []*corev3.GrpcService{{
					TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{
						EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{ClusterName: names.EnvoyPoolServerCluster},
					},
				}},
			},
			CdsConfig: adsConfigSource(),
			LdsConfig: adsConfigSource(),
		},
		StaticResources: &bootstrapv3.Bootstrap_StaticResources{
			Clusters: []*clusterv3.Cluster{poolServer},
		},
		OverloadManager: &overloadv3.OverloadManager{
			ResourceMonitors: []*overloadv3.ResourceMonitor{{
				Name:       "envoy.resource_monitors.global_downstream_max_connections",
				ConfigType: &overloadv3.ResourceMonitor_TypedConfig{TypedConfig: overload},
			}},
		},
	}, nil
}

// NodeCluster is the node cluster pool's proxies announce to ssm-pool,
// "<namespace>/<name>": it is how ssm-pool knows which pool a proxy is in.
func NodeCluster(pool *v1alpha1.ProxyPool) string {
	return pool.Namespace + "/" + pool.Name
}

// poolServerCluster reaches ssm-pool: gRPC needs HTTP/2, and the connection
// is mTLS with the proxy's own certificate, accepting only ssm-pool's
// identity. ALPN "h2" is required because grpc-go servers refuse TLS
// connections that do not negotiate it.
func poolServerCluster(cfg Config) (*clusterv3.Cluster, error) {
	protocol, err := typedConfig(&upstreamhttpv3.HttpProtocolOptions{
		UpstreamProtocolOptions: &upstreamhttpv3.HttpProtocolOptions_ExplicitHttpConfig_{
			ExplicitHttpConfig: &upstreamhttpv3.HttpProtocolOptions_ExplicitHttpConfig{
				ProtocolConfig: &upstreamhttpv3.HttpProtocolOptions_ExplicitHttpConfig_Http2ProtocolOptions{
					Http2ProtocolOptions: &corev3.Http2ProtocolOptions{
						ConnectionKeepalive: &corev3.KeepaliveSettings{
							Interval: durationpb.New(adsKeepaliveInterval),
							Timeout:  durationpb.New(adsKeepaliveTimeout),
						},
					},
				},
			},
		},
	})
	if err != nil {
		return nil, err
	}
	tls, err := typedConfig(&tlsv3.UpstreamTlsContext{
		CommonTlsContext: &tlsv3.CommonTlsContext{
			// Both ends are SSM's own; nothing older needs to be spoken.
			TlsParams:                      &tlsv3.TlsParameters{TlsMinimumProtocolVersion: tlsv3.TlsParameters_TLSv1_3},
			AlpnProtocols:                  []string{"h2"},
			TlsCertificateSdsSecretConfigs: []*tlsv3.SdsSecretConfig{SDSSecretConfig(names.EnvoyIdentitySecret)},
			ValidationContextType: &tlsv3.CommonTlsContext_CombinedValidationContext{
				CombinedValidationContext: &tlsv3.CommonTlsContext_CombinedCertificateValidationContext{
					DefaultValidationContext: &tlsv3.CertificateValidationContext{
						MatchTypedSubjectAltNames: []*tlsv3.SubjectAltNameMatcher{{
							SanType: tlsv3.SubjectAltNameMatcher_URI,
							Matcher: &matcherv3.StringMatcher{
								MatchPattern: &matcherv3.StringMatcher_Exact{Exact: cfg.PoolServerID()},
							},
						}},
					},
					ValidationContextSdsSecretConfig: SDSSecretConfig(names.EnvoyTrustBundleSecret),
				},
			},
		},
	})
	if err != nil {
		return nil, err
	}
	return &clusterv3.Cluster{
		Name:                 names.EnvoyPoolServerCluster,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STRICT_DNS},
		ConnectTimeout:       durationpb.New(poolServerConnectTimeout),
		LoadAssignment: &endpointv3.ClusterLoadAssignment{
			ClusterName: names.EnvoyPoolServerCluster,
			Endpoints: []*endpointv3.LocalityLbEndpoints{{
				LbEndpoints: []*endpointv3.LbEndpoint{{
					HostIdentifier: &endpointv3.LbEndpoint_Endpoint{
						Endpoint: &endpointv3.Endpoint{Address: socketAddress(cfg.PoolServerHost, cfg.PoolServerPort)},
					},
				}},
			}},
		},
		TypedExtensionProtocolOptions: map[string]*anypb.Any{
			"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": protocol,
		},
		TransportSocket: &corev3.TransportSocket{
			Name:       "envoy.transport_sockets.tls",
			ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: tls},
		},
	}, nil
}

func adsConfigSource() *corev3.ConfigSource {
	return &corev3.ConfigSource{
		ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}},
		ResourceApiVersion:    corev3.ApiVersion_V3,
	}
}

func socketAddress(host string, port uint32) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Address:       host,
		PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port},
	}}}
}

func typedConfig(m proto.Message) (*anypb.Any, error) {
	a, err := anypb.New(m)
	if err != nil {
		return nil, fmt.Errorf("packing %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	return a, nil
}
