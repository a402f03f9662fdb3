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
	"encoding/json"
	"fmt"
	"maps"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"knative.dev/pkg/apis"
	"knative.dev/pkg/webhook/resourcesemantics"
)

// knativeObject is the validation controller's handler for a Knative Serving
// kind. It decodes any object leniently and validates nothing: SSM owns no
// field of a Knative object, only the meaning of its ssm.dev/* annotations,
// which ValidateKnativeAnnotations checks from the callback. Knative's own
// webhook remains the one that validates the object itself.
type knativeObject struct {
	unstructured.Unstructured
}

var (
	_ resourcesemantics.GenericCRD         = (*knativeObject)(nil)
	_ resourcesemantics.VerbLimited        = (*knativeObject)(nil)
	_ resourcesemantics.SubResourceLimited = (*knativeObject)(nil)
	_ json.Unmarshaler                     = (*knativeObject)(nil)
)

// UnmarshalJSON merges the top-level fields of b into o. knative.dev/pkg's
// decoder may call it twice on the same object, first without metadata and
// then with metadata only, so fields already present must survive. A custom
// decoder is needed at all because unstructured.Unstructured's own rejects a
// document without "kind", which that second call is.
func (o *knativeObject) UnmarshalJSON(b []byte) error {
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		return fmt.Errorf("decoding Knative object: %w", err)
	}
	if o.Object == nil {
		o.Object = make(map[string]any, len(fields))
	}
	maps.Copy(o.Object, fields)
	return nil
}

// DeepCopyObject implements runtime.Object; the admission controller copies
// the handler to decode each request into a fresh instance.
func (o *knativeObject) DeepCopyObject() runtime.Object {
	return &knativeObject{Unstructured: *o.Unstructured.DeepCopy()}
}

// SetDefaults implements apis.Defaultable; SSM defaults no Knative field.
func (*knativeObject) SetDefaults(context.Context) {}

// Validate implements apis.Validatable; see ValidateKnativeAnnotations.
func (*knativeObject) Validate(context.Context) *apis.FieldError {
	return nil
}

// SupportedVerbs limits the webhook rule to CREATE and UPDATE: a DELETE
// applies no policy, and not intercepting it keeps SSM off that path.
func (*knativeObject) SupportedVerbs() []admissionregistrationv1.OperationType {
	return []admissionregistrationv1.OperationType{
		admissionregistrationv1.Create,
		admissionregistrationv1.Update,
	}
}

// SupportedSubResources limits the webhook rule to the main resource. The
// API server ignores metadata changes sent to /status, and Knative's
// controllers write status constantly; intercepting it would add a network
// hop to every status update for nothing.
func (*knativeObject) SupportedSubResources() []string {
	return []string{""}
}
