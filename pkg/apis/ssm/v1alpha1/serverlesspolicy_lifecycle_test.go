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
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"knative.dev/pkg/apis"
)

func TestServerlessPolicyGetGroupVersionKind(t *testing.T) {
	t.Parallel()
	want := schema.GroupVersionKind{Group: "ssm.dev", Version: "v1alpha1", Kind: "ServerlessPolicy"}
	if got := (&ServerlessPolicy{}).GetGroupVersionKind(); got != want {
		t.Errorf("GetGroupVersionKind() = %v, want %v", got, want)
	}
}

func TestServerlessPolicyConditionSet(t *testing.T) {
	t.Parallel()
	p := &ServerlessPolicy{}
	cs := p.GetConditionSet()
	status := &ServerlessPolicyStatus{}
	cs.Manage(status).InitializeConditions()
	want := map[apis.ConditionType]cond{
		"PolicyApplied": {Status: corev1.ConditionUnknown},
		"Ready":         {Status: corev1.ConditionUnknown},
	}
	if diff := cmp.Diff(want, summarize(status.Conditions)); diff != "" {
		t.Errorf("conditions (-want +got):\n%s", diff)
	}
}

func TestServerlessPolicyStatusTransitions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		mark      func(*ServerlessPolicyStatus)
		want      map[apis.ConditionType]cond
		wantReady bool
	}{{
		name: "initialized",
		mark: func(*ServerlessPolicyStatus) {},
		want: map[apis.ConditionType]cond{
			"PolicyApplied": {Status: corev1.ConditionUnknown},
			"Ready":         {Status: corev1.ConditionUnknown},
		},
	}, {
		name: "not applied",
		mark: func(s *ServerlessPolicyStatus) {
			s.MarkPolicyNotApplied("IngressFailed", "KIngress %s/%s: %s", "ns", "hello", "update refused")
		},
		want: map[apis.ConditionType]cond{
			"PolicyApplied": {Status: corev1.ConditionFalse, Reason: "IngressFailed", Message: "KIngress ns/hello: update refused"},
			"Ready":         {Status: corev1.ConditionFalse, Reason: "IngressFailed", Message: "KIngress ns/hello: update refused"},
		},
	}, {
		name: "applied",
		mark: func(s *ServerlessPolicyStatus) { s.MarkPolicyApplied() },
		want: map[apis.ConditionType]cond{
			"PolicyApplied": {Status: corev1.ConditionTrue},
			"Ready":         {Status: corev1.ConditionTrue},
		},
		wantReady: true,
	}, {
		name: "conflict",
		mark: func(s *ServerlessPolicyStatus) { s.MarkConflict("other") },
		want: map[apis.ConditionType]cond{
			"PolicyApplied": {Status: corev1.ConditionFalse, Reason: "PolicyConflict",
				Message: `ServerlessPolicy "other" selects a Service that this policy also selects; a Service may be selected by one policy only`},
			"Ready": {Status: corev1.ConditionFalse, Reason: "PolicyConflict",
				Message: `ServerlessPolicy "other" selects a Service that this policy also selects; a Service may be selected by one policy only`},
		},
	}, {
		name: "applied after a conflict is resolved",
		mark: func(s *ServerlessPolicyStatus) {
			s.MarkConflict("other")
			s.MarkPolicyApplied()
		},
		want: map[apis.ConditionType]cond{
			"PolicyApplied": {Status: corev1.ConditionTrue},
			"Ready":         {Status: corev1.ConditionTrue},
		},
		wantReady: true,
	}, {
		name: "not applied after being applied",
		mark: func(s *ServerlessPolicyStatus) {
			s.MarkPolicyApplied()
			s.MarkPolicyNotApplied("NoRevisions", "no revision selected")
		},
		want: map[apis.ConditionType]cond{
			"PolicyApplied": {Status: corev1.ConditionFalse, Reason: "NoRevisions", Message: "no revision selected"},
			"Ready":         {Status: corev1.ConditionFalse, Reason: "NoRevisions", Message: "no revision selected"},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := &ServerlessPolicyStatus{}
			s.InitializeConditions()
			tc.mark(s)
			if diff := cmp.Diff(tc.want, summarize(s.Conditions)); diff != "" {
				t.Errorf("conditions (-want +got):\n%s", diff)
			}
			if got := s.IsReady(); got != tc.wantReady {
				t.Errorf("IsReady() = %v, want %v", got, tc.wantReady)
			}
		})
	}
}

func TestServerlessPolicyInitializeKeepsSetConditions(t *testing.T) {
	t.Parallel()
	s := &ServerlessPolicyStatus{}
	s.MarkPolicyApplied()
	s.InitializeConditions()
	want := map[apis.ConditionType]cond{
		"PolicyApplied": {Status: corev1.ConditionTrue},
		"Ready":         {Status: corev1.ConditionTrue},
	}
	if diff := cmp.Diff(want, summarize(s.Conditions)); diff != "" {
		t.Errorf("conditions (-want +got):\n%s", diff)
	}
}
