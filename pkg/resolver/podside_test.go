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

package resolver_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
	"github.com/serverless-mesh/ssm/pkg/policy"
	"github.com/serverless-mesh/ssm/pkg/queue"
	"github.com/serverless-mesh/ssm/pkg/resolver"
)

// effective orders timeouts: 0 means none, which outlasts any.
func effective(d time.Duration) time.Duration {
	if d == 0 {
		return time.Duration(1<<63 - 1)
	}
	return d
}

// TestPodSideTimeoutNeverTighter: ssm-pool resolves a revision without
// observations or the previous class, and the queue-proxy plugin from its
// pod's annotations alone (no ServerlessPolicy, built-in defaults). Over
// every combination of the inputs they cannot see, the timeout either of
// them enforces is never shorter than the full answer the gateway's routes
// carry, so neither can cut a request the route lets through.
func TestPodSideTimeoutNeverTighter(t *testing.T) {
	t.Parallel()
	var observations []*policy.Observation
	observations = append(observations, nil)
	for _, p99 := range []time.Duration{time.Millisecond, 50 * time.Millisecond, 900 * time.Millisecond, 3 * time.Second,
		12 * time.Second, 90 * time.Second, 10 * time.Minute} {
		for _, samples := range []int{1, 100} {
			observations = append(observations, &policy.Observation{P50: p99 / 2, P99: p99, Samples: samples})
		}
	}
	annotationSets := []map[string]string{
		{"ssm.dev/lifecycle": "auto"},
		{"ssm.dev/lifecycle": "short-lived"},
		{"ssm.dev/lifecycle": "long-lived"},
		{"ssm.dev/timeout": "5s"},
		{"ssm.dev/lifecycle": "short-lived", "ssm.dev/timeout": "10m"},
		nil, // governed by the policy alone
	}
	policies := []*v1alpha1.ServerlessPolicy{
		nil,
		{Spec: v1alpha1.ServerlessPolicySpec{Lifecycle: "auto"}},
		{Spec: v1alpha1.ServerlessPolicySpec{Lifecycle: "short-lived", Timeout: &metav1.Duration{Duration: 2 * time.Second}}},
	}
	checked := 0
	for _, revTimeout := range []time.Duration{0, 30 * time.Second, 300 * time.Second} {
		for _, ann := range annotationSets {
			for _, sp := range policies {
				for _, prev := range []policy.Lifecycle{"", policy.LifecycleShortLived, policy.LifecycleLongLived} {
					for _, obs := range observations {
						in := resolver.Inputs{Annotations: ann, Policy: sp, Defaults: policy.NewDefaults(),
							SidecarlessRevisions: true, RevisionTimeout: revTimeout, Observation: obs, Previous: prev}
						full, err := resolver.Resolve(in)
						if err != nil || !full.Governed {
							continue
						}
						in.Observation, in.Previous = nil, ""
						pool, err := resolver.Resolve(in)
						if err != nil {
							t.Fatalf("ssm-pool's view of %+v: %v", in, err)
						}
						name := fmt.Sprintf("annotations %v, policy %v, timeoutSeconds %v, previous %q, observation %+v",
							ann, sp != nil, revTimeout, prev, obs)
						if effective(pool.Policy.Timeout) < effective(full.Policy.Timeout) {
							t.Errorf("%s: ssm-pool's timeout %v is tighter than the route's %v", name, pool.Policy.Timeout, full.Policy.Timeout)
						}
						podAnnotations := map[string]string{"qpoption.knative.dev/ssm-activate": "enable"}
						for k, v := range ann {
							podAnnotations[k] = v
						}
						for k, v := range full.Pods.Stamp() {
							podAnnotations[k] = v
						}
						plugin := queue.DecideSettings(podAnnotations, revTimeout)
						if effective(plugin.Timeout) < effective(full.Policy.Timeout) {
							t.Errorf("%s: the plugin's deadline %v is tighter than the route's %v", name, plugin.Timeout, full.Policy.Timeout)
						}
						if full.Pods.Sidecarless && !plugin.RequireMTLS {
							t.Errorf("%s: a sidecar-less pod's plugin would accept plaintext", name)
						}
						// Once the controller's routes carry the class
						// (ssm-pool reads it as the previous class), every
						// field but the derived timeout agrees.
						steady := in
						steady.Previous = full.Policy.Lifecycle
						leased, err := resolver.Resolve(steady)
						if err != nil {
							t.Fatalf("ssm-pool's view of %+v: %v", steady, err)
						}
						a, b := full.Policy, leased.Policy
						a.Timeout, b.Timeout, a.TimeoutCapped, b.TimeoutCapped, a.Sources, b.Sources = 0, 0, false, false, nil, nil
						if diff := cmp.Diff(a, b); diff != "" {
							t.Errorf("%s: ssm-pool's policy with the applied class differs from the route's (-route +pool):\n%s", name, diff)
						}
						checked++
					}
				}
			}
		}
	}
	// The grid is not vacuous: most combinations resolve.
	if checked < 1000 {
		t.Errorf("checked %d combinations, want at least 1000", checked)
	}
}
