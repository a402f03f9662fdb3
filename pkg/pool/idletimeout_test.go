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
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/serverless-mesh/ssm/pkg/pool/leaseapi"
	"github.com/serverless-mesh/ssm/pkg/pool/revision"
)

// The caller learns the pool's idle timeout with the grant and with every
// renewal, so that it stops using the proxy before the pool ends the lease.
func TestLeaseTellsTheIdleTimeout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// timeout is the pool's idle timeout at the grant; nil means the
		// server has no IdleTimeout option.
		timeout *time.Duration
		// edited, when set, is the pool's idle timeout after the grant.
		edited    *time.Duration
		wantGrant *durationpb.Duration
		wantRenew *durationpb.Duration
	}{{
		name:      "default",
		wantGrant: durationpb.New(5 * time.Minute),
		wantRenew: durationpb.New(5 * time.Minute),
	}, {
		name:      "pool's spec.idleTimeout",
		timeout:   durationPtr(3 * time.Second),
		wantGrant: durationpb.New(3 * time.Second),
		wantRenew: durationpb.New(3 * time.Second),
	}, {
		name:      "non-positive answer means the default",
		timeout:   durationPtr(time.Duration(0)),
		wantGrant: durationpb.New(5 * time.Minute),
		wantRenew: durationpb.New(5 * time.Minute),
	}, {
		name:      "pool edited while the lease is held",
		timeout:   durationPtr(time.Minute),
		edited:    durationPtr(10 * time.Second),
		wantGrant: durationpb.New(time.Minute),
		wantRenew: durationpb.New(10 * time.Second),
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var current atomic.Int64
			e := newEnv(t, func(o *Options) {
				if tc.timeout == nil {
					return
				}
				current.Store(int64(*tc.timeout))
				o.IdleTimeout = func(revision.PoolKey) time.Duration { return time.Duration(current.Load()) }
			})
			e.source.set(pooledRevision("fn"))
			e.connectWarm("envoy-0")
			grant := e.lease("fn")
			if grant.GetOutcome() != leaseapi.LeaseResponse_GRANTED {
				t.Fatalf("Lease = %v, want GRANTED", grant)
			}
			if diff := cmp.Diff(tc.wantGrant, grant.GetIdleTimeout(), protocmp.Transform()); diff != "" {
				t.Errorf("granted idle_timeout (-want +got):\n%s", diff)
			}
			if tc.edited != nil {
				current.Store(int64(*tc.edited))
			}
			renew, err := e.server.Renew(key("fn"))
			if err != nil {
				t.Fatalf("Renew: %v", err)
			}
			if diff := cmp.Diff(tc.wantRenew, renew.GetIdleTimeout(), protocmp.Transform()); diff != "" {
				t.Errorf("renewed idle_timeout (-want +got):\n%s", diff)
			}
			// A second Lease of the held lease answers from the pool's
			// current timeout too.
			again := e.lease("fn")
			if diff := cmp.Diff(tc.wantRenew, again.GetIdleTimeout(), protocmp.Transform()); diff != "" {
				t.Errorf("idle_timeout of the held lease (-want +got):\n%s", diff)
			}
		})
	}
}

func durationPtr(d time.Duration) *time.Duration { return &d }
