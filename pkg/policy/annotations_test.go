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

package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func ptr[T any](v T) *T { return &v }

func TestParseAnnotationsRejects(t *testing.T) {
	t.Parallel()
	const (
		lifecycles = "must be one of: auto, short-lived, long-lived"
		durations  = "must be a Go duration (e.g. 500ms, 30s, 2m) greater than 0 and at most 1h0m0s"
		retries    = "must be an integer from 0 to 10"
		modes      = "must be one of: lightweight, full"
		pools      = "must be none or a ProxyPool name (a DNS-1123 label"
	)
	tests := []struct {
		name        string
		annotations map[string]string
		// want are substrings of the error: the key, the quoted bad value and
		// the allowed values.
		want []string
		// count is how many distinct errors are reported.
		count int
	}{
		{"lifecycle unknown", map[string]string{"ssm.dev/lifecycle": "forever"},
			[]string{"metadata.annotations[ssm.dev/lifecycle]", `"forever"`, lifecycles}, 1},
		{"lifecycle wrong case", map[string]string{"ssm.dev/lifecycle": "Auto"},
			[]string{"metadata.annotations[ssm.dev/lifecycle]", `"Auto"`, lifecycles}, 1},
		{"lifecycle empty", map[string]string{"ssm.dev/lifecycle": ""},
			[]string{"metadata.annotations[ssm.dev/lifecycle]", `invalid value: ""`, lifecycles}, 1},
		{"lifecycle padded", map[string]string{"ssm.dev/lifecycle": " short-lived"},
			[]string{"metadata.annotations[ssm.dev/lifecycle]", `" short-lived"`, lifecycles}, 1},
		{"timeout without unit", map[string]string{"ssm.dev/timeout": "30"},
			[]string{"metadata.annotations[ssm.dev/timeout]", `"30"`, durations}, 1},
		{"timeout zero", map[string]string{"ssm.dev/timeout": "0s"},
			[]string{"metadata.annotations[ssm.dev/timeout]", `"0s"`, durations}, 1},
		{"timeout negative", map[string]string{"ssm.dev/timeout": "-1s"},
			[]string{"metadata.annotations[ssm.dev/timeout]", `"-1s"`, durations}, 1},
		{"timeout above max", map[string]string{"ssm.dev/timeout": "61m"},
			[]string{"metadata.annotations[ssm.dev/timeout]", `"61m"`, durations}, 1},
		{"timeout garbage", map[string]string{"ssm.dev/timeout": "soon"},
			[]string{"metadata.annotations[ssm.dev/timeout]", `"soon"`, durations}, 1},
		{"retries negative", map[string]string{"ssm.dev/retries": "-1"},
			[]string{"metadata.annotations[ssm.dev/retries]", `"-1"`, retries}, 1},
		{"retries above max", map[string]string{"ssm.dev/retries": "11"},
			[]string{"metadata.annotations[ssm.dev/retries]", `"11"`, retries}, 1},
		{"retries overflow int32", map[string]string{"ssm.dev/retries": "4294967297"},
			[]string{"metadata.annotations[ssm.dev/retries]", `"4294967297"`, retries}, 1},
		{"retries word", map[string]string{"ssm.dev/retries": "three"},
			[]string{"metadata.annotations[ssm.dev/retries]", `"three"`, retries}, 1},
		{"retries fraction", map[string]string{"ssm.dev/retries": "1.5"},
			[]string{"metadata.annotations[ssm.dev/retries]", `"1.5"`, retries}, 1},
		{"mtls istio word", map[string]string{"ssm.dev/mtls-mode": "strict"},
			[]string{"metadata.annotations[ssm.dev/mtls-mode]", `"strict"`, modes}, 1},
		{"mtls upper case", map[string]string{"ssm.dev/mtls-mode": "FULL"},
			[]string{"metadata.annotations[ssm.dev/mtls-mode]", `"FULL"`, modes}, 1},
		{"pool upper case", map[string]string{"ssm.dev/proxy-pool": "Pool_A"},
			[]string{"metadata.annotations[ssm.dev/proxy-pool]", `"Pool_A"`, pools}, 1},
		{"pool with dot", map[string]string{"ssm.dev/proxy-pool": "a.b"},
			[]string{"metadata.annotations[ssm.dev/proxy-pool]", `"a.b"`, pools}, 1},
		{"pool empty", map[string]string{"ssm.dev/proxy-pool": ""},
			[]string{"metadata.annotations[ssm.dev/proxy-pool]", `invalid value: ""`, pools}, 1},
		{"pool too long", map[string]string{"ssm.dev/proxy-pool": strings.Repeat("p", 64)},
			[]string{"metadata.annotations[ssm.dev/proxy-pool]", strings.Repeat("p", 64), pools}, 1},
		{"unknown ssm key", map[string]string{"ssm.dev/lifecyle": "auto"},
			[]string{`invalid key name "ssm.dev/lifecyle"`, "metadata.annotations[ssm.dev/lifecyle]",
				`known keys are "ssm.dev/lifecycle", "ssm.dev/timeout", "ssm.dev/retries", "ssm.dev/mtls-mode", "ssm.dev/proxy-pool"`}, 1},
		{"full mTLS with a named pool", map[string]string{"ssm.dev/mtls-mode": "full", "ssm.dev/proxy-pool": "warm"},
			[]string{"metadata.annotations[ssm.dev/mtls-mode]", "metadata.annotations[ssm.dev/proxy-pool]",
				`ssm.dev/mtls-mode "full" conflicts with ssm.dev/proxy-pool "warm"`, "use mTLS mode lightweight or proxy pool none"}, 1},
		{"every error is collected", map[string]string{
			"ssm.dev/lifecycle": "forever",
			"ssm.dev/timeout":   "30",
			"ssm.dev/retries":   "11",
			"ssm.dev/mtls-mode": "strict",
			"ssm.dev/pool":      "warm",
			"example.com/other": "ignored",
		}, []string{`"forever"`, lifecycles, `"30"`, durations, `"11"`, retries, `"strict"`, modes,
			`invalid key name "ssm.dev/pool"`}, 5},
		{"conflict reported with other errors", map[string]string{
			"ssm.dev/mtls-mode":  "full",
			"ssm.dev/proxy-pool": "warm",
			"ssm.dev/retries":    "-1",
		}, []string{`ssm.dev/mtls-mode "full" conflicts with ssm.dev/proxy-pool "warm"`, `"-1"`, retries}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseAnnotations(tc.annotations)
			if err == nil {
				t.Fatal("ParseAnnotations() = nil error, want one")
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if got := len(err.WrappedErrors()); got != tc.count {
				t.Errorf("got %d errors, want %d: %v", got, tc.count, msg)
			}
		})
	}
}

func TestParseAnnotationsMessage(t *testing.T) {
	t.Parallel()
	_, err := ParseAnnotations(map[string]string{"ssm.dev/lifecycle": "forever"})
	want := "invalid value: \"forever\": metadata.annotations[ssm.dev/lifecycle]\n" +
		"ssm.dev/lifecycle must be one of: auto, short-lived, long-lived"
	if got := err.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	// The webhook may nest the error under another field; the key must
	// survive FieldError's splitting of paths on '.'.
	if got, want := err.ViaField("spec", "template").Error(),
		"invalid value: \"forever\": spec.template.metadata.annotations[ssm.dev/lifecycle]\n"+
			"ssm.dev/lifecycle must be one of: auto, short-lived, long-lived"; got != want {
		t.Errorf("ViaField().Error() = %q, want %q", got, want)
	}
}

func TestParseAnnotations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		annotations map[string]string
		want        Overrides
	}{
		{"nil", nil, Overrides{}},
		{"other prefixes ignored", map[string]string{
			"autoscaling.knative.dev/min-scale": "1",
			"qpoption.knative.dev/ssm-activate": "enable",
			"xssm.dev/lifecycle":                "bogus",
			"ssm.dev":                           "bogus",
		}, Overrides{}},
		{"lifecycle auto", map[string]string{"ssm.dev/lifecycle": "auto"}, Overrides{Lifecycle: ptr(LifecycleAuto)}},
		{"lifecycle short-lived", map[string]string{"ssm.dev/lifecycle": "short-lived"}, Overrides{Lifecycle: ptr(LifecycleShortLived)}},
		{"lifecycle long-lived", map[string]string{"ssm.dev/lifecycle": "long-lived"}, Overrides{Lifecycle: ptr(LifecycleLongLived)}},
		{"timeout ms", map[string]string{"ssm.dev/timeout": "500ms"}, Overrides{Timeout: ptr(500 * time.Millisecond)}},
		{"timeout compound", map[string]string{"ssm.dev/timeout": "1m30s"}, Overrides{Timeout: ptr(90 * time.Second)}},
		{"timeout max", map[string]string{"ssm.dev/timeout": "1h"}, Overrides{Timeout: ptr(time.Hour)}},
		{"retries zero", map[string]string{"ssm.dev/retries": "0"}, Overrides{Retries: ptr[int32](0)}},
		{"retries max", map[string]string{"ssm.dev/retries": "10"}, Overrides{Retries: ptr[int32](10)}},
		{"mtls lightweight", map[string]string{"ssm.dev/mtls-mode": "lightweight"}, Overrides{MTLSMode: ptr(MTLSLightweight)}},
		{"mtls full", map[string]string{"ssm.dev/mtls-mode": "full"}, Overrides{MTLSMode: ptr(MTLSFull)}},
		{"pool named", map[string]string{"ssm.dev/proxy-pool": "warm-1"}, Overrides{ProxyPool: ptr("warm-1")}},
		{"pool none", map[string]string{"ssm.dev/proxy-pool": "none"}, Overrides{ProxyPool: ptr("none")}},
		{"full mTLS without pool", map[string]string{"ssm.dev/mtls-mode": "full", "ssm.dev/proxy-pool": "none"},
			Overrides{MTLSMode: ptr(MTLSFull), ProxyPool: ptr("none")}},
		{"everything", map[string]string{
			"ssm.dev/lifecycle":  "short-lived",
			"ssm.dev/timeout":    "2s",
			"ssm.dev/retries":    "1",
			"ssm.dev/mtls-mode":  "lightweight",
			"ssm.dev/proxy-pool": "warm",
			"example.com/x":      "y",
		}, Overrides{
			Lifecycle: ptr(LifecycleShortLived),
			Timeout:   ptr(2 * time.Second),
			Retries:   ptr[int32](1),
			MTLSMode:  ptr(MTLSLightweight),
			ProxyPool: ptr("warm"),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseAnnotations(tc.annotations)
			if err != nil {
				t.Fatalf("ParseAnnotations() = %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseAnnotations() (-want,+got):\n%s", diff)
			}
		})
	}
}

func TestHasSSMAnnotations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		annotations map[string]string
		want        bool
	}{
		{"nil", nil, false},
		{"other prefixes", map[string]string{"qpoption.knative.dev/ssm-activate": "enable", "ssm.dev": "x"}, false},
		{"known key", map[string]string{"ssm.dev/lifecycle": "auto"}, true},
		{"unknown ssm key", map[string]string{"ssm.dev/typo": ""}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := HasSSMAnnotations(tc.annotations); got != tc.want {
				t.Errorf("HasSSMAnnotations() = %v, want %v", got, tc.want)
			}
		})
	}
}
