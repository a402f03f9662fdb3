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
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// arrivalResolution is how stale a revision's last-arrival time may get
// before a request rewrites it. Idle periods are tens of seconds, so a
// second is precise enough, and busy revisions then only read the shared
// word instead of bouncing its cache line between cores on every request.
const arrivalResolution = int64(time.Second)

// pooling says what the hook last learned about a revision's annotations.
type pooling int32

const (
	poolingUnknown pooling = iota
	poolingYes
	poolingNo
)

// revisionState is what the hook knows about one revision. Every field is
// atomic: Try reads it on every request of the revision.
type revisionState struct {
	key types.NamespacedName

	// lastArrival is the hook's clock (see Hook.now) at the latest request,
	// within arrivalResolution; zero before the first.
	lastArrival atomic.Int64
	// leasing is set while a Lease call is outstanding (the singleflight).
	leasing atomic.Bool
	// pooled is set by the Lease goroutine from the revision's annotations.
	pooled atomic.Int32
	// lease is the proxy the revision holds, nil when none.
	lease atomic.Pointer[heldLease]
	// coldStart is the latest cold start, whose phases are still recorded.
	coldStart atomic.Pointer[coldStart]
	// sidecarless caches whether the revision's pods take only mTLS.
	sidecarless atomic.Pointer[sidecarlessVerdict]
	// clusterIPLogged is set once plaintext to the revision's ClusterIP has
	// been logged (see Hook.Transport).
	clusterIPLogged atomic.Bool
}

// arrive records a request at now and reports whether it starts a cold
// start: the revision's first request here, or the first after idle. Of
// concurrent requests exactly one wins the compare-and-swap and is cold.
func (st *revisionState) arrive(now, idle int64) bool {
	prev := st.lastArrival.Load()
	if prev != 0 && now-prev < arrivalResolution {
		return false
	}
	if !st.lastArrival.CompareAndSwap(prev, now) {
		return false
	}
	return prev == 0 || now-prev > idle
}

// heldLease is a lease granted by ssm-pool.
type heldLease struct {
	// address is the proxy's ip:port for the revision's traffic.
	address string
	// proxy is the proxy's node id, for logs.
	proxy string
	// validUntil is the hook's clock after which the lease is not trusted:
	// the TTL counted from when the Lease or Renew call that last succeeded
	// was started. The pool restarts its idle timer only once it has that
	// call, later, so the hook stops using the lease before the pool can
	// have ended it.
	validUntil atomic.Int64
	// timing is the TTL and renew interval, as of the latest answer that
	// carried the pool's idle timeout.
	timing atomic.Pointer[leaseTiming]
	// lastRenew is the hook's clock at the latest renewal attempt (or the
	// grant); renewing is set while one is outstanding.
	lastRenew atomic.Int64
	renewing  atomic.Bool
}

// newHeldLease is a lease granted by a Lease call sent at the hook's clock
// started.
func newHeldLease(address, proxy string, started int64, timing leaseTiming) *heldLease {
	l := &heldLease{address: address, proxy: proxy}
	l.timing.Store(&timing)
	l.validUntil.Store(started + int64(timing.ttl))
	l.lastRenew.Store(started)
	return l
}

func (l *heldLease) usable(now int64) bool { return now < l.validUntil.Load() }
