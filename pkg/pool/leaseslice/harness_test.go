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

package leaseslice

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/zap/zaptest"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/serverless-mesh/ssm/pkg/pool/revision"
)

const (
	ns = "fn-ns"
	// self and other are two ssm-pool replicas. Their IDs, the first ten
	// hex digits of the sha256 of the name, were computed with sha256sum:
	// 7a74a774d2 and 62f9025bcd.
	self  = "ssm-pool-6f7c9d8b4-abcde"
	other = "ssm-pool-6f7c9d8b4-fghij"
	// barrierNS holds the slices settle writes; assertions look elsewhere.
	barrierNS = "barrier-ns"
	// waitLimit bounds every wait: a stuck publisher fails the test.
	waitLimit = 10 * time.Second
)

var (
	sliceGVR = discoveryv1.SchemeGroupVersion.WithResource("endpointslices")
	sliceGVK = discoveryv1.SchemeGroupVersion.WithKind("EndpointSlice")
	// ignoreServerFields drops what the fake clientset adds to a stored
	// object.
	ignoreServerFields = gocmp.Options{
		cmpopts.IgnoreFields(metav1.ObjectMeta{}, "ResourceVersion", "ManagedFields"),
		cmpopts.IgnoreTypes(metav1.TypeMeta{}),
	}
)

func config(revisionName, portName string) revision.Config {
	return revision.Config{Key: revision.Key{Namespace: ns, Name: revisionName}, PortName: portName}
}

// leaseSlice is a lease slice as the contract defines it, written out.
func leaseSlice(namespace, revisionName, replicaID, portName string, ips ...string) *discoveryv1.EndpointSlice {
	eps := make([]discoveryv1.Endpoint, 0, len(ips))
	for _, ip := range ips {
		eps = append(eps, discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}})
	}
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: namespace,
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
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To(portName), Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To[int32](8081)}},
		Endpoints:   eps,
	}
}

// activatorSlice is the controller's slice of a lease Service.
func activatorSlice(namespace, revisionName string, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: namespace,
			Name:      revisionName + "-ssm-activator",
			Labels: map[string]string{
				"serving.knative.dev/revision":           revisionName,
				"app.kubernetes.io/managed-by":           "ssm",
				"kubernetes.io/service-name":             revisionName + "-ssm",
				"endpointslice.kubernetes.io/managed-by": "ssm-controller.ssm.dev",
			},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To[int32](8012)}},
		Endpoints:   eps,
	}
}

func endpoint(ready *bool, ip string) discoveryv1.Endpoint {
	return discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ready}}
}

// harness is a Publisher over a fake clientset and a cache that shows the
// clientset's objects only when refresh is called: a watch whose lag the
// test controls.
type harness struct {
	kube     *fake.Clientset
	cache    cache.Indexer
	pub      *Publisher
	barriers int
}

func newHarness(t *testing.T, objs ...runtime.Object) *harness {
	t.Helper()
	kube := fake.NewClientset(objs...)
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	return &harness{
		kube:  kube,
		cache: idx,
		pub: New(Options{
			Kube:    kube,
			Slices:  discoverylisters.NewEndpointSliceLister(idx),
			Replica: self,
			Logger:  zaptest.NewLogger(t).Sugar(),
		}),
	}
}

// refresh makes the cache show what the API server holds.
func (h *harness) refresh(t *testing.T) {
	t.Helper()
	items := make([]any, 0)
	for _, s := range h.stored(t, metav1.NamespaceAll) {
		items = append(items, s)
	}
	if err := h.cache.Replace(items, ""); err != nil {
		t.Fatalf("refreshing the cache: %v", err)
	}
}

// stored are the slices the API server holds in namespace, by name.
func (h *harness) stored(t *testing.T, namespace string) []*discoveryv1.EndpointSlice {
	t.Helper()
	obj, err := h.kube.Tracker().List(sliceGVR, sliceGVK, namespace)
	if err != nil {
		t.Fatalf("listing the stored slices: %v", err)
	}
	list := obj.(*discoveryv1.EndpointSliceList)
	out := make([]*discoveryv1.EndpointSlice, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, &list.Items[i])
	}
	slices.SortFunc(out, func(a, b *discoveryv1.EndpointSlice) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// diffStored compares the slices stored in ns with want.
func (h *harness) diffStored(t *testing.T, want []*discoveryv1.EndpointSlice) string {
	t.Helper()
	return gocmp.Diff(want, h.stored(t, ns), ignoreServerFields, cmpopts.EquateEmpty())
}

// run starts the publisher with one worker, so that its queue is processed
// in order (settle depends on it), and stops it when the test ends.
func (h *harness) run(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.pub.Run(ctx, 1) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run() = %v, want nil", err)
			}
		case <-time.After(waitLimit):
			t.Errorf("Run() did not return within %v of its context ending", waitLimit)
		}
	})
}

// settle returns once the publisher has processed everything published
// before it: it publishes a new revision in barrierNS and waits for its
// slice, which the single worker writes after the earlier keys.
func (h *harness) settle(t *testing.T) {
	t.Helper()
	h.barriers++
	want := h.barriers
	h.pub.Publish(revision.Config{Key: revision.Key{Namespace: barrierNS, Name: fmt.Sprintf("barrier-%d", want)}, PortName: "http"}, []string{"10.244.9.1"})
	waitFor(t, "the barrier slice", func() bool { return len(h.stored(t, barrierNS)) == want })
}

// writes are the write calls made to the API server outside barrierNS,
// as "verb namespace/name", sorted; failed calls count.
func (h *harness) writes() []string {
	var out []string
	for _, a := range h.kube.Actions() {
		verb := a.GetVerb()
		if verb != "create" && verb != "update" && verb != "delete" && verb != "patch" {
			continue
		}
		if a.GetNamespace() == barrierNS {
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
		out = append(out, verb+" "+a.GetNamespace()+"/"+name)
	}
	slices.Sort(out)
	return out
}

// waitFor polls cond until it holds, failing the test after waitLimit.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("timed out after %v waiting for %s", waitLimit, what)
		}
	}
}
