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

package resolver

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
	"github.com/serverless-mesh/ssm/pkg/policy"
)

func serverlessPolicy(spec v1alpha1.ServerlessPolicySpec) *v1alpha1.ServerlessPolicy {
	return &v1alpha1.ServerlessPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "functions"}, Spec: spec}
}

// The fields of a resolution the table checks, written out by hand.
type answer struct {
	Governed  bool
	Lifecycle policy.Lifecycle
	Timeout   time.Duration
	MTLSMode  policy.MTLSMode
	ProxyPool string
	Sources   map[string]policy.Source
	Pods      Pods
}

func TestResolve(t *testing.T) {
	t.Parallel()
	fast := &policy.Observation{P50: 20 * time.Millisecond, P99: 50 * time.Millisecond, Samples: 100}
	tests := []struct {
		name    string
		in      Inputs
		want    answer
		wantErr string
	}{{
		name: "no ssm.dev annotation and no policy: not governed, whatever config-ssm says",
		in:   Inputs{Annotations: map[string]string{"autoscaling.knative.dev/min-scale": "1"}, SidecarlessRevisions: true},
		want: answer{Pods: Pods{Unleasable: UnleasableNotGoverned}},
	}, {
		name: "short-lived by annotation: sidecar-less, leased from the class's pool",
		in: Inputs{Annotations: map[string]string{"ssm.dev/lifecycle": "short-lived"}, SidecarlessRevisions: true,
			RevisionTimeout: 300 * time.Second},
		want: answer{Governed: true, Lifecycle: "short-lived", Timeout: 300 * time.Second, MTLSMode: "lightweight", ProxyPool: "default",
			Sources: map[string]policy.Source{"Lifecycle": "annotation", "Timeout": "Revision", "Retries": "config-ssm",
				"MTLSMode": "config-ssm", "ProxyPool": "config-ssm"},
			Pods: Pods{Sidecarless: true, ProxyPool: "default"}},
	}, {
		name: "governed only by a ServerlessPolicy with lightweight mTLS and a pool: sidecar-less and leased",
		in: Inputs{Policy: serverlessPolicy(v1alpha1.ServerlessPolicySpec{MTLSMode: "lightweight", ProxyPool: "edge"}),
			SidecarlessRevisions: true},
		want: answer{Governed: true, Lifecycle: "long-lived", MTLSMode: "lightweight", ProxyPool: "edge",
			Sources: map[string]policy.Source{"Lifecycle": "config-ssm", "Timeout": "Revision", "Retries": "config-ssm",
				"MTLSMode": "ServerlessPolicy", "ProxyPool": "ServerlessPolicy"},
			Pods: Pods{Sidecarless: true, ProxyPool: "edge"}},
	}, {
		name: "an annotation wins over the policy",
		in: Inputs{Annotations: map[string]string{"ssm.dev/proxy-pool": "none"},
			Policy:               serverlessPolicy(v1alpha1.ServerlessPolicySpec{MTLSMode: "lightweight", ProxyPool: "edge"}),
			SidecarlessRevisions: true},
		want: answer{Governed: true, Lifecycle: "long-lived", MTLSMode: "lightweight",
			Sources: map[string]policy.Source{"Lifecycle": "config-ssm", "Timeout": "Revision", "Retries": "config-ssm",
				"MTLSMode": "ServerlessPolicy", "ProxyPool": "annotation"},
			Pods: Pods{Unleasable: "its policy keeps the Istio sidecar in its pods (full mTLS, or long-lived without a named pool)"}},
	}, {
		name: "with sidecarless-revisions off, a short-lived revision keeps its sidecar",
		in:   Inputs{Annotations: map[string]string{"ssm.dev/lifecycle": "short-lived"}},
		want: answer{Governed: true, Lifecycle: "short-lived", MTLSMode: "lightweight", ProxyPool: "default",
			Sources: map[string]policy.Source{"Lifecycle": "annotation", "Timeout": "Revision", "Retries": "config-ssm",
				"MTLSMode": "config-ssm", "ProxyPool": "config-ssm"},
			Pods: Pods{Unleasable: UnleasableSwitchOff}},
	}, {
		name: "auto observed fast: routes get the short-lived policy, new pods are born as auto starts (long-lived)",
		in: Inputs{Annotations: map[string]string{"ssm.dev/lifecycle": "auto"}, SidecarlessRevisions: true,
			Observation: fast, RevisionTimeout: 300 * time.Second},
		want: answer{Governed: true, Lifecycle: "short-lived", Timeout: time.Second, MTLSMode: "lightweight", ProxyPool: "default",
			Sources: map[string]policy.Source{"Lifecycle": "observed", "Timeout": "observed", "Retries": "config-ssm",
				"MTLSMode": "config-ssm", "ProxyPool": "config-ssm"},
			Pods: Pods{Unleasable: "its policy keeps the Istio sidecar in its pods (full mTLS, or long-lived without a named pool)"}},
	}, {
		name:    "a bad annotation names itself",
		in:      Inputs{Annotations: map[string]string{"ssm.dev/retries": "many"}},
		wantErr: `invalid value: "many": metadata.annotations[ssm.dev/retries]` + "\n" + `ssm.dev/retries must be an integer from 0 to 10`,
	}, {
		name: "a conflict that involves the policy names it",
		in: Inputs{Annotations: map[string]string{"ssm.dev/mtls-mode": "full"},
			Policy: serverlessPolicy(v1alpha1.ServerlessPolicySpec{ProxyPool: "edge"})},
		wantErr: `with ServerlessPolicy "functions": mTLS mode "full" (from annotation ssm.dev/mtls-mode) conflicts with proxy pool "edge" ` +
			`(from ServerlessPolicy spec.proxyPool): a full-mTLS revision keeps its own Istio sidecar, while a pooled proxy serves only ` +
			`sidecar-less (lightweight) pods; use mTLS mode lightweight or proxy pool none`,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := tc.in
			in.Defaults = policy.NewDefaults()
			res, err := Resolve(in)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("Resolve() error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve() = %v", err)
			}
			got := answer{Governed: res.Governed, Lifecycle: res.Policy.Lifecycle, Timeout: res.Policy.Timeout,
				MTLSMode: res.Policy.MTLSMode, ProxyPool: res.Policy.ProxyPool, Sources: res.Policy.Sources, Pods: res.Pods}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Resolve() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStamp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		pods      Pods
		wantStamp map[string]string
		// wantRead is what StampedPods reads back from the stamp.
		wantRead Pods
	}{{
		name:      "sidecar-less for a pool",
		pods:      Pods{Sidecarless: true, ProxyPool: "default"},
		wantStamp: map[string]string{"resolved.ssm.dev/pods": "sidecarless", "resolved.ssm.dev/proxy-pool": "default"},
		wantRead:  Pods{Sidecarless: true, ProxyPool: "default"},
	}, {
		name:      "sidecar-less without a pool",
		pods:      Pods{Sidecarless: true, Unleasable: UnleasableNoPool},
		wantStamp: map[string]string{"resolved.ssm.dev/pods": "sidecarless"},
		wantRead:  Pods{Sidecarless: true, Unleasable: UnleasableNoPool},
	}, {
		name:      "keeps its sidecar",
		pods:      Pods{Unleasable: UnleasableSwitchOff},
		wantStamp: map[string]string{"resolved.ssm.dev/pods": "sidecar"},
		wantRead:  Pods{Unleasable: UnleasableNotGoverned},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stamp := tc.pods.Stamp()
			if diff := cmp.Diff(tc.wantStamp, stamp); diff != "" {
				t.Errorf("Stamp() (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantRead, StampedPods(stamp)); diff != "" {
				t.Errorf("StampedPods(Stamp()) (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStampedPods(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		annotations map[string]string
		want        Pods
	}{
		{"nothing", nil, Pods{Unleasable: UnleasableNotStamped}},
		{"governed, never stamped", map[string]string{"ssm.dev/lifecycle": "short-lived"}, Pods{Unleasable: UnleasableNotStamped}},
		{"an unknown value", map[string]string{"resolved.ssm.dev/pods": "maybe", "resolved.ssm.dev/proxy-pool": "default"},
			Pods{Unleasable: UnleasableNotStamped}},
		{"sidecar, governed", map[string]string{"ssm.dev/lifecycle": "long-lived", "resolved.ssm.dev/pods": "sidecar"},
			Pods{Unleasable: UnleasableSidecar}},
		{"a pool beside a sidecar is not leasable", map[string]string{"resolved.ssm.dev/pods": "sidecar", "resolved.ssm.dev/proxy-pool": "default"},
			Pods{Unleasable: UnleasableNotGoverned}},
		{"pool none", map[string]string{"resolved.ssm.dev/pods": "sidecarless", "resolved.ssm.dev/proxy-pool": "none"},
			Pods{Sidecarless: true, Unleasable: UnleasableNoPool}},
	} {
		if got := StampedPods(tc.annotations); !cmp.Equal(tc.want, got) {
			t.Errorf("%s: StampedPods() = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
