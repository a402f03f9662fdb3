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
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	appsv1listers "k8s.io/client-go/listers/apps/v1"
	corev1listers "k8s.io/client-go/listers/core/v1"
	policyv1listers "k8s.io/client-go/listers/policy/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	fakekubeclient "knative.dev/pkg/client/injection/kube/client/fake"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/logging"
	logtesting "knative.dev/pkg/logging/testing"
	pkgreconciler "knative.dev/pkg/reconciler"
	rtesting "knative.dev/pkg/reconciler/testing"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	"github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
	fakessmclient "github.com/serverless-mesh/ssm/pkg/client/injection/client/fake"
	proxypoolreconciler "github.com/serverless-mesh/ssm/pkg/client/injection/reconciler/ssm/v1alpha1/proxypool"
	ssmlisters "github.com/serverless-mesh/ssm/pkg/client/listers/ssm/v1alpha1"
	"github.com/serverless-mesh/ssm/pkg/pool/stats"
	"github.com/serverless-mesh/ssm/pkg/reconciler/proxypool/resources"
)

// sizerCall is what the reconciler asked the sizing model.
type sizerCall struct {
	Pool                       types.NamespacedName
	MinSize, MaxSize, Headroom int32
	IdleTimeout                time.Duration
	Leased                     int32
	Now                        time.Time
}

// fakeSizer answers replicas and reason and records every question.
type fakeSizer struct {
	replicas int32
	reason   string

	mu    sync.Mutex
	calls []sizerCall
}

func (f *fakeSizer) Recommend(pool types.NamespacedName, minSize, maxSize, headroom int32, idleTimeout time.Duration, leased int32, now time.Time) (int32, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, sizerCall{Pool: pool, MinSize: minSize, MaxSize: maxSize, Headroom: headroom,
		IdleTimeout: idleTimeout, Leased: leased, Now: now})
	return f.replicas, f.reason
}

type fakeStats struct {
	warm, leased int32
	// leasedProxies are the pod names of the leased proxies.
	leasedProxies []string
	err           error
}

func (f fakeStats) Stats(ctx context.Context, _ types.NamespacedName) (stats.Counts, error) {
	if _, ok := ctx.Deadline(); !ok {
		// The reconciler must bound every call to ssm-pool.
		return stats.Counts{}, context.DeadlineExceeded
	}
	if f.err != nil {
		return stats.Counts{}, f.err
	}
	return stats.Counts{Warm: f.warm, Leased: f.leased, LeasedProxies: f.leasedProxies}, nil
}

type requeue struct {
	Pool  types.NamespacedName
	After time.Duration
}

// deps are a row's sizing model and ssm-pool; the harness records the
// requeues the reconciler asks for.
type deps struct {
	sizer *fakeSizer
	stats StatsReader

	mu       sync.Mutex
	requeues []requeue
}

type depsKey struct{}

func withDeps(d *deps) context.Context {
	return context.WithValue(context.Background(), depsKey{}, d)
}

func depsOf(ctx context.Context) *deps {
	if ctx == nil {
		return &deps{stats: fakeStats{}}
	}
	if d, ok := ctx.Value(depsKey{}).(*deps); ok {
		return d
	}
	return &deps{stats: fakeStats{}}
}

// sizerAsked checks every question the row's sizing model was asked.
func sizerAsked(want ...sizerCall) func(*testing.T, *rtesting.TableRow) {
	return func(t *testing.T, row *rtesting.TableRow) {
		d := depsOf(row.Ctx)
		d.sizer.mu.Lock()
		defer d.sizer.mu.Unlock()
		if diff := cmp.Diff(want, d.sizer.calls); diff != "" {
			t.Errorf("sizing model calls (-want +got):\n%s", diff)
		}
	}
}

// requeuedAfter checks the requeues the reconcile asked for.
func requeuedAfter(want ...requeue) func(*testing.T, *rtesting.TableRow) {
	return func(t *testing.T, row *rtesting.TableRow) {
		d := depsOf(row.Ctx)
		d.mu.Lock()
		defer d.mu.Unlock()
		if diff := cmp.Diff(want, d.requeues); diff != "" {
			t.Errorf("requeues (-want +got):\n%s", diff)
		}
	}
}

// poolLabelled says whether obj would be in the controller's filtered
// informers, which select on the pool label.
func poolLabelled(obj runtime.Object) bool {
	m, err := meta.Accessor(obj)
	if err != nil {
		return false
	}
	_, ok := m.GetLabels()[ssm.PoolLabelKey]
	return ok
}

func newIndexer() cache.Indexer {
	return cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
}

// factory wires the reconciler under test to fake clients seeded with the
// row's objects and to listers that, like the controller's informers, hold
// only objects carrying the pool label.
func factory(t *testing.T, row *rtesting.TableRow) (controller.Reconciler, rtesting.ActionRecorderList, rtesting.EventList) {
	d := depsOf(row.Ctx)
	ctx := context.WithValue(context.Background(), depsKey{}, d)
	ctx = logging.WithLogger(ctx, logtesting.TestLogger(t))
	recorder := record.NewFakeRecorder(10)
	ctx = controller.WithEventRecorder(ctx, recorder)

	pools, configMaps, deployments, services, pdbs, pods := newIndexer(), newIndexer(), newIndexer(), newIndexer(), newIndexer(), newIndexer()
	var kubeObjects, ssmObjects []runtime.Object
	for _, o := range row.Objects {
		var indexer cache.Indexer
		switch o.(type) {
		case *v1alpha1.ProxyPool:
			ssmObjects = append(ssmObjects, o)
			if err := pools.Add(o); err != nil {
				t.Fatal(err)
			}
			continue
		case *corev1.ConfigMap:
			indexer = configMaps
		case *appsv1.Deployment:
			indexer = deployments
		case *corev1.Service:
			indexer = services
		case *policyv1.PodDisruptionBudget:
			indexer = pdbs
		case *corev1.Pod:
			indexer = pods
		default:
			t.Fatalf("no lister for %T", o)
		}
		kubeObjects = append(kubeObjects, o)
		if poolLabelled(o) {
			if err := indexer.Add(o); err != nil {
				t.Fatal(err)
			}
		}
	}
	ctx, kubeClient := fakekubeclient.With(ctx, kubeObjects...)
	ctx, ssmClient := fakessmclient.With(ctx, ssmObjects...)
	for _, reactor := range row.WithReactors {
		kubeClient.PrependReactor("*", "*", reactor)
	}
	row.Ctx = ctx

	r := &Reconciler{
		kubeClient:       kubeClient,
		configMapLister:  corev1listers.NewConfigMapLister(configMaps),
		deploymentLister: appsv1listers.NewDeploymentLister(deployments),
		serviceLister:    corev1listers.NewServiceLister(services),
		pdbLister:        policyv1listers.NewPodDisruptionBudgetLister(pdbs),
		podLister:        corev1listers.NewPodLister(pods),
		cfg:              resources.DefaultConfig(),
		stats:            d.stats,
		// identity_test.go covers the identity step against a fake
		// clientset; here it would add writes with random key material.
		ensureIdentity: func(context.Context, *v1alpha1.ProxyPool) error { return nil },
		now:            func() time.Time { return fixedNow },
		enqueueAfter: func(pool types.NamespacedName, after time.Duration) {
			d.mu.Lock()
			defer d.mu.Unlock()
			d.requeues = append(d.requeues, requeue{Pool: pool, After: after})
		},
	}
	// A nil *fakeSizer must stay a nil Sizer.
	if d.sizer != nil {
		r.sizer = d.sizer
	}
	c := proxypoolreconciler.NewReconciler(ctx, logging.FromContext(ctx), ssmClient,
		ssmlisters.NewProxyPoolLister(pools), recorder, r)
	if la, ok := c.(pkgreconciler.LeaderAware); ok {
		if err := la.Promote(pkgreconciler.UniversalBucket(), func(pkgreconciler.Bucket, types.NamespacedName) {}); err != nil {
			t.Fatalf("Promote: %v", err)
		}
	}
	return c, rtesting.ActionRecorderList{kubeClient, ssmClient}, rtesting.EventList{Recorder: recorder}
}
