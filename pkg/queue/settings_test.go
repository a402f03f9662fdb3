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

package queue

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDecideSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		annotations map[string]string
		want        Settings
		wantProblem bool
	}{{
		name:        "switch absent",
		annotations: map[string]string{"ssm.dev/mtls-mode": "lightweight"},
		want:        Settings{},
	}, {
		name:        "switch with another value",
		annotations: map[string]string{"qpoption.knative.dev/ssm-activate": "disable"},
		want:        Settings{},
	}, {
		name: "short-lived with a timeout",
		annotations: map[string]string{
			"qpoption.knative.dev/ssm-activate": "enable",
			"ssm.dev/lifecycle":                 "short-lived",
			"ssm.dev/timeout":                   "2s",
		},
		want: Settings{Active: true, RequireMTLS: true, Timeout: 2 * time.Second},
	}, {
		name: "short-lived without a timeout gets the revision's",
		annotations: map[string]string{
			"qpoption.knative.dev/ssm-activate": "enable",
			"ssm.dev/lifecycle":                 "short-lived",
		},
		want: Settings{Active: true, RequireMTLS: true, Timeout: 300 * time.Second},
	}, {
		name: "full mTLS: the sidecar enforces it",
		annotations: map[string]string{
			"qpoption.knative.dev/ssm-activate": "enable",
			"ssm.dev/mtls-mode":                 "full",
			"ssm.dev/proxy-pool":                "none",
		},
		want: Settings{Active: true, RequireMTLS: false, Timeout: 300 * time.Second},
	}, {
		name: "born sidecar-less by a ServerlessPolicy (no ssm.dev/* on the pod): plaintext refused",
		annotations: map[string]string{
			"qpoption.knative.dev/ssm-activate": "enable",
			"resolved.ssm.dev/pods":             "sidecarless",
			"resolved.ssm.dev/proxy-pool":       "default",
		},
		want: Settings{Active: true, RequireMTLS: true, Timeout: 300 * time.Second},
	}, {
		name: "bad timeout fails closed for mTLS, open for the deadline",
		annotations: map[string]string{
			"qpoption.knative.dev/ssm-activate": "enable",
			"ssm.dev/lifecycle":                 "short-lived",
			"ssm.dev/timeout":                   "soon",
		},
		want:        Settings{Active: true, RequireMTLS: true},
		wantProblem: true,
	}, {
		name: "unknown ssm.dev key",
		annotations: map[string]string{
			"qpoption.knative.dev/ssm-activate": "enable",
			"ssm.dev/lifecyle":                  "short-lived",
		},
		want:        Settings{Active: true, RequireMTLS: true},
		wantProblem: true,
	}, {
		name: "full mTLS with a named pool conflicts",
		annotations: map[string]string{
			"qpoption.knative.dev/ssm-activate": "enable",
			"ssm.dev/mtls-mode":                 "full",
			"ssm.dev/proxy-pool":                "default",
		},
		want:        Settings{Active: true, RequireMTLS: true},
		wantProblem: true,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := DecideSettings(tc.annotations, 300*time.Second)
			if (got.Problem != "") != tc.wantProblem {
				t.Errorf("Problem = %q, want a problem: %v", got.Problem, tc.wantProblem)
			}
			got.Problem = ""
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("DecideSettings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParsePodInfoAnnotations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		data    string
		want    map[string]string
		wantErr bool
	}{{
		name: "downward API format",
		data: "qpoption.knative.dev/ssm-activate=\"enable\"\nssm.dev/timeout=\"2s\"\n" +
			"serving.knative.dev/creator=\"a \\\"quoted\\\" name\"\n",
		want: map[string]string{
			"qpoption.knative.dev/ssm-activate": "enable",
			"ssm.dev/timeout":                   "2s",
			"serving.knative.dev/creator":       `a "quoted" name`,
		},
	}, {
		name: "empty file",
		data: "",
		want: map[string]string{},
	}, {
		name:    "unquoted value",
		data:    "ssm.dev/timeout=2s\n",
		wantErr: true,
	}, {
		name:    "no equals sign",
		data:    "ssm.dev/timeout\n",
		wantErr: true,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParsePodInfoAnnotations([]byte(tc.data))
			if (err != nil) != tc.wantErr {
				t.Fatalf("error = %v, want error: %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); !tc.wantErr && diff != "" {
				t.Errorf("annotations (-want +got):\n%s", diff)
			}
		})
	}
}
