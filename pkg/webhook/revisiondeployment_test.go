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

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/webhook"
)

// revisionDeployment is a Deployment as Knative's revision reconciler builds
// it: labelled with its revision, user-container first, queue-proxy second.
// edit adjusts it per test case.
func revisionDeployment(annotations map[string]string, edit func(*appsv1.Deployment)) *appsv1.Deployment {
	d := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "hello-00001-deployment", Namespace: "default", Labels: map[string]string{"serving.knative.dev/revision": "hello-00001"}},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"serving.knative.dev/revision": "hello-00001"}, Annotations: annotations},
			Spec: corev1.PodSpec{Containers: []corev1.Container{
				{Name: "user-container", Image: "example.com/hello"},
				{Name: "queue-proxy", Image: "example.com/queue"},
			}},
		}},
	}
	if edit != nil {
		edit(d)
	}
	return d
}

// withKnativePodInfo adds what Knative adds itself when config-features'
// queueproxy.mount-podinfo is enabled, plus an unrelated volume before it.
func withKnativePodInfo(d *appsv1.Deployment) {
	d.Spec.Template.Spec.Volumes = []corev1.Volume{
		{Name: "knative-token-volume", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		podInfoVolume(),
	}
	d.Spec.Template.Spec.Containers[1].VolumeMounts = []corev1.VolumeMount{{Name: "pod-info", MountPath: "/etc/podinfo", ReadOnly: true}}
}

// withOtherVolumes gives the template an unrelated volume and queue-proxy an
// unrelated mount, so the podinfo ones are appended rather than created.
func withOtherVolumes(d *appsv1.Deployment) {
	d.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "knative-token-volume", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	d.Spec.Template.Spec.Containers[1].VolumeMounts = []corev1.VolumeMount{{Name: "knative-token-volume", MountPath: "/var/run/secrets/tokens"}}
}

// newRevisionDeploymentAdmitter builds the controller. It reads no
// config-ssm: what a pod is born with was stamped on its Revision.
func newRevisionDeploymentAdmitter(t *testing.T) (context.Context, webhook.AdmissionController) {
	t.Helper()
	ctx := fakeWebhookContext(t)
	ac, ok := NewRevisionDeploymentController(ctx, configmap.NewStaticWatcher()).Reconciler.(webhook.AdmissionController)
	if !ok {
		t.Fatal("revision Deployment controller is not an AdmissionController")
	}
	return ctx, ac
}

func deploymentRequest(t *testing.T, op admissionv1.Operation, d *appsv1.Deployment) *admissionv1.AdmissionRequest {
	t.Helper()
	raw, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return &admissionv1.AdmissionRequest{
		Operation: op,
		Kind:      metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"},
		Namespace: d.Namespace,
		Name:      d.Name,
		Object:    runtime.RawExtension{Raw: raw},
	}
}

const (
	podInfoVolumeJSON  = `{"name":"pod-info","downwardAPI":{"items":[{"path":"annotations","fieldRef":{"fieldPath":"metadata.annotations"}}]}}`
	podInfoMountJSON   = `{"name":"pod-info","readOnly":true,"mountPath":"/etc/podinfo"}`
	identityVolumeJSON = `{"name":"ssm-identity","secret":{"secretName":"ssm-workload-default","optional":true}}`
	identityMountJSON  = `{"name":"ssm-identity","readOnly":true,"mountPath":"/var/run/ssm/identity"}`
	// identityOpsJSON append the workload identity to lists that exist.
	identityOpsJSON = `{"op":"add","path":"/spec/template/spec/volumes/-","value":` + identityVolumeJSON + `},` +
		`{"op":"add","path":"/spec/template/spec/containers/1/volumeMounts/-","value":` + identityMountJSON + `}`
	switchOpsJSON = `{"op":"add","path":"/spec/template/metadata/annotations/qpoption.knative.dev~1ssm-activate","value":"enable"},` +
		`{"op":"add","path":"/spec/template/metadata/annotations/sidecar.istio.io~1inject","value":"false"},` +
		`{"op":"add","path":"/spec/template/metadata/annotations/ssm.dev~1mtls-mode","value":"lightweight"}`
)

func TestRevisionDeploymentAdmit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		op        admissionv1.Operation
		dep       *appsv1.Deployment
		wantPatch string // "" means no patch
		wantWarn  []string
	}{{
		name: "a revision stamped sidecar-less loses its sidecar and gets the plugin switch and podinfo",
		op:   admissionv1.Create,
		dep:  revisionDeployment(map[string]string{"ssm.dev/lifecycle": "short-lived", "resolved.ssm.dev/pods": "sidecarless", "resolved.ssm.dev/proxy-pool": "default"}, nil),
		wantPatch: `[` + switchOpsJSON + `,` +
			`{"op":"add","path":"/spec/template/spec/volumes","value":[` + podInfoVolumeJSON + `]},` +
			`{"op":"add","path":"/spec/template/spec/containers/1/volumeMounts","value":[` + podInfoMountJSON + `]},` +
			identityOpsJSON + `]`,
	}, {
		name: "long-lived revision stamped sidecar-less for a pool is patched; an inject true is overwritten",
		op:   admissionv1.Update,
		dep: revisionDeployment(map[string]string{
			"ssm.dev/lifecycle": "long-lived", "ssm.dev/mtls-mode": "lightweight", "ssm.dev/proxy-pool": "edge",
			"resolved.ssm.dev/pods": "sidecarless", "resolved.ssm.dev/proxy-pool": "edge",
			"sidecar.istio.io/inject": "true",
		}, withOtherVolumes),
		// ssm.dev/mtls-mode is already stated: no op for it.
		wantPatch: `[` +
			`{"op":"add","path":"/spec/template/metadata/annotations/qpoption.knative.dev~1ssm-activate","value":"enable"},` +
			`{"op":"add","path":"/spec/template/metadata/annotations/sidecar.istio.io~1inject","value":"false"},` +
			`{"op":"add","path":"/spec/template/spec/volumes/-","value":` + podInfoVolumeJSON + `},` +
			`{"op":"add","path":"/spec/template/spec/containers/1/volumeMounts/-","value":` + podInfoMountJSON + `},` +
			identityOpsJSON + `]`,
	}, {
		name:      "podinfo Knative already mounted is not added twice",
		op:        admissionv1.Create,
		dep:       revisionDeployment(map[string]string{"ssm.dev/lifecycle": "short-lived", "resolved.ssm.dev/pods": "sidecarless"}, withKnativePodInfo),
		wantPatch: `[` + switchOpsJSON + `,` + identityOpsJSON + `]`,
	}, {
		name: "short-lived revision without a queue-proxy container gets the annotations and a warning",
		op:   admissionv1.Create,
		dep: revisionDeployment(map[string]string{"ssm.dev/lifecycle": "short-lived", "resolved.ssm.dev/pods": "sidecarless"}, func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers = d.Spec.Template.Spec.Containers[:1]
		}),
		wantPatch: `[` + switchOpsJSON + `]`,
		wantWarn: []string{"Deployment default/hello-00001-deployment: no queue-proxy container to mount /etc/podinfo into; " +
			"the SSM queue-proxy plugin cannot read its switch"},
	}, {
		name: "a revision governed only by a ServerlessPolicy, stamped sidecar-less, gets the mode stated for the plugin",
		op:   admissionv1.Create,
		dep: revisionDeployment(map[string]string{"resolved.ssm.dev/pods": "sidecarless", "resolved.ssm.dev/proxy-pool": "default"},
			withKnativePodInfo),
		wantPatch: `[` + switchOpsJSON + `,` + identityOpsJSON + `]`,
	}, {
		name: "a short-lived revision stamped with its sidecar (the switch was off) keeps it",
		op:   admissionv1.Create,
		dep:  revisionDeployment(map[string]string{"ssm.dev/lifecycle": "short-lived", "resolved.ssm.dev/pods": "sidecar"}, withKnativePodInfo),
	}, {
		name: "a short-lived revision SSM never stamped keeps its sidecar",
		op:   admissionv1.Create,
		dep:  revisionDeployment(map[string]string{"ssm.dev/lifecycle": "short-lived"}, withKnativePodInfo),
	}, {
		name: "an unknown stamp keeps the sidecar",
		op:   admissionv1.Create,
		dep:  revisionDeployment(map[string]string{"ssm.dev/lifecycle": "short-lived", "resolved.ssm.dev/pods": "maybe"}, nil),
	}, {
		name: "long-lived revision is left alone",
		op:   admissionv1.Create,
		dep:  revisionDeployment(map[string]string{"ssm.dev/lifecycle": "long-lived", "resolved.ssm.dev/pods": "sidecar"}, nil),
	}, {
		name: "long-lived revision loses an earlier inject false and plugin switch",
		op:   admissionv1.Update,
		dep: revisionDeployment(map[string]string{
			"ssm.dev/lifecycle": "long-lived", "resolved.ssm.dev/pods": "sidecar", "sidecar.istio.io/inject": "false", "qpoption.knative.dev/ssm-activate": "enable",
		}, withKnativePodInfo),
		wantPatch: `[{"op":"remove","path":"/spec/template/metadata/annotations/sidecar.istio.io~1inject"},` +
			`{"op":"remove","path":"/spec/template/metadata/annotations/qpoption.knative.dev~1ssm-activate"}]`,
	}, {
		name: "revision without ssm.dev annotations is left alone, inject false included",
		op:   admissionv1.Create,
		dep:  revisionDeployment(map[string]string{"sidecar.istio.io/inject": "false"}, nil),
	}, {
		name: "Deployment that is not a revision's is left alone",
		op:   admissionv1.Create,
		dep: revisionDeployment(map[string]string{"ssm.dev/lifecycle": "short-lived", "resolved.ssm.dev/pods": "sidecarless"}, func(d *appsv1.Deployment) {
			d.Labels = nil
		}),
	}, {
		name: "bad annotation is allowed unchanged with a warning",
		op:   admissionv1.Create,
		dep:  revisionDeployment(map[string]string{"ssm.dev/lifecycle": "brief", "resolved.ssm.dev/pods": "sidecarless"}, nil),
		wantWarn: []string{`SSM left Deployment default/hello-00001-deployment unchanged: its ssm.dev annotations are invalid: ` +
			`invalid value: "brief": metadata.annotations[ssm.dev/lifecycle]; ssm.dev/lifecycle must be one of: auto, short-lived, long-lived`},
	}, {
		name: "full mTLS with a named pool is allowed unchanged with a warning",
		op:   admissionv1.Create,
		dep:  revisionDeployment(map[string]string{"ssm.dev/mtls-mode": "full", "ssm.dev/proxy-pool": "edge"}, nil),
		wantWarn: []string{`SSM left Deployment default/hello-00001-deployment unchanged: its ssm.dev annotations are invalid: ` +
			`ssm.dev/mtls-mode "full" conflicts with ssm.dev/proxy-pool "edge": a full-mTLS revision keeps its own Istio sidecar, ` +
			`while a pooled proxy serves only sidecar-less (lightweight) pods; use mTLS mode lightweight or proxy pool none: ` +
			`metadata.annotations[ssm.dev/mtls-mode], metadata.annotations[ssm.dev/proxy-pool]`},
	}, {
		name: "DELETE is allowed unchanged",
		op:   admissionv1.Delete,
		dep:  revisionDeployment(map[string]string{"ssm.dev/lifecycle": "short-lived", "resolved.ssm.dev/pods": "sidecarless"}, nil),
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, ac := newRevisionDeploymentAdmitter(t)
			resp := ac.Admit(ctx, deploymentRequest(t, tc.op, tc.dep))
			if !resp.Allowed {
				t.Fatalf("Admit() denied: %v", resp.Result)
			}
			if diff := cmp.Diff(tc.wantPatch, string(resp.Patch)); diff != "" {
				t.Errorf("Admit() patch (-want +got):\n%s", diff)
			}
			if (resp.PatchType != nil) != (tc.wantPatch != "") {
				t.Errorf("Admit() PatchType = %v with patch %q", resp.PatchType, resp.Patch)
			}
			if diff := cmp.Diff(tc.wantWarn, resp.Warnings); diff != "" {
				t.Errorf("Admit() warnings (-want +got):\n%s", diff)
			}
		})
	}
}

// admitAndApply admits d and returns d with the response's patch applied.
func admitAndApply(ctx context.Context, t *testing.T, ac webhook.AdmissionController, op admissionv1.Operation, d *appsv1.Deployment) *appsv1.Deployment {
	t.Helper()
	req := deploymentRequest(t, op, d)
	resp := ac.Admit(ctx, req)
	if !resp.Allowed {
		t.Fatalf("Admit() denied: %v", resp.Result)
	}
	if len(resp.Patch) == 0 {
		return d
	}
	patch, err := jsonpatch.DecodePatch(resp.Patch)
	if err != nil {
		t.Fatalf("decoding patch %s: %v", resp.Patch, err)
	}
	patched, err := patch.Apply(req.Object.Raw)
	if err != nil {
		t.Fatalf("applying patch %s: %v", resp.Patch, err)
	}
	var out appsv1.Deployment
	if err := json.Unmarshal(patched, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

func TestRevisionDeploymentAdmitIsIdempotent(t *testing.T) {
	t.Parallel()
	readOnlyPodInfo := corev1.VolumeMount{Name: "pod-info", MountPath: "/etc/podinfo", ReadOnly: true}
	optional := true
	identityVolume := corev1.Volume{Name: "ssm-identity", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
		SecretName: "ssm-workload-default", Optional: &optional,
	}}}
	identityMount := corev1.VolumeMount{Name: "ssm-identity", MountPath: "/var/run/ssm/identity", ReadOnly: true}
	tokenVolume := corev1.Volume{Name: "knative-token-volume", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
	podInfo := corev1.Volume{Name: "pod-info", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{
		Items: []corev1.DownwardAPIVolumeFile{{Path: "annotations", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations"}}},
	}}}
	tests := []struct {
		name            string
		dep             *appsv1.Deployment
		wantAnnotations map[string]string
		wantVolumes     []corev1.Volume
		wantQPMounts    []corev1.VolumeMount
	}{{
		name: "short-lived",
		dep:  revisionDeployment(map[string]string{"ssm.dev/lifecycle": "short-lived", "resolved.ssm.dev/pods": "sidecarless"}, nil),
		wantAnnotations: map[string]string{"ssm.dev/lifecycle": "short-lived", "ssm.dev/mtls-mode": "lightweight", "resolved.ssm.dev/pods": "sidecarless",
			"sidecar.istio.io/inject": "false", "qpoption.knative.dev/ssm-activate": "enable"},
		wantVolumes:  []corev1.Volume{podInfo, identityVolume},
		wantQPMounts: []corev1.VolumeMount{readOnlyPodInfo, identityMount},
	}, {
		name: "named pool with Knative's podinfo already mounted",
		dep: revisionDeployment(map[string]string{"ssm.dev/proxy-pool": "edge", "ssm.dev/mtls-mode": "lightweight",
			"resolved.ssm.dev/pods": "sidecarless", "resolved.ssm.dev/proxy-pool": "edge"}, withKnativePodInfo),
		wantAnnotations: map[string]string{"ssm.dev/proxy-pool": "edge", "ssm.dev/mtls-mode": "lightweight",
			"resolved.ssm.dev/pods": "sidecarless", "resolved.ssm.dev/proxy-pool": "edge",
			"sidecar.istio.io/inject": "false", "qpoption.knative.dev/ssm-activate": "enable"},
		wantVolumes:  []corev1.Volume{tokenVolume, podInfo, identityVolume},
		wantQPMounts: []corev1.VolumeMount{readOnlyPodInfo, identityMount},
	}, {
		name: "long-lived after an earlier sidecar-less mutation",
		dep: revisionDeployment(map[string]string{"ssm.dev/lifecycle": "long-lived", "resolved.ssm.dev/pods": "sidecar",
			"sidecar.istio.io/inject": "false", "qpoption.knative.dev/ssm-activate": "enable"}, withKnativePodInfo),
		wantAnnotations: map[string]string{"ssm.dev/lifecycle": "long-lived", "resolved.ssm.dev/pods": "sidecar"},
		wantVolumes:     []corev1.Volume{tokenVolume, podInfo},
		wantQPMounts:    []corev1.VolumeMount{readOnlyPodInfo},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, ac := newRevisionDeploymentAdmitter(t)
			once := admitAndApply(ctx, t, ac, admissionv1.Create, tc.dep)
			tmpl := once.Spec.Template
			if diff := cmp.Diff(tc.wantAnnotations, tmpl.Annotations); diff != "" {
				t.Errorf("pod template annotations (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantVolumes, tmpl.Spec.Volumes); diff != "" {
				t.Errorf("pod template volumes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantQPMounts, tmpl.Spec.Containers[1].VolumeMounts); diff != "" {
				t.Errorf("queue-proxy mounts (-want +got):\n%s", diff)
			}
			if got := tmpl.Spec.Containers[0].VolumeMounts; got != nil {
				t.Errorf("user-container mounts = %v, want none", got)
			}

			// Knative's next update of the patched Deployment.
			resp := ac.Admit(ctx, deploymentRequest(t, admissionv1.Update, once))
			if len(resp.Patch) != 0 || resp.PatchType != nil {
				t.Errorf("second Admit() patch = %s, want none", resp.Patch)
			}
		})
	}
}
