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

package testing

import (
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/types"
	pkgreconciler "knative.dev/pkg/reconciler"
)

// KeysBucket is one leader-election bucket of several: it holds only the
// keys listed.
type KeysBucket []types.NamespacedName

// Name implements reconciler.Bucket.
func (b KeysBucket) Name() string { return "some-keys" }

// Has implements reconciler.Bucket.
func (b KeysBucket) Has(key types.NamespacedName) bool { return slices.Contains(b, key) }

// Promote promotes la for bkt, as leader election does, and returns the
// keys that reach the work queue, sorted: like knative.dev/pkg's
// Impl.MaybeEnqueueBucketKey, the enqueue function it hands la drops the
// keys bkt does not hold.
func Promote(t *testing.T, la pkgreconciler.LeaderAware, bkt pkgreconciler.Bucket) []types.NamespacedName {
	t.Helper()
	var enqueued []types.NamespacedName
	err := la.Promote(bkt, func(b pkgreconciler.Bucket, key types.NamespacedName) {
		if b.Name() != bkt.Name() {
			t.Errorf("key %s enqueued for bucket %s, want %s", key, b.Name(), bkt.Name())
		}
		if bkt.Has(key) {
			enqueued = append(enqueued, key)
		}
	})
	if err != nil {
		t.Fatalf("Promote(%s) = %v", bkt.Name(), err)
	}
	slices.SortFunc(enqueued, func(a, b types.NamespacedName) int { return strings.Compare(a.String(), b.String()) })
	return enqueued
}
