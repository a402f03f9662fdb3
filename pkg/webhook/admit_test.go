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
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/webhook"
)

// Knative objects as the API server sends them: full specs with fields SSM
// knows nothing about, which the validation controller must still decode.
const (
	goodService = `{
  "apiVersion": "serving.knative.dev/v1",
  "kind": "Service",
  "metadata": {"name": "hello", "namespace": "default", "annotations": {"serving.knative.dev/creator": "someone"}},
  "spec": {
    "template": {
      "metadata": {"annotations": {"ssm.dev/lifecycle": "short-lived", "ssm.dev/timeout": "2s"}},
      "spec": {"containerConcurrency": 0, "timeoutSeconds": 300,
               "containers": [{"image": "example.com/hello", "ports": [{"containerPort": 8080}]}]}
    },
    "traffic": [{"latestRevision": true, "percent": 100}]
  },
  "status": {"observedGeneration": 1}
}`
	badService = `{
  "apiVersion": "serving.knative.dev/v1",
  "kind": "Service",
  "metadata": {"name": "hello", "namespace": "default"},
  "spec": {"template": {
    "metadata": {"annotations": {"ssm.dev/timeout": "5 seconds"}},
    "spec": {"containers": [{"image": "example.com/hello"}]}
  }}
}`
	goodRevision = `{
  "apiVersion": "serving.knative.dev/v1",
  "kind": "Revision",
  "metadata": {"name": "hello-00001", "namespace": "default", "annotations": {"ssm.dev/retries": "1"}},
  "spec": {"containers": [{"image": "example.com/hello"}]}
}`
	badRevision = `{
  "apiVersion": "serving.knative.dev/v1",
  "kind": "Revision",
  "metadata": {"name": "hello-00001", "namespace": "default", "annotations": {"ssm.dev/retries": "many"}},
  "spec": {"containers": [{"image": "example.com/hello"}]}
}`
	// badRevisionRelabelled is badRevision after Knative's controller added
	// a label; its ssm.dev annotations are unchanged.
	badRevisionRelabelled = `{
  "apiVersion": "serving.knative.dev/v1",
  "kind": "Revision",
  "metadata": {"name": "hello-00001", "namespace": "default",
               "labels": {"serving.knative.dev/routingState": "active"},
               "annotations": {"ssm.dev/retries": "many"}},
  "spec": {"containers": [{"image": "example.com/hello"}]}
}`
	goodConfiguration = `{
  "apiVersion": "serving.knative.dev/v1",
  "kind": "Configuration",
  "metadata": {"name": "hello", "namespace": "default"},
  "spec": {"template": {
    "metadata": {"annotations": {"ssm.dev/mtls-mode": "full", "ssm.dev/proxy-pool": "none"}},
    "spec": {"containers": [{"image": "example.com/hello"}]}
  }}
}`
)

func TestValidationAdmitKnativeObjects(t *testing.T) {
	t.Parallel()

	kind := func(k string) metav1.GroupVersionKind {
		return metav1.GroupVersionKind{Group: "serving.knative.dev", Version: "v1", Kind: k}
	}
	raw := func(s string) runtime.RawExtension { return runtime.RawExtension{Raw: []byte(s)} }

	tests := []struct {
		name string
		req  *admissionv1.AdmissionRequest
		want string // denial message; "" means allowed
	}{{
		name: "Service with a bad ssm.dev/timeout is denied with the field path",
		req:  &admissionv1.AdmissionRequest{Operation: admissionv1.Create, Kind: kind("Service"), Object: raw(badService)},
		want: `validation callback failed: Service default/hello: invalid value: "5 seconds": spec.template.metadata.annotations[ssm.dev/timeout]
` + timeoutDetails,
	}, {
		name: "Revision update that changes ssm.dev/retries to a bad value is denied",
		req: &admissionv1.AdmissionRequest{Operation: admissionv1.Update, Kind: kind("Revision"),
			Object: raw(badRevision), OldObject: raw(goodRevision)},
		want: `validation callback failed: Revision default/hello-00001: invalid value: "many": metadata.annotations[ssm.dev/retries]
` + retriesDetails,
	}, {
		name: "valid Service is allowed",
		req:  &admissionv1.AdmissionRequest{Operation: admissionv1.Create, Kind: kind("Service"), Object: raw(goodService)},
	}, {
		name: "valid Configuration is allowed",
		req:  &admissionv1.AdmissionRequest{Operation: admissionv1.Create, Kind: kind("Configuration"), Object: raw(goodConfiguration)},
	}, {
		name: "valid Revision is allowed",
		req:  &admissionv1.AdmissionRequest{Operation: admissionv1.Create, Kind: kind("Revision"), Object: raw(goodRevision)},
	}, {
		name: "Revision update that leaves bad ssm.dev annotations unchanged is allowed",
		req: &admissionv1.AdmissionRequest{Operation: admissionv1.Update, Kind: kind("Revision"),
			Object: raw(badRevisionRelabelled), OldObject: raw(badRevision)},
	}, {
		name: "deleting a Service with bad annotations is allowed",
		req:  &admissionv1.AdmissionRequest{Operation: admissionv1.Delete, Kind: kind("Service"), OldObject: raw(badService)},
	}}

	ctx := fakeWebhookContext(t)
	ac, ok := NewValidationAdmissionController(ctx, configmap.NewStaticWatcher()).Reconciler.(webhook.AdmissionController)
	if !ok {
		t.Fatal("validation controller is not an AdmissionController")
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp := ac.Admit(ctx, tc.req)
			got := ""
			if !resp.Allowed {
				got = resp.Result.Message
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Admit() denial (-want +got):\n%s", diff)
			}
		})
	}
}
