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
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestProxyPoolSetDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   ProxyPoolSpec
		want ProxyPoolSpec
	}{{
		name: "everything unset",
		in:   ProxyPoolSpec{Image: "envoy"},
		want: ProxyPoolSpec{
			MinSize:     ptr.To[int32](1),
			MaxSize:     ptr.To[int32](10),
			Image:       "envoy",
			IdleTimeout: &metav1.Duration{Duration: 5 * time.Minute},
			Sizing:      ProxyPoolSizing{Policy: "History", HeadroomPercent: ptr.To[int32](25)},
		},
	}, {
		name: "everything set is kept",
		in: ProxyPoolSpec{
			MinSize:     ptr.To[int32](0),
			MaxSize:     ptr.To[int32](3),
			Image:       "envoy",
			IdleTimeout: &metav1.Duration{Duration: time.Minute},
			Sizing:      ProxyPoolSizing{Policy: "Fixed", HeadroomPercent: ptr.To[int32](0)},
		},
		want: ProxyPoolSpec{
			MinSize:     ptr.To[int32](0),
			MaxSize:     ptr.To[int32](3),
			Image:       "envoy",
			IdleTimeout: &metav1.Duration{Duration: time.Minute},
			Sizing:      ProxyPoolSizing{Policy: "Fixed", HeadroomPercent: ptr.To[int32](0)},
		},
	}, {
		name: "maxSize follows a minSize above the default maximum",
		in:   ProxyPoolSpec{MinSize: ptr.To[int32](20)},
		want: ProxyPoolSpec{
			MinSize:     ptr.To[int32](20),
			MaxSize:     ptr.To[int32](20),
			IdleTimeout: &metav1.Duration{Duration: 5 * time.Minute},
			Sizing:      ProxyPoolSizing{Policy: "History", HeadroomPercent: ptr.To[int32](25)},
		},
	}, {
		name: "an explicit maxSize below minSize is left for validation to reject",
		in:   ProxyPoolSpec{MinSize: ptr.To[int32](20), MaxSize: ptr.To[int32](2)},
		want: ProxyPoolSpec{
			MinSize:     ptr.To[int32](20),
			MaxSize:     ptr.To[int32](2),
			IdleTimeout: &metav1.Duration{Duration: 5 * time.Minute},
			Sizing:      ProxyPoolSizing{Policy: "History", HeadroomPercent: ptr.To[int32](25)},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := &ProxyPool{Spec: tc.in}
			p.SetDefaults(context.Background())
			if diff := cmp.Diff(tc.want, p.Spec); diff != "" {
				t.Errorf("SetDefaults() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestServerlessPolicySetDefaultsLeavesSpecUnset(t *testing.T) {
	t.Parallel()
	p := &ServerlessPolicy{Spec: ServerlessPolicySpec{Lifecycle: "auto"}}
	p.SetDefaults(context.Background())
	want := ServerlessPolicySpec{Lifecycle: "auto"}
	if diff := cmp.Diff(want, p.Spec); diff != "" {
		t.Errorf("SetDefaults() (-want +got):\n%s", diff)
	}
}
