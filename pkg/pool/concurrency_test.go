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

package pool

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/serverless-mesh/ssm/pkg/pool/leaseapi"
)

// Many concurrent leases over many revisions: every revision ends with
// exactly one proxy and no proxy holds two revisions.
func TestConcurrentLeases(t *testing.T) {
	t.Parallel()
	const (
		proxies   = 50
		revisions = 40
		calls     = 200
	)
	e := newEnv(t)
	names := make([]string, proxies)
	for i := range names {
		names[i] = fmt.Sprintf("envoy-%02d", i)
	}
	clients := e.connectWarm(names...)
	for i := range revisions {
		e.source.set(pooledRevision(fmt.Sprintf("fn-%02d", i)))
	}

	type result struct {
		revision string
		resp     *leaseapi.LeaseResponse
		err      error
	}
	results := make(chan result, calls)
	var wg sync.WaitGroup
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rev := fmt.Sprintf("fn-%02d", i%revisions)
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			resp, err := e.server.Lease(ctx, key(rev))
			results <- result{rev, resp, err}
		}()
	}
	wg.Wait()
	close(results)

	proxyOf := map[string]string{}    // revision → proxy
	revisionOf := map[string]string{} // proxy → revision
	for r := range results {
		if r.err != nil || r.resp.GetOutcome() != leaseapi.LeaseResponse_GRANTED {
			t.Errorf("Lease(%s) = %v, %v; want GRANTED", r.revision, r.resp, r.err)
			continue
		}
		p := r.resp.GetProxy()
		if prev, ok := proxyOf[r.revision]; ok && prev != p {
			t.Errorf("revision %s leased on %s and %s", r.revision, prev, p)
		}
		if prev, ok := revisionOf[p]; ok && prev != r.revision {
			t.Errorf("proxy %s leased to %s and %s", p, prev, r.revision)
		}
		proxyOf[r.revision], revisionOf[p] = p, r.revision
	}
	if len(proxyOf) != revisions {
		t.Errorf("%d revisions hold a lease, want %d", len(proxyOf), revisions)
	}
	e.waitStats(testPool, &leaseapi.StatsResponse{Connected: proxies, Warm: proxies - revisions, Leased: revisions})
	for _, name := range names {
		want := baseHeld()
		if rev, ok := revisionOf[name]; ok {
			want = revisionHeld(rev)
		}
		waitHolding(t, clients[name], want)
	}
	for rev, p := range proxyOf {
		if got, err := e.server.Renew(key(rev)); err != nil || !cmp.Equal(got.GetProxies(), []string{p}) {
			t.Errorf("Renew(%s) = %v, %v; want [%s]", rev, got, err, p)
		}
	}
}
