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
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	appsv1listers "k8s.io/client-go/listers/apps/v1"
	corev1listers "k8s.io/client-go/listers/core/v1"
	policyv1listers "k8s.io/client-go/listers/policy/v1"
	"knative.dev/pkg/logging"
	pkgreconciler "knative.dev/pkg/reconciler"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
	proxypoolreconciler "github.com/serverless-mesh/ssm/pkg/client/injection/reconciler/ssm/v1alpha1/proxypool"
	"github.com/serverless-mesh/ssm/pkg/pool/stats"
	"github.com/serverless-mesh/ssm/pkg/reconciler/proxypool/resources"
)

// StatsRefreshPeriod is how often a pool is reconciled with no event, so
// that its warm and leased counts, which change inside ssm-pool without any
// Kubernetes event, follow within this period.
const StatsRefreshPeriod = 10 * time.Second

// statsTimeout bounds one read of the counts, so that a slow ssm-pool holds
// a reconcile worker no longer than this.
const statsTimeout = 2 * time.Second

// Reconciler keeps each ProxyPool's Envoy Deployment, bootstrap, Service
// and PodDisruptionBudget in line with its spec and the sizing model, and
// reports the pool's counts.
type Reconciler struct {
	kubeClient kubernetes.Interface

	configMapLister      corev1listers.ConfigMapLister
	secretLister         corev1listers.SecretLister
	serviceAccountLister corev1listers.ServiceAccountLister
	deploymentLister     appsv1listers.DeploymentLister
	serviceLister        corev1listers.ServiceLister
	pdbLister            policyv1listers.PodDisruptionBudgetLister

	// ensureIdentity is ensurePoolIdentity; the TableTests, whose rows
	// list every write literally, replace it (certificates carry fresh
	// keys) and identity_test.go tests it on its own.
	ensureIdentity func(ctx context.Context, pool *v1alpha1.ProxyPool) error

	// podLister holds the pools' pods (filtered on the pool label).
	podLister corev1listers.PodLister

	cfg   resources.Config
	sizer Sizer
	stats StatsReader
	now   func() time.Time
	// enqueueAfter schedules the next reconcile of a pool.
	enqueueAfter func(pool types.NamespacedName, after time.Duration)
}

var _ proxypoolreconciler.Interface = (*Reconciler)(nil)

// ReconcileKind sizes pool, makes its objects match, then reports what the
// Deployment and ssm-pool say about its proxies.
func (r *Reconciler) ReconcileKind(ctx context.Context, pool *v1alpha1.ProxyPool) pkgreconciler.Event {
	// The stored object may predate defaults; this copy is ours, and
	// defaults are never written back.
	pool.SetDefaults(ctx)
	pool.Status.InitializeConditions()
	key := types.NamespacedName{Namespace: pool.Namespace, Name: pool.Name}

	// 1. A name that cannot be a label value cannot select the pool's pods.
	if errs := validation.IsValidLabelValue(pool.Name); len(errs) != 0 {
		pool.Status.MarkDeploymentNotReady(ReasonInvalidName,
			"the ProxyPool's name %q labels its pods and must be a valid label value: %s", pool.Name, errs[0])
		return nil
	}

	// 2. What ssm-pool says about the proxies, then the size: the proxies
	// leases hold count in the size, and their pods are marked before a
	// scale-down so that the Deployment removes idle proxies first.
	counts, countsErr := r.readCounts(ctx, pool)
	leased := pool.Status.LeasedProxies
	if countsErr == nil {
		leased = counts.Leased
	}
	replicas, reason := r.decideReplicas(pool, leased)
	recordScale(pool, replicas, reason)
	if countsErr == nil {
		if err := r.keepLeasedPods(ctx, pool, counts.LeasedProxies); err != nil {
			return err
		}
	}

	// 3. The identity the pods' Envoys present, before the pods mount it.
	if err := r.ensureIdentity(ctx, pool); err != nil {
		return err
	}

	// 4. The bootstrap before the Deployment whose pods mount it.
	bootstrap, err := resources.MakeBootstrapConfigMap(pool, r.cfg)
	if err != nil {
		return err
	}
	if _, err := reconcileObject(ctx, pool, r.configMapOps(), bootstrap); err != nil {
		return markNotOwned(pool, err)
	}
	deployment, err := reconcileObject(ctx, pool, r.deploymentOps(),
		resources.MakeDeployment(pool, replicas, resources.ConfigMapHash(bootstrap)))
	if err != nil {
		return markNotOwned(pool, err)
	}
	if _, err := reconcileObject(ctx, pool, r.serviceOps(), resources.MakeService(pool)); err != nil {
		return markNotOwned(pool, err)
	}
	if _, err := reconcileObject(ctx, pool, r.podDisruptionBudgetOps(), resources.MakePodDisruptionBudget(pool)); err != nil {
		return markNotOwned(pool, err)
	}

	// 5. What the Deployment and ssm-pool report.
	propagateDeploymentStatus(pool, deployment)
	recordCounts(pool, counts, countsErr)

	r.enqueueAfter(key, StatsRefreshPeriod)
	return nil
}

// markNotOwned reports an object the pool does not own on its status;
// the error is returned either way, so the reconcile is retried with
// backoff and the object is found again once its owner removes it (the
// informers do not see an object without the pool label go away).
func markNotOwned(pool *v1alpha1.ProxyPool, err error) error {
	var notOwned *notOwnedError
	if errors.As(err, &notOwned) {
		pool.Status.MarkDeploymentNotReady(ReasonNotOwned,
			"There is an existing %s %q that we do not own.", notOwned.kind, notOwned.key.String())
	}
	return err
}

// readCounts asks ssm-pool for pool's counts, within statsTimeout.
func (r *Reconciler) readCounts(ctx context.Context, pool *v1alpha1.ProxyPool) (stats.Counts, error) {
	if r.stats == nil {
		return stats.Counts{}, errors.New("no ssm-pool client is configured")
	}
	ctx, cancel := context.WithTimeout(ctx, statsTimeout)
	defer cancel()
	counts, err := r.stats.Stats(ctx, types.NamespacedName{Namespace: pool.Namespace, Name: pool.Name})
	if err != nil {
		// The condition carries the error; a log line every refresh period
		// while ssm-pool is down would only repeat it.
		logging.FromContext(ctx).Debugw("Reading pool counts from ssm-pool", "error", err)
		return stats.Counts{}, fmt.Errorf("reading the counts from ssm-pool: %w", err)
	}
	return counts, nil
}

// recordCounts copies ssm-pool's counts to pool's status. On a failure the
// last counts are kept and ProxiesWarm turns Unknown: the proxies may be as
// warm as before, ssm-pool cannot say.
func recordCounts(pool *v1alpha1.ProxyPool, counts stats.Counts, err error) {
	if err != nil {
		markProxiesWarmUnknown(pool, err.Error())
		return
	}
	pool.Status.WarmProxies = counts.Warm
	pool.Status.LeasedProxies = counts.Leased
	propagateWarmth(pool)
}
