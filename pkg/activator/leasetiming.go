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
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
)

// maxIdleMargin is the most of a pool's idle timeout that the hook leaves
// unused. The margin covers a request that takes the lease just before the
// hook stops trusting it and must still find the revision on the proxy;
// that takes milliseconds, so 30 s (what DefaultLeaseTTL leaves below the
// pool's default 5 min) is ample for long timeouts, while a short timeout
// keeps half of itself as margin.
const maxIdleMargin = 30 * time.Second

// leaseTiming is how long the hook trusts a lease after its grant or last
// successful renewal, and how often it renews a lease that carries traffic.
type leaseTiming struct {
	ttl        time.Duration
	renewEvery time.Duration
}

// leaseTiming follows the pool's idle timeout, as ssm-pool reports it with
// a grant or renewal: the pool ends a lease that long after the last
// renewal, and the hook must stop using it before then. Without it (an
// older ssm-pool) the configured TTL and renew interval apply unchanged.
func (o Options) leaseTiming(idleTimeout *durationpb.Duration) leaseTiming {
	t := leaseTiming{ttl: o.LeaseTTL, renewEvery: o.RenewInterval}
	if idleTimeout == nil || idleTimeout.CheckValid() != nil || idleTimeout.AsDuration() <= 0 {
		return t
	}
	idle := idleTimeout.AsDuration()
	// Half of idle is strictly less than idle even for a nanosecond, so the
	// hook never trusts a lease up to the instant the pool may end it.
	t.ttl = min(t.ttl, max(idle/2, idle-maxIdleMargin))
	// A third of the TTL: when one renewal fails, the next (one request
	// later) still comes before the lease stops being trusted.
	t.renewEvery = min(t.renewEvery, t.ttl/3)
	return t
}
