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

import "testing"

func TestSidecarless(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    Policy
		want bool
	}{
		{"lightweight short-lived", Policy{MTLSMode: "lightweight", Lifecycle: "short-lived"}, true},
		{"lightweight short-lived opted out of pools", Policy{MTLSMode: "lightweight", Lifecycle: "short-lived", ProxyPool: "none"}, true},
		{"lightweight long-lived with a named pool", Policy{MTLSMode: "lightweight", Lifecycle: "long-lived", ProxyPool: "gpu"}, true},
		{"lightweight long-lived without a pool", Policy{MTLSMode: "lightweight", Lifecycle: "long-lived"}, false},
		{"lightweight long-lived opted out of pools", Policy{MTLSMode: "lightweight", Lifecycle: "long-lived", ProxyPool: "none"}, false},
		{"full short-lived", Policy{MTLSMode: "full", Lifecycle: "short-lived"}, false},
		{"full with a named pool", Policy{MTLSMode: "full", Lifecycle: "long-lived", ProxyPool: "gpu"}, false},
		{"zero policy", Policy{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Sidecarless(tt.p); got != tt.want {
				t.Errorf("Sidecarless(%+v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestLeasable(t *testing.T) {
	t.Parallel()
	// config-ssm's built-in defaults: short-lived revisions lease from
	// "default", long-lived ones lease from no pool.
	d := NewDefaults()
	tests := []struct {
		name        string
		annotations map[string]string
		switchOn    bool
		want        bool
	}{
		{"short-lived, switch on", map[string]string{"ssm.dev/lifecycle": "short-lived"}, true, true},
		{"short-lived, switch off: the pod keeps its sidecar", map[string]string{"ssm.dev/lifecycle": "short-lived"}, false, false},
		{"short-lived opted out of pools", map[string]string{"ssm.dev/lifecycle": "short-lived", "ssm.dev/proxy-pool": "none"}, true, false},
		{"short-lived full mTLS keeps its sidecar", map[string]string{"ssm.dev/lifecycle": "short-lived", "ssm.dev/mtls-mode": "full"}, true, false},
		{"long-lived without a pool", map[string]string{"ssm.dev/lifecycle": "long-lived"}, true, false},
		{"long-lived lightweight with a named pool", map[string]string{"ssm.dev/lifecycle": "long-lived", "ssm.dev/mtls-mode": "lightweight", "ssm.dev/proxy-pool": "gpu"}, true, true},
		{"long-lived with a named pool conflicts with its default full mTLS", map[string]string{"ssm.dev/lifecycle": "long-lived", "ssm.dev/proxy-pool": "gpu"}, true, false},
		{"no ssm.dev annotation", map[string]string{"autoscaling.knative.dev/min-scale": "0"}, true, false},
		{"invalid annotation", map[string]string{"ssm.dev/lifecycle": "brief"}, true, false},
		{"conflicting annotations", map[string]string{"ssm.dev/mtls-mode": "full", "ssm.dev/proxy-pool": "gpu"}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Leasable(tt.annotations, d, tt.switchOn); got != tt.want {
				t.Errorf("Leasable(%v, switch %v) = %v, want %v", tt.annotations, tt.switchOn, got, tt.want)
			}
		})
	}
}
