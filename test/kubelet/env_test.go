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

package kubelet

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestEnv(t *testing.T) {
	t.Parallel()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u-1"},
		Spec:       corev1.PodSpec{ServiceAccountName: "sa", NodeName: "kwok-node-0"},
	}
	field := func(path string) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}
	}
	tests := []struct {
		name         string
		c            corev1.Container
		want         []string
		wantProblems []string
	}{{
		name: "values and field references",
		c: corev1.Container{Name: "q", Env: []corev1.EnvVar{
			{Name: "PLAIN", Value: "v"},
			{Name: "POD", ValueFrom: field("metadata.name")},
			{Name: "NS", ValueFrom: field("metadata.namespace")},
			{Name: "UID", ValueFrom: field("metadata.uid")},
			{Name: "SA", ValueFrom: field("spec.serviceAccountName")},
			{Name: "IP", ValueFrom: field("status.podIP")},
			{Name: "HOST", ValueFrom: field("status.hostIP")},
			{Name: "ODD", ValueFrom: field("metadata.generation")},
		}},
		want: []string{
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=p",
			"PLAIN=v", "POD=p", "NS=ns", "UID=u-1", "SA=sa", "IP=10.244.1.7", "HOST=10.200.0.1", "ODD=",
		},
		wantProblems: []string{"pod ns/p: container q: env ODD: fieldRef metadata.generation is not supported; left empty"},
	}, {
		name: "resource references",
		c: corev1.Container{Name: "q",
			Resources: corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1500m")},
				Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")},
			},
			Env: []corev1.EnvVar{
				{Name: "CPU", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu"}}},
				{Name: "MEM", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "requests.memory"}}},
				{Name: "MEMLIMIT", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory"}}},
			}},
		want: []string{
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=p",
			"CPU=2", "MEM=67108864", "MEMLIMIT=67108864",
		},
	}, {
		name: "references to earlier variables, and a secret that cannot be read here",
		c: corev1.Container{Name: "q", Env: []corev1.EnvVar{
			{Name: "NS", ValueFrom: field("metadata.namespace")},
			{Name: "GREETING", Value: "in $(NS), not $(LATER)"},
			{Name: "LATER", Value: "x"},
			{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{Key: "k"}}},
		}},
		want: []string{
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=p",
			"NS=ns", "GREETING=in ns, not $(LATER)", "LATER=x", "TOKEN=",
		},
		wantProblems: []string{"pod ns/p: container q: env TOKEN: only values, fieldRef and resourceFieldRef are supported; left empty"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, problems := Env(pod, &tc.c, "10.244.1.7", "10.200.0.1")
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("env (-want +got):\n%s", diff)
			}
			var gotProblems []string
			for _, p := range problems {
				gotProblems = append(gotProblems, p.Error())
			}
			if diff := cmp.Diff(tc.wantProblems, gotProblems); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"NS": "knative-serving", "EMPTY": ""}
	for in, want := range map[string]string{
		"--namespace=$(NS)": "--namespace=knative-serving",
		"$(NS)/$(NS)":       "knative-serving/knative-serving",
		"$(MISSING)":        "$(MISSING)",
		"$$(NS)":            "$(NS)",
		"a$(EMPTY)b":        "ab",
		"$(unterminated":    "$(unterminated",
		"cost: 5$":          "cost: 5$",
		"plain":             "plain",
	} {
		if got := Expand(in, vars); got != want {
			t.Errorf("Expand(%q) = %q, want %q", in, got, want)
		}
	}
}
