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
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// validPool is a pool every test starts from; it is valid as it stands.
func validPool() *ProxyPool {
	return &ProxyPool{
		ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "knative-serving"},
		Spec: ProxyPoolSpec{
			MinSize:     ptr.To[int32](1),
			MaxSize:     ptr.To[int32](10),
			Image:       "envoyproxy/envoy:v1.34.1",
			IdleTimeout: &metav1.Duration{Duration: 5 * time.Minute},
			Sizing: ProxyPoolSizing{
				Policy:          SizingHistory,
				HeadroomPercent: ptr.To[int32](25),
			},
		},
	}
}

func TestProxyPoolValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*ProxyPool)
		want   string
	}{{
		name:   "no name",
		mutate: func(p *ProxyPool) { p.Name = "" },
		want:   "name or generateName is required: metadata.name",
	}, {
		name:   "a name too long to label the pool's pods",
		mutate: func(p *ProxyPool) { p.Name = strings.Repeat("p", 64) },
		want:   "not a DNS 1035 label: [must be no more than 63 characters]: metadata.name",
	}, {
		name:   "negative minSize",
		mutate: func(p *ProxyPool) { p.Spec.MinSize = ptr.To[int32](-1) },
		want:   "invalid value: -1: spec.minSize\nmust be 0 or more",
	}, {
		name:   "zero maxSize",
		mutate: func(p *ProxyPool) { p.Spec.MaxSize = ptr.To[int32](0) },
		want:   "invalid value: 0: spec.maxSize\nmust be 1 or more",
	}, {
		name: "negative minSize and zero maxSize are not also compared",
		mutate: func(p *ProxyPool) {
			p.Spec.MinSize = ptr.To[int32](-3)
			p.Spec.MaxSize = ptr.To[int32](-5)
		},
		want: "invalid value: -3: spec.minSize\nmust be 0 or more\ninvalid value: -5: spec.maxSize\nmust be 1 or more",
	}, {
		name: "minSize above maxSize",
		mutate: func(p *ProxyPool) {
			p.Spec.MinSize = ptr.To[int32](5)
			p.Spec.MaxSize = ptr.To[int32](3)
		},
		want: "minSize 5 is greater than maxSize 3: spec.maxSize, spec.minSize\nminSize must be at most maxSize",
	}, {
		name:   "no image",
		mutate: func(p *ProxyPool) { p.Spec.Image = "" },
		want:   "missing field(s): spec.image\nimage must name the Envoy container image the pool's pods run",
	}, {
		name:   "zero idleTimeout",
		mutate: func(p *ProxyPool) { p.Spec.IdleTimeout = &metav1.Duration{} },
		want:   "invalid value: 0s: spec.idleTimeout\nmust be a positive duration, e.g. 5m",
	}, {
		name:   "negative idleTimeout",
		mutate: func(p *ProxyPool) { p.Spec.IdleTimeout = &metav1.Duration{Duration: -time.Second} },
		want:   "invalid value: -1s: spec.idleTimeout\nmust be a positive duration, e.g. 5m",
	}, {
		name:   "unknown sizing policy",
		mutate: func(p *ProxyPool) { p.Spec.Sizing.Policy = "Random" },
		want:   "invalid value: Random: spec.sizing.policy\nallowed values: \"Fixed\", \"History\"",
	}, {
		name:   "sizing policy in the wrong case",
		mutate: func(p *ProxyPool) { p.Spec.Sizing.Policy = "history" },
		want:   "invalid value: history: spec.sizing.policy\nallowed values: \"Fixed\", \"History\"",
	}, {
		name:   "negative headroom",
		mutate: func(p *ProxyPool) { p.Spec.Sizing.HeadroomPercent = ptr.To[int32](-1) },
		want:   "expected 0 <= -1 <= 1000: spec.sizing.headroomPercent",
	}, {
		name:   "headroom above 1000",
		mutate: func(p *ProxyPool) { p.Spec.Sizing.HeadroomPercent = ptr.To[int32](1001) },
		want:   "expected 0 <= 1001 <= 1000: spec.sizing.headroomPercent",
	}, {
		name: "every error is reported, sorted by message",
		mutate: func(p *ProxyPool) {
			p.Spec.Image = ""
			p.Spec.MinSize = ptr.To[int32](-1)
			p.Spec.Sizing.HeadroomPercent = ptr.To[int32](2000)
		},
		want: "expected 0 <= 2000 <= 1000: spec.sizing.headroomPercent\n" +
			"invalid value: -1: spec.minSize\nmust be 0 or more\n" +
			"missing field(s): spec.image\nimage must name the Envoy container image the pool's pods run",
	}, {
		name:   "valid as built",
		mutate: func(*ProxyPool) {},
	}, {
		name: "valid: every optional field unset",
		mutate: func(p *ProxyPool) {
			p.Spec = ProxyPoolSpec{Image: "envoyproxy/envoy:v1.34.1"}
		},
	}, {
		name: "valid: smallest pool",
		mutate: func(p *ProxyPool) {
			p.Spec.MinSize = ptr.To[int32](0)
			p.Spec.MaxSize = ptr.To[int32](1)
		},
	}, {
		name: "valid: minSize equal to maxSize, fixed sizing",
		mutate: func(p *ProxyPool) {
			p.Spec.MinSize = ptr.To[int32](4)
			p.Spec.MaxSize = ptr.To[int32](4)
			p.Spec.Sizing.Policy = SizingFixed
		},
	}, {
		name: "valid: headroom bounds",
		mutate: func(p *ProxyPool) {
			p.Spec.Sizing.HeadroomPercent = ptr.To[int32](1000)
		},
	}, {
		name: "valid: no headroom",
		mutate: func(p *ProxyPool) {
			p.Spec.Sizing.HeadroomPercent = ptr.To[int32](0)
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := validPool()
			tc.mutate(p)
			got := ""
			if err := p.Validate(context.Background()); err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Validate() error (-want +got):\n%s", diff)
			}
		})
	}
}
