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

package stats

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"k8s.io/apimachinery/pkg/types"
	corev1listers "k8s.io/client-go/listers/core/v1"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	"github.com/serverless-mesh/ssm/pkg/pool/leaseapi"
)

// CallTimeout bounds one Stats call to one replica: the reconciler must not
// hang on a replica that is going away.
const CallTimeout = 2 * time.Second

// Reader sums a pool's counts over the ready ssm-pool replicas listed in the
// ssm-pool Endpoints.
type Reader struct {
	endpoints corev1listers.EndpointsLister
	namespace string
	creds     credentials.TransportCredentials

	mu    sync.Mutex
	conns map[string]*replicaConn
	now   func() time.Time
}

// replicaConn is a connection and when its replica was last listed.
type replicaConn struct {
	conn     *grpc.ClientConn
	lastSeen time.Time
}

// forgetAfter is how long a replica must be missing from the Endpoints
// before its connection is closed. Reconcile workers run concurrently and
// may see the Endpoints a moment apart; closing at the first absence would
// fail another worker's call in flight.
const forgetAfter = time.Minute

// NewReader reads the Endpoints of ssm-pool in namespace and dials each
// replica with creds (mTLS with the controller's certificate).
func NewReader(endpoints corev1listers.EndpointsLister, namespace string, creds credentials.TransportCredentials) *Reader {
	return &Reader{endpoints: endpoints, namespace: namespace, creds: creds, conns: make(map[string]*replicaConn), now: time.Now}
}

// Counts are a pool's proxies over every ssm-pool replica.
type Counts struct {
	// Warm proxies ACKed their base configuration and hold no lease.
	Warm int32
	// Leased proxies hold a lease; LeasedProxies are their pod names, sorted.
	Leased        int32
	LeasedProxies []string
}

// Stats returns pool's counts, summed over every replica. Any replica that
// does not answer makes the whole answer an error: a partial sum would
// under-count, and the caller keeps its last counts.
func (r *Reader) Stats(ctx context.Context, pool types.NamespacedName) (Counts, error) {
	addrs, err := r.replicas()
	if err != nil {
		return Counts{}, err
	}
	r.forgetOthers(addrs)
	if len(addrs) == 0 {
		return Counts{}, fmt.Errorf("no ready ssm-pool replica in Endpoints %s/%s", r.namespace, ssm.PoolServerName)
	}
	var out Counts
	var errs []error
	for _, addr := range addrs {
		conn, err := r.conn(addr)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		callCtx, cancel := context.WithTimeout(ctx, CallTimeout)
		resp, err := leaseapi.NewLeasesClient(conn).Stats(callCtx, &leaseapi.StatsRequest{PoolNamespace: pool.Namespace, PoolName: pool.Name})
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("ssm-pool replica %s: %w", addr, err))
			continue
		}
		out.Warm += resp.GetWarm()
		out.Leased += resp.GetLeased()
		out.LeasedProxies = append(out.LeasedProxies, resp.GetLeasedProxies()...)
	}
	if err := errors.Join(errs...); err != nil {
		return Counts{}, err
	}
	sort.Strings(out.LeasedProxies)
	return out, nil
}

// replicas are the ready addresses of ssm-pool's gRPC port, sorted.
func (r *Reader) replicas() ([]string, error) {
	ep, err := r.endpoints.Endpoints(r.namespace).Get(ssm.PoolServerName)
	if err != nil {
		return nil, fmt.Errorf("Endpoints %s/%s: %w", r.namespace, ssm.PoolServerName, err)
	}
	var out []string
	for _, subset := range ep.Subsets {
		port := int32(ssm.PoolServerPort)
		for _, p := range subset.Ports {
			if p.Port > 0 && (len(subset.Ports) == 1 || p.Name == "grpc-xds") {
				port = p.Port
			}
		}
		for _, a := range subset.Addresses {
			out = append(out, net.JoinHostPort(a.IP, strconv.Itoa(int(port))))
		}
	}
	sort.Strings(out)
	return out, nil
}

// conn keeps one connection per replica address; gRPC reconnects it.
func (r *Reader) conn(addr string) (*grpc.ClientConn, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.conns[addr]; ok {
		return c.conn, nil
	}
	c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(r.creds))
	if err != nil {
		return nil, fmt.Errorf("ssm-pool replica %s: %w", addr, err)
	}
	r.conns[addr] = &replicaConn{conn: c, lastSeen: r.now()}
	return c, nil
}

// forgetOthers closes the connections of replicas missing from the
// Endpoints for longer than forgetAfter.
func (r *Reader) forgetOthers(addrs []string) {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range addrs {
		if c, ok := r.conns[a]; ok {
			c.lastSeen = now
		}
	}
	for addr, c := range r.conns {
		if now.Sub(c.lastSeen) > forgetAfter {
			_ = c.conn.Close()
			delete(r.conns, addr)
		}
	}
}

// Close closes every connection.
func (r *Reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for addr, c := range r.conns {
		errs = append(errs, c.conn.Close())
		delete(r.conns, addr)
	}
	return errors.Join(errs...)
}
