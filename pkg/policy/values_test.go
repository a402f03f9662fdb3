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
)

func TestParseLifecycle(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Lifecycle
		wantErr string
	}{
		{"", "", `invalid lifecycle "": must be one of: auto, short-lived, long-lived`},
		{"short", "", `invalid lifecycle "short": must be one of: auto, short-lived, long-lived`},
		{"auto", LifecycleAuto, ""},
		{"short-lived", LifecycleShortLived, ""},
		{"long-lived", LifecycleLongLived, ""},
	}
	for _, tc := range tests {
		got, err := ParseLifecycle(tc.in)
		if gotErr := errString(err); gotErr != tc.wantErr || got != tc.want {
			t.Errorf("ParseLifecycle(%q) = %q, %q; want %q, %q", tc.in, got, gotErr, tc.want, tc.wantErr)
		}
	}
}

func TestParseMTLSMode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    MTLSMode
		wantErr string
	}{
		{"STRICT", "", `invalid mTLS mode "STRICT": must be one of: lightweight, full`},
		{"", "", `invalid mTLS mode "": must be one of: lightweight, full`},
		{"lightweight", MTLSLightweight, ""},
		{"full", MTLSFull, ""},
	}
	for _, tc := range tests {
		got, err := ParseMTLSMode(tc.in)
		if gotErr := errString(err); gotErr != tc.wantErr || got != tc.want {
			t.Errorf("ParseMTLSMode(%q) = %q, %q; want %q, %q", tc.in, got, gotErr, tc.want, tc.wantErr)
		}
	}
}

func TestValidateProxyPoolName(t *testing.T) {
	t.Parallel()
	const allowed = ": must be none or a ProxyPool name (a DNS-1123 label: at most 63 lowercase letters, " +
		"digits and '-', starting and ending with a letter or digit)"
	tests := []struct {
		in      string
		wantErr string
	}{
		{"", `invalid proxy pool ""` + allowed},
		{"-warm", `invalid proxy pool "-warm"` + allowed},
		{"warm.pool", `invalid proxy pool "warm.pool"` + allowed},
		{strings.Repeat("a", 64), `invalid proxy pool "` + strings.Repeat("a", 64) + `"` + allowed},
		{"none", ""},
		{"warm", ""},
		{"0-pool-9", ""},
		{strings.Repeat("a", 63), ""},
	}
	for _, tc := range tests {
		if got := errString(ValidateProxyPoolName(tc.in)); got != tc.wantErr {
			t.Errorf("ValidateProxyPoolName(%q) = %q, want %q", tc.in, got, tc.wantErr)
		}
	}
}

func TestValidateRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      int64
		wantErr string
	}{
		{-1, "invalid retries -1: must be an integer from 0 to 10"},
		{11, "invalid retries 11: must be an integer from 0 to 10"},
		{0, ""},
		{10, ""},
	}
	for _, tc := range tests {
		if got := errString(ValidateRetries(tc.in)); got != tc.wantErr {
			t.Errorf("ValidateRetries(%d) = %q, want %q", tc.in, got, tc.wantErr)
		}
	}
}

func TestValidateTimeout(t *testing.T) {
	t.Parallel()
	const allowed = ": must be a Go duration (e.g. 500ms, 30s, 2m) greater than 0 and at most 1h0m0s"
	tests := []struct {
		in      time.Duration
		wantErr string
	}{
		{0, "invalid timeout 0s" + allowed},
		{-time.Second, "invalid timeout -1s" + allowed},
		{time.Hour + time.Nanosecond, "invalid timeout 1h0m0.000000001s" + allowed},
		{time.Nanosecond, ""},
		{time.Hour, ""},
	}
	for _, tc := range tests {
		if got := errString(ValidateTimeout(tc.in)); got != tc.wantErr {
			t.Errorf("ValidateTimeout(%v) = %q, want %q", tc.in, got, tc.wantErr)
		}
	}
}

// The allowed-value texts are constants; they must state the real limits.
func TestAllowedTextsMatchLimits(t *testing.T) {
	t.Parallel()
	if MaxTimeout != time.Hour || !strings.Contains(allowedTimeout, "at most 1h0m0s") {
		t.Errorf("MaxTimeout = %v but the message says %q", MaxTimeout, allowedTimeout)
	}
	if MaxRetries != 10 || !strings.Contains(allowedRetries, "from 0 to 10") {
		t.Errorf("MaxRetries = %d but the message says %q", MaxRetries, allowedRetries)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
