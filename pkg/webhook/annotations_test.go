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
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"knative.dev/pkg/apis"
)

// knative builds a serving.knative.dev/v1 object named default/hello. meta
// becomes metadata.annotations and template spec.template.metadata.annotations;
// a nil map leaves the field out.
func knative(kind string, meta, template map[string]any) *unstructured.Unstructured {
	metadata := map[string]any{"name": "hello", "namespace": "default"}
	if meta != nil {
		metadata["annotations"] = meta
	}
	obj := map[string]any{
		"apiVersion": "serving.knative.dev/v1",
		"kind":       kind,
		"metadata":   metadata,
	}
	switch kind {
	case "Service", "Configuration":
		tmpl := map[string]any{
			"spec": map[string]any{
				"containers": []any{map[string]any{"image": "example.com/hello"}},
			},
		}
		if template != nil {
			tmpl["metadata"] = map[string]any{"annotations": template}
		}
		obj["spec"] = map[string]any{"template": tmpl}
	case "Revision":
		obj["spec"] = map[string]any{
			"containers": []any{map[string]any{"image": "example.com/hello"}},
		}
	}
	return &unstructured.Unstructured{Object: obj}
}

// Error details ParseAnnotations gives, written out here so a change to the
// user-facing wording shows up in this test.
const (
	timeoutDetails   = "ssm.dev/timeout must be a Go duration (e.g. 500ms, 30s, 2m) greater than 0 and at most 1h0m0s"
	retriesDetails   = "ssm.dev/retries must be an integer from 0 to 10"
	lifecycleDetails = "ssm.dev/lifecycle must be one of: auto, short-lived, long-lived"
	mtlsDetails      = "ssm.dev/mtls-mode must be one of: lightweight, full"
	unknownDetails   = `unknown SSM annotation; known keys are "ssm.dev/lifecycle", "ssm.dev/timeout", "ssm.dev/retries", "ssm.dev/mtls-mode", "ssm.dev/proxy-pool"`
)

func TestValidateKnativeAnnotations(t *testing.T) {
	t.Parallel()

	create := apis.WithinCreate(context.Background())
	allGood := map[string]any{
		"ssm.dev/lifecycle":  "short-lived",
		"ssm.dev/timeout":    "30s",
		"ssm.dev/retries":    "2",
		"ssm.dev/mtls-mode":  "lightweight",
		"ssm.dev/proxy-pool": "default",
	}
	badTimeout := map[string]any{"ssm.dev/timeout": "5 seconds"}

	tests := []struct {
		name string
		ctx  context.Context
		obj  *unstructured.Unstructured
		want string // "" means accepted
	}{
		// Rejections first.
		{
			name: "Service: bad timeout in the template",
			ctx:  create,
			obj:  knative("Service", nil, badTimeout),
			want: `Service default/hello: invalid value: "5 seconds": spec.template.metadata.annotations[ssm.dev/timeout]
` + timeoutDetails,
		},
		{
			name: "Service: bad mTLS mode in the Service's own metadata",
			ctx:  create,
			obj:  knative("Service", map[string]any{"ssm.dev/mtls-mode": "strict"}, nil),
			want: `Service default/hello: invalid value: "strict": metadata.annotations[ssm.dev/mtls-mode]
` + mtlsDetails,
		},
		{
			name: "Service: unknown ssm.dev key in the template",
			ctx:  create,
			obj:  knative("Service", nil, map[string]any{"ssm.dev/lifecyle": "short-lived"}),
			want: `Service default/hello: invalid key name "ssm.dev/lifecyle": spec.template.metadata.annotations[ssm.dev/lifecyle]
` + unknownDetails,
		},
		{
			name: "Service: full mTLS with a pooled proxy conflicts",
			ctx:  create,
			obj: knative("Service", nil, map[string]any{
				"ssm.dev/mtls-mode":  "full",
				"ssm.dev/proxy-pool": "default",
			}),
			want: `Service default/hello: ssm.dev/mtls-mode "full" conflicts with ssm.dev/proxy-pool "default": ` +
				`a full-mTLS revision keeps its own Istio sidecar, while a pooled proxy serves only sidecar-less (lightweight) pods; ` +
				`use mTLS mode lightweight or proxy pool none: ` +
				`spec.template.metadata.annotations[ssm.dev/mtls-mode], spec.template.metadata.annotations[ssm.dev/proxy-pool]`,
		},
		{
			name: "Configuration: bad retries in the template",
			ctx:  create,
			obj:  knative("Configuration", nil, map[string]any{"ssm.dev/retries": "-1"}),
			want: `Configuration default/hello: invalid value: "-1": spec.template.metadata.annotations[ssm.dev/retries]
` + retriesDetails,
		},
		{
			name: "Configuration: errors at both sites are all reported",
			ctx:  create,
			obj: knative("Configuration",
				map[string]any{"ssm.dev/lifecycle": "medium"},
				map[string]any{"ssm.dev/retries": "eleven"}),
			want: `Configuration default/hello: invalid value: "eleven": spec.template.metadata.annotations[ssm.dev/retries]
` + retriesDetails + `
invalid value: "medium": metadata.annotations[ssm.dev/lifecycle]
` + lifecycleDetails,
		},
		{
			name: "Revision: bad timeout in its metadata",
			ctx:  create,
			obj:  knative("Revision", badTimeout, nil),
			want: `Revision default/hello: invalid value: "5 seconds": metadata.annotations[ssm.dev/timeout]
` + timeoutDetails,
		},
		{
			name: "Revision: unknown ssm.dev key",
			ctx:  create,
			obj:  knative("Revision", map[string]any{"ssm.dev/pool": "default"}, nil),
			want: `Revision default/hello: invalid key name "ssm.dev/pool": metadata.annotations[ssm.dev/pool]
` + unknownDetails,
		},
		{
			name: "Service: update that changes an annotation to a bad value",
			ctx:  apis.WithinUpdate(context.Background(), knative("Service", nil, map[string]any{"ssm.dev/timeout": "30s"})),
			obj:  knative("Service", nil, badTimeout),
			want: `Service default/hello: invalid value: "5 seconds": spec.template.metadata.annotations[ssm.dev/timeout]
` + timeoutDetails,
		},
		{
			name: "Service: generateName names the object",
			ctx:  create,
			obj: func() *unstructured.Unstructured {
				u := knative("Service", nil, badTimeout)
				u.SetName("")
				u.SetGenerateName("hello-")
				return u
			}(),
			want: `Service default/hello-*: invalid value: "5 seconds": spec.template.metadata.annotations[ssm.dev/timeout]
` + timeoutDetails,
		},
		{
			name: "not a Knative Serving kind",
			ctx:  create,
			obj: &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "apps/v1",
				"kind":       "Deployment",
				"metadata":   map[string]any{"name": "hello", "namespace": "default"},
			}},
			want: "apps/v1, Kind=Deployment default/hello: ssm.dev/* annotations are only checked on " +
				"serving.knative.dev/v1 Service, Configuration and Revision",
		},

		// Accepted.
		{
			name: "Service: every annotation valid, at both sites",
			ctx:  create,
			obj:  knative("Service", map[string]any{"ssm.dev/lifecycle": "long-lived"}, allGood),
		},
		{
			name: "Configuration: every annotation valid",
			ctx:  create,
			obj:  knative("Configuration", nil, allGood),
		},
		{
			name: "Revision: every annotation valid",
			ctx:  create,
			obj:  knative("Revision", allGood, nil),
		},
		{
			name: "Service: no annotations",
			ctx:  create,
			obj:  knative("Service", nil, nil),
		},
		{
			name: "Configuration: no annotations",
			ctx:  create,
			obj:  knative("Configuration", nil, nil),
		},
		{
			name: "Revision: no annotations",
			ctx:  create,
			obj:  knative("Revision", nil, nil),
		},
		{
			// Knative's own webhook owns these keys; a bad value there is
			// not SSM's to reject.
			name: "Service: non-SSM annotations are ignored",
			ctx:  create,
			obj: knative("Service",
				map[string]any{"serving.knative.dev/creator": "someone"},
				map[string]any{"autoscaling.knative.dev/min-scale": "not-a-number", "ssm.example.com/timeout": "x"}),
		},
		{
			name: "Revision: non-SSM annotations are ignored",
			ctx:  create,
			obj:  knative("Revision", map[string]any{"autoscaling.knative.dev/target": "bad"}, nil),
		},
		{
			name: "Service: DELETE is not validated",
			ctx:  apis.WithinDelete(context.Background()),
			obj:  knative("Service", nil, badTimeout),
		},
		{
			name: "Revision: DELETE is not validated",
			ctx:  apis.WithinDelete(context.Background()),
			obj:  knative("Revision", badTimeout, nil),
		},
		{
			// An object admitted before the webhook existed must still take
			// Knative's label and finalizer updates.
			name: "Revision: update that leaves bad ssm.dev annotations unchanged",
			ctx:  apis.WithinUpdate(context.Background(), knative("Revision", badTimeout, nil)),
			obj: knative("Revision", map[string]any{
				"ssm.dev/timeout":                          "5 seconds",
				"serving.knative.dev/routingStateModified": "2026-01-01T00:00:00Z",
			}, nil),
		},
		{
			name: "Revision: update that changes SSM's stamp is refused",
			ctx: apis.WithinUpdate(context.Background(), knative("Revision",
				map[string]any{"resolved.ssm.dev/pods": "sidecar"}, nil)),
			obj: knative("Revision", map[string]any{"resolved.ssm.dev/pods": "sidecarless", "resolved.ssm.dev/proxy-pool": "default"}, nil),
			want: `Revision default/hello: resolved.ssm.dev/pods is SSM's decision of what the revision's pods were born with ("sidecar") ` +
				`and cannot be changed: metadata.annotations[resolved.ssm.dev/pods]` + "\n" +
				`resolved.ssm.dev/proxy-pool is SSM's decision of what the revision's pods were born with ("") and cannot be changed: ` +
				`metadata.annotations[resolved.ssm.dev/proxy-pool]`,
		},
		{
			name: "Revision: Knative's update that keeps the stamp",
			ctx: apis.WithinUpdate(context.Background(), knative("Revision",
				map[string]any{"resolved.ssm.dev/pods": "sidecarless", "resolved.ssm.dev/proxy-pool": "default"}, nil)),
			obj: knative("Revision", map[string]any{"resolved.ssm.dev/pods": "sidecarless", "resolved.ssm.dev/proxy-pool": "default",
				"serving.knative.dev/routes": "hello"}, nil),
		},
		{
			name: "Service: update that fixes the bad value",
			ctx:  apis.WithinUpdate(context.Background(), knative("Service", nil, badTimeout)),
			obj:  knative("Service", nil, map[string]any{"ssm.dev/timeout": "5s"}),
		},
		{
			name: "nil object",
			ctx:  create,
			obj:  nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := ValidateKnativeAnnotations(tc.ctx, tc.obj)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ValidateKnativeAnnotations() error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateKnativeAnnotationsNotStrings(t *testing.T) {
	t.Parallel()
	// The API server's schema makes annotations strings; an object built by
	// hand that breaks this is rejected rather than half-checked.
	u := knative("Revision", map[string]any{"ssm.dev/retries": int64(3)}, nil)
	err := ValidateKnativeAnnotations(apis.WithinCreate(context.Background()), u)
	want := "Revision default/hello: annotations must map strings to strings: " +
		`.metadata.annotations accessor error: contains non-string value in the map under key "ssm.dev/retries": ` +
		"3 is of the type int64, expected string: metadata.annotations"
	got := ""
	if err != nil {
		got = err.Error()
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ValidateKnativeAnnotations() error (-want +got):\n%s", diff)
	}
}
