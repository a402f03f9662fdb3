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
	"testing"
	"time"

	"github.com/serverless-mesh/ssm/pkg/pool/leaseapi"
)

// BenchmarkLeaseInProcess is one Lease call, including the ACK round trip of
// a real ADS client over gRPC with mTLS on loopback, with N connected
// proxies. Between rounds of N leases (untimed) every lease ends and the
// proxies re-ACK their base.
func BenchmarkLeaseInProcess(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("proxies=%d", n), func(b *testing.B) {
			e := newEnv(b)
			names := make([]string, n)
			for i := range names {
				names[i] = fmt.Sprintf("envoy-%03d", i)
				e.source.set(pooledRevision(fmt.Sprintf("fn-%03d", i)))
			}
			e.connectWarm(names...)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i > 0 && i%n == 0 {
					b.StopTimer()
					e.endAllLeases()
					e.waitStats(testPool, &leaseapi.StatsResponse{Connected: int32(n), Warm: int32(n)})
					b.StartTimer()
				}
				resp, err := e.server.Lease(ctx, key(fmt.Sprintf("fn-%03d", i%n)))
				if err != nil || resp.GetOutcome() != leaseapi.LeaseResponse_GRANTED {
					b.Fatalf("Lease = %v, %v", resp, err)
				}
			}
		})
	}
}

// BenchmarkLeaseRefused is the answer when no proxy is free, which the
// activator waits for on its cold path (target: well under 1 ms).
func BenchmarkLeaseRefused(b *testing.B) {
	e := newEnv(b, func(o *Options) { o.AckTimeout = time.Minute })
	e.source.set(pooledRevision("busy"), pooledRevision("fn"))
	e.connectWarm("envoy-0")
	if resp := e.lease("busy"); resp.GetOutcome() != leaseapi.LeaseResponse_GRANTED {
		b.Fatalf("Lease(busy) = %v", resp)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp, err := e.server.Lease(ctx, key("fn"))
		if err != nil || resp.GetOutcome() != leaseapi.LeaseResponse_EXHAUSTED {
			b.Fatalf("Lease = %v, %v", resp, err)
		}
	}
}
