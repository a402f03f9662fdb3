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

package webhook

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"knative.dev/pkg/apis"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	"github.com/serverless-mesh/ssm/pkg/policy"
)

// annotationSites says where, in an object of the given kind, ssm.dev/*
// annotations can sit: each entry is the path from the object's root to an
// ObjectMeta. A Revision carries its policy in its own metadata; a
// Configuration or Service carries it in spec.template.metadata, from which
// Knative copies it onto every Revision, and may carry it in its own metadata
// too (Knative copies a Service's annotations onto its Configuration). It
// returns false for kinds that are not Knative Serving's.
func annotationSites(gvk schema.GroupVersionKind) ([][]string, bool) {
	switch gvk {
	case servingv1.SchemeGroupVersion.WithKind("Revision"):
		return [][]string{{}}, true
	case servingv1.SchemeGroupVersion.WithKind("Configuration"),
		servingv1.SchemeGroupVersion.WithKind("Service"):
		return [][]string{{}, {"spec", "template"}}, true
	default:
		return nil, false
	}
}

// baseline is what apis.GetBaseline holds during an UPDATE: the old object,
// decoded into the handler type (knativeObject) or, in tests, an
// *unstructured.Unstructured.
type baseline interface {
	UnstructuredContent() map[string]any
}

// ValidateKnativeAnnotations checks the ssm.dev/* annotations of a Knative
// Service, Configuration or Revision. It is the validation webhook's callback
// for those kinds; knative.dev/pkg hands it the request's object and marks
// the operation on ctx.
//
// Every site of every ssm.dev/* annotation is checked, and every problem is
// reported with its real path, e.g.
// spec.template.metadata.annotations[ssm.dev/timeout], the bad value and the
// allowed values. Other annotations are ignored. On UPDATE, a site whose
// ssm.dev/* annotations are unchanged is not checked again: an object
// admitted before this webhook existed must still accept Knative's own
// updates (labels, finalizers), and its bad values are reported on status by
// the reconcilers instead. DELETE is never checked.
func ValidateKnativeAnnotations(ctx context.Context, u *unstructured.Unstructured) error {
	if apis.IsInDelete(ctx) || u == nil {
		return nil
	}
	gvk := u.GroupVersionKind()
	sites, ok := annotationSites(gvk)
	if !ok {
		return fmt.Errorf("%s %s: ssm.dev/* annotations are only checked on serving.knative.dev/v1 Service, Configuration and Revision",
			gvk, objectKey(u))
	}
	var old map[string]any
	if apis.IsInUpdate(ctx) {
		if b, ok := apis.GetBaseline(ctx).(baseline); ok {
			old = b.UnstructuredContent()
		}
	}
	var errs *apis.FieldError
	for _, site := range sites {
		errs = errs.Also(validateSite(u.Object, old, site))
	}
	if gvk.Kind == "Revision" && old != nil {
		errs = errs.Also(keepStamp(u.Object, old))
	}
	if errs == nil {
		// Returned explicitly: a nil *apis.FieldError in an error interface
		// is not nil.
		return nil
	}
	return fmt.Errorf("%s %s: %w", gvk.Kind, objectKey(u), errs)
}

// validateSite checks the ssm.dev/* annotations of the ObjectMeta at prefix.
// old is the object before an UPDATE, nil otherwise.
func validateSite(obj, old map[string]any, prefix []string) *apis.FieldError {
	path := append(append([]string{}, prefix...), "metadata", "annotations")
	annotations, _, err := unstructured.NestedStringMap(obj, path...)
	if err != nil {
		return apis.ErrGeneric("annotations must map strings to strings: "+err.Error(), strings.Join(path, "."))
	}
	current := ssmAnnotations(annotations)
	if len(current) == 0 {
		return nil
	}
	if old != nil {
		before, _, err := unstructured.NestedStringMap(old, path...)
		if err == nil && maps.Equal(current, ssmAnnotations(before)) {
			return nil
		}
	}
	overrides, errs := policy.ParseAnnotations(current)
	if errs == nil {
		// ParseAnnotations checks each value as it reads it; Validate adds
		// the rules between fields that ServerlessPolicy shares. Its paths
		// are the ServerlessPolicy field names, so they are placed under
		// the annotations they came from.
		errs = overrides.Validate().ViaField("metadata", "annotations")
	}
	return errs.ViaField(prefix...)
}

// keepStamp refuses an UPDATE of a Revision that changes what SSM stamped
// on it at creation (resolved.ssm.dev/*): the stamp says what its pods were
// born with, and editing it would take the sidecar off, or lease proxies for,
// a revision config-ssm and its policy did not allow.
func keepStamp(obj, old map[string]any) *apis.FieldError {
	now, _, _ := unstructured.NestedStringMap(obj, "metadata", "annotations")
	before, _, _ := unstructured.NestedStringMap(old, "metadata", "annotations")
	var errs *apis.FieldError
	for _, k := range []string{ssm.ResolvedPodsAnnotationKey, ssm.ResolvedProxyPoolAnnotationKey} {
		if now[k] != before[k] {
			errs = errs.Also(&apis.FieldError{
				Message: fmt.Sprintf("%s is SSM's decision of what the revision's pods were born with (%q) and cannot be changed", k, before[k]),
				Paths:   []string{"metadata.annotations[" + k + "]"},
			})
		}
	}
	return errs
}

// ssmAnnotations returns the ssm.dev/* subset of annotations (nil if none).
func ssmAnnotations(annotations map[string]string) map[string]string {
	var out map[string]string
	for k, v := range annotations {
		if strings.HasPrefix(k, ssm.AnnotationPrefix) {
			if out == nil {
				out = make(map[string]string)
			}
			out[k] = v
		}
	}
	return out
}

// objectKey names u in errors; a create with generateName has no name yet.
func objectKey(u *unstructured.Unstructured) string {
	name := u.GetName()
	if name == "" && u.GetGenerateName() != "" {
		name = u.GetGenerateName() + "*"
	}
	return u.GetNamespace() + "/" + name
}
