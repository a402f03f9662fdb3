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

	"knative.dev/pkg/apis"
)

const (
	// MinHeadroomPercent and MaxHeadroomPercent bound sizing.headroomPercent;
	// more than 10× the prediction is a typo, not a sizing choice.
	MinHeadroomPercent int32 = 0
	MaxHeadroomPercent int32 = 1000
)

// Validate checks the ProxyPool. The webhook runs it after SetDefaults, but it
// does not rely on defaulting: an unset optional field is valid.
// Implements apis.Validatable.
func (p *ProxyPool) Validate(ctx context.Context) *apis.FieldError {
	errs := apis.ValidateObjectMetadata(p.GetObjectMeta()).ViaField("metadata")
	return errs.Also(p.Spec.Validate(ctx).ViaField("spec"))
}

// Validate checks the spec; paths in the result are relative to it.
func (s *ProxyPoolSpec) Validate(ctx context.Context) *apis.FieldError {
	var errs *apis.FieldError
	if s.MinSize != nil && *s.MinSize < 0 {
		errs = errs.Also(apis.ErrInvalidValue(*s.MinSize, "minSize", "must be 0 or more"))
	}
	if s.MaxSize != nil && *s.MaxSize < 1 {
		errs = errs.Also(apis.ErrInvalidValue(*s.MaxSize, "maxSize", "must be 1 or more"))
	}
	if s.MinSize != nil && s.MaxSize != nil && *s.MinSize >= 0 && *s.MaxSize >= 1 && *s.MinSize > *s.MaxSize {
		errs = errs.Also(&apis.FieldError{
			Message: fmt.Sprintf("minSize %d is greater than maxSize %d", *s.MinSize, *s.MaxSize),
			Paths:   []string{"minSize", "maxSize"},
			Details: "minSize must be at most maxSize",
		})
	}
	if s.Image == "" {
		errs = errs.Also(&apis.FieldError{
			Message: "missing field(s)",
			Paths:   []string{"image"},
			Details: "image must name the Envoy container image the pool's pods run",
		})
	}
	if s.IdleTimeout != nil && s.IdleTimeout.Duration <= 0 {
		errs = errs.Also(apis.ErrInvalidValue(s.IdleTimeout.Duration.String(), "idleTimeout", "must be a positive duration, e.g. 5m"))
	}
	return errs.Also(s.Sizing.Validate(ctx).ViaField("sizing"))
}

// Validate checks the sizing block; paths are relative to it.
func (s *ProxyPoolSizing) Validate(context.Context) *apis.FieldError {
	var errs *apis.FieldError
	switch s.Policy {
	case "", SizingFixed, SizingHistory:
	default:
		errs = errs.Also(apis.ErrInvalidValue(s.Policy, "policy",
			fmt.Sprintf("allowed values: %q, %q", SizingFixed, SizingHistory)))
	}
	if h := s.HeadroomPercent; h != nil && (*h < MinHeadroomPercent || *h > MaxHeadroomPercent) {
		errs = errs.Also(apis.ErrOutOfBoundsValue(*h, MinHeadroomPercent, MaxHeadroomPercent, "headroomPercent"))
	}
	return errs
}
