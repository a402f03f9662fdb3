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

// NoObservations is the Observer used until the autoscaler hook supplies
// real ones: it never has an observation, so "auto" revisions stay at their
// previous class or Defaults.AutoInitial.
type NoObservations struct{}

var _ Observer = NoObservations{}

// Observe implements Observer.
func (NoObservations) Observe(_, _ string) (Observation, bool) {
	return Observation{}, false
}

// usable reports whether obs carries enough evidence to act on. An empty
// observation is never evidence, even when MinSamples is 0, and a negative
// p99 can only come from a broken clock or a bug upstream.
func usable(obs Observation, d Defaults) bool {
	return obs.Samples > 0 && obs.Samples >= d.MinSamples && obs.P99 >= 0
}

// Classify turns an "auto" revision's observation into a concrete class.
// Between the two thresholds the previous class is kept, so a function whose
// p99 hovers around one threshold does not flap between policies (each flap
// rewrites Istio config and may move the revision on or off the proxy pool).
// Without a usable observation the previous class is kept as well; with no
// previous class, d.AutoInitial applies.
func Classify(obs Observation, previous Lifecycle, d Defaults) Lifecycle {
	if usable(obs, d) {
		switch {
		case obs.P99 < d.ShortLivedThreshold:
			return LifecycleShortLived
		case obs.P99 > d.LongLivedThreshold:
			return LifecycleLongLived
		}
	}
	if concreteLifecycle(previous) {
		return previous
	}
	return d.AutoInitial
}
