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
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/serverless-mesh/ssm/pkg/pool/leaseapi"
)

func TestLeaseTimingFollowsThePool(t *testing.T) {
	t.Parallel()
	defaults := Options{}.withDefaults()
	tests := []struct {
		name string
		opts Options
		idle *durationpb.Duration
		want leaseTiming
	}{{
		name: "no idle timeout (older ssm-pool)",
		opts: defaults,
		want: leaseTiming{ttl: 4*time.Minute + 30*time.Second, renewEvery: 30 * time.Second},
	}, {
		name: "pool default 5m: as without",
		opts: defaults,
		idle: durationpb.New(5 * time.Minute),
		want: leaseTiming{ttl: 4*time.Minute + 30*time.Second, renewEvery: 30 * time.Second},
	}, {
		name: "3s: half of it, renewed every third of that",
		opts: defaults,
		idle: durationpb.New(3 * time.Second),
		want: leaseTiming{ttl: 1500 * time.Millisecond, renewEvery: 500 * time.Millisecond},
	}, {
		name: "1m: half is also the 30s margin",
		opts: defaults,
		idle: durationpb.New(time.Minute),
		want: leaseTiming{ttl: 30 * time.Second, renewEvery: 10 * time.Second},
	}, {
		name: "90s: 30s margin",
		opts: defaults,
		idle: durationpb.New(90 * time.Second),
		want: leaseTiming{ttl: time.Minute, renewEvery: 20 * time.Second},
	}, {
		name: "1h: the configured TTL is shorter",
		opts: defaults,
		idle: durationpb.New(time.Hour),
		want: leaseTiming{ttl: 4*time.Minute + 30*time.Second, renewEvery: 30 * time.Second},
	}, {
		name: "configured TTL shorter than the pool's",
		opts: Options{LeaseTTL: 45 * time.Second}.withDefaults(),
		idle: durationpb.New(5 * time.Minute),
		want: leaseTiming{ttl: 45 * time.Second, renewEvery: 15 * time.Second},
	}, {
		name: "1ns: never trusted",
		opts: defaults,
		idle: durationpb.New(time.Nanosecond),
		want: leaseTiming{ttl: 0, renewEvery: 0},
	}, {
		name: "zero is no timeout",
		opts: defaults,
		idle: durationpb.New(0),
		want: leaseTiming{ttl: 4*time.Minute + 30*time.Second, renewEvery: 30 * time.Second},
	}, {
		name: "negative is no timeout",
		opts: defaults,
		idle: durationpb.New(-time.Second),
		want: leaseTiming{ttl: 4*time.Minute + 30*time.Second, renewEvery: 30 * time.Second},
	}, {
		name: "invalid is no timeout",
		opts: defaults,
		idle: &durationpb.Duration{Seconds: 1, Nanos: -1},
		want: leaseTiming{ttl: 4*time.Minute + 30*time.Second, renewEvery: 30 * time.Second},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.opts.leaseTiming(tc.idle); got != tc.want {
				t.Errorf("leaseTiming(%v) = %+v, want %+v", tc.idle, got, tc.want)
			}
		})
	}
}

// grantedFor is a grant that reports the pool's idle timeout; nil reports
// none, as an older ssm-pool.
func grantedFor(idle *durationpb.Duration) *leaseapi.LeaseResponse {
	resp := granted(proxyAddress)
	resp.IdleTimeout = idle
	return resp
}

// The hook uses a lease only while the pool cannot have ended it: each step
// advances the fake clock from the grant and sends one request.
func TestLeaseTrustFollowsThePoolsIdleTimeout(t *testing.T) {
	t.Parallel()
	type step struct {
		advance    time.Duration
		wantDest   string
		wantRenews int32
	}
	tests := []struct {
		name  string
		grant *leaseapi.LeaseResponse
		// renewIdle is what Renew reports; renewErr fails every renewal.
		renewIdle *durationpb.Duration
		renewErr  error
		// renewLatency passes on the hook's clock while Renew runs.
		renewLatency time.Duration
		steps        []step
	}{{
		name:  "3s pool, quiet: dropped at 1.5s",
		grant: grantedFor(durationpb.New(3 * time.Second)),
		steps: []step{
			{advance: 1500 * time.Millisecond, wantDest: stockDest, wantRenews: 0},
			// Gone for good, not merely skipped once.
			{advance: 0, wantDest: stockDest, wantRenews: 0},
		},
	}, {
		name:     "3s pool, renewals failing: dropped at 1.5s",
		grant:    grantedFor(durationpb.New(3 * time.Second)),
		renewErr: status.Error(codes.Unavailable, "pool unreachable"),
		steps: []step{
			{advance: 499 * time.Millisecond, wantDest: proxyAddress, wantRenews: 0},
			{advance: 1 * time.Millisecond, wantDest: proxyAddress, wantRenews: 1},   // t=0.5s
			{advance: 999 * time.Millisecond, wantDest: proxyAddress, wantRenews: 2}, // t=1.499s
			{advance: 1 * time.Millisecond, wantDest: stockDest, wantRenews: 2},      // t=1.5s
		},
	}, {
		name:      "3s pool, renewed in time: kept past the pool's timeout",
		grant:     grantedFor(durationpb.New(3 * time.Second)),
		renewIdle: durationpb.New(3 * time.Second),
		steps: []step{
			{advance: 500 * time.Millisecond, wantDest: proxyAddress, wantRenews: 1},  // t=0.5s, until 2s
			{advance: 1499 * time.Millisecond, wantDest: proxyAddress, wantRenews: 2}, // t=1.999s, until 3.499s
			{advance: 1499 * time.Millisecond, wantDest: proxyAddress, wantRenews: 3}, // t=3.498s, until 4.998s
			{advance: 1500 * time.Millisecond, wantDest: stockDest, wantRenews: 3},    // t=4.998s
		},
	}, {
		// The pool restarts its idle timer when the Renew arrives, before
		// its answer, so the hook counts from when it sent it.
		name:         "slow renewal: counted from its start",
		grant:        grantedFor(durationpb.New(3 * time.Second)),
		renewIdle:    durationpb.New(3 * time.Second),
		renewLatency: 400 * time.Millisecond,
		steps: []step{
			{advance: 500 * time.Millisecond, wantDest: proxyAddress, wantRenews: 1}, // sent at 0.5s, answered at 0.9s
			{advance: 1100 * time.Millisecond, wantDest: stockDest, wantRenews: 1},   // t=2s
		},
	}, {
		name:      "renewal reports a shorter timeout",
		grant:     grantedFor(durationpb.New(5 * time.Minute)),
		renewIdle: durationpb.New(3 * time.Second),
		steps: []step{
			{advance: 29 * time.Second, wantDest: proxyAddress, wantRenews: 0},
			{advance: 1 * time.Second, wantDest: proxyAddress, wantRenews: 1}, // t=30s, until 31.5s
			{advance: 1500 * time.Millisecond, wantDest: stockDest, wantRenews: 1},
		},
	}, {
		name:     "no idle timeout (older ssm-pool): the configured TTL",
		grant:    grantedFor(nil),
		renewErr: status.Error(codes.Unavailable, "pool unreachable"),
		steps: []step{
			{advance: 29 * time.Second, wantDest: proxyAddress, wantRenews: 0},
			{advance: 1 * time.Second, wantDest: proxyAddress, wantRenews: 1},                // t=30s
			{advance: 3*time.Minute + 59*time.Second, wantDest: proxyAddress, wantRenews: 2}, // t=4m29s
			{advance: 1 * time.Second, wantDest: stockDest, wantRenews: 2},                   // t=4m30s
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pool := &leaseServer{answer: tc.grant, renewIdle: tc.renewIdle, renewErr: tc.renewErr,
				renewLatency: tc.renewLatency}
			stock := &fakeStock{dest: stockDest}
			// No cold start comes between the steps: only the lease's own
			// timing decides.
			h, clk := newTestHook(t, stock, serveLeases(t, pool), Options{IdlePeriod: time.Hour})
			if tc.renewLatency > 0 {
				pool.clock.Store(clk)
			}

			tryDest(t, h, withAttempt(context.Background()))
			st := leaseSettled(t, h, pooledRev)
			l := st.lease.Load()
			if l == nil {
				t.Fatal("no lease granted")
			}
			for i, s := range tc.steps {
				clk.SetTime(clk.Now().Add(s.advance))
				if got := tryDest(t, h, withAttempt(context.Background())); got != s.wantDest {
					t.Errorf("step %d: request went to %q, want %q", i, got, s.wantDest)
				}
				waitFor(t, "the renewal to finish", func() bool { return !l.renewing.Load() })
				if got := pool.renewCalls.Load(); got != s.wantRenews {
					t.Errorf("step %d: Renew calls = %d, want %d", i, got, s.wantRenews)
				}
			}
			if got := pool.leaseCalls.Load(); got != 1 {
				t.Errorf("Lease calls = %d, want 1", got)
			}
		})
	}
}
