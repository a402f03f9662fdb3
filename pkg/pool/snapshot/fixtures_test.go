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
	"time"

	"github.com/serverless-mesh/ssm/pkg/policy"
	"github.com/serverless-mesh/ssm/pkg/pool/revision"
)

// shortLived is a short-lived revision with every policy knob set. Its
// endpoints are deliberately out of order (10.0.0.12 sorts before 10.0.0.7
// as a string, after it as an address).
func shortLived() revision.Config {
	return revision.Config{
		Key:            revision.Key{Namespace: "fn-ns", Name: "hello-00001"},
		Pool:           revision.PoolKey{Namespace: "ssm-system", Name: "default"},
		ServiceAccount: "hello-sa",
		Policy: policy.Policy{
			Declared:      policy.LifecycleShortLived,
			Lifecycle:     policy.LifecycleShortLived,
			Timeout:       2 * time.Second,
			Retries:       1,
			RetryOn:       "connect-failure",
			PerTryTimeout: 500 * time.Millisecond,
			MTLSMode:      policy.MTLSLightweight,
			ProxyPool:     "default",
			ConnectionPool: policy.ConnectionPool{
				MaxConnections:           100,
				MaxPendingRequests:       10,
				MaxRequestsPerConnection: 1000,
				IdleTimeout:              90 * time.Second,
			},
			OutlierDetection: policy.OutlierDetection{
				ConsecutiveGatewayErrors: 5,
				Interval:                 10 * time.Second,
				BaseEjectionTime:         30 * time.Second,
				MaxEjectionPercent:       50,
			},
		},
		Endpoints: []revision.Endpoint{
			{IP: "10.0.0.12", Port: 8113},
			{IP: "10.0.0.7", Port: 8113},
		},
	}
}

// noTimeout has no route timeout, no retries (though a RetryOn is set, as
// the long-lived class defaults do), no limits and no endpoints: a revision
// still at zero.
func noTimeout() revision.Config {
	return revision.Config{
		Key:  revision.Key{Namespace: "other-ns", Name: "slow-00003"},
		Pool: revision.PoolKey{Namespace: "ssm-system", Name: "default"},
		// An h2c revision: HTTP/2 to its pods.
		PortName: revision.PortNameHTTP2,
		Policy: policy.Policy{
			Lifecycle: policy.LifecycleLongLived,
			Timeout:   0,
			Retries:   0,
			RetryOn:   "connect-failure,refused-stream",
			ProxyPool: "default",
		},
	}
}
