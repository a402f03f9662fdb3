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
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"knative.dev/serving/pkg/apis/serving"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	"github.com/serverless-mesh/ssm/pkg/identity"
	"github.com/serverless-mesh/ssm/pkg/policy"
	"github.com/serverless-mesh/ssm/pkg/resolver"
)

// What the revision-Deployment webhook writes into a pod template.
const (
	// IstioInjectAnnotationKey is Istio's per-pod sidecar injection switch.
	IstioInjectAnnotationKey = "sidecar.istio.io/inject"
	// QueueProxyPluginEnabled is the value of ssm.QueueProxyPluginAnnotationKey
	// that switches the SSM queue-proxy plugin on.
	QueueProxyPluginEnabled = "enable"

	// QueueProxyContainerName is the name Knative gives the queue-proxy
	// container (knative.dev/serving's resources.QueueContainerName).
	QueueProxyContainerName = "queue-proxy"
	// PodInfoVolumeName, PodInfoMountPath and PodInfoAnnotationsFile are the
	// downward-API volume Knative itself adds when config-features'
	// queueproxy.mount-podinfo is enabled (knative.dev/serving v0.50.0,
	// pkg/reconciler/revision/resources: volume "pod-info"; pkg/queue:
	// PodInfoDirectory and PodInfoAnnotationsFilename). queue-proxy reads its
	// plugin switches from that file, so the webhook adds the same volume
	// when Knative has not: the plugin must not depend on a cluster-wide
	// feature flag SSM does not own.
	PodInfoVolumeName      = "pod-info"
	PodInfoMountPath       = "/etc/podinfo"
	PodInfoAnnotationsFile = "annotations"
)

// patchOp is one RFC 6902 operation. Value is omitted for "remove".
type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// deploymentPlan is what the webhook decided for one Deployment: the patch
// and the warnings to return to the client.
type deploymentPlan struct {
	ops      []patchOp
	warnings []string
}

// planRevisionDeployment returns the patch that makes the pod template of
// a Knative revision's Deployment what SSM decided, once, when the Revision
// was admitted (resolver.Pods, stamped by the revisions webhook; Knative
// copies a Revision's annotations onto its pod template).
//
// Only Deployments labelled with serving.knative.dev/revision are touched. A
// revision stamped sidecar-less loses its Istio sidecar and gets the
// queue-proxy plugin switch, the lightweight mTLS mode the plugin enforces,
// the podinfo volume that carries both to queue-proxy and its workload
// certificate. Every other revision with ssm.dev/* annotations keeps its
// sidecar: an inject "false" (left by an earlier SSM mutation, which Knative
// carries over on update) and the plugin switch are removed. The result
// depends only on the object, so a second pass over an already-patched
// Deployment yields no operations.
//
// A bad annotation yields no patch and a warning: the validation webhook is
// where SSM rejects objects, and this webhook must never stand between
// Knative and its Deployments.
func planRevisionDeployment(dep *appsv1.Deployment) deploymentPlan {
	if _, ok := dep.Labels[serving.RevisionLabelKey]; !ok {
		return deploymentPlan{}
	}
	tmpl := &dep.Spec.Template
	pods := resolver.StampedPods(tmpl.Annotations)
	if !pods.Sidecarless && !policy.HasSSMAnnotations(tmpl.Annotations) {
		return deploymentPlan{}
	}
	name := dep.Namespace + "/" + dep.Name
	if _, fe := policy.ParseAnnotations(ssmAnnotations(tmpl.Annotations)); fe != nil {
		return deploymentPlan{warnings: []string{oneLine(fmt.Sprintf(
			"SSM left Deployment %s unchanged: its ssm.dev annotations are invalid: %v", name, fe))}}
	}

	var plan deploymentPlan
	if pods.Sidecarless {
		// The plugin in the pod cannot read config-ssm or ServerlessPolicies;
		// stating the resolved mode on the pod keeps it from deciding "full"
		// (no plaintext guard) for a pod that has no sidecar: no silent
		// downgrade.
		plan.ops = setAnnotations(tmpl.Annotations, map[string]string{
			IstioInjectAnnotationKey:          "false",
			ssm.QueueProxyPluginAnnotationKey: QueueProxyPluginEnabled,
			ssm.MTLSModeAnnotationKey:         string(policy.MTLSLightweight),
		})
		podInfo, warning := ensurePodInfo(&tmpl.Spec)
		plan.ops = append(plan.ops, podInfo...)
		plan.ops = append(plan.ops, ensureWorkloadIdentity(&tmpl.Spec, podInfo)...)
		if warning != "" {
			plan.warnings = append(plan.warnings, fmt.Sprintf("Deployment %s: %s", name, warning))
		}
		return plan
	}
	var remove []string
	if tmpl.Annotations[IstioInjectAnnotationKey] == "false" {
		remove = append(remove, IstioInjectAnnotationKey)
	}
	if _, ok := tmpl.Annotations[ssm.QueueProxyPluginAnnotationKey]; ok {
		remove = append(remove, ssm.QueueProxyPluginAnnotationKey)
	}
	for _, k := range remove {
		plan.ops = append(plan.ops, patchOp{Op: "remove", Path: annotationPath(k)})
	}
	return plan
}

// oneLine joins the lines of a multi-line error: an admission warning is
// sent as an HTTP Warning header, which cannot carry a line break.
func oneLine(s string) string {
	return strings.ReplaceAll(s, "\n", "; ")
}

const templateAnnotationsPath = "/spec/template/metadata/annotations"

// annotationPath is the JSON pointer of one pod template annotation;
// RFC 6901 escapes "~" and "/" in the key.
func annotationPath(key string) string {
	return templateAnnotationsPath + "/" + escapePointer(key)
}

// escapePointer escapes a key for a JSON pointer (RFC 6901).
func escapePointer(key string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(key)
}

// setAnnotations returns the operations that give current the values in
// want, in key order so that the patch is deterministic. current is never
// nil here: only a template with ssm.dev/* annotations is patched.
func setAnnotations(current, want map[string]string) []patchOp {
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var ops []patchOp
	for _, k := range keys {
		if v, ok := current[k]; !ok || v != want[k] {
			// "add" replaces an existing member (RFC 6902 section 4.1).
			ops = append(ops, patchOp{Op: "add", Path: annotationPath(k), Value: want[k]})
		}
	}
	return ops
}

// podInfoVolume is the downward-API volume that exposes the pod's
// annotations to queue-proxy.
func podInfoVolume() corev1.Volume {
	return corev1.Volume{
		Name: PodInfoVolumeName,
		VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{
			Items: []corev1.DownwardAPIVolumeFile{{
				Path:     PodInfoAnnotationsFile,
				FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations"},
			}},
		}},
	}
}

// ensurePodInfo returns the operations that add the podinfo volume and its
// mount into queue-proxy, each only if missing: Knative adds the same
// volume itself when queueproxy.mount-podinfo is enabled, and a second
// volume of the same name would make the API server reject the pod
// template. It returns a warning instead of a mount when the template has
// no queue-proxy container.
func ensurePodInfo(spec *corev1.PodSpec) ([]patchOp, string) {
	qp := -1
	for i := range spec.Containers {
		if spec.Containers[i].Name == QueueProxyContainerName {
			qp = i
			break
		}
	}
	if qp < 0 {
		return nil, fmt.Sprintf("no %s container to mount %s into; the SSM queue-proxy plugin cannot read its switch",
			QueueProxyContainerName, PodInfoMountPath)
	}
	var ops []patchOp
	hasVolume := false
	for _, v := range spec.Volumes {
		hasVolume = hasVolume || v.Name == PodInfoVolumeName
	}
	if !hasVolume {
		ops = append(ops, appendOp("/spec/template/spec/volumes", spec.Volumes == nil, podInfoVolume()))
	}
	hasMount := false
	for _, m := range spec.Containers[qp].VolumeMounts {
		hasMount = hasMount || m.MountPath == PodInfoMountPath
	}
	if !hasMount {
		mount := corev1.VolumeMount{Name: PodInfoVolumeName, MountPath: PodInfoMountPath, ReadOnly: true}
		ops = append(ops, appendOp(fmt.Sprintf("/spec/template/spec/containers/%d/volumeMounts", qp),
			spec.Containers[qp].VolumeMounts == nil, mount))
	}
	return ops, ""
}

// IdentityVolumeName is the volume of the workload certificate Secret.
const IdentityVolumeName = "ssm-identity"

// ensureWorkloadIdentity mounts the ServiceAccount's workload certificate
// (identity.WorkloadSecretName, issued by the controller) into queue-proxy
// at identity.WorkloadMountPath. The Secret is optional: a pod that starts
// before it exists runs a plugin with no certificate, which refuses every
// mTLS peer (fails closed) until the kubelet projects the Secret.
// earlier are the operations already planned, which may have created the
// volume lists this appends to.
func ensureWorkloadIdentity(spec *corev1.PodSpec, earlier []patchOp) []patchOp {
	qp := -1
	for i := range spec.Containers {
		if spec.Containers[i].Name == QueueProxyContainerName {
			qp = i
		}
	}
	if qp < 0 {
		return nil
	}
	sa := identity.ServiceAccountName(spec.ServiceAccountName)
	created := func(path string) bool {
		for _, op := range earlier {
			if op.Path == path {
				return true
			}
		}
		return false
	}
	var ops []patchOp
	hasVolume := false
	for _, v := range spec.Volumes {
		hasVolume = hasVolume || v.Name == IdentityVolumeName
	}
	if !hasVolume {
		const path = "/spec/template/spec/volumes"
		optional := true
		ops = append(ops, appendOp(path, spec.Volumes == nil && !created(path), corev1.Volume{
			Name: IdentityVolumeName,
			VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
				SecretName: identity.WorkloadSecretName(sa),
				Optional:   &optional,
			}},
		}))
	}
	hasMount := false
	for _, m := range spec.Containers[qp].VolumeMounts {
		hasMount = hasMount || m.MountPath == identity.WorkloadMountPath
	}
	if !hasMount {
		path := fmt.Sprintf("/spec/template/spec/containers/%d/volumeMounts", qp)
		ops = append(ops, appendOp(path, spec.Containers[qp].VolumeMounts == nil && !created(path),
			corev1.VolumeMount{Name: IdentityVolumeName, MountPath: identity.WorkloadMountPath, ReadOnly: true}))
	}
	return ops
}

// appendOp appends item to the list at path, creating the list when it is
// missing (a pointer to "-" of a missing list cannot be added to).
func appendOp(path string, missing bool, item any) patchOp {
	if missing {
		return patchOp{Op: "add", Path: path, Value: []any{item}}
	}
	return patchOp{Op: "add", Path: path + "/-", Value: item}
}

// encode renders the plan's operations as a JSON patch; nil when there are
// none, so that an unchanged object gets no patch at all.
func (p deploymentPlan) encode() ([]byte, error) {
	if len(p.ops) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(p.ops)
	if err != nil {
		return nil, fmt.Errorf("encoding pod template patch: %w", err)
	}
	return b, nil
}
