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

package resources

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"
	"knative.dev/networking/pkg/ingress"
)

func TestProbeHash(t *testing.T) {
	t.Parallel()
	ing := ingressWith(rule(v1alpha1.IngressVisibilityExternalIP, []string{"hello.example.com"}, helloPath()))
	// sha256 of the spec's JSON followed by namespace and name:
	// {"rules":[{"hosts":["hello.example.com"],"visibility":"ExternalIP","http":{"paths":[{"splits":
	// [{"serviceNamespace":"default","serviceName":"hello-00001","servicePort":80,"percent":100}]}]}}],
	// "httpOption":"Enabled"}defaulthello
	const want = "24ce027f0d902954c65e18d3b475bf77caddaf0dad6d6aa15945205619500dd3"
	got, err := ProbeHash(ing)
	if err != nil {
		t.Fatalf("ProbeHash: %v", err)
	}
	if got != want {
		t.Errorf("ProbeHash = %q, want %q", got, want)
	}
}

// TestWithProbesMatchesUpstream proves withProbes is knative.dev/networking's
// InsertProbe without the mutation: same rules out, caller's rules untouched.
func TestWithProbesMatchesUpstream(t *testing.T) {
	t.Parallel()
	ing := ingressWith(
		rule(v1alpha1.IngressVisibilityExternalIP, []string{"hello.example.com"}, v1alpha1.HTTPIngressPath{
			Path:          "/api",
			Headers:       map[string]v1alpha1.HeaderMatch{"X-User": {Exact: "alice"}},
			AppendHeaders: map[string]string{"K-Original-Host": "hello.example.com"},
			Splits: []v1alpha1.IngressBackendSplit{
				split("default", "hello-00001", 80, 70),
				split("default", "hello-00002", 80, 30),
			},
		}, helloPath()),
		rule(v1alpha1.IngressVisibilityClusterLocal, []string{"hello.default.svc.cluster.local"}, helloPath()),
	)
	before := ing.DeepCopy()

	upstream := ing.DeepCopy()
	hash, err := ingress.InsertProbe(upstream)
	if err != nil {
		t.Fatalf("InsertProbe: %v", err)
	}
	got := withProbes(ing.Spec.Rules, hash)
	if diff := cmp.Diff(upstream.Spec.Rules, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("withProbes differs from InsertProbe (-upstream, +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, ing); diff != "" {
		t.Errorf("withProbes mutated the KIngress (-before, +after):\n%s", diff)
	}
}
