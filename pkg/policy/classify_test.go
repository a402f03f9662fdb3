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

import (
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	d := NewDefaults() // thresholds 1s and 10s, 20 samples, AutoInitial long-lived
	tests := []struct {
		name     string
		obs      Observation
		previous Lifecycle
		want     Lifecycle
	}{
		{"fast", Observation{P99: 999 * time.Millisecond, Samples: 20}, LifecycleLongLived, LifecycleShortLived},
		{"slow", Observation{P99: 10*time.Second + 1, Samples: 20}, LifecycleShortLived, LifecycleLongLived},
		{"band keeps short", Observation{P99: 5 * time.Second, Samples: 100}, LifecycleShortLived, LifecycleShortLived},
		{"band keeps long", Observation{P99: 5 * time.Second, Samples: 100}, LifecycleLongLived, LifecycleLongLived},
		{"at short threshold keeps", Observation{P99: time.Second, Samples: 100}, LifecycleLongLived, LifecycleLongLived},
		{"at long threshold keeps", Observation{P99: 10 * time.Second, Samples: 100}, LifecycleShortLived, LifecycleShortLived},
		{"band without previous", Observation{P99: 5 * time.Second, Samples: 100}, "", LifecycleLongLived},
		{"band with previous auto", Observation{P99: 5 * time.Second, Samples: 100}, LifecycleAuto, LifecycleLongLived},
		{"too few samples keeps previous", Observation{P99: time.Millisecond, Samples: 19}, LifecycleLongLived, LifecycleLongLived},
		{"too few samples no previous", Observation{P99: time.Millisecond, Samples: 19}, "", LifecycleLongLived},
		{"no observation keeps previous", Observation{}, LifecycleShortLived, LifecycleShortLived},
		{"negative p99 ignored", Observation{P99: -time.Second, Samples: 50}, LifecycleLongLived, LifecycleLongLived},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := Classify(tc.obs, tc.previous, d); got != tc.want {
				t.Errorf("Classify() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestClassifyZeroMinSamples(t *testing.T) {
	t.Parallel()
	d := NewDefaults()
	d.MinSamples = 0
	// An observation of nothing is not evidence, whatever MinSamples says.
	if got := Classify(Observation{}, "", d); got != LifecycleLongLived {
		t.Errorf("Classify(empty) = %q, want long-lived", got)
	}
	if got := Classify(Observation{P99: time.Millisecond, Samples: 1}, "", d); got != LifecycleShortLived {
		t.Errorf("Classify(1 sample) = %q, want short-lived", got)
	}
}

func TestNoObservations(t *testing.T) {
	t.Parallel()
	var o Observer = NoObservations{}
	if obs, ok := o.Observe("ns", "rev"); ok || obs != (Observation{}) {
		t.Errorf("Observe() = %+v, %v; want zero, false", obs, ok)
	}
}
