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

package ingress

import (
	"context"
	"errors"
	"fmt"
	"sort"

	apierrs "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"knative.dev/networking/pkg/apis/networking"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"
	"knative.dev/pkg/kmeta"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	"github.com/serverless-mesh/ssm/pkg/reconciler/ingress/resources"
)

// errNotOwned stops a reconcile that would overwrite an object SSM does not own.
var errNotOwned = errors.New("object exists and is not owned by this KIngress")

// kindOps is how syncObjects reads and writes one kind of object.
type kindOps[T kmeta.Accessor] struct {
	kind string
	// get reads from the informer cache.
	get func(namespace, name string) (T, error)
	// list reads from the informer cache, across namespaces.
	list   func(selector labels.Selector) ([]T, error)
	create func(ctx context.Context, obj T) error
	update func(ctx context.Context, obj T) error
	delete func(ctx context.Context, namespace, name string) error
	// merge returns a copy of existing carrying desired's spec, labels and
	// annotations, and whether that differs from existing.
	merge func(existing, desired T) (T, bool)
}

// ownedSelector selects every object SSM made for ing, in any namespace.
func ownedSelector(ing *v1alpha1.Ingress) labels.Selector {
	return labels.SelectorFromSet(labels.Set{
		networking.IngressLabelKey:         ing.Name,
		resources.IngressNamespaceLabelKey: ing.Namespace,
		ssm.ManagedByLabelKey:              ssm.ManagedByLabelValue,
	})
}

// ownedBy says whether obj was made by SSM for ing. Labels carry ownership
// across namespaces, where owner references cannot; in ing's own namespace
// the controller reference must match as well.
func ownedBy(obj metav1.Object, ing *v1alpha1.Ingress) bool {
	if !ownedSelector(ing).Matches(labels.Set(obj.GetLabels())) {
		return false
	}
	if obj.GetNamespace() == ing.Namespace {
		return metav1.IsControlledBy(obj, ing)
	}
	return true
}

// syncObjects makes the objects of one kind that SSM owns for ing equal to
// desired: it creates what is missing, updates what differs, deletes what is
// no longer wanted, and writes nothing when everything already matches. An
// existing object of a desired name that SSM does not own is never touched:
// the KIngress status names it and the reconcile stops.
func syncObjects[T kmeta.Accessor](ctx context.Context, ing *v1alpha1.Ingress, ops kindOps[T], desired []T) error {
	want := make(map[types.NamespacedName]bool, len(desired))
	for _, d := range desired {
		key := types.NamespacedName{Namespace: d.GetNamespace(), Name: d.GetName()}
		want[key] = true
		existing, err := ops.get(key.Namespace, key.Name)
		switch {
		case apierrs.IsNotFound(err):
			if err := ops.create(ctx, d); err != nil {
				return fmt.Errorf("creating %s %s: %w", ops.kind, key, err)
			}
			continue
		case err != nil:
			return fmt.Errorf("getting %s %s: %w", ops.kind, key, err)
		}
		if !ownedBy(existing, ing) {
			ing.Status.MarkResourceNotOwned(ops.kind, key.String())
			return fmt.Errorf("%s %s: %w", ops.kind, key, errNotOwned)
		}
		if merged, changed := ops.merge(existing, d); changed {
			if err := ops.update(ctx, merged); err != nil {
				return fmt.Errorf("updating %s %s: %w", ops.kind, key, err)
			}
		}
	}

	existing, err := ops.list(ownedSelector(ing))
	if err != nil {
		return fmt.Errorf("listing %ss of %s/%s: %w", ops.kind, ing.Namespace, ing.Name, err)
	}
	// Delete in a stable order so that runs and tests are reproducible.
	sort.Slice(existing, func(i, j int) bool {
		if existing[i].GetNamespace() != existing[j].GetNamespace() {
			return existing[i].GetNamespace() < existing[j].GetNamespace()
		}
		return existing[i].GetName() < existing[j].GetName()
	})
	for _, e := range existing {
		key := types.NamespacedName{Namespace: e.GetNamespace(), Name: e.GetName()}
		if want[key] || !ownedBy(e, ing) {
			continue
		}
		if err := ops.delete(ctx, key.Namespace, key.Name); err != nil && !apierrs.IsNotFound(err) {
			return fmt.Errorf("deleting %s %s: %w", ops.kind, key, err)
		}
	}
	return nil
}

// deleteOwned removes every object of one kind SSM made for ing.
func deleteOwned[T kmeta.Accessor](ctx context.Context, ing *v1alpha1.Ingress, ops kindOps[T]) error {
	return syncObjects(ctx, ing, ops, nil)
}
