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
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
	"github.com/serverless-mesh/ssm/pkg/pool/stats"
)

// Sizer is the sizing model: it predicts how many proxies pool needs at now,
// within [minSize, maxSize]: those its leases hold (leased now, and one per
// revision that cold-started within idleTimeout) plus warm ones for the
// predicted cold starts, with headroomPercent on top of the prediction.
// reason says in a few words why, for the pool's status.
type Sizer interface {
	Recommend(pool types.NamespacedName, minSize, maxSize, headroomPercent int32, idleTimeout time.Duration, leased int32, now time.Time) (replicas int32, reason string)
}

// StatsReader reads a pool's counts from ssm-pool: proxies that ACKed their
// base configuration and hold no lease (warm) and those that hold one
// (leased, with their pod names). It may fail; ssm-pool being down must not
// stop the reconciler.
type StatsReader interface {
	Stats(ctx context.Context, pool types.NamespacedName) (stats.Counts, error)
}

// decideReplicas is the size pool should have and why. It expects a
// defaulted spec.
func (r *Reconciler) decideReplicas(pool *v1alpha1.ProxyPool, leased int32) (int32, string) {
	minSize := *pool.Spec.MinSize
	// The webhook rejects maxSize < minSize; if such a spec slipped through,
	// minSize wins, as the proxies it asks to keep warm are the promise.
	maxSize := max(*pool.Spec.MaxSize, minSize)

	switch pool.Spec.Sizing.Policy {
	case v1alpha1.SizingFixed:
		return minSize, fmt.Sprintf("sizing policy Fixed: minSize %d", minSize)
	case v1alpha1.SizingHistory:
		if r.sizer == nil {
			return minSize, fmt.Sprintf("sizing policy History: no sizing model is running, keeping minSize %d", minSize)
		}
		key := types.NamespacedName{Namespace: pool.Namespace, Name: pool.Name}
		idle := v1alpha1.DefaultProxyPoolIdleTimeout
		if pool.Spec.IdleTimeout != nil {
			idle = pool.Spec.IdleTimeout.Duration
		}
		want, why := r.sizer.Recommend(key, minSize, maxSize, *pool.Spec.Sizing.HeadroomPercent, idle, leased, r.now())
		reason := "sizing policy History: " + why
		// The model is asked to stay in bounds; the bounds are enforced here
		// regardless, since they are the user's and the model is not.
		switch {
		case want > maxSize:
			return maxSize, fmt.Sprintf("%s; %d capped at maxSize %d", reason, want, maxSize)
		case want < minSize:
			return minSize, fmt.Sprintf("%s; %d raised to minSize %d", reason, want, minSize)
		}
		return want, reason
	default:
		return minSize, fmt.Sprintf("sizing policy %q is unknown, keeping minSize %d", pool.Spec.Sizing.Policy, minSize)
	}
}

// recordScale moves status.replicas to replicas and says why, only when it
// changes: a reason that changes while the size does not is no news, and
// writing it would make every reconcile a status write.
func recordScale(pool *v1alpha1.ProxyPool, replicas int32, reason string) {
	if pool.Status.Replicas == replicas {
		return
	}
	pool.Status.LastScaleReason = fmt.Sprintf("%s (was %d)", reason, pool.Status.Replicas)
	pool.Status.Replicas = replicas
}
