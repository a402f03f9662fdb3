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
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/zap/zaptest"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/serverless-mesh/ssm/pkg/pool/revision"
)

func TestFallbackReady(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		cached []*discoveryv1.EndpointSlice
		want   bool
	}{{
		name: "own slice still has a ready endpoint, the activator too",
		cached: []*discoveryv1.EndpointSlice{
			leaseSlice(ns, "hello-00001", "7a74a774d2", "http", "10.244.3.9"),
			activatorSlice(ns, "hello-00001", endpoint(ptr.To(true), "10.244.0.7")),
		},
		want: false,
	}, {
		name:   "nothing at all",
		cached: nil,
		want:   false,
	}, {
		name:   "own slice gone, the activator slice has no endpoint",
		cached: []*discoveryv1.EndpointSlice{activatorSlice(ns, "hello-00001")},
		want:   false,
	}, {
		name: "own slice gone, the activator's endpoints are not ready",
		cached: []*discoveryv1.EndpointSlice{
			activatorSlice(ns, "hello-00001", endpoint(ptr.To(false), "10.244.0.7")),
			leaseSlice(ns, "hello-00001", "62f9025bcd", "http"),
		},
		want: false,
	}, {
		name:   "own slice gone, the activator is ready",
		cached: []*discoveryv1.EndpointSlice{activatorSlice(ns, "hello-00001", endpoint(ptr.To(true), "10.244.0.7"))},
		want:   true,
	}, {
		name:   "own slice gone, the activator is ready by a nil condition",
		cached: []*discoveryv1.EndpointSlice{activatorSlice(ns, "hello-00001", endpoint(nil, "10.244.0.7"))},
		want:   true,
	}, {
		name: "own slice gone, another replica's proxy is ready",
		cached: []*discoveryv1.EndpointSlice{
			activatorSlice(ns, "hello-00001"),
			leaseSlice(ns, "hello-00001", "62f9025bcd", "http", "10.244.3.20"),
		},
		want: true,
	}, {
		name: "own slice left without a ready endpoint, the activator is ready",
		cached: []*discoveryv1.EndpointSlice{
			func() *discoveryv1.EndpointSlice {
				s := leaseSlice(ns, "hello-00001", "7a74a774d2", "http")
				s.Endpoints = []discoveryv1.Endpoint{endpoint(ptr.To(false), "10.244.3.9")}
				return s
			}(),
			activatorSlice(ns, "hello-00001", endpoint(ptr.To(true), "10.244.0.7")),
		},
		want: true,
	}, {
		name: "own slice re-published with the revision's new proxy, the activator empty",
		cached: []*discoveryv1.EndpointSlice{
			leaseSlice(ns, "hello-00001", "7a74a774d2", "http", "10.244.3.30"),
			activatorSlice(ns, "hello-00001"),
		},
		want: true,
	}, {
		name: "the withdrawn proxy still ready in another replica's slice",
		cached: []*discoveryv1.EndpointSlice{
			leaseSlice(ns, "hello-00001", "62f9025bcd", "http", "10.244.3.9"),
			activatorSlice(ns, "hello-00001", endpoint(ptr.To(true), "10.244.0.7")),
		},
		want: false,
	}, {
		name: "only another revision's activator is ready",
		cached: []*discoveryv1.EndpointSlice{
			activatorSlice(ns, "hello-00001"),
			activatorSlice(ns, "hello-00002", endpoint(ptr.To(true), "10.244.0.7")),
		},
		want: false,
	}, {
		name:   "only the activator slice of a same-named revision in another namespace is ready",
		cached: []*discoveryv1.EndpointSlice{activatorSlice("other-ns", "hello-00001", endpoint(ptr.To(true), "10.244.0.7"))},
		want:   false,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			for _, s := range tc.cached {
				if err := h.cache.Add(s); err != nil {
					t.Fatal(err)
				}
			}
			// 10.244.3.9 is the proxy the replica withdrew.
			if got := h.pub.FallbackReady(revision.Key{Namespace: ns, Name: "hello-00001"}, []string{"10.244.3.9"}); got != tc.want {
				t.Errorf("FallbackReady() = %t, want %t", got, tc.want)
			}
		})
	}
}

// TestPublisherWithInformer runs the publisher on a real informer's cache,
// filtered as cmd/pool filters it, through a lease and its withdrawal.
func TestPublisherWithInformer(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kube := fake.NewClientset(activatorSlice(ns, "hello-00001", endpoint(ptr.To(true), "10.244.0.7")))
	// The fake clientset has no resource versions: an event between the
	// informer's list and its watch would be lost. Objects are written
	// only once the watch is registered.
	watching := make(chan struct{})
	var once sync.Once
	kube.PrependWatchReactor("endpointslices", func(a k8stesting.Action) (bool, watch.Interface, error) {
		w, err := kube.Tracker().Watch(a.GetResource(), a.GetNamespace())
		once.Do(func() { close(watching) })
		return true, w, err
	})
	factory := informers.NewSharedInformerFactoryWithOptions(kube, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.LabelSelector = labels.Set{"app.kubernetes.io/managed-by": "ssm"}.String() + ",kubernetes.io/service-name"
	}))
	sliceInformer := factory.Discovery().V1().EndpointSlices()
	lister := sliceInformer.Lister()
	factory.Start(ctx.Done())
	t.Cleanup(factory.Shutdown)
	syncCtx, syncCancel := context.WithTimeout(ctx, waitLimit)
	defer syncCancel()
	for typ, ok := range factory.WaitForCacheSync(syncCtx.Done()) {
		if !ok {
			t.Fatalf("cache of %v did not sync", typ)
		}
	}
	select {
	case <-watching:
	case <-syncCtx.Done():
		t.Fatal("the informer did not start watching")
	}

	h := &harness{kube: kube, pub: New(Options{Kube: kube, Slices: lister, Replica: self, Logger: zaptest.NewLogger(t).Sugar()})}
	h.run(t)
	key := revision.Key{Namespace: ns, Name: "hello-00001"}
	// cacheShows: the informer's cache holds exactly want in ns.
	cacheShows := func(want []*discoveryv1.EndpointSlice) func() bool {
		return func() bool {
			got, err := lister.EndpointSlices(ns).List(labels.Everything())
			if err != nil {
				return false
			}
			slices.SortFunc(got, func(a, b *discoveryv1.EndpointSlice) int { return strings.Compare(a.Name, b.Name) })
			return gocmp.Equal(want, got, ignoreServerFields, cmpopts.EquateEmpty())
		}
	}
	activator := activatorSlice(ns, "hello-00001", endpoint(ptr.To(true), "10.244.0.7"))

	withdrawn := []string{"10.244.3.9"}
	if !h.pub.FallbackReady(key, withdrawn) {
		t.Error("FallbackReady() before any lease = false, want true (the activator is ready)")
	}
	steps := []struct {
		proxies []string
		want    []*discoveryv1.EndpointSlice
		wantFbk bool
	}{
		{proxies: []string{"10.244.3.9"}, want: []*discoveryv1.EndpointSlice{leaseSlice(ns, "hello-00001", "7a74a774d2", "http", "10.244.3.9"), activator}},
		{proxies: []string{"10.244.3.9", "10.244.3.10"}, want: []*discoveryv1.EndpointSlice{leaseSlice(ns, "hello-00001", "7a74a774d2", "http", "10.244.3.10", "10.244.3.9"), activator}},
		{proxies: nil, want: []*discoveryv1.EndpointSlice{activator}, wantFbk: true},
		{proxies: []string{"10.244.3.9"}, want: []*discoveryv1.EndpointSlice{leaseSlice(ns, "hello-00001", "7a74a774d2", "http", "10.244.3.9"), activator}},
	}
	for i, step := range steps {
		h.pub.Publish(config("hello-00001", "http"), step.proxies)
		waitFor(t, fmt.Sprintf("the stored slices of step %d", i+1), func() bool { return h.diffStored(t, step.want) == "" })
		waitFor(t, fmt.Sprintf("the cache to follow in step %d", i+1), cacheShows(step.want))
		if got := h.pub.FallbackReady(key, withdrawn); got != step.wantFbk {
			t.Errorf("step %d: FallbackReady() = %t, want %t", i+1, got, step.wantFbk)
		}
	}
}
