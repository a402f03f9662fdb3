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
	"math"
	"strconv"
	"time"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
)

// defaultRetryOn is used when retries are on but the class names no
// condition: both conditions happen before the function runs, so a retry can
// never execute a request twice.
const defaultRetryOn = "connect-failure,refused-stream"

// ConflictError is returned by Resolve when the merged policy asks for full
// mTLS and for a pooled proxy, and the user (not a class default) asked for
// the pool. The reconciler surfaces it on status; nothing is applied.
type ConflictError struct {
	// MTLSModeFrom and ProxyPoolFrom say where each side of the conflict came from.
	MTLSModeFrom  Source
	ProxyPoolFrom Source
	// ProxyPool is the requested pool.
	ProxyPool string
	// Class is the concrete lifecycle class whose defaults were used.
	Class Lifecycle
}

func (e *ConflictError) Error() string {
	return conflictMessage(
		`mTLS mode "full" (from `+origin(e.MTLSModeFrom, ssm.MTLSModeAnnotationKey, "spec.mtlsMode", e.Class)+")",
		"proxy pool "+strconv.Quote(e.ProxyPool)+" (from "+origin(e.ProxyPoolFrom, ssm.ProxyPoolAnnotationKey, "spec.proxyPool", e.Class)+")")
}

// origin describes a source precisely enough for the user to find the value.
func origin(src Source, annotationKey, policyField string, class Lifecycle) string {
	switch src {
	case SourceAnnotation:
		return "annotation " + annotationKey
	case SourcePolicy:
		return "ServerlessPolicy " + policyField
	default:
		return "config-ssm default for " + string(class)
	}
}

// pick returns the highest-precedence value: annotation, then policy, then def.
func pick[T any](annotation, policy *T, def T) (T, Source) {
	switch {
	case annotation != nil:
		return *annotation, SourceAnnotation
	case policy != nil:
		return *policy, SourcePolicy
	default:
		return def, SourceDefault
	}
}

// Resolve computes a revision's concrete policy: field by field, ssm.dev/*
// annotations win over the ServerlessPolicy, which wins over config-ssm.
// Inputs are validated first, so a bad object that slipped past the webhook
// yields an error for its status rather than a half-applied policy. Resolve
// reads in and never writes to it; the same in always yields the same Policy.
func Resolve(in Input) (Policy, error) {
	d := in.Defaults
	if err := d.Validate(); err != nil {
		return Policy{}, fmt.Errorf("config-ssm defaults: %w", err)
	}
	if fe := in.Annotations.Validate(); fe != nil {
		return Policy{}, fmt.Errorf("ssm.dev annotations: %w", fe)
	}
	var pol Overrides
	if in.Policy != nil {
		pol = *in.Policy
		if fe := pol.Validate(); fe != nil {
			return Policy{}, fmt.Errorf("ServerlessPolicy: %w", fe)
		}
	}
	ann := in.Annotations

	var obs Observation
	if in.Observation != nil {
		obs = *in.Observation
	}
	observed := usable(obs, d)

	declared, lifecycleFrom := pick(ann.Lifecycle, pol.Lifecycle, d.Lifecycle)
	class := declared
	if declared == LifecycleAuto {
		class = Classify(obs, in.Previous, d)
		if observed {
			lifecycleFrom = SourceObserved
		}
	}
	defaults := d.LongLived
	if class == LifecycleShortLived {
		defaults = d.ShortLived
	}

	p := Policy{
		Declared:  declared,
		Lifecycle: class,
		// PerTryTimeout stays unset: retries only fire on connect failures and
		// refused streams, which fail fast, so a per-try bound would only cut
		// slow but healthy attempts.
		ConnectionPool:   mergeConnectionPool(defaults.ConnectionPool, pol.ConnectionPool, ann.ConnectionPool),
		OutlierDetection: mergeOutlierDetection(defaults.OutlierDetection, pol.OutlierDetection, ann.OutlierDetection),
	}

	var retriesFrom, mtlsFrom, poolFrom, timeoutFrom Source
	p.Retries, retriesFrom = pick(ann.Retries, pol.Retries, defaults.Retries)
	if p.Retries > 0 {
		p.RetryOn = defaults.RetryOn
		if p.RetryOn == "" {
			p.RetryOn = defaultRetryOn
		}
	}

	p.MTLSMode, mtlsFrom = pick(ann.MTLSMode, pol.MTLSMode, defaults.MTLSMode)
	p.ProxyPool, poolFrom = pick(ann.ProxyPool, pol.ProxyPool, defaults.ProxyPool)
	if p.ProxyPool == NoProxyPool {
		p.ProxyPool = ""
	}
	if p.MTLSMode == MTLSFull && p.ProxyPool != "" {
		if poolFrom != SourceDefault {
			return Policy{}, &ConflictError{MTLSModeFrom: mtlsFrom, ProxyPoolFrom: poolFrom, ProxyPool: p.ProxyPool, Class: class}
		}
		// The pool is only the class's default and full mTLS was asked for
		// explicitly: the revision keeps its sidecar and leases nothing. The
		// empty pool is then owed to whoever set the mTLS mode.
		p.ProxyPool, poolFrom = "", mtlsFrom
	}

	p.Timeout, timeoutFrom, p.TimeoutCapped = resolveTimeout(ann.Timeout, pol.Timeout, in.RevisionTimeout, obs, observed, class, d)

	p.Sources = map[string]Source{
		SourceKeyLifecycle: lifecycleFrom,
		SourceKeyTimeout:   timeoutFrom,
		SourceKeyRetries:   retriesFrom,
		SourceKeyMTLSMode:  mtlsFrom,
		SourceKeyProxyPool: poolFrom,
	}
	return p, nil
}

// resolveTimeout picks the route timeout: an explicit one, else one derived
// from a usable observation, else the revision's own timeoutSeconds. SSM
// never tightens a timeout it has no evidence for, and never lets a route
// outlive the revision's timeoutSeconds, which Knative enforces anyway.
func resolveTimeout(annotation, policy *time.Duration, revision time.Duration, obs Observation, observed bool,
	class Lifecycle, d Defaults) (time.Duration, Source, bool) {
	revision = max(revision, 0)
	var (
		t    time.Duration
		from Source
	)
	switch {
	case annotation != nil || policy != nil:
		t, from = pick(annotation, policy, 0)
	case observed:
		t, from = DerivedTimeout(obs.P99, class, d), SourceObserved
	default:
		return revision, SourceRevision, false
	}
	if revision > 0 && t > revision {
		return revision, from, true
	}
	return t, from, false
}

// DerivedTimeout is max(MinTimeout, TimeoutMultiplier × p99), rounded up to a
// whole second (to 100ms below one second). The observed p99 moves a little
// with every scrape; a timeout that followed it exactly would rewrite the
// VirtualService and re-push every gateway on each reconcile, for a change
// no request could tell apart.
func DerivedTimeout(p99 time.Duration, class Lifecycle, d Defaults) time.Duration {
	scaled := float64(p99) * d.TimeoutMultiplier
	// Far beyond any revision timeout, and far enough from MaxInt64 that
	// neither the conversion nor the rounding below can overflow.
	t := time.Duration(math.MaxInt64 / 2)
	if scaled < float64(t) {
		t = time.Duration(scaled)
		step := time.Second
		if t < time.Second {
			step = 100 * time.Millisecond
		}
		if r := t % step; r != 0 {
			t += step - r
		}
	}
	t = max(t, d.MinTimeout)
	if class == LifecycleLongLived {
		// A long-lived function's slowest requests are still legitimate work.
		t = max(t, p99)
	}
	return t
}

func mergeConnectionPool(base ConnectionPool, layers ...ConnectionPoolOverrides) ConnectionPool {
	for _, o := range layers {
		setIf(&base.MaxConnections, o.MaxConnections)
		setIf(&base.MaxPendingRequests, o.MaxPendingRequests)
		setIf(&base.MaxRequestsPerConnection, o.MaxRequestsPerConnection)
		setIf(&base.IdleTimeout, o.IdleTimeout)
	}
	return base
}

func mergeOutlierDetection(base OutlierDetection, layers ...OutlierDetectionOverrides) OutlierDetection {
	for _, o := range layers {
		setIf(&base.ConsecutiveGatewayErrors, o.ConsecutiveGatewayErrors)
		setIf(&base.Interval, o.Interval)
		setIf(&base.BaseEjectionTime, o.BaseEjectionTime)
		setIf(&base.MaxEjectionPercent, o.MaxEjectionPercent)
	}
	return base
}

// setIf overwrites *dst with *v when v is set; layers are applied lowest
// precedence first.
func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}
