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

package v1alpha1

import (
	"context"
	"fmt"
	"maps"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
)

// Validate checks the ServerlessPolicy. Implements apis.Validatable.
func (p *ServerlessPolicy) Validate(ctx context.Context) *apis.FieldError {
	errs := apis.ValidateObjectMetadata(p.GetObjectMeta()).ViaField("metadata")
	return errs.Also(p.Spec.Validate(ctx).ViaField("spec"))
}

// Validate checks the spec; paths in the result are relative to it. Every
// field but the selector is checked by pkg/policy, the same code that checks
// ssm.dev/* annotations, so that a value is accepted or rejected with the same
// words on every surface.
func (s *ServerlessPolicySpec) Validate(context.Context) *apis.FieldError {
	return validateSelector(s.Selector).ViaField("selector").Also(s.Overrides().Validate())
}

// validateSelector checks each label and expression on its own, so that an
// error names the entry at fault; metav1.LabelSelectorAsSelector alone stops
// at the first problem it meets in map order.
func validateSelector(sel metav1.LabelSelector) *apis.FieldError {
	var errs *apis.FieldError
	for _, k := range slices.Sorted(maps.Keys(sel.MatchLabels)) {
		one := metav1.LabelSelector{MatchLabels: map[string]string{k: sel.MatchLabels[k]}}
		if _, err := metav1.LabelSelectorAsSelector(&one); err != nil {
			errs = errs.Also(apis.ErrInvalidValue(fmt.Sprintf("%s: %s", k, sel.MatchLabels[k]),
				fmt.Sprintf("matchLabels[%s]", k), err.Error()))
		}
	}
	for i, expr := range sel.MatchExpressions {
		switch expr.Operator {
		case metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn, metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist:
		default:
			errs = errs.Also(apis.ErrInvalidValue(expr.Operator, fmt.Sprintf("matchExpressions[%d].operator", i),
				"allowed values: In, NotIn, Exists, DoesNotExist"))
			continue
		}
		one := metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr}}
		if _, err := metav1.LabelSelectorAsSelector(&one); err != nil {
			errs = errs.Also(apis.ErrInvalidValue(fmt.Sprintf("%s %s %v", expr.Key, expr.Operator, expr.Values),
				fmt.Sprintf("matchExpressions[%d]", i), err.Error()))
		}
	}
	return errs
}
