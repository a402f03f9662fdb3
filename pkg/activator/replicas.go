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

package activator

import (
	"context"
	"hash/fnv"
	"slices"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/serverless-mesh/ssm/pkg/pool/leaseapi"
)

// PoolReplicas is a Leases client over every ready ssm-pool replica. Each
// replica serves the pooled proxies connected to it, and a lease lives on
// the replica that granted it; a single connection to ssm-pool's Service
// would send every lease to whichever replica it happened to reach.
//
// A revision's Lease goes first to the replica that rendezvous hashing of
// the revision over the ready replicas picks, so leases spread over the
// replicas and a revision keeps asking the same one; a replica without a
// free warm proxy, or unreachable, passes the Lease on to the next. Renew
// walks the same order: the first replica that knows the revision's lease
// is the one that granted it (a replica holding a lease grants it again
// rather than passing on), so nothing is remembered per revision.
type PoolReplicas struct {
	// endpoints lists the ready replicas' lease API addresses (ip:port);
	// when it lists none, the fallback address is used.
	endpoints func() []string
	fallback  string
	dial      func(address string) (*grpc.ClientConn, error)

	mu    sync.Mutex
	conns map[string]*grpc.ClientConn
}

var _ leaseapi.LeasesClient = (*PoolReplicas)(nil)

// NewPoolReplicas leases from the replicas endpoints lists, dialling each
// once with dial; fallback (ssm-pool's Service) is used while none is
// listed.
func NewPoolReplicas(endpoints func() []string, fallback string, dial func(string) (*grpc.ClientConn, error)) *PoolReplicas {
	return &PoolReplicas{
		endpoints: endpoints,
		fallback:  fallback,
		dial:      dial,
		conns:     map[string]*grpc.ClientConn{},
	}
}

// Close closes every connection.
func (p *PoolReplicas) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for addr, c := range p.conns {
		c.Close()
		delete(p.conns, addr)
	}
}

// order is the replicas in the order a revision's Lease tries them, and
// closes the connections of replicas no longer listed.
func (p *PoolReplicas) order(revision string) []string {
	addrs := p.endpoints()
	if len(addrs) == 0 {
		addrs = []string{p.fallback}
	}
	score := func(addr string) uint64 {
		h := fnv.New64a()
		h.Write([]byte(revision))
		h.Write([]byte{0})
		h.Write([]byte(addr))
		return h.Sum64()
	}
	out := slices.Clone(addrs)
	slices.SortFunc(out, func(a, b string) int {
		sa, sb := score(a), score(b)
		switch {
		case sa > sb:
			return -1
		case sa < sb:
			return 1
		}
		return 0
	})
	p.prune(addrs)
	return out
}

func (p *PoolReplicas) prune(current []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for addr, c := range p.conns {
		if !slices.Contains(current, addr) && addr != p.fallback {
			c.Close()
			delete(p.conns, addr)
		}
	}
}

func (p *PoolReplicas) client(addr string) (leaseapi.LeasesClient, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.conns[addr]
	if !ok {
		var err error
		if c, err = p.dial(addr); err != nil {
			return nil, err
		}
		p.conns[addr] = c
	}
	return leaseapi.NewLeasesClient(c), nil
}

func revisionKey(r *leaseapi.Revision) string { return r.GetNamespace() + "/" + r.GetName() }

// Lease implements leaseapi.LeasesClient.
func (p *PoolReplicas) Lease(ctx context.Context, req *leaseapi.LeaseRequest, opts ...grpc.CallOption) (*leaseapi.LeaseResponse, error) {
	key := revisionKey(req.GetRevision())
	var (
		resp *leaseapi.LeaseResponse
		err  error
	)
	for _, addr := range p.order(key) {
		var c leaseapi.LeasesClient
		if c, err = p.client(addr); err != nil {
			continue
		}
		resp, err = c.Lease(ctx, req, opts...)
		if err == nil && resp.GetOutcome() == leaseapi.LeaseResponse_GRANTED {
			return resp, nil
		}
		if ctx.Err() != nil || !worthAnotherReplica(resp, err) {
			break
		}
	}
	return resp, err
}

// worthAnotherReplica: the replica had no proxy to give or could not be
// reached; another replica, with proxies of its own, may grant.
func worthAnotherReplica(resp *leaseapi.LeaseResponse, err error) bool {
	if err != nil {
		return status.Code(err) == codes.Unavailable
	}
	switch resp.GetOutcome() {
	case leaseapi.LeaseResponse_EXHAUSTED, leaseapi.LeaseResponse_NO_WARM_PROXY:
		return true
	}
	return false
}

// Renew implements leaseapi.LeasesClient: it asks the replicas in the
// revision's order and returns the first answer that is not NotFound. An
// unreachable replica may be the one holding the lease, so its error wins
// over the others' NotFound: the caller then keeps the lease until its TTL.
func (p *PoolReplicas) Renew(ctx context.Context, req *leaseapi.RenewRequest, opts ...grpc.CallOption) (*leaseapi.RenewResponse, error) {
	key := revisionKey(req.GetRevision())
	var failed error
	for _, addr := range p.order(key) {
		c, err := p.client(addr)
		if err != nil {
			failed = status.Errorf(codes.Unavailable, "ssm-pool replica %s: %v", addr, err)
			continue
		}
		resp, err := c.Renew(ctx, req, opts...)
		switch {
		case err == nil:
			return resp, nil
		case status.Code(err) != codes.NotFound:
			failed = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	if failed != nil {
		return nil, failed
	}
	return nil, status.Errorf(codes.NotFound, "no ssm-pool replica holds a lease of %s", key)
}

// Stats implements leaseapi.LeasesClient; the activator does not read
// counts, so it asks the first replica.
func (p *PoolReplicas) Stats(ctx context.Context, req *leaseapi.StatsRequest, opts ...grpc.CallOption) (*leaseapi.StatsResponse, error) {
	addrs := p.order("")
	c, err := p.client(addrs[0])
	if err != nil {
		return nil, status.Errorf(codes.Unavailable, "ssm-pool replica %s: %v", addrs[0], err)
	}
	return c.Stats(ctx, req, opts...)
}
