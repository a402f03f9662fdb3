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
	"slices"
	"strings"
	"testing"
	"time"
)

func FuzzParseAnnotations(f *testing.F) {
	seeds := [][4]string{
		{"ssm.dev/lifecycle", "auto", "ssm.dev/timeout", "2s"},
		{"ssm.dev/lifecycle", "short-lived", "ssm.dev/retries", "0"},
		{"ssm.dev/lifecycle", "long-lived", "ssm.dev/mtls-mode", "full"},
		{"ssm.dev/lifecycle", "forever", "ssm.dev/timeout", "30"},
		{"ssm.dev/timeout", "1h", "ssm.dev/retries", "10"},
		{"ssm.dev/timeout", "-1s", "ssm.dev/retries", "11"},
		{"ssm.dev/timeout", "9223372036854775807ns", "ssm.dev/retries", "-2147483649"},
		{"ssm.dev/mtls-mode", "lightweight", "ssm.dev/proxy-pool", "warm"},
		{"ssm.dev/mtls-mode", "full", "ssm.dev/proxy-pool", "warm"},
		{"ssm.dev/mtls-mode", "full", "ssm.dev/proxy-pool", "none"},
		{"ssm.dev/proxy-pool", "Pool_A", "ssm.dev/lifecyle", "auto"},
		{"ssm.dev/", "", "example.com/x", "y"},
		{"qpoption.knative.dev/ssm-activate", "enable", "", ""},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2], s[3])
	}
	known := knownAnnotationKeys()
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		annotations := map[string]string{k1: v1, k2: v2}
		o, err := ParseAnnotations(annotations)
		if err != nil {
			if msg := err.Error(); !strings.Contains(msg, "metadata.annotations[ssm.dev/") {
				t.Fatalf("error %q names no annotation", msg)
			}
			return
		}
		for k := range annotations {
			if strings.HasPrefix(k, "ssm.dev/") && !slices.Contains(known, k) {
				t.Fatalf("unknown key %q accepted", k)
			}
		}
		if fe := o.Validate(); fe != nil {
			t.Fatalf("ParseAnnotations(%v) = %+v, which does not validate: %v", annotations, o, fe)
		}
		if o.Timeout != nil && (*o.Timeout <= 0 || *o.Timeout > time.Hour) {
			t.Fatalf("timeout %v out of range", *o.Timeout)
		}
		if o.Retries != nil && (*o.Retries < 0 || *o.Retries > 10) {
			t.Fatalf("retries %d out of range", *o.Retries)
		}
		// Every accepted value must be one the user wrote.
		if o.Lifecycle != nil && string(*o.Lifecycle) != annotations["ssm.dev/lifecycle"] {
			t.Fatalf("lifecycle %q, annotation %q", *o.Lifecycle, annotations["ssm.dev/lifecycle"])
		}
		if o.ProxyPool != nil && *o.ProxyPool != annotations["ssm.dev/proxy-pool"] {
			t.Fatalf("proxy pool %q, annotation %q", *o.ProxyPool, annotations["ssm.dev/proxy-pool"])
		}
	})
}

func FuzzResolve(f *testing.F) {
	f.Add(int64(200*time.Millisecond), 20, int64(5*time.Minute), uint8(0), int32(-1), "")
	f.Add(int64(30*time.Second), 100, int64(0), uint8(1), int32(2), "warm")
	f.Add(int64(-1), 0, int64(-5), uint8(2), int32(11), "none")
	f.Add(int64(1<<62), 1<<30, int64(time.Hour), uint8(3), int32(0), "Bad")
	f.Fuzz(func(t *testing.T, p99 int64, samples int, revision int64, previous uint8, retries int32, pool string) {
		prev := []Lifecycle{"", LifecycleAuto, LifecycleShortLived, LifecycleLongLived}[previous%4]
		in := Input{
			Defaults:        NewDefaults(),
			RevisionTimeout: time.Duration(revision),
			Observation:     &Observation{P99: time.Duration(p99), Samples: samples},
			Previous:        prev,
			Policy:          &Overrides{},
		}
		if retries >= 0 {
			in.Policy.Retries = &retries
		}
		if pool != "" {
			in.Annotations.ProxyPool = &pool
			in.Annotations.MTLSMode = ptr(MTLSLightweight)
		}
		p, err := Resolve(in)
		if err != nil {
			return
		}
		if !concreteLifecycle(p.Lifecycle) {
			t.Fatalf("lifecycle %q is not concrete", p.Lifecycle)
		}
		if p.Timeout < 0 || (revision > 0 && p.Timeout > time.Duration(revision)) {
			t.Fatalf("timeout %v with revision timeout %v", p.Timeout, time.Duration(revision))
		}
		if (p.Retries == 0) != (p.RetryOn == "") {
			t.Fatalf("retries %d with retryOn %q", p.Retries, p.RetryOn)
		}
		if p.MTLSMode == MTLSFull && p.ProxyPool != "" {
			t.Fatalf("full mTLS with pool %q", p.ProxyPool)
		}
		if len(p.Sources) != 5 {
			t.Fatalf("sources %v", p.Sources)
		}
	})
}
