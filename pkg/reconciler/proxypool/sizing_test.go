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

package proxypool

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
)

func TestDecideReplicas(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		pool         *v1alpha1.ProxyPool
		sizer        *fakeSizer
		wantReplicas int32
		wantReason   string
	}{{
		name:         "Fixed keeps minSize",
		pool:         proxyPool(withSizes(3, 5)),
		sizer:        &fakeSizer{replicas: 4, reason: "unused"},
		wantReplicas: 3,
		wantReason:   "sizing policy Fixed: minSize 3",
	}, {
		name:         "Fixed at zero",
		pool:         proxyPool(withSizes(0, 5)),
		wantReplicas: 0,
		wantReason:   "sizing policy Fixed: minSize 0",
	}, {
		name:         "History inside the bounds",
		pool:         proxyPool(withPolicy(v1alpha1.SizingHistory), withSizes(1, 5)),
		sizer:        &fakeSizer{replicas: 5, reason: "5 predicted"},
		wantReplicas: 5,
		wantReason:   "sizing policy History: 5 predicted",
	}, {
		name:         "History with no sizing model keeps minSize",
		pool:         proxyPool(withPolicy(v1alpha1.SizingHistory), withSizes(2, 5)),
		wantReplicas: 2,
		wantReason:   "sizing policy History: no sizing model is running, keeping minSize 2",
	}, {
		name:         "maxSize below minSize (past the webhook): minSize wins",
		pool:         proxyPool(withPolicy(v1alpha1.SizingHistory), withSizes(4, 2)),
		sizer:        &fakeSizer{replicas: 3, reason: "3 predicted"},
		wantReplicas: 4,
		wantReason:   "sizing policy History: 3 predicted; 3 raised to minSize 4",
	}, {
		name:         "an unknown policy (past the webhook) keeps minSize",
		pool:         proxyPool(withPolicy("Random"), withSizes(2, 5)),
		sizer:        &fakeSizer{replicas: 4, reason: "unused"},
		wantReplicas: 2,
		wantReason:   `sizing policy "Random" is unknown, keeping minSize 2`,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := &Reconciler{now: func() time.Time { return fixedNow }}
			if tc.sizer != nil {
				r.sizer = tc.sizer
			}
			replicas, reason := r.decideReplicas(tc.pool, 0)
			if replicas != tc.wantReplicas || reason != tc.wantReason {
				t.Errorf("decideReplicas() = %d, %q, want %d, %q", replicas, reason, tc.wantReplicas, tc.wantReason)
			}
		})
	}
}

func TestProxiesWarmRule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                  string
		minSize, warm, leased int32
		stats                 StatsReader
		want                  cond
	}{{
		name: "exactly minSize, leased included", minSize: 3, warm: 1, leased: 2,
		stats: fakeStats{warm: 1, leased: 2},
		want:  isTrue,
	}, {
		name: "one short", minSize: 3, warm: 2, leased: 0,
		stats: fakeStats{warm: 2},
		want: cond{corev1.ConditionFalse, "TooFewWarm",
			"warm 2 + leased 0 proxies is below minSize 3: a cold start may find no warm proxy and take the plain Knative path"},
	}, {
		name: "a pool of minSize 0 asks for no warm proxy", minSize: 0,
		stats: fakeStats{},
		want:  isTrue,
	}, {
		name: "no ssm-pool client", minSize: 1, warm: 0,
		want: cond{corev1.ConditionUnknown, "PoolServerUnavailable",
			"no ssm-pool client is configured; warmProxies and leasedProxies are the last counts read"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pool := proxyPool(withSizes(tc.minSize, 10))
			pool.Status.InitializeConditions()
			r := &Reconciler{stats: tc.stats}
			counts, err := r.readCounts(context.Background(), pool)
			recordCounts(pool, counts, err)
			c := pool.Status.GetCondition(v1alpha1.ProxyPoolConditionProxiesWarm)
			got := cond{c.Status, c.Reason, c.Message}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(cond{})); diff != "" {
				t.Errorf("ProxiesWarm (-want +got):\n%s", diff)
			}
			if pool.Status.WarmProxies != tc.warm || pool.Status.LeasedProxies != tc.leased {
				t.Errorf("counts = %d warm, %d leased, want %d, %d",
					pool.Status.WarmProxies, pool.Status.LeasedProxies, tc.warm, tc.leased)
			}
		})
	}
}
