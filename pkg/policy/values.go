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
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

const (
	// MaxRetries bounds ssm.dev/retries and ServerlessPolicy retries. Retries
	// only happen on connect failures and refused streams; more than a handful
	// means the backend is down, and every retry holds a gateway slot.
	MaxRetries = 10

	// MaxTimeout bounds an explicit route timeout. Knative's own default
	// max-revision-timeout-seconds is 10 minutes and every route timeout is
	// capped by the revision's timeoutSeconds anyway, so an hour leaves room
	// for clusters that raise that limit while still catching typos like
	// "3000h".
	MaxTimeout = time.Hour
)

// Allowed-value descriptions, shared by the plain errors of this file and the
// *apis.FieldError details of ParseAnnotations and Overrides.Validate so that
// every surface tells the user the same thing.
const (
	allowedLifecycles = "must be one of: auto, short-lived, long-lived"
	allowedMTLSModes  = "must be one of: lightweight, full"
	allowedTimeout    = "must be a Go duration (e.g. 500ms, 30s, 2m) greater than 0 and at most 1h0m0s"
	allowedRetries    = "must be an integer from 0 to 10"
	allowedProxyPool  = "must be none or a ProxyPool name (a DNS-1123 label: at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit)"
	allowedPercent    = "must be from 0 to 100"
	allowedNonNeg     = "must not be negative"
)

// ParseLifecycle parses a declared lifecycle class.
func ParseLifecycle(s string) (Lifecycle, error) {
	switch l := Lifecycle(s); l {
	case LifecycleAuto, LifecycleShortLived, LifecycleLongLived:
		return l, nil
	default:
		return "", fmt.Errorf("invalid lifecycle %q: %s", s, allowedLifecycles)
	}
}

// ParseMTLSMode parses an mTLS mode.
func ParseMTLSMode(s string) (MTLSMode, error) {
	switch m := MTLSMode(s); m {
	case MTLSLightweight, MTLSFull:
		return m, nil
	default:
		return "", fmt.Errorf("invalid mTLS mode %q: %s", s, allowedMTLSModes)
	}
}

// ValidateProxyPoolName accepts NoProxyPool or a name a ProxyPool object can
// have. The empty string is rejected: callers map "not set" to a nil pointer
// before they get here.
func ValidateProxyPoolName(name string) error {
	if name == NoProxyPool {
		return nil
	}
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return fmt.Errorf("invalid proxy pool %q: %s", name, allowedProxyPool)
	}
	return nil
}

// ValidateRetries accepts 0 (retries off) to MaxRetries.
func ValidateRetries(n int64) error {
	if n < 0 || n > MaxRetries {
		return fmt.Errorf("invalid retries %d: %s", n, allowedRetries)
	}
	return nil
}

// ValidateTimeout accepts an explicit route timeout in (0, MaxTimeout]. Zero
// is rejected rather than read as "no timeout": a revision without a declared
// timeout already gets its own timeoutSeconds, and a user who writes 0 more
// likely meant something else.
func ValidateTimeout(d time.Duration) error {
	if d <= 0 || d > MaxTimeout {
		return fmt.Errorf("invalid timeout %v: %s", d, allowedTimeout)
	}
	return nil
}

// concreteLifecycle reports whether l is a class a revision can run as.
func concreteLifecycle(l Lifecycle) bool {
	return l == LifecycleShortLived || l == LifecycleLongLived
}

// namedPool reports whether a proxy-pool value asks for a pooled proxy.
func namedPool(pool string) bool {
	return pool != "" && pool != NoProxyPool
}

// conflictMessage explains why full mTLS and a pooled proxy exclude each
// other; the same words are used wherever the conflict is found.
func conflictMessage(mtls, pool string) string {
	return fmt.Sprintf("%s conflicts with %s: a full-mTLS revision keeps its own Istio sidecar, "+
		"while a pooled proxy serves only sidecar-less (lightweight) pods; "+
		"use mTLS mode lightweight or proxy pool none", mtls, pool)
}

// quoteList renders keys as `"a", "b"` for messages.
func quoteList(keys []string) string {
	quoted := make([]string, len(keys))
	for i, k := range keys {
		quoted[i] = fmt.Sprintf("%q", k)
	}
	return strings.Join(quoted, ", ")
}
