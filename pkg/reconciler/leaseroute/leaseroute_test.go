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

package leaseroute

import (
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
	fakekubeclient "knative.dev/pkg/client/injection/kube/client/fake"
	deploymentfilteredinformer "knative.dev/pkg/client/injection/kube/informers/apps/v1/deployment/filtered"
	_ "knative.dev/pkg/client/injection/kube/informers/apps/v1/deployment/filtered/fake"
	_ "knative.dev/pkg/client/injection/kube/informers/core/v1/endpoints/fake"
	_ "knative.dev/pkg/client/injection/kube/informers/core/v1/service/filtered/fake"
	_ "knative.dev/pkg/client/injection/kube/informers/discovery/v1/endpointslice/filtered/fake"
	_ "knative.dev/pkg/client/injection/kube/informers/factory/filtered/fake"
	_ "knative.dev/pkg/client/injection/kube/informers/networking/v1/networkpolicy/filtered/fake"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/controller"
	logtesting "knative.dev/pkg/logging/testing"
	pkgreconciler "knative.dev/pkg/reconciler"
	_ "knative.dev/pkg/system/testing" // SSM's namespace for NewController
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	revisioninformer "knative.dev/serving/pkg/client/injection/informers/serving/v1/revision"
	_ "knative.dev/serving/pkg/client/injection/informers/serving/v1/revision/fake"

	ssmtesting "github.com/serverless-mesh/ssm/pkg/reconciler/testing"
)

func TestSelectors(t *testing.T) {
	t.Parallel()
	for got, want := range map[string]string{
		ObjectLabelSelector:        ssmObjectsSelector,
		ActivatorSliceSelector:     activatorSlicesSelector,
		RevisionDeploymentSelector: revisionDeployments,
	} {
		if got != want {
			t.Errorf("informer selector = %q, want %q", got, want)
		}
	}
}

func TestReconcile(t *testing.T) {
	t.Parallel()
	const (
		createSvc   = "create services fn-ns/hello-00001-ssm"
		createSlice = "create endpointslices fn-ns/hello-00001-ssm-activator"
		createNP    = "create networkpolicies fn-ns/hello-00001-ssm"
	)
	http := func(eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
		return fallbackSlice("hello-00001", "http", 8012, eps...)
	}
	tests := []struct {
		name       string
		revs       []*servingv1.Revision
		objects    []runtime.Object
		key        string
		wantSvcs   []*corev1.Service
		wantSlices []*discoveryv1.EndpointSlice
		wantWrites []string
	}{{
		name:       "sidecar-less revision, no lease: the Service and the activator's ready endpoints",
		revs:       []*servingv1.Revision{revision("hello-00001", false)},
		objects:    []runtime.Object{deployment("hello-00001", pluginOn), activatorSlice(systemNS), poolEndpoints(liveReplica)},
		wantSvcs:   []*corev1.Service{leaseService("hello-00001", false)},
		wantSlices: []*discoveryv1.EndpointSlice{http(activatorEndpoints()...)},
		wantWrites: []string{createSlice, createNP, createSvc},
	}, {
		name:       "h2c revision: port 81 http2 and the activator's http2 port",
		revs:       []*servingv1.Revision{revision("hello-00001", true)},
		objects:    []runtime.Object{deployment("hello-00001", pluginOn), activatorSlice(systemNS), poolEndpoints(liveReplica)},
		wantSvcs:   []*corev1.Service{leaseService("hello-00001", true)},
		wantSlices: []*discoveryv1.EndpointSlice{fallbackSlice("hello-00001", "http2", 8013, activatorEndpoints()...)},
		wantWrites: []string{createSlice, createNP, createSvc},
	}, {
		name: "a live replica publishes a ready proxy: the activator slice keeps its port and has no endpoint",
		revs: []*servingv1.Revision{revision("hello-00001", false)},
		objects: []runtime.Object{deployment("hello-00001", pluginOn), activatorSlice(systemNS), poolEndpoints(liveReplica),
			leaseSlice("hello-00001", liveReplicaID, ptr.To(true), "10.244.3.9")},
		wantSvcs:   []*corev1.Service{leaseService("hello-00001", false)},
		wantSlices: []*discoveryv1.EndpointSlice{leaseSlice("hello-00001", liveReplicaID, ptr.To(true), "10.244.3.9"), http()},
		wantWrites: []string{createSlice, createNP, createSvc},
	}, {
		name: "a live replica's proxy with a nil Ready condition counts as ready",
		revs: []*servingv1.Revision{revision("hello-00001", false)},
		objects: []runtime.Object{deployment("hello-00001", pluginOn), activatorSlice(systemNS), poolEndpoints(liveReplica),
			leaseSlice("hello-00001", liveReplicaID, nil, "10.244.3.9")},
		wantSvcs:   []*corev1.Service{leaseService("hello-00001", false)},
		wantSlices: []*discoveryv1.EndpointSlice{leaseSlice("hello-00001", liveReplicaID, nil, "10.244.3.9"), http()},
		wantWrites: []string{createSlice, createNP, createSvc},
	}, {
		name: "a live replica's slice without a ready proxy: the activator stays",
		revs: []*servingv1.Revision{revision("hello-00001", false)},
		objects: []runtime.Object{deployment("hello-00001", pluginOn), activatorSlice(systemNS), poolEndpoints(liveReplica),
			leaseSlice("hello-00001", liveReplicaID, ptr.To(false), "10.244.3.9")},
		wantSvcs:   []*corev1.Service{leaseService("hello-00001", false)},
		wantSlices: []*discoveryv1.EndpointSlice{leaseSlice("hello-00001", liveReplicaID, ptr.To(false), "10.244.3.9"), http(activatorEndpoints()...)},
		wantWrites: []string{createSlice, createNP, createSvc},
	}, {
		name: "the slice of a replica not in ssm-pool's Endpoints is deleted and ignored",
		revs: []*servingv1.Revision{revision("hello-00001", false)},
		objects: []runtime.Object{deployment("hello-00001", pluginOn), activatorSlice(systemNS), poolEndpoints(liveReplica),
			leaseSlice("hello-00001", goneReplicaID, ptr.To(true), "10.244.3.20")},
		wantSvcs:   []*corev1.Service{leaseService("hello-00001", false)},
		wantSlices: []*discoveryv1.EndpointSlice{http(activatorEndpoints()...)},
		wantWrites: []string{createSlice, createNP, createSvc, "delete endpointslices fn-ns/hello-00001-ssm-62f9025bcd"},
	}, {
		name: "a gone replica's slice is deleted, a live one's still leases",
		revs: []*servingv1.Revision{revision("hello-00001", false)},
		objects: []runtime.Object{deployment("hello-00001", pluginOn), activatorSlice(systemNS), poolEndpoints(liveReplica),
			leaseSlice("hello-00001", goneReplicaID, ptr.To(true), "10.244.3.20"),
			leaseSlice("hello-00001", liveReplicaID, ptr.To(true), "10.244.3.9")},
		wantSvcs:   []*corev1.Service{leaseService("hello-00001", false)},
		wantSlices: []*discoveryv1.EndpointSlice{leaseSlice("hello-00001", liveReplicaID, ptr.To(true), "10.244.3.9"), http()},
		wantWrites: []string{createSlice, createNP, createSvc, "delete endpointslices fn-ns/hello-00001-ssm-62f9025bcd"},
	}, {
		name: "ssm-pool's Endpoints name no pod: every lease slice counts",
		revs: []*servingv1.Revision{revision("hello-00001", false)},
		objects: []runtime.Object{deployment("hello-00001", pluginOn), activatorSlice(systemNS), poolEndpoints(""),
			leaseSlice("hello-00001", goneReplicaID, ptr.To(true), "10.244.3.20")},
		wantSvcs:   []*corev1.Service{leaseService("hello-00001", false)},
		wantSlices: []*discoveryv1.EndpointSlice{leaseSlice("hello-00001", goneReplicaID, ptr.To(true), "10.244.3.20"), http()},
		wantWrites: []string{createSlice, createNP, createSvc},
	}, {
		name: "no ssm-pool Endpoints at all: every lease slice counts",
		revs: []*servingv1.Revision{revision("hello-00001", false)},
		objects: []runtime.Object{deployment("hello-00001", pluginOn), activatorSlice(systemNS),
			leaseSlice("hello-00001", goneReplicaID, ptr.To(true), "10.244.3.20")},
		wantSvcs:   []*corev1.Service{leaseService("hello-00001", false)},
		wantSlices: []*discoveryv1.EndpointSlice{leaseSlice("hello-00001", goneReplicaID, ptr.To(true), "10.244.3.20"), http()},
		wantWrites: []string{createSlice, createNP, createSvc},
	}, {
		name: "another revision's lease slice does not count",
		revs: []*servingv1.Revision{revision("hello-00001", false)},
		objects: []runtime.Object{deployment("hello-00001", pluginOn), activatorSlice(systemNS), poolEndpoints(liveReplica),
			leaseSlice("hello-00002", liveReplicaID, ptr.To(true), "10.244.3.9")},
		wantSvcs:   []*corev1.Service{leaseService("hello-00001", false)},
		wantSlices: []*discoveryv1.EndpointSlice{http(activatorEndpoints()...), leaseSlice("hello-00002", liveReplicaID, ptr.To(true), "10.244.3.9")},
		wantWrites: []string{createSlice, createNP, createSvc},
	}, {
		name: "a slice of a Service named activator-service outside the system namespace is not the activator",
		revs: []*servingv1.Revision{revision("hello-00001", false)},
		objects: []runtime.Object{deployment("hello-00001", pluginOn), poolEndpoints(liveReplica),
			func() runtime.Object { s := activatorSlice(ns); s.Name = "impostor"; return s }()},
		wantSvcs: []*corev1.Service{leaseService("hello-00001", false)},
		wantSlices: []*discoveryv1.EndpointSlice{
			func() *discoveryv1.EndpointSlice { s := http(); s.Ports = nil; return s }(),
			func() *discoveryv1.EndpointSlice { s := activatorSlice(ns); s.Name = "impostor"; return s }(),
		},
		wantWrites: []string{createSlice, createNP, createSvc},
	}, {
		name: "leased now: the activator slice written earlier loses its endpoints",
		revs: []*servingv1.Revision{revision("hello-00001", false)},
		objects: []runtime.Object{deployment("hello-00001", pluginOn), activatorSlice(systemNS), poolEndpoints(liveReplica),
			leaseService("hello-00001", false), networkPolicy("hello-00001"), http(activatorEndpoints()...),
			leaseSlice("hello-00001", liveReplicaID, ptr.To(true), "10.244.3.9")},
		wantSvcs:   []*corev1.Service{leaseService("hello-00001", false)},
		wantSlices: []*discoveryv1.EndpointSlice{leaseSlice("hello-00001", liveReplicaID, ptr.To(true), "10.244.3.9"), http()},
		wantWrites: []string{"update endpointslices fn-ns/hello-00001-ssm-activator"},
	}, {
		name: "the revision became h2c: the Service and activator slice follow",
		revs: []*servingv1.Revision{revision("hello-00001", true)},
		objects: []runtime.Object{deployment("hello-00001", pluginOn), activatorSlice(systemNS), poolEndpoints(liveReplica),
			leaseService("hello-00001", false), networkPolicy("hello-00001"), http(activatorEndpoints()...)},
		wantSvcs:   []*corev1.Service{leaseService("hello-00001", true)},
		wantSlices: []*discoveryv1.EndpointSlice{fallbackSlice("hello-00001", "http2", 8013, activatorEndpoints()...)},
		wantWrites: []string{"update endpointslices fn-ns/hello-00001-ssm-activator", "update services fn-ns/hello-00001-ssm"},
	}, {
		name: "revision without the plugin switch: its Service and activator slice go, lease slices stay",
		revs: []*servingv1.Revision{revision("hello-00001", false)},
		objects: []runtime.Object{deployment("hello-00001", nil), activatorSlice(systemNS), poolEndpoints(liveReplica),
			leaseService("hello-00001", false), http(activatorEndpoints()...),
			leaseSlice("hello-00001", liveReplicaID, ptr.To(true), "10.244.3.9")},
		wantSlices: []*discoveryv1.EndpointSlice{leaseSlice("hello-00001", liveReplicaID, ptr.To(true), "10.244.3.9")},
		wantWrites: []string{"delete endpointslices fn-ns/hello-00001-ssm-activator", "delete services fn-ns/hello-00001-ssm"},
	}, {
		name: "the plugin switch set to anything but enable is off",
		revs: []*servingv1.Revision{revision("hello-00001", false)},
		objects: []runtime.Object{deployment("hello-00001", map[string]string{"qpoption.knative.dev/ssm-activate": "disable"}),
			activatorSlice(systemNS), leaseService("hello-00001", false), http(activatorEndpoints()...)},
		wantWrites: []string{"delete endpointslices fn-ns/hello-00001-ssm-activator", "delete services fn-ns/hello-00001-ssm"},
	}, {
		name:    "no Deployment yet: nothing is created",
		revs:    []*servingv1.Revision{revision("hello-00001", false)},
		objects: []runtime.Object{activatorSlice(systemNS), poolEndpoints(liveReplica)},
	}, {
		name: "unknown revision: nothing is written",
		objects: []runtime.Object{deployment("hello-00001", pluginOn), activatorSlice(systemNS), poolEndpoints(liveReplica),
			leaseService("hello-00001", false), http(activatorEndpoints()...),
			leaseSlice("hello-00001", goneReplicaID, ptr.To(true), "10.244.3.20")},
		wantSvcs:   []*corev1.Service{leaseService("hello-00001", false)},
		wantSlices: []*discoveryv1.EndpointSlice{leaseSlice("hello-00001", goneReplicaID, ptr.To(true), "10.244.3.20"), http(activatorEndpoints()...)},
	}, {
		name:     "only the reconciled revision is touched",
		revs:     []*servingv1.Revision{revision("hello-00001", false), revision("hello-00002", false)},
		objects:  []runtime.Object{deployment("hello-00001", pluginOn), deployment("hello-00002", pluginOn), activatorSlice(systemNS), poolEndpoints(liveReplica)},
		key:      "fn-ns/hello-00002",
		wantSvcs: []*corev1.Service{leaseService("hello-00002", false)},
		wantSlices: []*discoveryv1.EndpointSlice{
			fallbackSlice("hello-00002", "http", 8012, activatorEndpoints()...),
		},
		wantWrites: []string{"create endpointslices fn-ns/hello-00002-ssm-activator", "create networkpolicies fn-ns/hello-00002-ssm", "create services fn-ns/hello-00002-ssm"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := logtesting.TestContextWithLogger(t)
			key := tc.key
			if key == "" {
				key = "fn-ns/hello-00001"
			}
			kube := fake.NewClientset(tc.objects...)
			if err := newReconciler(t, kube, tc.revs...).Reconcile(ctx, key); err != nil {
				t.Fatalf("Reconcile() = %v", err)
			}
			if diff := gocmp.Diff(tc.wantSvcs, storedServices(t, kube), ignoreServerFields); diff != "" {
				t.Errorf("Services (-want +got):\n%s", diff)
			}
			if diff := gocmp.Diff(tc.wantSlices, storedSlices(t, kube), ignoreServerFields); diff != "" {
				t.Errorf("EndpointSlices (-want +got):\n%s", diff)
			}
			if diff := gocmp.Diff(tc.wantWrites, writes(kube)); diff != "" {
				t.Errorf("API writes (-want +got):\n%s", diff)
			}

			// The listers catch up; nothing is left to do.
			kube.ClearActions()
			if err := newReconciler(t, kube, tc.revs...).Reconcile(ctx, key); err != nil {
				t.Fatalf("second Reconcile() = %v", err)
			}
			if w := writes(kube); len(w) != 0 {
				t.Errorf("second Reconcile() wrote %v, want nothing", w)
			}
		})
	}
}

// TestNetworkPolicy: a sidecar-less revision's pods take connections only
// on queue-proxy's ports, so its user container cannot be reached around
// the plugin; a NetworkPolicy changed by hand is put back, and it goes when
// the revision's pods have sidecars again.
func TestNetworkPolicy(t *testing.T) {
	t.Parallel()
	ctx := logtesting.TestContextWithLogger(t)
	base := []runtime.Object{activatorSlice(systemNS), poolEndpoints(liveReplica)}
	rev := revision("hello-00001", false)

	kube := fake.NewClientset(append(base, deployment("hello-00001", pluginOn))...)
	if err := newReconciler(t, kube, rev).Reconcile(ctx, "fn-ns/hello-00001"); err != nil {
		t.Fatalf("Reconcile() = %v", err)
	}
	if diff := gocmp.Diff([]*networkingv1.NetworkPolicy{networkPolicy("hello-00001")}, storedNetworkPolicies(t, kube), ignoreServerFields); diff != "" {
		t.Errorf("NetworkPolicies of a sidecar-less revision (-want +got):\n%s", diff)
	}

	opened := networkPolicy("hello-00001")
	opened.Spec.Ingress = append(opened.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{})
	kube = fake.NewClientset(append(base, deployment("hello-00001", pluginOn), leaseService("hello-00001", false), opened,
		fallbackSlice("hello-00001", "http", 8012, activatorEndpoints()...))...)
	if err := newReconciler(t, kube, rev).Reconcile(ctx, "fn-ns/hello-00001"); err != nil {
		t.Fatalf("Reconcile() = %v", err)
	}
	if diff := gocmp.Diff([]*networkingv1.NetworkPolicy{networkPolicy("hello-00001")}, storedNetworkPolicies(t, kube), ignoreServerFields); diff != "" {
		t.Errorf("a NetworkPolicy opened to every port by hand (-want +got):\n%s", diff)
	}
	if diff := gocmp.Diff([]string{"update networkpolicies fn-ns/hello-00001-ssm"}, writes(kube)); diff != "" {
		t.Errorf("API writes (-want +got):\n%s", diff)
	}

	kube = fake.NewClientset(append(base, deployment("hello-00001", nil), leaseService("hello-00001", false), networkPolicy("hello-00001"))...)
	if err := newReconciler(t, kube, rev).Reconcile(ctx, "fn-ns/hello-00001"); err != nil {
		t.Fatalf("Reconcile() = %v", err)
	}
	if got := storedNetworkPolicies(t, kube); len(got) != 0 {
		t.Errorf("NetworkPolicies of a revision with sidecars again: %v, want none", got)
	}
}

func TestReconcileRejectsABadKey(t *testing.T) {
	t.Parallel()
	kube := fake.NewClientset()
	if err := newReconciler(t, kube).Reconcile(logtesting.TestContextWithLogger(t), "a/b/c"); err == nil {
		t.Error("Reconcile(a/b/c) = nil, want an error")
	}
	if w := writes(kube); len(w) != 0 {
		t.Errorf("Reconcile(a/b/c) wrote %v, want nothing", w)
	}
}

// TestReconcileLeavesAPIServerDefaultsAlone: the API server stores the lease
// Service with defaults the controller does not set (a Service port's
// targetPort defaults to its port, a ClusterIP is allocated). A reconcile
// of an unchanged state must write nothing against such an object.
//
// Fails today: ensureService (leaseroute.go) compares have.Spec.Ports with
// MakeService's ports, whose TargetPort is unset, so it updates the Service
// on every reconcile; the API server defaults the port again and the update
// changes nothing.
func TestReconcileLeavesAPIServerDefaultsAlone(t *testing.T) {
	t.Parallel()
	asStored := leaseService("hello-00001", false)
	asStored.Spec.Ports[0].TargetPort = intstr.FromInt32(80)
	asStored.Spec.ClusterIP = "10.96.14.7"
	asStored.Spec.ClusterIPs = []string{"10.96.14.7"}
	asStored.Spec.SessionAffinity = corev1.ServiceAffinityNone
	asStored.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol}
	asStored.Spec.IPFamilyPolicy = ptr.To(corev1.IPFamilyPolicySingleStack)
	asStored.Spec.InternalTrafficPolicy = ptr.To(corev1.ServiceInternalTrafficPolicyCluster)
	kube := fake.NewClientset(deployment("hello-00001", pluginOn), activatorSlice(systemNS), poolEndpoints(liveReplica),
		asStored, networkPolicy("hello-00001"), fallbackSlice("hello-00001", "http", 8012, activatorEndpoints()...))
	if err := newReconciler(t, kube, revision("hello-00001", false)).Reconcile(logtesting.TestContextWithLogger(t), "fn-ns/hello-00001"); err != nil {
		t.Fatalf("Reconcile() = %v", err)
	}
	if w := writes(kube); len(w) != 0 {
		t.Errorf("Reconcile() of an unchanged state wrote %v, want nothing", w)
	}
}

func TestReconcileWritesOnlyAsLeader(t *testing.T) {
	t.Parallel()
	revs := []*servingv1.Revision{revision("hello-00001", false), revision("hello-00002", false), revision("hello-00003", false)}
	deps := []*appsv1.Deployment{deployment("hello-00001", pluginOn), deployment("hello-00002", pluginOn), deployment("hello-00003", nil)}
	tests := []struct {
		name         string
		bucket       pkgreconciler.Bucket
		wantEnqueued []types.NamespacedName
		wantWrites   []string
	}{{
		name:   "promoted for every key: every revision is enqueued, the sidecar-less ones get their routes",
		bucket: pkgreconciler.UniversalBucket(),
		wantEnqueued: []types.NamespacedName{
			{Namespace: "fn-ns", Name: "hello-00001"},
			{Namespace: "fn-ns", Name: "hello-00002"},
			{Namespace: "fn-ns", Name: "hello-00003"},
		},
		wantWrites: []string{
			"create endpointslices fn-ns/hello-00001-ssm-activator",
			"create endpointslices fn-ns/hello-00002-ssm-activator",
			"create networkpolicies fn-ns/hello-00001-ssm",
			"create networkpolicies fn-ns/hello-00002-ssm",
			"create services fn-ns/hello-00001-ssm",
			"create services fn-ns/hello-00002-ssm",
		},
	}, {
		name:         "promoted for some keys: only their revisions",
		bucket:       ssmtesting.KeysBucket{{Namespace: "fn-ns", Name: "hello-00002"}, {Namespace: "other-ns", Name: "hello-00001"}},
		wantEnqueued: []types.NamespacedName{{Namespace: "fn-ns", Name: "hello-00002"}},
		wantWrites: []string{
			"create endpointslices fn-ns/hello-00002-ssm-activator",
			"create networkpolicies fn-ns/hello-00002-ssm",
			"create services fn-ns/hello-00002-ssm",
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := injectionContext(t)
			revIndexer := revisioninformer.Get(ctx).Informer().GetIndexer()
			for _, rev := range revs {
				if err := revIndexer.Add(rev); err != nil {
					t.Fatal(err)
				}
			}
			depIndexer := deploymentfilteredinformer.Get(ctx, RevisionDeploymentSelector).Informer().GetIndexer()
			for _, dep := range deps {
				if err := depIndexer.Add(dep); err != nil {
					t.Fatal(err)
				}
			}
			kube := fakekubeclient.Get(ctx)
			impl := NewController(ctx, configmap.NewStaticWatcher())
			la, ok := impl.Reconciler.(pkgreconciler.LeaderAware)
			if !ok {
				t.Fatalf("%T is not leader-aware: sharedmain refuses to start it with leader election on", impl.Reconciler)
			}

			for _, rev := range revs {
				if err := impl.Reconciler.Reconcile(ctx, rev.Namespace+"/"+rev.Name); !controller.IsSkipKey(err) {
					t.Errorf("Reconcile(%s/%s) before promotion = %v, want the key skipped", rev.Namespace, rev.Name, err)
				}
			}
			if w := writes(kube); len(w) != 0 {
				t.Fatalf("Reconcile() before promotion wrote %v, want nothing", w)
			}

			if diff := gocmp.Diff(tc.wantEnqueued, ssmtesting.Promote(t, la, tc.bucket)); diff != "" {
				t.Errorf("keys enqueued on promotion (-want +got):\n%s", diff)
			}
			for _, rev := range revs {
				if err := impl.Reconciler.Reconcile(ctx, rev.Namespace+"/"+rev.Name); err != nil && !controller.IsSkipKey(err) {
					t.Errorf("Reconcile(%s/%s) after promotion = %v", rev.Namespace, rev.Name, err)
				}
			}
			if diff := gocmp.Diff(tc.wantWrites, writes(kube)); diff != "" {
				t.Errorf("API writes after promotion (-want +got):\n%s", diff)
			}
		})
	}
}
