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
