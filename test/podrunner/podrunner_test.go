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
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestAllocatorGoesRoundThePrefix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		prefix  string
		release map[int]bool // release the address got at these steps
		steps   int
		want    []string
	}{{
		name:   "never reuses the lowest free address first",
		prefix: "10.244.1.0/29", steps: 6, release: map[int]bool{1: true},
		want: []string{"10.244.1.2", "10.244.1.3", "10.244.1.4", "10.244.1.5", "10.244.1.6", "10.244.1.3"},
	}, {
		name:   "exhausted",
		prefix: "10.244.1.0/30", steps: 2,
		want: []string{"10.244.1.2", "exhausted"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newAllocator(netip.MustParsePrefix(tc.prefix))
			var got []string
			for i := range tc.steps {
				ip, err := a.allocate()
				if err != nil {
					got = append(got, "exhausted")
					continue
				}
				got = append(got, ip.String())
				if tc.release[i] {
					a.release(ip)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("addresses (-want +got):\n%s", diff)
			}
		})
	}
}

func TestContainerEnv(t *testing.T) {
	t.Parallel()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u-1"},
		Spec:       corev1.PodSpec{ServiceAccountName: "sa", NodeName: "kwok-node-0"},
	}
	field := func(path string) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}
	}
	tests := []struct {
		name string
		c    corev1.Container
		want []string
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
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := containerEnv(pod, &tc.c, "10.244.1.7", "10.200.0.1")
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("env (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFormatMap(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   map[string]string
		want string
	}{
		{name: "empty", in: nil, want: ""},
		{name: "sorted and quoted", in: map[string]string{"b": "x\"y", "a": "1"}, want: "a=\"1\"\nb=\"x\\\"y\"\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := formatMap(tc.in); got != tc.want {
				t.Errorf("formatMap = %q, want %q", got, tc.want)
			}
		})
	}
}
