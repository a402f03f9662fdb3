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
	"strings"
	"sync/atomic"
	"testing"

	"go.uber.org/zap/zaptest"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrs "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
)

// failing makes the first n calls of verb on EndpointSlices after arm
// fail (n < 0: every call until heal) and counts them. The fake clientset's
// reactors may not change while it is called: install before Run.
type failing struct {
	n      int32
	armed  atomic.Bool
	healed atomic.Bool
	calls  atomic.Int32
	// during, if set, runs inside the first refused call.
	during func()
}

func (f *failing) install(kube *fake.Clientset, verb string) *failing {
	kube.PrependReactor(verb, "endpointslices", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetNamespace() == barrierNS || !f.armed.Load() {
			return false, nil, nil
		}
		if c := f.calls.Add(1); !f.healed.Load() && (f.n < 0 || c <= f.n) {
			if c == 1 && f.during != nil {
				f.during()
			}
			return true, nil, apierrs.NewServiceUnavailable("injected")
		}
		return false, nil, nil
	})
	return f
}

// TestFailedWritesAreRetried: a write the API server refuses is retried
// until it succeeds, and what it carried is not lost.
func TestFailedWritesAreRetried(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		verb string
		// existing is published (and reaches the cache) before the
		// failures start; nil for nothing.
		existing []string
		publish  []string
		want     []*discoveryv1.EndpointSlice
	}{{
		name:    "create",
		verb:    "create",
		publish: []string{"10.244.3.9"},
		want:    []*discoveryv1.EndpointSlice{leaseSlice(ns, "hello-00001", "7a74a774d2", "http", "10.244.3.9")},
	}, {
		name:     "update",
		verb:     "update",
		existing: []string{"10.244.3.9"},
		publish:  []string{"10.244.3.10"},
		want:     []*discoveryv1.EndpointSlice{leaseSlice(ns, "hello-00001", "7a74a774d2", "http", "10.244.3.10")},
	}, {
		name:     "delete",
		verb:     "delete",
		existing: []string{"10.244.3.9"},
		publish:  nil,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const failures = 3
			h := newHarness(t)
			f := (&failing{n: failures}).install(h.kube, tc.verb)
			h.run(t)
			if tc.existing != nil {
				h.pub.Publish(config("hello-00001", "http"), tc.existing)
				h.settle(t)
				h.refresh(t)
			}
			f.armed.Store(true)
			h.pub.Publish(config("hello-00001", "http"), tc.publish)
			waitFor(t, "the desired state", func() bool { return h.diffStored(t, tc.want) == "" })
			h.settle(t)
			if got := f.calls.Load(); got != failures+1 {
				t.Errorf("%s calls = %d, want %d (%d refused, then one that succeeds)", tc.verb, got, failures+1, failures)
			}
			if diff := h.diffStored(t, tc.want); diff != "" {
				t.Errorf("stored slices (-want +got):\n%s", diff)
			}
		})
	}
}

// TestWithdrawalFailingThenLeasedAgain: the revision is leased again while
// its withdrawal's delete is under way and then refused; the new proxies
// win over the withdrawal being retried.
func TestWithdrawalFailingThenLeasedAgain(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	f := &failing{n: -1}
	f.during = func() { h.pub.Publish(config("hello-00001", "http"), []string{"10.244.3.10"}) }
	f.install(h.kube, "delete")
	h.run(t)
	h.pub.Publish(config("hello-00001", "http"), []string{"10.244.3.9"})
	h.settle(t)
	h.refresh(t)
	f.armed.Store(true)
	h.pub.Publish(config("hello-00001", "http"), nil)
	want := []*discoveryv1.EndpointSlice{leaseSlice(ns, "hello-00001", "7a74a774d2", "http", "10.244.3.10")}
	waitFor(t, "the new proxies", func() bool { return h.diffStored(t, want) == "" })
	if got := f.calls.Load(); got != 1 {
		t.Errorf("delete was called %d times, want once (the withdrawal the new lease replaced)", got)
	}
	// From now on a delete would succeed: a withdrawal retried after the
	// new proxies were written would remove them.
	f.healed.Store(true)
	h.refresh(t)
	h.settle(t)
	if diff := h.diffStored(t, want); diff != "" {
		t.Errorf("stored slices (-want +got):\n%s", diff)
	}
}

// TestRunFailsWhenStaleSlicesCannotBeRemoved: Run reports an API failure
// at start, naming the object, rather than publishing next to stale
// slices; its caller decides whether to restart.
func TestRunFailsWhenStaleSlicesCannotBeRemoved(t *testing.T) {
	t.Parallel()
	tests := []struct {
		verb   string
		wantIn string
	}{
		{verb: "list", wantIn: "listing the lease slices of replica ssm-pool-6f7c9d8b4-abcde"},
		{verb: "delete", wantIn: "deleting stale lease slice fn-ns/hello-00001-ssm-7a74a774d2"},
	}
	for _, tc := range tests {
		t.Run(tc.verb, func(t *testing.T) {
			t.Parallel()
			kube := fake.NewClientset(leaseSlice(ns, "hello-00001", "7a74a774d2", "http", "10.244.3.9"))
			(&failing{n: -1}).install(kube, tc.verb).armed.Store(true)
			idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
			pub := New(Options{Kube: kube, Slices: discoverylisters.NewEndpointSliceLister(idx), Replica: self, Logger: zaptest.NewLogger(t).Sugar()})
			ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
			defer cancel()
			err := pub.Run(ctx, 1)
			if !apierrs.IsServiceUnavailable(err) {
				t.Fatalf("Run() = %v, want the injected ServiceUnavailable error, wrapped", err)
			}
			if !strings.Contains(err.Error(), tc.wantIn) {
				t.Errorf("Run() = %q, want it to say %q", err, tc.wantIn)
			}
			if ctx.Err() != nil {
				t.Errorf("Run() returned only when its context ended")
			}
		})
	}
}
