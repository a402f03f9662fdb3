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
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"slices"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cache "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/proto"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	"github.com/serverless-mesh/ssm/pkg/pool/revision"
)

// Options are the ports and names every pooled proxy's configuration shares.
type Options struct {
	// ProxyPort is the listener port for revision traffic.
	ProxyPort uint32
	// HealthPort serves /ready, answered 200 by a direct response.
	HealthPort uint32
	// TrustDomain is the SPIFFE trust domain of revision pods.
	TrustDomain string
	// IdentitySecret names the secret holding the proxy's own certificate
	// and key, and TrustBundleSecret the validation-context secret (CA
	// bundle); both are filesystem SDS files in SecretDirectory, which the
	// ProxyPool reconciler's bootstrap ConfigMap provides (envoy.FileSDS).
	IdentitySecret    string
	TrustBundleSecret string
	SecretDirectory   string
}

// DefaultOptions match the pool's wire contract in pkg/apis/ssm and the
// secret names of the bootstrap the ProxyPool reconciler writes.
func DefaultOptions() Options {
	return Options{
		ProxyPort:         ssm.PoolProxyPort,
		HealthPort:        ssm.PoolProxyHealthPort,
		TrustDomain:       "cluster.local",
		IdentitySecret:    "ssm-proxy-identity",
		TrustBundleSecret: "ssm-trust-bundle",
		SecretDirectory:   "/etc/envoy",
	}
}

// ResourceName is the name of a revision's listener, route configuration,
// cluster and load assignment: "ssm/<namespace>/<name>". The "ssm/" prefix
// keeps it apart from the health listener, which no revision can be named.
func ResourceName(k revision.Key) string { return "ssm/" + k.Namespace + "/" + k.Name }

// emptyVersion is what Snapshot reports for a type with no resources. It must
// not be "": a fresh Envoy's first wildcard CDS request carries version "",
// and go-control-plane answers only when versions differ, so a warm proxy
// (no clusters) would wait out its initial fetch timeout before serving its
// health listener.
const emptyVersion = "empty"

// typedResources are the resources of one type, sorted by name.
type typedResources struct {
	version string
	names   []string
	items   []types.Resource
}

// Resources is one proxy's configuration: resources sorted by name, each type
// versioned by a hash of its content (deterministic proto marshal), so
// identical content always has the identical version and a change of
// endpoints changes only the EDS version. A Resources is immutable.
type Resources struct {
	listeners typedResources
	routes    typedResources
	clusters  typedResources
	endpoints typedResources
	// err is set when Base was given unusable Options: Base has no error
	// result, so the error surfaces from Snapshot.
	err error
}

// Snapshot is a go-control-plane snapshot of r whose per-type versions are
// r.Version, except that a type with no resources has version "empty"
// (see emptyVersion). It fails when r was built from invalid Options or is
// not consistent.
func (r Resources) Snapshot() (*cache.Snapshot, error) {
	if r.err != nil {
		return nil, r.err
	}
	s := &cache.Snapshot{}
	for _, t := range []struct {
		typ       types.ResponseType
		resources typedResources
	}{
		{types.Listener, r.listeners},
		{types.Route, r.routes},
		{types.Cluster, r.clusters},
		{types.Endpoint, r.endpoints},
	} {
		version := t.resources.version
		if version == "" {
			version = emptyVersion
		}
		s.Resources[t.typ] = cache.NewResources(version, t.resources.items)
	}
	if err := s.Consistent(); err != nil {
		return nil, fmt.Errorf("snapshot of %v: %w", r.Names(resource.ListenerType), err)
	}
	return s, nil
}

// Version of the resources of typeURL: a content hash, or "" for a type with
// no resources (including every type a pooled proxy is never sent).
func (r Resources) Version(typeURL string) string { return r.of(typeURL).version }

// Names of the resources of typeURL, sorted.
func (r Resources) Names(typeURL string) []string { return slices.Clone(r.of(typeURL).names) }

func (r Resources) of(typeURL string) typedResources {
	switch typeURL {
	case resource.ListenerType:
		return r.listeners
	case resource.RouteType:
		return r.routes
	case resource.ClusterType:
		return r.clusters
	case resource.EndpointType:
		return r.endpoints
	}
	return typedResources{}
}

// namedResource is a resource before it is sorted and hashed.
type namedResource struct {
	name string
	msg  proto.Message
}

// newTypedResources sorts rs by name and hashes their deterministic
// encoding. The hash frames every name and message with its length, so no
// two different sets of resources share an input.
func newTypedResources(rs []namedResource) (typedResources, error) {
	if len(rs) == 0 {
		return typedResources{}, nil
	}
	sorted := slices.SortedFunc(slices.Values(rs), func(a, b namedResource) int {
		switch {
		case a.name < b.name:
			return -1
		case a.name > b.name:
			return 1
		}
		return 0
	})
	out := typedResources{
		names: make([]string, 0, len(sorted)),
		items: make([]types.Resource, 0, len(sorted)),
	}
	h := sha256.New()
	marshal := proto.MarshalOptions{Deterministic: true}
	var buf []byte
	for _, r := range sorted {
		var err error
		buf, err = marshal.MarshalAppend(buf[:0], r.msg)
		if err != nil {
			return typedResources{}, fmt.Errorf("encoding %s: %w", r.name, err)
		}
		writeFramed(h, []byte(r.name))
		writeFramed(h, buf)
		out.names = append(out.names, r.name)
		out.items = append(out.items, r.msg)
	}
	out.version = hex.EncodeToString(h.Sum(nil)[:16])
	return out, nil
}

func writeFramed(h hash.Hash, b []byte) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(b)))
	h.Write(n[:])
	h.Write(b)
}
