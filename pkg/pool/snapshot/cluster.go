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

package snapshot

import (
	"time"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/serverless-mesh/ssm/pkg/pool/envoy"
)

// revisionConnectTimeout bounds a pooled proxy's connection to a pod.
const revisionConnectTimeout = time.Second

// revisionCluster is the revision's EDS cluster: its pods' queue-proxy mTLS
// ports, limited and ejected by the revision's policy, and reached over mTLS
// that accepts only the identity of the revision's service account, so a
// proxy leased to one revision cannot be steered to another's pods.
func revisionCluster(o Options, name string, v validConfig) (*cluster.Cluster, error) {
	c := envoy.EDSCluster(name)
	// Envoy's default connect timeout (5 s) is as long as many revisions'
	// route timeouts, so a pod that vanished would turn into a 504 instead
	// of a connect failure, which the route retries and the listener maps to
	// a refusal the activator replays. Pods are one hop away.
	c.ConnectTimeout = durationpb.New(revisionConnectTimeout)
	c.CircuitBreakers = envoy.CircuitBreakers(v.maxConnections, v.maxPendingRequests)
	c.OutlierDetection = envoy.OutlierDetection(v.ejection)
	// The plugin offers h2 and http/1.1 by ALPN and carries either to
	// queue-proxy, which serves what the revision's port is named for:
	// HTTP/2 (h2c, gRPC) needs HTTP/2 all the way, or trailers are lost.
	protocolOptions, alpn := envoy.HTTP1ProtocolOptions, "http/1.1"
	if v.http2 {
		protocolOptions, alpn = envoy.HTTP2ProtocolOptions, "h2"
	}
	opts, err := protocolOptions(v.maxRequestsPerConnection, v.idleTimeout)
	if err != nil {
		return nil, err
	}
	c.TypedExtensionProtocolOptions = opts
	socket, err := envoy.UpstreamTLSTransportSocket(envoy.UpstreamTLS{
		CertificateSecret: o.IdentitySecret,
		TrustBundleSecret: o.TrustBundleSecret,
		SecretDirectory:   o.SecretDirectory,
		PeerURISAN:        "spiffe://" + o.TrustDomain + "/ns/" + v.key.Namespace + "/sa/" + v.serviceAccount,
		SNI:               v.key.Name + "." + v.key.Namespace,
		ALPN:              []string{alpn},
	})
	if err != nil {
		return nil, err
	}
	c.TransportSocket = socket
	return c, nil
}
