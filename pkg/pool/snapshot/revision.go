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
	"fmt"
	"net/http"

	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	"github.com/serverless-mesh/ssm/pkg/pool/envoy"
	"github.com/serverless-mesh/ssm/pkg/pool/revision"
)

// revisionStatPrefix is the HTTP connection manager's stat prefix. It is the
// same for every revision: a proxy serves one revision at a time, and stat
// names carrying revision names would grow Envoy's stat store with every
// lease.
const revisionStatPrefix = "ssm_revision"

// ForRevision is Base plus the listener, route configuration, cluster and
// load assignment that serve revision c.Key with its policy. c is not
// modified. An invalid Config is an error naming the revision and the field.
func ForRevision(o Options, c revision.Config) (Resources, error) {
	if err := validateOptions(o); err != nil {
		return Resources{}, err
	}
	v, err := validateConfig(c)
	if err != nil {
		return Resources{}, err
	}
	health, err := healthListener(o)
	if err != nil {
		return Resources{}, err
	}
	name := ResourceName(v.key)
	wrap := func(err error) error { return fmt.Errorf("revision %s: %w", v.key, err) }

	m, err := envoy.HTTPConnectionManagerRDS(revisionStatPrefix, name)
	if err != nil {
		return Resources{}, wrap(err)
	}
	// Between the activator seeing a new pod ready (it probes pods itself)
	// and the pod's EndpointSlice saying so, the proxy has no endpoint.
	// Its 503 for that would reach the client; a marked 421 lets the
	// activator send the request on Knative's path instead.
	m.LocalReplyConfig = envoy.NotForwardedReply(http.StatusMisdirectedRequest, ssm.PoolProxyRefusalHeader, ssm.PoolProxyNoUpstream)
	// Envoy refuses an upgrade it is not configured for; a revision's
	// websockets must pass a leased proxy as they pass Knative's path.
	m.UpgradeConfigs = envoy.WebsocketUpgrades()
	l, err := envoy.HTTPListener(name, anyAddress, o.ProxyPort, m)
	if err != nil {
		return Resources{}, wrap(err)
	}
	rc, err := routeConfiguration(name, v)
	if err != nil {
		return Resources{}, wrap(err)
	}
	cl, err := revisionCluster(o, name, v)
	if err != nil {
		return Resources{}, wrap(err)
	}
	cla := envoy.LoadAssignment(name, v.endpoints)

	var r Resources
	if r.listeners, err = newTypedResources([]namedResource{health, {name: name, msg: l}}); err != nil {
		return Resources{}, wrap(err)
	}
	if r.routes, err = newTypedResources([]namedResource{{name: name, msg: rc}}); err != nil {
		return Resources{}, wrap(err)
	}
	if r.clusters, err = newTypedResources([]namedResource{{name: name, msg: cl}}); err != nil {
		return Resources{}, wrap(err)
	}
	if r.endpoints, err = newTypedResources([]namedResource{{name: name, msg: cla}}); err != nil {
		return Resources{}, wrap(err)
	}
	return r, nil
}

// Knative puts these headers on every request for a revision (the
// KIngress's split headers). Knative's activator strips them before it
// forwards; SSM's activator hook puts them back on requests it sends to a
// leased proxy.
const (
	revisionNamespaceHeader = "knative-serving-namespace"
	revisionNameHeader      = "knative-serving-revision"
)

// misdirectedBody answers a request that names another revision.
const misdirectedBody = "this pooled proxy does not serve the requested revision\n"

// routeConfiguration sends the revision's requests to its cluster, and
// answers any other request 421 Misdirected Request. A proxy serves one
// revision at a time and is re-leased to another when idle; a caller still
// holding the old lease must get an error, never the other revision's
// (maybe another namespace's) response. The timeout is written even when 0
// (no timeout): Envoy's default is 15 s.
func routeConfiguration(name string, v validConfig) (*route.RouteConfiguration, error) {
	var retry *route.RetryPolicy
	if v.retries > 0 {
		var err error
		if retry, err = envoy.RetryPolicy(v.retries, v.retryOn, v.perTryTimeout); err != nil {
			return nil, fmt.Errorf("Policy.RetryOn: %w", err)
		}
	}
	served := envoy.WithExactHeaders(envoy.ClusterRoute(name, "/", name, v.timeout, retry), map[string]string{
		revisionNamespaceHeader: v.key.Namespace,
		revisionNameHeader:      v.key.Name,
	})
	// The activator replays a request on Knative's path only when the proxy
	// marks its 421 as its own refusal: the mark is taken off every upstream
	// response, so a function's 421 (with or without it) reaches the client
	// once. Envoy applies the local reply mapping's headers after the
	// route's, so a no-upstream refusal keeps its mark.
	served = envoy.WithoutResponseHeaders(served, ssm.PoolProxyRefusalHeader)
	misdirected := envoy.WithResponseHeader(
		envoy.PrefixDirectResponseRoute("misdirected", "/", http.StatusMisdirectedRequest, misdirectedBody),
		ssm.PoolProxyRefusalHeader, ssm.PoolProxyMisdirected)
	return envoy.RouteConfiguration(name, envoy.VirtualHost(name, []string{"*"}, served, misdirected)), nil
}
