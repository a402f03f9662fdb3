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

package xdsprobe

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNormalizeTargetsRejects(t *testing.T) {
	t.Parallel()
	gw := Workload{Namespace: "istio-system", Labels: map[string]string{"istio": "ingressgateway"}}
	for _, tc := range []struct {
		name    string
		targets []Target
		wantErr []string
	}{{
		name:    "nothing to check",
		wantErr: []string{"no gateway workload to check"},
	}, {
		name:    "workload without labels",
		targets: []Target{{Workload: Workload{Namespace: "istio-system"}, Hosts: []string{"a.example.com"}}},
		wantErr: []string{"istio-system{}", "no labels"},
	}, {
		name:    "workload without hosts",
		targets: []Target{{Workload: gw}},
		wantErr: []string{"istio-system{istio=ingressgateway}", "no hosts to check"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := normalizeTargets(tc.targets)
			if err == nil {
				t.Fatalf("normalizeTargets() = %v, want an error", got)
			}
			for _, part := range tc.wantErr {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not contain %q", err, part)
				}
			}
		})
	}
	if _, err := normalizeTargets(nil); !errors.Is(err, ErrNoTargets) {
		t.Errorf("normalizeTargets(nil) = %v, want ErrNoTargets", err)
	}
}

func TestNormalizeTargets(t *testing.T) {
	t.Parallel()
	ingressGW := Workload{Namespace: "istio-system", Labels: map[string]string{"istio": "ingressgateway"}}
	localGW := Workload{Namespace: "istio-system", Labels: map[string]string{"istio": "local-gateway"}}
	got, err := normalizeTargets([]Target{
		{Workload: localGW, Hosts: []string{"hello.default.svc.cluster.local", "hello.default"}},
		{Workload: ingressGW, Hosts: []string{"Hello.Default.Example.com"}},
		// A second Gateway on the same pods (a KIngress's own TLS Gateway).
		{Workload: Workload{Namespace: "istio-system", Labels: map[string]string{"istio": "ingressgateway"}},
			Hosts: []string{"hello.default.example.com", "api.example.com"}},
	})
	if err != nil {
		t.Fatal("normalizeTargets() =", err)
	}
	want := []Target{
		{Workload: ingressGW, Hosts: []string{"api.example.com", "hello.default.example.com"}},
		{Workload: localGW, Hosts: []string{"hello.default", "hello.default.svc.cluster.local"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("normalizeTargets() (-want, +got):\n%s", diff)
	}
}
