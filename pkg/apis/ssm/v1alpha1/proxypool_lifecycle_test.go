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

func TestProxyPoolGetGroupVersionKind(t *testing.T) {
	t.Parallel()
	want := schema.GroupVersionKind{Group: "ssm.dev", Version: "v1alpha1", Kind: "ProxyPool"}
	if got := (&ProxyPool{}).GetGroupVersionKind(); got != want {
		t.Errorf("GetGroupVersionKind() = %v, want %v", got, want)
	}
}

func TestProxyPoolConditionSet(t *testing.T) {
	t.Parallel()
	p := &ProxyPool{}
	cs := p.GetConditionSet()
	status := &ProxyPoolStatus{}
	cs.Manage(status).InitializeConditions()
	want := map[apis.ConditionType]cond{
		"DeploymentReady": {Status: corev1.ConditionUnknown},
		"ProxiesWarm":     {Status: corev1.ConditionUnknown},
		"Ready":           {Status: corev1.ConditionUnknown},
	}
	if diff := cmp.Diff(want, summarize(status.Conditions)); diff != "" {
		t.Errorf("conditions (-want +got):\n%s", diff)
	}
}

func TestProxyPoolStatusTransitions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		mark      func(*ProxyPoolStatus)
		want      map[apis.ConditionType]cond
		wantReady bool
	}{{
		name: "initialized",
		mark: func(*ProxyPoolStatus) {},
		want: map[apis.ConditionType]cond{
			"DeploymentReady": {Status: corev1.ConditionUnknown},
			"ProxiesWarm":     {Status: corev1.ConditionUnknown},
			"Ready":           {Status: corev1.ConditionUnknown},
		},
	}, {
		name: "deployment ready, proxies not yet known",
		mark: func(s *ProxyPoolStatus) { s.MarkDeploymentReady() },
		want: map[apis.ConditionType]cond{
			"DeploymentReady": {Status: corev1.ConditionTrue},
			"ProxiesWarm":     {Status: corev1.ConditionUnknown},
			"Ready":           {Status: corev1.ConditionUnknown},
		},
	}, {
		name: "proxies warm, deployment not yet known",
		mark: func(s *ProxyPoolStatus) { s.MarkProxiesWarm() },
		want: map[apis.ConditionType]cond{
			"DeploymentReady": {Status: corev1.ConditionUnknown},
			"ProxiesWarm":     {Status: corev1.ConditionTrue},
			"Ready":           {Status: corev1.ConditionUnknown},
		},
	}, {
		name: "both true",
		mark: func(s *ProxyPoolStatus) {
			s.MarkDeploymentReady()
			s.MarkProxiesWarm()
		},
		want: map[apis.ConditionType]cond{
			"DeploymentReady": {Status: corev1.ConditionTrue},
			"ProxiesWarm":     {Status: corev1.ConditionTrue},
			"Ready":           {Status: corev1.ConditionTrue},
		},
		wantReady: true,
	}, {
		name: "deployment not ready",
		mark: func(s *ProxyPoolStatus) {
			s.MarkProxiesWarm()
			s.MarkDeploymentNotReady("MinimumReplicasUnavailable", "Deployment %q has %d of %d replicas available", "pool-default", 1, 3)
		},
		want: map[apis.ConditionType]cond{
			"DeploymentReady": {Status: corev1.ConditionFalse, Reason: "MinimumReplicasUnavailable",
				Message: `Deployment "pool-default" has 1 of 3 replicas available`},
			"ProxiesWarm": {Status: corev1.ConditionTrue},
			"Ready": {Status: corev1.ConditionFalse, Reason: "MinimumReplicasUnavailable",
				Message: `Deployment "pool-default" has 1 of 3 replicas available`},
		},
	}, {
		name: "proxies not warm after being ready",
		mark: func(s *ProxyPoolStatus) {
			s.MarkDeploymentReady()
			s.MarkProxiesWarm()
			s.MarkProxiesNotWarm("TooFewWarm", "%d of %d proxies warm", 0, 1)
		},
		want: map[apis.ConditionType]cond{
			"DeploymentReady": {Status: corev1.ConditionTrue},
			"ProxiesWarm":     {Status: corev1.ConditionFalse, Reason: "TooFewWarm", Message: "0 of 1 proxies warm"},
			"Ready":           {Status: corev1.ConditionFalse, Reason: "TooFewWarm", Message: "0 of 1 proxies warm"},
		},
	}, {
		name: "recovered",
		mark: func(s *ProxyPoolStatus) {
			s.MarkDeploymentNotReady("Progressing", "rolling out")
			s.MarkProxiesNotWarm("TooFewWarm", "0 of 1 proxies warm")
			s.MarkDeploymentReady()
			s.MarkProxiesWarm()
		},
		want: map[apis.ConditionType]cond{
			"DeploymentReady": {Status: corev1.ConditionTrue},
			"ProxiesWarm":     {Status: corev1.ConditionTrue},
			"Ready":           {Status: corev1.ConditionTrue},
		},
		wantReady: true,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := &ProxyPoolStatus{}
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
