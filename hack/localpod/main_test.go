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

package main

import (
	"path/filepath"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestCommandLine(t *testing.T) {
	t.Parallel()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "ssm-pool-abc", Namespace: "knative-serving"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name:  "pool",
			Image: "ko://example.com/cmd/pool",
			Args:  []string{"--namespace=$(SYSTEM_NAMESPACE)", "--ip=$(POD_IP)"},
			Env: []corev1.EnvVar{
				{Name: "SYSTEM_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
				{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
				{Name: "GREETING", Value: "in $(SYSTEM_NAMESPACE)"},
			},
		}}},
	}
	got, err := commandLine(pod, "10.0.0.7", "10.0.0.1", imageFlags{"ko://example.com/cmd/pool": "/bin/pool"}, []string{"KUBECONFIG=/k"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"unshare", "--uts", "sh", "-c", `hostname "$0" && exec "$@"`, "ssm-pool-abc",
		"env", "-i",
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=ssm-pool-abc",
		"SYSTEM_NAMESPACE=knative-serving", "POD_IP=10.0.0.7", "GREETING=in knative-serving", "KUBECONFIG=/k",
		"/bin/pool", "--namespace=knative-serving", "--ip=10.0.0.7",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("commandLine (-want +got):\n%s", diff)
	}

	if _, err := commandLine(pod, "10.0.0.7", "10.0.0.1", imageFlags{}, nil); err == nil {
		t.Error("commandLine with no binary for the image: no error")
	}
	secretRef := pod.DeepCopy()
	secretRef.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{Key: "k"}}}}
	if _, err := commandLine(secretRef, "10.0.0.7", "10.0.0.1", imageFlags{"ko://example.com/cmd/pool": "/bin/pool"}, nil); err == nil {
		t.Error("commandLine with a secretKeyRef: no error, want one (it would run with the variable missing)")
	}
}

// TestShippedDeployments reads every Deployment under config/ the way
// hack/cluster.sh does: each must parse, have one container, and name no
// environment source this runner cannot resolve.
func TestShippedDeployments(t *testing.T) {
	t.Parallel()
	_, self, _, _ := runtime.Caller(0)
	files, err := filepath.Glob(filepath.Join(filepath.Dir(self), "..", "..", "config", "500-*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Deployment manifests found: %v", err)
	}
	for _, f := range files {
		d, err := readDeployment(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: d.Name + "-0", Namespace: d.Namespace}, Spec: d.Spec.Template.Spec}
		images := imageFlags{pod.Spec.Containers[0].Image: "/bin/x"}
		if _, err := commandLine(pod, "10.0.0.7", "10.0.0.1", images, nil); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
