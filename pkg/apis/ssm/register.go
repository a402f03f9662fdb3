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

// Package ssm holds the API group name and the annotation keys that SSM
// reads from Knative Services, Configurations and Revisions.
package ssm

const (
	// GroupName is the API group of SSM's own resources.
	GroupName = "ssm.dev"

	// IngressClassName is the KIngress class SSM reconciles.
	IngressClassName = "ssm.ingress.networking.knative.dev"

	// LifecycleAnnotationKey declares a revision's lifecycle class:
	// "auto", "short-lived" or "long-lived".
	LifecycleAnnotationKey = GroupName + "/lifecycle"
	// TimeoutAnnotationKey overrides the route timeout (a Go duration).
	TimeoutAnnotationKey = GroupName + "/timeout"
	// RetriesAnnotationKey overrides the number of retries (an integer ≥ 0).
	RetriesAnnotationKey = GroupName + "/retries"
	// MTLSModeAnnotationKey selects "lightweight" or "full" mTLS.
	MTLSModeAnnotationKey = GroupName + "/mtls-mode"
	// ProxyPoolAnnotationKey names the ProxyPool to lease from, or "none".
	ProxyPoolAnnotationKey = GroupName + "/proxy-pool"

	// AnnotationPrefix is shared by every SSM annotation; an annotation with
	// this prefix that is not one of the keys above is rejected.
	AnnotationPrefix = GroupName + "/"

	// ResolvedPodsAnnotationKey is SSM's decision, stamped on a Revision when
	// it is admitted, of what its pods are born with: ResolvedPodsSidecarless
	// or ResolvedPodsSidecar. It sits outside AnnotationPrefix because users
	// never write it; Knative copies it onto the revision's pods.
	ResolvedPodsAnnotationKey = "resolved." + GroupName + "/pods"
	// ResolvedProxyPoolAnnotationKey, stamped with ResolvedPodsAnnotationKey,
	// names the pool that may lease a proxy for the revision.
	ResolvedProxyPoolAnnotationKey = "resolved." + GroupName + "/proxy-pool"
	// ResolvedPodsSidecarless and ResolvedPodsSidecar are the values of
	// ResolvedPodsAnnotationKey.
	ResolvedPodsSidecarless = "sidecarless"
	ResolvedPodsSidecar     = "sidecar"

	// RouteRevisionAnnotationKey and RouteServerlessPolicyAnnotationKey are
	// written by the KIngress reconciler on each DestinationRule: the
	// revision it is for, and "name/generation" of the ServerlessPolicy its
	// policy was resolved with. The ServerlessPolicy reconciler reads them to
	// tell whether the routes carry its current spec.
	RouteRevisionAnnotationKey = GroupName + "/revision"
	// RouteLifecycleClassAnnotationKey is, on the same DestinationRules,
	// the lifecycle class the revision's routes were resolved for.
	RouteLifecycleClassAnnotationKey   = GroupName + "/lifecycle-class"
	RouteServerlessPolicyAnnotationKey = GroupName + "/serverless-policy"

	// QueueProxyPluginAnnotationKey switches the SSM queue-proxy plugin on, in
	// the convention Knative's security-guard uses.
	QueueProxyPluginAnnotationKey = "qpoption.knative.dev/ssm-activate"

	// ManagedByLabelKey marks every object SSM creates.
	ManagedByLabelKey = "app.kubernetes.io/managed-by"
	// ManagedByLabelValue is the value of ManagedByLabelKey on SSM objects.
	ManagedByLabelValue = "ssm"
)

// The pool's wire contract: ports and names that ssm-pool, the Envoy
// bootstrap the ProxyPool reconciler writes, the activator hook and the
// queue-proxy plugin must agree on.
const (
	// PoolServerName is the Service (and Deployment) of the xDS + lease server.
	PoolServerName = "ssm-pool"
	// PoolServerPort serves ADS for pooled proxies and the lease API, on one
	// gRPC server with mTLS.
	PoolServerPort = 18000
	// PoolServerMetricsPort serves ssm-pool's Prometheus metrics.
	PoolServerMetricsPort = 9090

	// PoolProxyPort is where a pooled Envoy listens for the traffic of the
	// revision it is leased to.
	PoolProxyPort = 8081
	// PoolProxyHealthPort serves /ready from the base configuration, so an
	// Envoy is Ready only once it has taken configuration from ssm-pool.
	PoolProxyHealthPort = 15021
	// PoolProxyAdminPort is Envoy's admin interface, bound to localhost.
	PoolProxyAdminPort = 15000

	// QueueProxyMTLSPort is where the queue-proxy plugin terminates mTLS from
	// pooled proxies.
	QueueProxyMTLSPort = 8113

	// PoolProxyRefusalHeader marks a pooled proxy's 421 answer to a request
	// it never passed on: the caller may send that request elsewhere. The
	// proxy removes the header from every upstream response, so only the
	// proxy itself can set it.
	PoolProxyRefusalHeader = "x-ssm-proxy-refused"
	// PoolProxyNoUpstream is PoolProxyRefusalHeader's value when the
	// revision had no reachable pod (yet): the caller keeps the lease.
	PoolProxyNoUpstream = "no-upstream"
	// PoolProxyMisdirected is PoolProxyRefusalHeader's value when the proxy
	// does not serve the requested revision (a stale lease): the caller
	// drops the lease.
	PoolProxyMisdirected = "misdirected"

	// PoolProxyServiceAccount is the ServiceAccount of pooled Envoys in their
	// pool's namespace; their SPIFFE identity is derived from it.
	PoolProxyServiceAccount = "ssm-proxy"

	// PoolProxyPodIPMetadataKey is the Envoy node metadata field where a
	// pooled proxy states its pod IP (from the downward API), which is where
	// leased traffic is sent. The ADS connection's source address is only a
	// fallback: SNAT or a node-local proxy between the pod and ssm-pool
	// would make it someone else's.
	PoolProxyPodIPMetadataKey = GroupName + "/pod-ip"

	// PoolLabelKey labels a pool's pods (and their Deployment, Service and
	// PodDisruptionBudget) with the ProxyPool's name.
	PoolLabelKey = GroupName + "/proxy-pool"
)
