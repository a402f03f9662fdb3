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

package policy

import "time"

// NewDefaults returns the built-in defaults, the values config-ssm's
// _example documents. Every config-ssm key overrides one field.
func NewDefaults() Defaults {
	return Defaults{
		Lifecycle:           LifecycleAuto,
		ShortLivedThreshold: time.Second,
		LongLivedThreshold:  10 * time.Second,
		TimeoutMultiplier:   4,
		MinTimeout:          time.Second,
		MinSamples:          20,
		// Before anything is observed, "auto" behaves as long-lived: it keeps
		// the sidecar and never tightens the timeout, so SSM changes nothing
		// that could hurt until it knows how the function behaves.
		AutoInitial: LifecycleLongLived,
		ShortLived: ClassDefaults{
			// Only a connection that was never made is retried: the function
			// did not run, so a retry cannot execute it twice.
			Retries:   1,
			RetryOn:   "connect-failure",
			MTLSMode:  MTLSLightweight,
			ProxyPool: "default",
			ConnectionPool: ConnectionPool{
				IdleTimeout: 30 * time.Second,
			},
			OutlierDetection: OutlierDetection{
				ConsecutiveGatewayErrors: 5,
				Interval:                 10 * time.Second,
				BaseEjectionTime:         30 * time.Second,
				MaxEjectionPercent:       50,
			},
		},
		LongLived: ClassDefaults{
			Retries:   3,
			RetryOn:   "connect-failure,refused-stream",
			MTLSMode:  MTLSFull,
			ProxyPool: NoProxyPool,
			ConnectionPool: ConnectionPool{
				IdleTimeout: 5 * time.Minute,
			},
			OutlierDetection: OutlierDetection{
				ConsecutiveGatewayErrors: 5,
				Interval:                 30 * time.Second,
				BaseEjectionTime:         30 * time.Second,
				MaxEjectionPercent:       50,
			},
		},
	}
}
