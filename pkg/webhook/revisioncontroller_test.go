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
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/system"
	"knative.dev/pkg/webhook"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	fakeknserviceinformer "knative.dev/serving/pkg/client/injection/informers/serving/v1/service/fake"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
	fakepolicyinformer "github.com/serverless-mesh/ssm/pkg/client/injection/informers/ssm/v1alpha1/serverlesspolicy/fake"
)

// newRevisionAdmitter builds the revisions webhook over config-ssm data
// (sidecarless-revisions on unless configSSM says otherwise) and the given
// Knative Services and ServerlessPolicies in its informers.
func newRevisionAdmitter(t *testing.T, configSSM map[string]string, objs ...runtime.Object) (context.Context, webhook.AdmissionController) {
	t.Helper()
	ctx := fakeWebhookContext(t)
	for _, o := range objs {
		var err error
		switch o := o.(type) {
		case *servingv1.Service:
			err = fakeknserviceinformer.Get(ctx).Informer().GetIndexer().Add(o)
		case *v1alpha1.ServerlessPolicy:
			err = fakepolicyinformer.Get(ctx).Informer().GetIndexer().Add(o)
		default:
			t.Fatalf("unexpected object %T", o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	data := map[string]string{"sidecarless-revisions": "true"}
	for k, v := range configSSM {
		data[k] = v
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "config-ssm", Namespace: system.Namespace()}, Data: data}
	ac, ok := NewRevisionController(ctx, configmap.NewStaticWatcher(cm)).Reconciler.(webhook.AdmissionController)
	if !ok {
		t.Fatal("revision controller is not an AdmissionController")
	}
	return ctx, ac
}

func revisionRequest(t *testing.T, op admissionv1.Operation, annotations map[string]string) *admissionv1.AdmissionRequest {
	t.Helper()
	rev := &servingv1.Revision{
		TypeMeta: metav1.TypeMeta{APIVersion: "serving.knative.dev/v1", Kind: "Revision"},
		ObjectMeta: metav1.ObjectMeta{Name: "hello-00001", Namespace: "default", Annotations: annotations,
			Labels: map[string]string{"serving.knative.dev/service": "hello", "serving.knative.dev/configuration": "hello"}},
	}
	raw, err := json.Marshal(rev)
	if err != nil {
		t.Fatal(err)
	}
	return &admissionv1.AdmissionRequest{
		Operation: op,
		Kind:      metav1.GroupVersionKind{Group: "serving.knative.dev", Version: "v1", Kind: "Revision"},
		Namespace: "default",
		Name:      rev.Name,
		Object:    runtime.RawExtension{Raw: raw},
	}
}

func TestRevisionAdmit(t *testing.T) {
	t.Parallel()
	svc := &servingv1.Service{ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "default", Labels: map[string]string{"tier": "functions"}}}
	lightweightPolicy := func(name string, created time.Time, pool string) *v1alpha1.ServerlessPolicy {
		return &v1alpha1.ServerlessPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", CreationTimestamp: metav1.NewTime(created)},
			Spec: v1alpha1.ServerlessPolicySpec{
				Selector:  metav1.LabelSelector{MatchLabels: map[string]string{"tier": "functions"}},
				MTLSMode:  "lightweight",
				ProxyPool: pool,
			},
		}
	}
	otherNamespace := lightweightPolicy("elsewhere", time.Unix(0, 0), "default")
	otherNamespace.Namespace = "other"
	const (
		sidecarless = `[{"op":"add","path":"/metadata/annotations/resolved.ssm.dev~1pods","value":"sidecarless"},` +
			`{"op":"add","path":"/metadata/annotations/resolved.ssm.dev~1proxy-pool","value":"default"}]`
		sidecar = `[{"op":"add","path":"/metadata/annotations/resolved.ssm.dev~1pods","value":"sidecar"}]`
	)
	tests := []struct {
		name        string
		configSSM   map[string]string
		objs        []runtime.Object
		op          admissionv1.Operation
		annotations map[string]string
		wantPatch   string
		wantWarn    []string
	}{{
		name:        "short-lived revision is born sidecar-less for the class's pool",
		annotations: map[string]string{"ssm.dev/lifecycle": "short-lived"},
		wantPatch:   sidecarless,
	}, {
		name:        "with sidecarless-revisions off, a short-lived revision keeps its sidecar",
		configSSM:   map[string]string{"sidecarless-revisions": "false"},
		annotations: map[string]string{"ssm.dev/lifecycle": "short-lived"},
		wantPatch:   sidecar,
	}, {
		name:        "config-ssm's auto-initial-lifecycle makes a new auto revision short-lived",
		configSSM:   map[string]string{"auto-initial-lifecycle": "short-lived"},
		annotations: map[string]string{"ssm.dev/lifecycle": "auto"},
		wantPatch:   sidecarless,
	}, {
		name:        "an auto revision on the built-in defaults starts long-lived and keeps its sidecar",
		annotations: map[string]string{"ssm.dev/lifecycle": "auto"},
		wantPatch:   sidecar,
	}, {
		name:        "short-lived revision with full mTLS keeps its sidecar",
		annotations: map[string]string{"ssm.dev/lifecycle": "short-lived", "ssm.dev/mtls-mode": "full", "ssm.dev/proxy-pool": "none"},
		wantPatch:   sidecar,
	}, {
		name:        "short-lived revision that names no pool is sidecar-less and never leased",
		annotations: map[string]string{"ssm.dev/lifecycle": "short-lived", "ssm.dev/proxy-pool": "none"},
		wantPatch:   `[{"op":"add","path":"/metadata/annotations/resolved.ssm.dev~1pods","value":"sidecarless"}]`,
	}, {
		name:        "long-lived revision naming a pool with lightweight mTLS is sidecar-less for that pool",
		annotations: map[string]string{"ssm.dev/lifecycle": "long-lived", "ssm.dev/mtls-mode": "lightweight", "ssm.dev/proxy-pool": "edge"},
		wantPatch: `[{"op":"add","path":"/metadata/annotations/resolved.ssm.dev~1pods","value":"sidecarless"},` +
			`{"op":"add","path":"/metadata/annotations/resolved.ssm.dev~1proxy-pool","value":"edge"}]`,
	}, {
		name:      "a revision governed only by a ServerlessPolicy with lightweight mTLS and a pool is sidecar-less for it",
		objs:      []runtime.Object{svc, lightweightPolicy("functions", time.Unix(100, 0), "default")},
		wantPatch: `[{"op":"add","path":"/metadata/annotations","value":{"resolved.ssm.dev/pods":"sidecarless","resolved.ssm.dev/proxy-pool":"default"}}]`,
	}, {
		name: "of two policies selecting the Service the oldest wins",
		objs: []runtime.Object{svc, lightweightPolicy("newer", time.Unix(200, 0), "default"), lightweightPolicy("older", time.Unix(100, 0), "edge")},
		wantPatch: `[{"op":"add","path":"/metadata/annotations","value":` +
			`{"resolved.ssm.dev/pods":"sidecarless","resolved.ssm.dev/proxy-pool":"edge"}}]`,
	}, {
		name:        "an annotation wins over the policy: full mTLS keeps the sidecar",
		objs:        []runtime.Object{svc, lightweightPolicy("functions", time.Unix(100, 0), "none")},
		annotations: map[string]string{"ssm.dev/mtls-mode": "full"},
		wantPatch:   sidecar,
	}, {
		name:      "a policy in another namespace governs nothing here",
		objs:      []runtime.Object{svc, otherNamespace},
		wantPatch: `[{"op":"add","path":"/metadata/annotations","value":{"resolved.ssm.dev/pods":"sidecar"}}]`,
	}, {
		name:        "a stamp copied from a template is replaced, and a pool it named is removed",
		annotations: map[string]string{"ssm.dev/lifecycle": "long-lived", "resolved.ssm.dev/pods": "sidecarless", "resolved.ssm.dev/proxy-pool": "default"},
		wantPatch: `[{"op":"add","path":"/metadata/annotations/resolved.ssm.dev~1pods","value":"sidecar"},` +
			`{"op":"remove","path":"/metadata/annotations/resolved.ssm.dev~1proxy-pool"}]`,
	}, {
		name:        "a bad annotation keeps the sidecar, with a warning naming it",
		annotations: map[string]string{"ssm.dev/lifecycle": "brief"},
		wantPatch:   sidecar,
		wantWarn: []string{`SSM kept the Istio sidecar of Revision default/hello-00001: its policy does not resolve: ` +
			`invalid value: "brief": metadata.annotations[ssm.dev/lifecycle]; ssm.dev/lifecycle must be one of: auto, short-lived, long-lived`},
	}, {
		name:        "UPDATE is left alone: pods keep what they were born with",
		op:          admissionv1.Update,
		annotations: map[string]string{"ssm.dev/lifecycle": "short-lived"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, ac := newRevisionAdmitter(t, tc.configSSM, tc.objs...)
			op := tc.op
			if op == "" {
				op = admissionv1.Create
			}
			resp := ac.Admit(ctx, revisionRequest(t, op, tc.annotations))
			if !resp.Allowed {
				t.Fatalf("Admit() denied: %v", resp.Result)
			}
			if diff := cmp.Diff(tc.wantPatch, string(resp.Patch)); diff != "" {
				t.Errorf("Admit() patch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantWarn, resp.Warnings); diff != "" {
				t.Errorf("Admit() warnings (-want +got):\n%s", diff)
			}
		})
	}
}
