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
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/utils/ptr"

	"github.com/serverless-mesh/ssm/pkg/pool/revision"
)

type publish struct {
	cfg     revision.Config
	proxies []string
}

// TestPublishWritesTheDesiredSlice runs one publisher through a lease's
// life. Before each step the cache has caught up with the API server, as
// it does once the watch delivers.
func TestPublishWritesTheDesiredSlice(t *testing.T) {
	t.Parallel()
	steps := []struct {
		name       string
		publish    []publish
		want       []*discoveryv1.EndpointSlice
		wantWrites []string
	}{{
		name:       "a first list of proxies creates the slice, sorted and deduplicated",
		publish:    []publish{{config("hello-00001", "http"), []string{"10.244.3.9", "10.244.3.10", "10.244.3.9"}}},
		want:       []*discoveryv1.EndpointSlice{leaseSlice(ns, "hello-00001", "7a74a774d2", "http", "10.244.3.10", "10.244.3.9")},
		wantWrites: []string{"create fn-ns/hello-00001-ssm-7a74a774d2"},
	}, {
		name:       "a changed list updates it",
		publish:    []publish{{config("hello-00001", "http"), []string{"10.244.3.12", "10.244.3.11"}}},
		want:       []*discoveryv1.EndpointSlice{leaseSlice(ns, "hello-00001", "7a74a774d2", "http", "10.244.3.11", "10.244.3.12")},
		wantWrites: []string{"update fn-ns/hello-00001-ssm-7a74a774d2"},
	}, {
		name:    "the same proxies in another order write nothing",
		publish: []publish{{config("hello-00001", "http"), []string{"10.244.3.11", "10.244.3.12"}}},
		want:    []*discoveryv1.EndpointSlice{leaseSlice(ns, "hello-00001", "7a74a774d2", "http", "10.244.3.11", "10.244.3.12")},
	}, {
		name:    "a second revision, h2c, gets its own slice",
		publish: []publish{{config("hello-00002", "http2"), []string{"10.244.3.13"}}},
		want: []*discoveryv1.EndpointSlice{
			leaseSlice(ns, "hello-00001", "7a74a774d2", "http", "10.244.3.11", "10.244.3.12"),
			leaseSlice(ns, "hello-00002", "7a74a774d2", "http2", "10.244.3.13"),
		},
		wantWrites: []string{"create fn-ns/hello-00002-ssm-7a74a774d2"},
	}, {
		name:       "an empty list deletes the slice",
		publish:    []publish{{config("hello-00001", "http"), nil}},
		want:       []*discoveryv1.EndpointSlice{leaseSlice(ns, "hello-00002", "7a74a774d2", "http2", "10.244.3.13")},
		wantWrites: []string{"delete fn-ns/hello-00001-ssm-7a74a774d2"},
	}, {
		name:       "a withdrawn revision leased again gets its slice back",
		publish:    []publish{{config("hello-00001", "http"), []string{"10.244.3.14"}}},
		want:       []*discoveryv1.EndpointSlice{leaseSlice(ns, "hello-00001", "7a74a774d2", "http", "10.244.3.14"), leaseSlice(ns, "hello-00002", "7a74a774d2", "http2", "10.244.3.13")},
		wantWrites: []string{"create fn-ns/hello-00001-ssm-7a74a774d2"},
	}, {
		name: "both withdrawn at once",
		publish: []publish{
			{config("hello-00001", "http"), []string{}},
			{config("hello-00002", "http2"), nil},
		},
		wantWrites: []string{"delete fn-ns/hello-00001-ssm-7a74a774d2", "delete fn-ns/hello-00002-ssm-7a74a774d2"},
	}}
	h := newHarness(t)
	h.run(t)
	for _, step := range steps {
		h.refresh(t)
		h.kube.ClearActions()
		for _, p := range step.publish {
			h.pub.Publish(p.cfg, p.proxies)
		}
		h.settle(t)
		if diff := h.diffStored(t, step.want); diff != "" {
			t.Fatalf("%s: stored slices (-want +got):\n%s", step.name, diff)
		}
		if diff := gocmp.Diff(step.wantWrites, h.writes()); diff != "" {
			t.Fatalf("%s: API writes (-want +got):\n%s", step.name, diff)
		}
	}
}

func TestPublishCopiesTheProxies(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	proxies := []string{"10.244.3.9"}
	h.pub.Publish(config("hello-00001", "http"), proxies)
	proxies[0] = "10.244.3.99" // the caller reuses its slice
	h.run(t)
	h.settle(t)
	if diff := h.diffStored(t, []*discoveryv1.EndpointSlice{leaseSlice(ns, "hello-00001", "7a74a774d2", "http", "10.244.3.9")}); diff != "" {
		t.Errorf("stored slices (-want +got):\n%s", diff)
	}
}

// TestRunRemovesStaleSlices: a restarted replica deletes the slices it
// left behind, in every namespace, and nothing else.
func TestRunRemovesStaleSlices(t *testing.T) {
	t.Parallel()
	otherReplicas := leaseSlice(ns, "hello-00001", "62f9025bcd", "http", "10.244.3.20")
	activator := activatorSlice(ns, "hello-00001", endpoint(ptr.To(true), "10.244.0.7"))
	h := newHarness(t,
		leaseSlice(ns, "hello-00001", "7a74a774d2", "http", "10.244.3.9"),
		leaseSlice("other-ns", "hello-00003", "7a74a774d2", "http2", "10.244.3.10"),
		otherReplicas.DeepCopy(),
		activator.DeepCopy(),
	)
	h.run(t)
	h.settle(t) // the worker runs only after the stale slices are gone
	if diff := h.diffStored(t, []*discoveryv1.EndpointSlice{otherReplicas, activator}); diff != "" {
		t.Errorf("stored slices in %s (-want +got):\n%s", ns, diff)
	}
	if got := h.stored(t, "other-ns"); len(got) != 0 {
		t.Errorf("stored slices in other-ns = %v, want none", got)
	}
	want := []string{"delete fn-ns/hello-00001-ssm-7a74a774d2", "delete other-ns/hello-00003-ssm-7a74a774d2"}
	if diff := gocmp.Diff(want, h.writes()); diff != "" {
		t.Errorf("API writes (-want +got):\n%s", diff)
	}
}

// TestPublishWhileTheCacheLags: the cache still shows a slice this replica
// has just deleted. The publisher must not take it for the API server's
// state: the desired slice has to be written.
func TestPublishWhileTheCacheLags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// before brings the publisher to the lagging state.
		before func(t *testing.T, h *harness)
	}{{
		name: "withdrawn, then leased again to the same proxy before the watch delivers the deletion",
		before: func(t *testing.T, h *harness) {
			h.run(t)
			h.pub.Publish(config("hello-00001", "http"), []string{"10.244.3.9"})
			h.settle(t)
			h.refresh(t)
			h.pub.Publish(config("hello-00001", "http"), nil)
			h.settle(t)
			if got := h.stored(t, ns); len(got) != 0 {
				t.Fatalf("after the withdrawal the API server holds %v, want nothing", got)
			}
		},
	}, {
		name: "restarted: the stale slice removed at start names the proxy leased again",
		before: func(t *testing.T, h *harness) {
			if err := h.kube.Tracker().Add(leaseSlice(ns, "hello-00001", "7a74a774d2", "http", "10.244.3.9")); err != nil {
				t.Fatal(err)
			}
			h.refresh(t) // the informer synced before Run
			h.run(t)
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			tc.before(t, h)
			h.pub.Publish(config("hello-00001", "http"), []string{"10.244.3.9"})
			h.settle(t)
			h.refresh(t) // the watch catches up
			h.settle(t)
			want := []*discoveryv1.EndpointSlice{leaseSlice(ns, "hello-00001", "7a74a774d2", "http", "10.244.3.9")}
			if diff := h.diffStored(t, want); diff != "" {
				t.Errorf("stored slices after the cache caught up (-want +got):\n%s", diff)
			}
		})
	}
}
