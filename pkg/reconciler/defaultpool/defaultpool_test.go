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

package defaultpool

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrs "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	ktesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/ptr"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/logging"
	logtesting "knative.dev/pkg/logging/testing"
	pkgreconciler "knative.dev/pkg/reconciler"
	rtesting "knative.dev/pkg/reconciler/testing"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
	fakessmclientset "github.com/serverless-mesh/ssm/pkg/client/clientset/versioned/fake"
	ssmlisters "github.com/serverless-mesh/ssm/pkg/client/listers/ssm/v1alpha1"
	ssmtesting "github.com/serverless-mesh/ssm/pkg/reconciler/testing"
)

const (
	systemNS = "knative-serving"
	key      = systemNS + "/config-ssm"

	// OtherTestData keys of a row.
	configsKey  = "config-ssm" // []*corev1.ConfigMap, observed in order
	followerKey = "follower"   // true: the reconciler leads no bucket
)

// wantPool is the pool namespace/name as config/510-proxypool-default.yaml
// declared it, with the labels and annotation of a controller-made pool.
func wantPool(namespace, name string) *v1alpha1.ProxyPool {
	return &v1alpha1.ProxyPool{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: namespace,
			Labels: map[string]string{
				"app.kubernetes.io/name":      "ssm",
				"app.kubernetes.io/component": "proxy",
			},
			Annotations: map[string]string{
				"ssm.dev/created-by": "ssm-controller",
			},
		},
		Spec: v1alpha1.ProxyPoolSpec{
			Image:       "envoyproxy/envoy:v1.37.0",
			MinSize:     ptr.To[int32](2),
			MaxSize:     ptr.To[int32](10),
			IdleTimeout: &metav1.Duration{Duration: 5 * time.Minute},
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{
					corev1.ResourceCPU:    resource.MustParse("50m"),
					corev1.ResourceMemory: resource.MustParse("64Mi"),
				},
				Limits: corev1.ResourceList{
					corev1.ResourceCPU:    resource.MustParse("1"),
					corev1.ResourceMemory: resource.MustParse("256Mi"),
				},
			},
			Sizing: v1alpha1.ProxyPoolSizing{
				Policy:          v1alpha1.SizingHistory,
				HeadroomPercent: ptr.To[int32](25),
			},
		},
	}
}

// userPool is a pool its users have made their own: nothing of the
// created spec is left.
func userPool(namespace, name string) *v1alpha1.ProxyPool {
	return &v1alpha1.ProxyPool{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: v1alpha1.ProxyPoolSpec{
			Image:   "registry.example.com/envoy:patched",
			MinSize: ptr.To[int32](5),
			MaxSize: ptr.To[int32](50),
			Sizing:  v1alpha1.ProxyPoolSizing{Policy: v1alpha1.SizingFixed},
		},
	}
}

func configSSM(data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "config-ssm", Namespace: systemNS},
		Data:       data,
	}
}

func configs(cms ...*corev1.ConfigMap) map[string]interface{} {
	return map[string]interface{}{configsKey: cms}
}

func TestReconcile(t *testing.T) {
	t.Parallel()
	table := rtesting.TableTest{{
		Name:          "config-ssm names default, no pool: it is created",
		Key:           key,
		OtherTestData: configs(configSSM(map[string]string{"short-lived-proxy-pool": "default"})),
		WantCreates:   []runtime.Object{wantPool(systemNS, "default")},
	}, {
		Name: "config-ssm has only its _example: the built-in short-lived pool default is created",
		Key:  key,
		OtherTestData: configs(configSSM(map[string]string{
			"_example": "short-lived-proxy-pool: \"default\"\n",
		})),
		WantCreates: []runtime.Object{wantPool(systemNS, "default")},
	}, {
		Name:        "config-ssm not read yet: the built-in short-lived pool default is created",
		Key:         key,
		WantCreates: []runtime.Object{wantPool(systemNS, "default")},
	}, {
		Name:          "the pool exists with a spec its users edited: nothing is written",
		Key:           key,
		Objects:       []runtime.Object{userPool(systemNS, "default")},
		OtherTestData: configs(configSSM(map[string]string{"short-lived-proxy-pool": "default"})),
	}, {
		Name:          "a pool of that name in another namespace does not count",
		Key:           key,
		Objects:       []runtime.Object{userPool("team-a", "default")},
		OtherTestData: configs(configSSM(map[string]string{"short-lived-proxy-pool": "default"})),
		WantCreates:   []runtime.Object{wantPool(systemNS, "default")},
	}, {
		Name:          `short-lived-proxy-pool "none": nothing is written`,
		Key:           key,
		OtherTestData: configs(configSSM(map[string]string{"short-lived-proxy-pool": "none"})),
	}, {
		Name: "long-lived-proxy-pool big and short-lived-proxy-pool default: both are created, short-lived first",
		Key:  key,
		OtherTestData: configs(configSSM(map[string]string{
			"short-lived-proxy-pool": "default",
			"long-lived-mtls-mode":   "lightweight",
			"long-lived-proxy-pool":  "big",
		})),
		WantCreates: []runtime.Object{wantPool(systemNS, "default"), wantPool(systemNS, "big")},
	}, {
		Name: "both classes name one pool: it is created once",
		Key:  key,
		OtherTestData: configs(configSSM(map[string]string{
			"short-lived-proxy-pool": "shared",
			"long-lived-mtls-mode":   "lightweight",
			"long-lived-proxy-pool":  "shared",
		})),
		WantCreates: []runtime.Object{wantPool(systemNS, "shared")},
	}, {
		Name: "one of two pools exists: only the other is created",
		Key:  key,
		OtherTestData: configs(configSSM(map[string]string{
			"short-lived-proxy-pool": "default",
			"long-lived-mtls-mode":   "lightweight",
			"long-lived-proxy-pool":  "big",
		})),
		Objects:     []runtime.Object{userPool(systemNS, "default")},
		WantCreates: []runtime.Object{wantPool(systemNS, "big")},
	}, {
		// The error is controller.NewSkipKey's: a follower leaves the key to
		// the leader (TestReconcileFollowerSkips checks its kind).
		Name:          "not the leader: nothing is written",
		Key:           key,
		OtherTestData: map[string]interface{}{followerKey: true},
		WantErr:       true,
	}, {
		Name:          "config-ssm does not parse: nothing is written",
		Key:           key,
		OtherTestData: configs(configSSM(map[string]string{"short-lived-proxy-pool": "Default Pool"})),
	}, {
		Name: "config-ssm stops parsing after a good version: nothing is written",
		Key:  key,
		OtherTestData: configs(
			configSSM(map[string]string{"short-lived-proxy-pool": "default"}),
			configSSM(map[string]string{"short-lived-proxy-pool": "default", "short-lived-proxypool": "typo"}),
		),
	}, {
		Name: "config-ssm parses again after a bad version: its pools are created",
		Key:  key,
		OtherTestData: configs(
			configSSM(map[string]string{"short-lived-proxy-pool": "Default Pool"}),
			configSSM(map[string]string{"short-lived-proxy-pool": "fixed"}),
		),
		WantCreates: []runtime.Object{wantPool(systemNS, "fixed")},
	}, {
		Name:          "someone created the pool after the informer last looked: theirs stands, no error",
		Key:           key,
		OtherTestData: configs(configSSM(map[string]string{"short-lived-proxy-pool": "default"})),
		WithReactors: []ktesting.ReactionFunc{func(action ktesting.Action) (bool, runtime.Object, error) {
			if !action.Matches("create", "proxypools") {
				return false, nil, nil
			}
			return true, nil, apierrs.NewAlreadyExists(v1alpha1.Resource("proxypools"), "default")
		}},
		WantCreates: []runtime.Object{wantPool(systemNS, "default")},
	}, {
		Name:          "the create fails: the error is returned, so the key is retried",
		Key:           key,
		OtherTestData: configs(configSSM(map[string]string{"short-lived-proxy-pool": "default"})),
		WithReactors: []ktesting.ReactionFunc{func(action ktesting.Action) (bool, runtime.Object, error) {
			if !action.Matches("create", "proxypools") {
				return false, nil, nil
			}
			return true, nil, apierrs.NewInternalError(errors.New("webhook not ready"))
		}},
		WantCreates: []runtime.Object{wantPool(systemNS, "default")},
		WantErr:     true,
	}}
	// TableTest ignores Quantity's unexported fields, which hold its value:
	// compare resources by value instead.
	for i := range table {
		table[i].CmpOpts = append(table[i].CmpOpts, cmp.Comparer(func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 }))
	}
	table.Test(t, factory)
}

// factory builds the reconciler over a fake clientset and a lister holding
// the row's ProxyPools, feeds it the row's config-ssm versions through the
// watcher's observer, and promotes it unless the row says it follows.
func factory(t *testing.T, row *rtesting.TableRow) (controller.Reconciler, rtesting.ActionRecorderList, rtesting.EventList) {
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, o := range row.Objects {
		if _, ok := o.(*v1alpha1.ProxyPool); !ok {
			t.Fatalf("no lister for %T", o)
		}
		if err := indexer.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	client := fakessmclientset.NewSimpleClientset(row.Objects...)
	for _, reactor := range row.WithReactors {
		client.PrependReactor("*", "*", reactor)
	}

	r := newReconciler(systemNS, client, ssmlisters.NewProxyPoolLister(indexer))
	cms, _ := row.OtherTestData[configsKey].([]*corev1.ConfigMap)
	for _, cm := range cms {
		r.setConfig(cm)
	}
	if follower, _ := row.OtherTestData[followerKey].(bool); !follower {
		if err := r.Promote(pkgreconciler.UniversalBucket(), func(pkgreconciler.Bucket, types.NamespacedName) {}); err != nil {
			t.Fatalf("Promote: %v", err)
		}
	}
	row.Ctx = logging.WithLogger(context.Background(), logtesting.TestLogger(t))
	return r, rtesting.ActionRecorderList{client}, rtesting.EventList{Recorder: record.NewFakeRecorder(10)}
}

// TestReconcileFollowerSkips: a replica that does not lead hands the key
// back as skipped, which the workqueue neither retries nor counts as failed.
func TestReconcileFollowerSkips(t *testing.T) {
	t.Parallel()
	client := fakessmclientset.NewSimpleClientset()
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	r := newReconciler(systemNS, client, ssmlisters.NewProxyPoolLister(indexer))
	ctx := logging.WithLogger(context.Background(), logtesting.TestLogger(t))
	if err := r.Reconcile(ctx, key); !controller.IsSkipKey(err) {
		t.Errorf("Reconcile() = %v, want a skip-key error", err)
	}
	if actions := client.Actions(); len(actions) != 0 {
		t.Errorf("a follower wrote: %v", actions)
	}
}

// TestPromoteEnqueuesConfigSSM: a new leader reconciles the one key at once,
// so pools missing since the last leader stopped are created.
func TestPromoteEnqueuesConfigSSM(t *testing.T) {
	t.Parallel()
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	r := newReconciler(systemNS, fakessmclientset.NewSimpleClientset(), ssmlisters.NewProxyPoolLister(indexer))
	got := ssmtesting.Promote(t, r, pkgreconciler.UniversalBucket())
	want := []types.NamespacedName{{Namespace: "knative-serving", Name: "config-ssm"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("enqueued on promotion (-want +got):\n%s", diff)
	}
}
