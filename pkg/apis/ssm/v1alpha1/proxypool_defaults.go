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
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

const (
	// DefaultProxyPoolMinSize keeps one warm proxy, so that the first cold
	// start after a quiet period does not wait for an Envoy to start.
	DefaultProxyPoolMinSize int32 = 1
	// DefaultProxyPoolMaxSize bounds a pool whose creator did not.
	DefaultProxyPoolMaxSize int32 = 10
	// DefaultProxyPoolIdleTimeout is when an idle lease returns to the pool.
	DefaultProxyPoolIdleTimeout = 5 * time.Minute
	// DefaultSizingPolicy sizes pools from invocation history.
	DefaultSizingPolicy = SizingHistory
	// DefaultHeadroomPercent is the margin above predicted cold starts.
	DefaultHeadroomPercent int32 = 25
)

// SetDefaults fills the unset fields of the ProxyPool. Image has no default:
// the Envoy build is an installation choice the user must make.
// Implements apis.Defaultable.
func (p *ProxyPool) SetDefaults(ctx context.Context) {
	p.Spec.SetDefaults(ctx)
}

// SetDefaults fills the unset fields of the spec.
func (s *ProxyPoolSpec) SetDefaults(context.Context) {
	if s.MinSize == nil {
		s.MinSize = ptr.To(DefaultProxyPoolMinSize)
	}
	if s.MaxSize == nil {
		// A user who asks for more warm proxies than the default maximum
		// means the pool to hold them: raising MaxSize to MinSize keeps
		// such a spec valid instead of rejecting a field they never set.
		s.MaxSize = ptr.To(max(DefaultProxyPoolMaxSize, *s.MinSize))
	}
	if s.IdleTimeout == nil {
		s.IdleTimeout = &metav1.Duration{Duration: DefaultProxyPoolIdleTimeout}
	}
	if s.Sizing.Policy == "" {
		s.Sizing.Policy = DefaultSizingPolicy
	}
	if s.Sizing.HeadroomPercent == nil {
		s.Sizing.HeadroomPercent = ptr.To(DefaultHeadroomPercent)
	}
}
