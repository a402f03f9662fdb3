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
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	fakekubeclient "knative.dev/pkg/client/injection/kube/client/fake"
	endpointsinformer "knative.dev/pkg/client/injection/kube/informers/core/v1/endpoints"
	_ "knative.dev/pkg/client/injection/kube/informers/core/v1/endpoints/fake"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/controller"
	rtesting "knative.dev/pkg/reconciler/testing"
	"knative.dev/pkg/system"
	_ "knative.dev/pkg/system/testing"
	"knative.dev/serving/pkg/apis/autoscaling"
	autoscalingv1alpha1 "knative.dev/serving/pkg/apis/autoscaling/v1alpha1"
	"knative.dev/serving/pkg/apis/serving"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	fakeservingclient "knative.dev/serving/pkg/client/injection/client/fake"
	painformer "knative.dev/serving/pkg/client/injection/informers/autoscaling/v1alpha1/podautoscaler"
	_ "knative.dev/serving/pkg/client/injection/informers/autoscaling/v1alpha1/podautoscaler/fake"
	revisioninformer "knative.dev/serving/pkg/client/injection/informers/serving/v1/revision"
	_ "knative.dev/serving/pkg/client/injection/informers/serving/v1/revision/fake"
	"knative.dev/serving/pkg/networking"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	"github.com/serverless-mesh/ssm/pkg/config"
	"github.com/serverless-mesh/ssm/pkg/pool/revision"
	"github.com/serverless-mesh/ssm/pkg/pool/sizing"
)

const testNamespace = "default"

// activatorIP is the ready address of every revision's public Endpoints:
// in proxy mode Knative points them at the activator. The reconciler must
// not take it for a pod of the revision.
const activatorIP = "10.1.0.100"

func scale(n int32) *int32 { return &n }

func testRevision(name string, annotations map[string]string) *servingv1.Revision {
	return &servingv1.Revision{ObjectMeta: metav1.ObjectMeta{Namespace: testNamespace, Name: name, Annotations: annotations}}
}

func testPA(name, class string, desired *int32) *autoscalingv1alpha1.PodAutoscaler {
	return &autoscalingv1alpha1.PodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   testNamespace,
			Name:        name,
			Annotations: map[string]string{autoscaling.ClassAnnotationKey: class},
			Labels:      map[string]string{serving.RevisionLabelKey: name},
		},
		Status: autoscalingv1alpha1.PodAutoscalerStatus{DesiredScale: desired},
	}
}

func testEndpoints(rev string, serviceType networking.ServiceType, ready, notReady []string) *corev1.Endpoints {
	name := rev
	if serviceType == networking.ServiceTypePrivate {
		name += "-private"
	}
	addresses := func(ips []string) []corev1.EndpointAddress {
		var out []corev1.EndpointAddress
		for _, ip := range ips {
			out = append(out, corev1.EndpointAddress{IP: ip})
		}
		return out
	}
	return &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: testNamespace,
			Name:      name,
			Labels:    map[string]string{serving.RevisionLabelKey: rev, networking.ServiceTypeKey: string(serviceType)},
		},
		Subsets: []corev1.EndpointSubset{{
			Addresses:         addresses(ready),
			NotReadyAddresses: addresses(notReady),
			Ports:             []corev1.EndpointPort{{Name: "http", Port: 8012}},
		}},
	}
}

func configSSM(data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: system.Namespace(), Name: config.SSMConfigName}, Data: data}
}

// Revisions as SSM's revisions webhook admitted them, with the pool their
// pods were born for stamped on them.
var (
	shortLived = map[string]string{ssm.LifecycleAnnotationKey: "short-lived",
		ssm.ResolvedPodsAnnotationKey: "sidecarless", ssm.ResolvedProxyPoolAnnotationKey: "default"}
	shortLivedNone = map[string]string{ssm.LifecycleAnnotationKey: "short-lived", ssm.ProxyPoolAnnotationKey: "none",
		ssm.ResolvedPodsAnnotationKey: "sidecarless"}
	shortLivedGPU = map[string]string{ssm.LifecycleAnnotationKey: "short-lived", ssm.ProxyPoolAnnotationKey: "gpu",
		ssm.ResolvedPodsAnnotationKey: "sidecarless", ssm.ResolvedProxyPoolAnnotationKey: "gpu"}
)

// step is what the informers hold for one revision at time t0+at, after
// which the revision is reconciled.
type step struct {
	at      time.Duration
	rev     string
	desired *int32
	ready   []string
	// notReady are addresses of pods that are not ready yet.
	notReady []string
	// deleted removes the revision (and nothing else, as a reconcile
	// racing the garbage collector would see).
	deleted bool
}

func TestReconcileRecordsColdStarts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		configSSM map[string]string
		// revisions and their annotations, by name.
		revisions map[string]map[string]string
		paClass   string // default KPA
		steps     []step
		want      map[string][]ColdStartRecord
		// wantDefaultPool is the recommendation for pool "default" at the
		// last step (min 0, max 10, 25% headroom), when set.
		wantDefaultPool string
	}{{
		name:      "scale from zero to the first ready pod",
		revisions: map[string]map[string]string{"a": shortLived},
		steps: []step{
			{at: 0, rev: "a", desired: scale(0)},
			{at: time.Second, rev: "a", desired: scale(1)},
			{at: 1500 * time.Millisecond, rev: "a", desired: scale(1), notReady: []string{"10.0.0.5"}},
			{at: 4200 * time.Millisecond, rev: "a", desired: scale(1), ready: []string{"10.0.0.5"}},
		},
		want: map[string][]ColdStartRecord{"a": {
			{Start: t0.Add(time.Second), Pool: "default", Concurrent: 1, Outcome: ColdStartReady, TimeToReady: 3200 * time.Millisecond},
		}},
	}, {
		name:      "an auto revision not yet observed leases from no pool",
		revisions: map[string]map[string]string{"a": nil},
		steps: []step{
			{at: 0, rev: "a", desired: scale(0)},
			{at: time.Second, rev: "a", desired: scale(2)},
			{at: 3 * time.Second, rev: "a", desired: scale(2), ready: []string{"10.0.0.5"}},
		},
		want: map[string][]ColdStartRecord{"a": {
			{Start: t0.Add(time.Second), Outcome: ColdStartReady, TimeToReady: 2 * time.Second},
		}},
		wantDefaultPool: "idle: no cold starts predicted → 0",
	}, {
		name:      "the pool is the one stamped when the revision was admitted (config-ssm's short-lived pool then)",
		configSSM: map[string]string{"short-lived-proxy-pool": "other"},
		revisions: map[string]map[string]string{"a": {ssm.LifecycleAnnotationKey: "short-lived",
			ssm.ResolvedPodsAnnotationKey: "sidecarless", ssm.ResolvedProxyPoolAnnotationKey: "warm"}},
		steps: []step{
			{at: 0, rev: "a", desired: scale(0)},
			{at: time.Second, rev: "a", desired: scale(1)},
		},
		want: map[string][]ColdStartRecord{"a": {
			{Start: t0.Add(time.Second), Pool: "warm", Concurrent: 1, Outcome: ColdStartInFlight},
		}},
	}, {
		name:      "concurrent cold starts are counted per pool",
		revisions: map[string]map[string]string{"a": shortLived, "b": shortLived, "c": shortLived, "d": shortLivedNone, "e": shortLivedGPU},
		steps: []step{
			{at: 0, rev: "a", desired: scale(0)},
			{at: 0, rev: "b", desired: scale(0)},
			{at: 0, rev: "c", desired: scale(0)},
			{at: 0, rev: "d", desired: scale(0)},
			{at: 0, rev: "e", desired: scale(0)},
			{at: time.Second, rev: "a", desired: scale(1)},
			{at: 2 * time.Second, rev: "b", desired: scale(1)},
			{at: 3 * time.Second, rev: "a", desired: scale(1), ready: []string{"10.0.1.1"}},
			{at: 4 * time.Second, rev: "c", desired: scale(1)},
			{at: 4500 * time.Millisecond, rev: "d", desired: scale(1)},
			{at: 5 * time.Second, rev: "e", desired: scale(1)},
			{at: 6 * time.Second, rev: "b", desired: scale(1), ready: []string{"10.0.2.1"}},
		},
		want: map[string][]ColdStartRecord{
			"a": {{Start: t0.Add(time.Second), Pool: "default", Concurrent: 1, Outcome: ColdStartReady, TimeToReady: 2 * time.Second}},
			"b": {{Start: t0.Add(2 * time.Second), Pool: "default", Concurrent: 2, Outcome: ColdStartReady, TimeToReady: 4 * time.Second}},
			"c": {{Start: t0.Add(4 * time.Second), Pool: "default", Concurrent: 2, Outcome: ColdStartInFlight}},
			"d": {{Start: t0.Add(4500 * time.Millisecond), Outcome: ColdStartInFlight}},
			"e": {{Start: t0.Add(5 * time.Second), Pool: "gpu", Concurrent: 1, Outcome: ColdStartInFlight}},
		},
		wantDefaultPool: "burst: 2 concurrent cold starts in the last 5m + 25% headroom → 3",
	}, {
		name:      "a deleted revision is forgotten and frees its pool slot",
		revisions: map[string]map[string]string{"a": shortLived, "b": shortLived},
		steps: []step{
			{at: 0, rev: "a", desired: scale(0)},
			{at: 0, rev: "b", desired: scale(0)},
			{at: time.Second, rev: "a", desired: scale(1)},
			{at: 2 * time.Second, rev: "a", deleted: true},
			{at: 3 * time.Second, rev: "b", desired: scale(1)},
		},
		want: map[string][]ColdStartRecord{
			"b": {{Start: t0.Add(3 * time.Second), Pool: "default", Concurrent: 1, Outcome: ColdStartInFlight}},
		},
	}, {
		name:      "activation given up: back to zero without a ready pod",
		revisions: map[string]map[string]string{"a": shortLived},
		steps: []step{
			{at: 0, rev: "a", desired: scale(0)},
			{at: time.Second, rev: "a", desired: scale(1), notReady: []string{"10.0.0.5"}},
			{at: 2 * time.Minute, rev: "a", desired: scale(0)},
		},
		want: map[string][]ColdStartRecord{"a": {
			{Start: t0.Add(time.Second), Pool: "default", Concurrent: 1, Outcome: ColdStartAbandoned},
		}},
	}, {
		name:      "a cold start stuck for MaxColdStart is written off",
		revisions: map[string]map[string]string{"a": shortLived},
		steps: []step{
			{at: 0, rev: "a", desired: scale(0)},
			{at: time.Second, rev: "a", desired: scale(1)},
			{at: 10*time.Minute + time.Second, rev: "a", desired: scale(1)},
		},
		want: map[string][]ColdStartRecord{"a": {
			{Start: t0.Add(time.Second), Pool: "default", Concurrent: 1, Outcome: ColdStartAbandoned},
		}},
	}, {
		name:      "an autoscaler restart (desired -1) keeps the last known scale",
		revisions: map[string]map[string]string{"a": shortLived},
		steps: []step{
			{at: 0, rev: "a", desired: scale(0)},
			{at: time.Second, rev: "a", desired: scale(-1)},
			{at: 2 * time.Second, rev: "a", desired: scale(1)},
			{at: 5 * time.Second, rev: "a", desired: scale(1), ready: []string{"10.0.0.5"}},
		},
		want: map[string][]ColdStartRecord{"a": {
			{Start: t0.Add(2 * time.Second), Pool: "default", Concurrent: 1, Outcome: ColdStartReady, TimeToReady: 3 * time.Second},
		}},
	}, {
		name:      "a pod still ready when the scale leaves zero is no cold start",
		revisions: map[string]map[string]string{"a": shortLived},
		steps: []step{
			{at: 0, rev: "a", desired: scale(1), ready: []string{"10.0.0.9"}},
			{at: time.Second, rev: "a", desired: scale(0), ready: []string{"10.0.0.9"}},
			{at: 2 * time.Second, rev: "a", desired: scale(1), ready: []string{"10.0.0.9"}},
		},
		want: map[string][]ColdStartRecord{"a": nil},
	}, {
		name:      "the first deployment is no cold start",
		revisions: map[string]map[string]string{"a": shortLived},
		steps: []step{
			{at: 0, rev: "a"},
			{at: time.Second, rev: "a", desired: scale(1)},
			{at: 3 * time.Second, rev: "a", desired: scale(1), ready: []string{"10.0.0.5"}},
		},
		want: map[string][]ColdStartRecord{"a": nil},
	}, {
		name:      "scale to zero and back: two cold starts",
		revisions: map[string]map[string]string{"a": shortLived},
		steps: []step{
			{at: 0, rev: "a", desired: scale(0)},
			{at: time.Second, rev: "a", desired: scale(1)},
			{at: 2 * time.Second, rev: "a", desired: scale(1), ready: []string{"10.0.0.5"}},
			{at: 60 * time.Second, rev: "a", desired: scale(0), ready: []string{"10.0.0.5"}},
			{at: 90 * time.Second, rev: "a", desired: scale(0)},
			{at: 100 * time.Second, rev: "a", desired: scale(1)},
			{at: 103500 * time.Millisecond, rev: "a", desired: scale(1), ready: []string{"10.0.0.6"}},
		},
		want: map[string][]ColdStartRecord{"a": {
			{Start: t0.Add(time.Second), Pool: "default", Concurrent: 1, Outcome: ColdStartReady, TimeToReady: time.Second},
			{Start: t0.Add(100 * time.Second), Pool: "default", Concurrent: 1, Outcome: ColdStartReady, TimeToReady: 3500 * time.Millisecond},
		}},
	}, {
		name:      "a revision scaled by another autoscaler class is not tracked",
		revisions: map[string]map[string]string{"a": shortLived},
		paClass:   autoscaling.HPA,
		steps: []step{
			{at: 0, rev: "a", desired: scale(0)},
			{at: time.Second, rev: "a", desired: scale(1)},
		},
		want: map[string][]ColdStartRecord{"a": nil},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, _ := rtesting.SetupFakeContext(t)
			clock := clocktesting.NewFakeClock(t0)
			h := NewHistory(Options{Clock: clock})
			impl := newController(ctx, configmap.NewStaticWatcher(configSSM(tc.configSSM)), h)

			revisions := revisioninformer.Get(ctx).Informer().GetIndexer()
			pas := painformer.Get(ctx).Informer().GetIndexer()
			endpoints := endpointsinformer.Get(ctx).Informer().GetIndexer()
			class := tc.paClass
			if class == "" {
				class = autoscaling.KPA
			}
			for name, annotations := range tc.revisions {
				mustDo(t, revisions.Add(testRevision(name, annotations)))
				mustDo(t, endpoints.Add(testEndpoints(name, networking.ServiceTypePublic, []string{activatorIP}, nil)))
			}
			for _, s := range tc.steps {
				clock.SetTime(t0.Add(s.at))
				if s.deleted {
					mustDo(t, revisions.Delete(testRevision(s.rev, nil)))
				} else {
					mustDo(t, pas.Update(testPA(s.rev, class, s.desired)))
					mustDo(t, endpoints.Update(testEndpoints(s.rev, networking.ServiceTypePrivate, s.ready, s.notReady)))
				}
				if err := impl.Reconciler.Reconcile(ctx, testNamespace+"/"+s.rev); err != nil {
					t.Fatalf("Reconcile %s at %s: %v", s.rev, s.at, err)
				}
			}

			got := map[string][]ColdStartRecord{}
			for name := range tc.want {
				got[name] = h.ColdStarts(revision.Key{Namespace: testNamespace, Name: name})
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("cold starts (-want +got):\n%s", diff)
			}
			if tc.wantDefaultPool != "" {
				if got := h.Recommend("default", clock.Now(), 0, 10, 25, sizing.Held{}).Reason; got != tc.wantDefaultPool {
					t.Errorf("Recommend(default) reason = %q, want %q", got, tc.wantDefaultPool)
				}
			}
			// Read-only: the reconciler asked the API server for nothing.
			if a := fakeservingclient.Get(ctx).Actions(); len(a) != 0 {
				t.Errorf("serving client actions: %v, want none", a)
			}
			if a := fakekubeclient.Get(ctx).Actions(); len(a) != 0 {
				t.Errorf("kube client actions: %v, want none", a)
			}
		})
	}
}

func TestReconcileInvalidKey(t *testing.T) {
	t.Parallel()
	ctx, _ := rtesting.SetupFakeContext(t)
	impl := newController(ctx, configmap.NewStaticWatcher(configSSM(nil)), NewHistory(Options{}))
	err := impl.Reconciler.Reconcile(ctx, "a/b/c")
	if err == nil || !controller.IsPermanentError(err) {
		t.Errorf("Reconcile(a/b/c) = %v, want a permanent error", err)
	}
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
