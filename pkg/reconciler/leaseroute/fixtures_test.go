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
	"cmp"
	"context"
	"fmt"
	"slices"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"
	appsv1listers "k8s.io/client-go/listers/apps/v1"
	corev1listers "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	networkingv1listers "k8s.io/client-go/listers/networking/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
	filteredfactory "knative.dev/pkg/client/injection/kube/informers/factory/filtered"
	pkgreconciler "knative.dev/pkg/reconciler"
	rtesting "knative.dev/pkg/reconciler/testing"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	servinglisters "knative.dev/serving/pkg/client/listers/serving/v1"
)

const (
	ns       = "fn-ns"
	systemNS = "knative-serving"
	// The ssm-pool replicas' IDs are the first ten hex digits of the
	// sha256 of their names, computed with sha256sum.
	liveReplica   = "ssm-pool-6f7c9d8b4-abcde" // 7a74a774d2
	liveReplicaID = "7a74a774d2"
	goneReplicaID = "62f9025bcd" // ssm-pool-6f7c9d8b4-fghij
)

// The filters of the informers NewController registers, written out.
const (
	ssmObjectsSelector      = "app.kubernetes.io/managed-by=ssm"
	activatorSlicesSelector = "kubernetes.io/service-name=activator-service"
	revisionDeployments     = "serving.knative.dev/revision"
)

var ignoreServerFields = gocmp.Options{
	cmpopts.IgnoreFields(metav1.ObjectMeta{}, "ResourceVersion", "ManagedFields"),
	cmpopts.IgnoreTypes(metav1.TypeMeta{}),
	cmpopts.EquateEmpty(),
}

func revision(name string, h2c bool) *servingv1.Revision {
	c := corev1.Container{Image: "example.com/fn"}
	if h2c {
		c.Ports = []corev1.ContainerPort{{Name: "h2c", ContainerPort: 8080}}
	}
	return &servingv1.Revision{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: "rev-uid"},
		Spec:       servingv1.RevisionSpec{PodSpec: corev1.PodSpec{Containers: []corev1.Container{c}}},
	}
}

// deployment is Knative's Deployment of a revision, with the given pod
// template annotations.
func deployment(revisionName string, annotations map[string]string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns,
			Name:      revisionName + "-deployment",
			Labels:    map[string]string{"serving.knative.dev/revision": revisionName},
		},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Annotations: annotations},
		}},
	}
}

var pluginOn = map[string]string{"qpoption.knative.dev/ssm-activate": "enable"}

func podRef(namespace, name string) *corev1.ObjectReference {
	return &corev1.ObjectReference{Kind: "Pod", Namespace: namespace, Name: name}
}

// activatorSlice is a slice of Knative's activator Service.
func activatorSlice(namespace string) *discoveryv1.EndpointSlice {
	tcp := ptr.To(corev1.ProtocolTCP)
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: namespace,
			Name:      "activator-service-x7k2p",
			Labels:    map[string]string{"kubernetes.io/service-name": "activator-service"},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports: []discoveryv1.EndpointPort{
			{Name: ptr.To("http-metrics"), Protocol: tcp, Port: ptr.To[int32](9090)},
			{Name: ptr.To("http"), Protocol: tcp, Port: ptr.To[int32](8012)},
			{Name: ptr.To("http2"), Protocol: tcp, Port: ptr.To[int32](8013)},
		},
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"10.244.0.8"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}, TargetRef: podRef(systemNS, "activator-b")},
			{Addresses: []string{"10.244.0.7"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}, TargetRef: podRef(systemNS, "activator-a")},
			{Addresses: []string{"10.244.0.9"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false)}, TargetRef: podRef(systemNS, "activator-c")},
		},
	}
}

// poolEndpoints is ssm-pool's Endpoints; a pod name per address, or ""
// for an address without a reference (written by hand).
func poolEndpoints(pods ...string) *corev1.Endpoints {
	var addrs []corev1.EndpointAddress
	for i, pod := range pods {
		a := corev1.EndpointAddress{IP: fmt.Sprintf("10.244.1.%d", 5+i)}
		if pod != "" {
			a.TargetRef = podRef(systemNS, pod)
		}
		addrs = append(addrs, a)
	}
	return &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Namespace: systemNS, Name: "ssm-pool"},
		Subsets:    []corev1.EndpointSubset{{Addresses: addrs, Ports: []corev1.EndpointPort{{Name: "grpc", Port: 18000}}}},
	}
}

// leaseSlice is what an ssm-pool replica publishes.
func leaseSlice(revisionName, replicaID string, ready *bool, ips ...string) *discoveryv1.EndpointSlice {
	eps := make([]discoveryv1.Endpoint, 0, len(ips))
	for _, ip := range ips {
		eps = append(eps, discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ready}})
	}
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns,
			Name:      revisionName + "-ssm-" + replicaID,
			Labels: map[string]string{
				"serving.knative.dev/revision":           revisionName,
				"app.kubernetes.io/managed-by":           "ssm",
				"kubernetes.io/service-name":             revisionName + "-ssm",
				"endpointslice.kubernetes.io/managed-by": "ssm-pool.ssm.dev",
				"ssm.dev/pool-replica":                   replicaID,
			},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To[int32](8081)}},
		Endpoints:   eps,
	}
}

func owner(revisionName string) []metav1.OwnerReference {
	return []metav1.OwnerReference{{
		APIVersion: "serving.knative.dev/v1", Kind: "Revision", Name: revisionName, UID: "rev-uid",
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
	}}
}

// leaseService is the lease Service SSM's controller keeps.
func leaseService(revisionName string, h2c bool) *corev1.Service {
	port := corev1.ServicePort{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(80)}
	if h2c {
		port = corev1.ServicePort{Name: "http2", Protocol: corev1.ProtocolTCP, Port: 81, TargetPort: intstr.FromInt32(81), AppProtocol: ptr.To("kubernetes.io/h2c")}
	}
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns,
			Name:      revisionName + "-ssm",
			Labels: map[string]string{
				"serving.knative.dev/revision": revisionName,
				"app.kubernetes.io/managed-by": "ssm",
			},
			OwnerReferences: owner(revisionName),
		},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Ports: []corev1.ServicePort{port}},
	}
}

// fallbackSlice is the activator slice SSM's controller keeps: port is the
// activator's port of the revision's protocol, eps its endpoints.
func fallbackSlice(revisionName, portName string, port int32, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns,
			Name:      revisionName + "-ssm-activator",
			Labels: map[string]string{
				"serving.knative.dev/revision":           revisionName,
				"app.kubernetes.io/managed-by":           "ssm",
				"kubernetes.io/service-name":             revisionName + "-ssm",
				"endpointslice.kubernetes.io/managed-by": "ssm-controller.ssm.dev",
			},
			OwnerReferences: owner(revisionName),
		},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To(portName), Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(port)}},
		Endpoints:   eps,
	}
}

// activatorEndpoints are activatorSlice's ready endpoints as the
// controller copies them.
func activatorEndpoints() []discoveryv1.Endpoint {
	ready := discoveryv1.EndpointConditions{Ready: ptr.To(true)}
	return []discoveryv1.Endpoint{
		{Addresses: []string{"10.244.0.7"}, Conditions: ready, TargetRef: podRef(systemNS, "activator-a")},
		{Addresses: []string{"10.244.0.8"}, Conditions: ready, TargetRef: podRef(systemNS, "activator-b")},
	}
}

// newReconciler builds the reconciler over listers that show what the
// fake clientset holds now, filtered as NewController's informers are. It
// leads every revision, as the only replica does.
func newReconciler(t *testing.T, kube *fake.Clientset, revs ...*servingv1.Revision) *Reconciler {
	t.Helper()
	revIdx := newIndexer()
	for _, r := range revs {
		if err := revIdx.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	r := &Reconciler{
		kube:            kube,
		revisions:       servinglisters.NewRevisionLister(revIdx),
		deployments:     appsv1listers.NewDeploymentLister(index(t, kube, appsv1.SchemeGroupVersion.WithResource("deployments"), "DeploymentList", revisionDeployments)),
		services:        corev1listers.NewServiceLister(index(t, kube, corev1.SchemeGroupVersion.WithResource("services"), "ServiceList", ssmObjectsSelector)),
		slices:          discoverylisters.NewEndpointSliceLister(index(t, kube, discoveryv1.SchemeGroupVersion.WithResource("endpointslices"), "EndpointSliceList", ssmObjectsSelector)),
		networkPolicies: networkingv1listers.NewNetworkPolicyLister(index(t, kube, networkingv1.SchemeGroupVersion.WithResource("networkpolicies"), "NetworkPolicyList", ssmObjectsSelector)),
		activatorSlices: discoverylisters.NewEndpointSliceLister(index(t, kube, discoveryv1.SchemeGroupVersion.WithResource("endpointslices"), "EndpointSliceList", activatorSlicesSelector)),
		endpoints:       corev1listers.NewEndpointsLister(index(t, kube, corev1.SchemeGroupVersion.WithResource("endpoints"), "EndpointsList", "")),
		namespace:       systemNS,
	}
	if err := r.Promote(pkgreconciler.UniversalBucket(), nil); err != nil {
		t.Fatalf("Promote() = %v", err)
	}
	return r
}

func newIndexer() cache.Indexer {
	return cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
}

func index(t *testing.T, kube *fake.Clientset, gvr schema.GroupVersionResource, listKind, selector string) cache.Indexer {
	t.Helper()
	sel, err := labels.Parse(selector)
	if err != nil {
		t.Fatal(err)
	}
	idx := newIndexer()
	for _, o := range stored(t, kube, gvr, listKind, metav1.NamespaceAll) {
		m, err := meta.Accessor(o)
		if err != nil {
			t.Fatal(err)
		}
		if sel.Matches(labels.Set(m.GetLabels())) {
			if err := idx.Add(o); err != nil {
				t.Fatal(err)
			}
		}
	}
	return idx
}

// stored are the objects the fake API server holds, sorted by namespace
// and name.
func stored(t *testing.T, kube *fake.Clientset, gvr schema.GroupVersionResource, listKind, namespace string) []runtime.Object {
	t.Helper()
	gvk := gvr.GroupVersion().WithKind(listKind[:len(listKind)-len("List")])
	list, err := kube.Tracker().List(gvr, gvk, namespace)
	if err != nil {
		t.Fatalf("listing %v: %v", gvr, err)
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(items, func(a, b runtime.Object) int {
		ma, _ := meta.Accessor(a)
		mb, _ := meta.Accessor(b)
		return cmp.Or(cmp.Compare(ma.GetNamespace(), mb.GetNamespace()), cmp.Compare(ma.GetName(), mb.GetName()))
	})
	return items
}

func storedServices(t *testing.T, kube *fake.Clientset) []*corev1.Service {
	t.Helper()
	var out []*corev1.Service
	for _, o := range stored(t, kube, corev1.SchemeGroupVersion.WithResource("services"), "ServiceList", ns) {
		out = append(out, o.(*corev1.Service))
	}
	return out
}

func storedNetworkPolicies(t *testing.T, kube *fake.Clientset) []*networkingv1.NetworkPolicy {
	t.Helper()
	var out []*networkingv1.NetworkPolicy
	for _, o := range stored(t, kube, networkingv1.SchemeGroupVersion.WithResource("networkpolicies"), "NetworkPolicyList", ns) {
		out = append(out, o.(*networkingv1.NetworkPolicy))
	}
	return out
}

// networkPolicy is what keeps a sidecar-less revision's pods closed but
// for queue-proxy's ports, written out.
func networkPolicy(revisionName string) *networkingv1.NetworkPolicy {
	port := func(p int32) networkingv1.NetworkPolicyPort {
		return networkingv1.NetworkPolicyPort{Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(intstr.FromInt32(p))}
	}
	return &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns,
			Name:      revisionName + "-ssm",
			Labels:    map[string]string{"serving.knative.dev/revision": revisionName, "app.kubernetes.io/managed-by": "ssm"},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "serving.knative.dev/v1", Kind: "Revision", Name: revisionName, UID: "rev-uid",
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"serving.knative.dev/revision": revisionName}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			// queue-proxy's ports: serving (HTTP, h2c), admin, Knative's
			// internal TLS, SSM's mTLS, the two metrics ports. Not 8080.
			Ingress: []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{
				port(8012), port(8013), port(8022), port(8112), port(8113), port(9090), port(9091),
			}}},
		},
	}
}

func storedSlices(t *testing.T, kube *fake.Clientset) []*discoveryv1.EndpointSlice {
	t.Helper()
	var out []*discoveryv1.EndpointSlice
	for _, o := range stored(t, kube, discoveryv1.SchemeGroupVersion.WithResource("endpointslices"), "EndpointSliceList", ns) {
		out = append(out, o.(*discoveryv1.EndpointSlice))
	}
	return out
}

// writes are the write calls made, as "verb resource namespace/name",
// sorted.
func writes(kube *fake.Clientset) []string {
	var out []string
	for _, a := range kube.Actions() {
		verb := a.GetVerb()
		if verb != "create" && verb != "update" && verb != "delete" && verb != "patch" {
			continue
		}
		name := ""
		switch a := a.(type) {
		case interface{ GetName() string }:
			name = a.GetName()
		case interface{ GetObject() runtime.Object }:
			if m, err := meta.Accessor(a.GetObject()); err == nil {
				name = m.GetName()
			}
		}
		out = append(out, verb+" "+a.GetResource().Resource+" "+a.GetNamespace()+"/"+name)
	}
	slices.Sort(out)
	return out
}

// injectionContext is what sharedmain hands NewController: fake clients and
// informers, the filtered ones on this package's selectors.
func injectionContext(t *testing.T) context.Context {
	t.Helper()
	ctx, _ := rtesting.SetupFakeContext(t, func(ctx context.Context) context.Context {
		return filteredfactory.WithSelectors(ctx, ObjectLabelSelector, ActivatorSliceSelector, RevisionDeploymentSelector)
	})
	return ctx
}
