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

package lifecycle

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ktesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
	fakekubeclient "knative.dev/pkg/client/injection/kube/client/fake"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/controller"
	pkgreconciler "knative.dev/pkg/reconciler"
	rtesting "knative.dev/pkg/reconciler/testing"
	"knative.dev/serving/pkg/apis/autoscaling"
	fakeservingclient "knative.dev/serving/pkg/client/injection/client/fake"
	painformer "knative.dev/serving/pkg/client/injection/informers/autoscaling/v1alpha1/podautoscaler"
	revisioninformer "knative.dev/serving/pkg/client/injection/informers/serving/v1/revision"
	"knative.dev/serving/pkg/networking"

	"github.com/serverless-mesh/ssm/pkg/pool/revision"
)

// TestControllerWatchesReadOnly runs the controller as sharedmain would,
// on fake clients with running informers, and checks that the events reach
// the History and that the controller writes nothing.
func TestControllerWatchesReadOnly(t *testing.T) {
	t.Parallel()
	ctx, cancel, informers := rtesting.SetupFakeContextWithCancel(t)
	clock := clocktesting.NewFakeClock(t0)
	h := NewHistory(Options{Clock: clock})
	impl := NewController(h)(ctx, configmap.NewStaticWatcher(configSSM(nil)))
	if err := controller.StartInformers(ctx.Done(), informers...); err != nil {
		t.Fatalf("StartInformers: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- impl.RunContext(ctx, 1) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("controller did not stop")
		}
	}()

	serving := fakeservingclient.Get(ctx)
	kube := fakekubeclient.Get(ctx)
	key := revision.Key{Namespace: testNamespace, Name: "fn-00001"}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			// Poll: the History has no change notification for cold starts.
			time.Sleep(5 * time.Millisecond)
		}
	}
	desired := func() int32 {
		h.mu.Lock()
		defer h.mu.Unlock()
		if r := h.revisions[key]; r != nil {
			return r.desired
		}
		return -2
	}

	if _, err := serving.ServingV1().Revisions(testNamespace).Create(ctx, testRevision(key.Name, shortLived), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create Revision: %v", err)
	}
	if _, err := kube.CoreV1().Endpoints(testNamespace).Create(ctx, testEndpoints(key.Name, networking.ServiceTypePrivate, nil, nil), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create Endpoints: %v", err)
	}
	pa := testPA(key.Name, autoscaling.KPA, scale(0))
	if _, err := serving.AutoscalingV1alpha1().PodAutoscalers(testNamespace).Create(ctx, pa, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create PodAutoscaler: %v", err)
	}
	waitFor("the scale of 0", func() bool { return desired() == 0 })

	clock.SetTime(t0.Add(time.Second))
	pa.Status.DesiredScale = scale(1)
	if _, err := serving.AutoscalingV1alpha1().PodAutoscalers(testNamespace).UpdateStatus(ctx, pa, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update PodAutoscaler status: %v", err)
	}
	waitFor("the cold start", func() bool { return len(h.ColdStarts(key)) == 1 })

	clock.SetTime(t0.Add(2500 * time.Millisecond))
	if _, err := kube.CoreV1().Endpoints(testNamespace).Update(ctx, testEndpoints(key.Name, networking.ServiceTypePrivate, []string{"10.0.0.5"}, nil), metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update Endpoints: %v", err)
	}
	waitFor("the ready pod", func() bool {
		cs := h.ColdStarts(key)
		return len(cs) == 1 && cs[0].Outcome != ColdStartInFlight
	})
	want := []ColdStartRecord{{Start: t0.Add(time.Second), Pool: "default", Concurrent: 1, Outcome: ColdStartReady, TimeToReady: 1500 * time.Millisecond}}
	if diff := cmp.Diff(want, h.ColdStarts(key)); diff != "" {
		t.Errorf("cold starts (-want +got):\n%s", diff)
	}

	// The only writes are the test's own: 3 to Knative, 2 to Kubernetes.
	writes := func(actions []ktesting.Action) int {
		n := 0
		for _, a := range actions {
			if v := a.GetVerb(); v != "list" && v != "watch" && v != "get" {
				n++
			}
		}
		return n
	}
	if n := writes(serving.Actions()); n != 3 {
		t.Errorf("%d writes to Knative, want the test's 3: %v", n, serving.Actions())
	}
	if n := writes(kube.Actions()); n != 2 {
		t.Errorf("%d writes to Kubernetes, want the test's 2: %v", n, kube.Actions())
	}
}

// TestReconcileObservesWithoutLeading: every replica keeps its own History,
// so the reconciler observes whether or not it leads the revision.
func TestReconcileObservesWithoutLeading(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		elect func(t *testing.T, la pkgreconciler.LeaderAware)
	}{{
		name:  "never promoted",
		elect: func(*testing.T, pkgreconciler.LeaderAware) {},
	}, {
		name: "promoted, then demoted",
		elect: func(t *testing.T, la pkgreconciler.LeaderAware) {
			if err := la.Promote(pkgreconciler.UniversalBucket(), nil); err != nil {
				t.Fatalf("Promote() = %v", err)
			}
			la.Demote(pkgreconciler.UniversalBucket())
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, _ := rtesting.SetupFakeContext(t)
			clock := clocktesting.NewFakeClock(t0)
			h := NewHistory(Options{Clock: clock})
			impl := newController(ctx, configmap.NewStaticWatcher(configSSM(nil)), h)
			r, ok := impl.Reconciler.(*Reconciler)
			if !ok {
				t.Fatalf("impl.Reconciler is %T, want *Reconciler", impl.Reconciler)
			}
			tc.elect(t, r)
			if r.IsLeaderFor(types.NamespacedName{Namespace: testNamespace, Name: "a"}) {
				t.Fatal("the reconciler leads revision a; the test needs a replica that does not")
			}

			mustDo(t, revisioninformer.Get(ctx).Informer().GetIndexer().Add(testRevision("a", shortLived)))
			pas := painformer.Get(ctx).Informer().GetIndexer()
			for _, s := range []step{{at: 0, desired: scale(0)}, {at: time.Second, desired: scale(1)}} {
				clock.SetTime(t0.Add(s.at))
				mustDo(t, pas.Update(testPA("a", autoscaling.KPA, s.desired)))
				if err := r.Reconcile(ctx, testNamespace+"/a"); err != nil {
					t.Fatalf("Reconcile at %s = %v", s.at, err)
				}
			}

			want := []ColdStartRecord{{Start: t0.Add(time.Second), Pool: "default", Concurrent: 1, Outcome: ColdStartInFlight}}
			if diff := cmp.Diff(want, h.ColdStarts(revision.Key{Namespace: testNamespace, Name: "a"})); diff != "" {
				t.Errorf("cold starts (-want +got):\n%s", diff)
			}
			if a := fakekubeclient.Get(ctx).Actions(); len(a) != 0 {
				t.Errorf("kube client actions: %v, want none", a)
			}
			if a := fakeservingclient.Get(ctx).Actions(); len(a) != 0 {
				t.Errorf("serving client actions: %v, want none", a)
			}
		})
	}
}
