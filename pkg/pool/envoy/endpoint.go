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
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
)

// Endpoint is one upstream address.
type Endpoint struct {
	IP   string
	Port uint32
}

// LoadAssignment lists endpoints, in the order given, in a single locality.
// No endpoints is a valid assignment: the cluster exists and has no hosts,
// which Envoy answers with 503 until endpoints arrive.
func LoadAssignment(clusterName string, endpoints []Endpoint) *endpoint.ClusterLoadAssignment {
	lb := make([]*endpoint.LbEndpoint, 0, len(endpoints))
	for _, e := range endpoints {
		lb = append(lb, &endpoint.LbEndpoint{
			HostIdentifier: &endpoint.LbEndpoint_Endpoint{
				Endpoint: &endpoint.Endpoint{Address: SocketAddress(e.IP, e.Port)},
			},
		})
	}
	cla := &endpoint.ClusterLoadAssignment{ClusterName: clusterName}
	if len(lb) > 0 {
		cla.Endpoints = []*endpoint.LocalityLbEndpoints{{LbEndpoints: lb}}
	}
	return cla
}
