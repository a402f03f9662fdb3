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

// Package revision describes what a pooled proxy needs to serve one Knative
// revision: its resolved policy, the identity its pods present and its ready
// endpoints. It is the contract between the sources that watch the cluster
// and the snapshot builder and lease manager that use it.
package revision

import (
	"errors"

	"github.com/serverless-mesh/ssm/pkg/policy"
)

// Key names a revision.
type Key struct {
	Namespace string
	Name      string
}

// String is "namespace/name".
func (k Key) String() string { return k.Namespace + "/" + k.Name }

// PoolKey names a ProxyPool.
type PoolKey struct {
	Namespace string
	Name      string
}

// String is "namespace/name".
func (k PoolKey) String() string { return k.Namespace + "/" + k.Name }

// Endpoint is one ready pod of a revision: the address of its queue-proxy's
// mTLS port, which pooled proxies dial.
type Endpoint struct {
	IP   string
	Port uint32
}

// PortNameHTTP2 is Config.PortName of a revision that speaks HTTP/2 (h2c),
// as Knative names its Services' ports.
const PortNameHTTP2 = "http2"

// Config is everything a pooled proxy needs to serve one revision.
type Config struct {
	Key Key
	// Pool is the ProxyPool the revision leases from. A Config whose policy
	// names no pool (policy.NoProxyPool or "") is not pooled.
	Pool PoolKey
	// Policy is the revision's resolved policy, from pkg/policy.
	Policy policy.Policy
	// ServiceAccount of the revision's pods; their queue-proxy presents the
	// SPIFFE identity of this account, and a pooled proxy accepts no other.
	ServiceAccount string
	// Endpoints are the revision's ready pods, sorted by IP then port.
	Endpoints []Endpoint
	// PortName is the name of the revision's public port: "http", or
	// "http2" for h2c. Its lease Service's endpoints carry it.
	PortName string
	// ScaledToZero: Knative's autoscaler wants no pod of the revision (its
	// PodAutoscaler's desired scale is 0). Its pods may still serve for the
	// scale-to-zero grace period, while Knative moves its traffic to the
	// activator.
	ScaledToZero bool
	// Unleasable says why the revision may not lease a pooled proxy even
	// though its policy names a pool (see resolver.StampedPods); empty when it
	// may.
	Unleasable string
}

// Pooled reports whether the revision leases pooled proxies.
func (c Config) Pooled() bool {
	return c.Unleasable == "" && c.Policy.ProxyPool != "" && c.Policy.ProxyPool != policy.NoProxyPool
}

// Source supplies revision configurations. The pool server's implementation
// is backed by informers; tests use a map.
type Source interface {
	// Get returns the revision's configuration, or an error wrapping
	// ErrNotFound when the cluster has no such revision.
	Get(key Key) (Config, error)
}

// ErrNotFound is wrapped by Source.Get for a revision the cluster does not have.
var ErrNotFound = errors.New("revision not found")
