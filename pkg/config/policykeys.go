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

package config

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"knative.dev/pkg/configmap"
	"knative.dev/pkg/configmap/parser"

	"github.com/serverless-mesh/ssm/pkg/policy"
)

// Prefixes of the per-class keys: "short-lived-retries", "long-lived-mtls-mode", ...
const (
	ShortLivedKeyPrefix = "short-lived-"
	LongLivedKeyPrefix  = "long-lived-"
)

// keyRule parses one config-ssm key into the field its closures point at.
type keyRule struct {
	key string
	// allowed describes the accepted values; it is quoted in every error so
	// a user fixing the ConfigMap needs no other document.
	allowed string
	parse   configmap.ParseFunc
	// check validates the parsed value; nil when parse already does.
	check func() error
}

// apply parses the rule's key when present and names key, value and the
// allowed values when it is bad.
func (r keyRule) apply(data map[string]string) error {
	raw, ok := data[r.key]
	if !ok {
		return nil
	}
	err := configmap.Parse(data, r.parse)
	if err == nil && r.check != nil {
		err = r.check()
	}
	if err != nil {
		return fmt.Errorf("%q: invalid value %q, allowed: %s: %w", r.key, raw, r.allowed, err)
	}
	return nil
}

// policyRules are the keys overriding policy.Defaults, each writing into d.
func policyRules(d *policy.Defaults) []keyRule {
	rules := []keyRule{{
		key:     "default-lifecycle",
		allowed: `"auto", "short-lived", "long-lived"`,
		parse:   parser.AsFunc("default-lifecycle", &d.Lifecycle, policy.ParseLifecycle),
	}, {
		key:     "auto-initial-lifecycle",
		allowed: `"short-lived", "long-lived"`,
		parse:   parser.AsFunc("auto-initial-lifecycle", &d.AutoInitial, policy.ParseLifecycle),
		check: func() error {
			// It is the class an "auto" revision starts in, so it must be concrete.
			if d.AutoInitial == policy.LifecycleAuto {
				return errors.New(`"auto" is not a concrete class`)
			}
			return nil
		},
	}, {
		key:     "short-lived-threshold",
		allowed: "a Go duration > 0, e.g. 1s",
		parse:   configmap.AsDuration("short-lived-threshold", &d.ShortLivedThreshold),
		check:   durationAbove(&d.ShortLivedThreshold, 0),
	}, {
		key:     "long-lived-threshold",
		allowed: "a Go duration > 0 and >= short-lived-threshold, e.g. 10s",
		parse:   configmap.AsDuration("long-lived-threshold", &d.LongLivedThreshold),
		check:   durationAbove(&d.LongLivedThreshold, 0),
	}, {
		key:     "timeout-multiplier",
		allowed: "a finite number >= 1, e.g. 4",
		parse:   configmap.AsFloat64("timeout-multiplier", &d.TimeoutMultiplier),
		check: func() error {
			// Written so NaN fails too: every comparison with NaN is false.
			if !(d.TimeoutMultiplier >= 1) || math.IsInf(d.TimeoutMultiplier, 1) {
				return errors.New("a timeout below the observed p99 would cut off normal requests")
			}
			return nil
		},
	}, {
		key:     "min-timeout",
		allowed: "a Go duration > 0, e.g. 1s",
		parse:   configmap.AsDuration("min-timeout", &d.MinTimeout),
		check:   durationAbove(&d.MinTimeout, 0),
	}, {
		key:     "min-samples",
		allowed: "an integer >= 1",
		parse:   configmap.AsInt("min-samples", &d.MinSamples),
		check: func() error {
			if d.MinSamples < 1 {
				return errors.New("a class cannot be derived from no observation")
			}
			return nil
		},
	}}
	rules = append(rules, classRules(ShortLivedKeyPrefix, &d.ShortLived)...)
	return append(rules, classRules(LongLivedKeyPrefix, &d.LongLived)...)
}

// classRules are the keys of one lifecycle class, all starting with prefix.
func classRules(prefix string, c *policy.ClassDefaults) []keyRule {
	k := func(name string) string { return prefix + name }
	return []keyRule{{
		key:     k("retries"),
		allowed: "an integer >= 0 (0 turns retries off)",
		parse:   configmap.AsInt32(k("retries"), &c.Retries),
		check:   func() error { return policy.ValidateRetries(int64(c.Retries)) },
	}, {
		key:     k("retry-on"),
		allowed: "a comma-separated list of " + strings.Join(retryOnConditions(), ", ") + " or HTTP status codes; empty for connect-failure,refused-stream (never Istio's default, which retries gRPC responses)",
		parse:   parser.AsFunc(k("retry-on"), &c.RetryOn, parseRetryOn),
	}, {
		key:     k("mtls-mode"),
		allowed: `"lightweight", "full"`,
		parse:   parser.AsFunc(k("mtls-mode"), &c.MTLSMode, policy.ParseMTLSMode),
	}, {
		key:     k("proxy-pool"),
		allowed: `a ProxyPool name (DNS-1123 label) or "none"`,
		parse:   configmap.AsString(k("proxy-pool"), &c.ProxyPool),
		check:   func() error { return policy.ValidateProxyPoolName(c.ProxyPool) },
	}, {
		key:     k("max-connections"),
		allowed: "an integer >= 0 (0 keeps Istio's default)",
		parse:   configmap.AsInt32(k("max-connections"), &c.ConnectionPool.MaxConnections),
		check:   int32Between(&c.ConnectionPool.MaxConnections, 0, math.MaxInt32),
	}, {
		key:     k("max-pending-requests"),
		allowed: "an integer >= 0 (0 keeps Istio's default)",
		parse:   configmap.AsInt32(k("max-pending-requests"), &c.ConnectionPool.MaxPendingRequests),
		check:   int32Between(&c.ConnectionPool.MaxPendingRequests, 0, math.MaxInt32),
	}, {
		key:     k("max-requests-per-connection"),
		allowed: "an integer >= 0 (0 keeps Istio's default)",
		parse:   configmap.AsInt32(k("max-requests-per-connection"), &c.ConnectionPool.MaxRequestsPerConnection),
		check:   int32Between(&c.ConnectionPool.MaxRequestsPerConnection, 0, math.MaxInt32),
	}, {
		key:     k("idle-timeout"),
		allowed: "a Go duration >= 0 (0 keeps Istio's default), e.g. 30s",
		parse:   configmap.AsDuration(k("idle-timeout"), &c.ConnectionPool.IdleTimeout),
		check:   durationAbove(&c.ConnectionPool.IdleTimeout, -1),
	}, {
		key:     k("consecutive-gateway-errors"),
		allowed: "an integer >= 0 (0 turns outlier detection off)",
		parse:   configmap.AsInt32(k("consecutive-gateway-errors"), &c.OutlierDetection.ConsecutiveGatewayErrors),
		check:   int32Between(&c.OutlierDetection.ConsecutiveGatewayErrors, 0, math.MaxInt32),
	}, {
		key:     k("outlier-interval"),
		allowed: "a Go duration >= 0 (0 keeps Istio's default), e.g. 10s",
		parse:   configmap.AsDuration(k("outlier-interval"), &c.OutlierDetection.Interval),
		check:   durationAbove(&c.OutlierDetection.Interval, -1),
	}, {
		key:     k("base-ejection-time"),
		allowed: "a Go duration >= 0 (0 keeps Istio's default), e.g. 30s",
		parse:   configmap.AsDuration(k("base-ejection-time"), &c.OutlierDetection.BaseEjectionTime),
		check:   durationAbove(&c.OutlierDetection.BaseEjectionTime, -1),
	}, {
		key:     k("max-ejection-percent"),
		allowed: "an integer from 0 to 100",
		parse:   configmap.AsInt32(k("max-ejection-percent"), &c.OutlierDetection.MaxEjectionPercent),
		check:   int32Between(&c.OutlierDetection.MaxEjectionPercent, 0, 100),
	}}
}

// crossKeyErrors checks rules that span keys, naming every key involved; it
// runs once each key parsed on its own.
func crossKeyErrors(d policy.Defaults) []error {
	var errs []error
	if d.LongLivedThreshold < d.ShortLivedThreshold {
		errs = append(errs, fmt.Errorf("%q (%v) must not be below %q (%v): between them the previous class is kept, so the band cannot be inverted",
			"long-lived-threshold", d.LongLivedThreshold, "short-lived-threshold", d.ShortLivedThreshold))
	}
	classes := []struct {
		prefix string
		c      policy.ClassDefaults
	}{{ShortLivedKeyPrefix, d.ShortLived}, {LongLivedKeyPrefix, d.LongLived}}
	for _, class := range classes {
		// A pooled proxy serves only sidecar-less pods, and full mTLS keeps the sidecar.
		if class.c.MTLSMode == policy.MTLSFull && class.c.ProxyPool != "" && class.c.ProxyPool != policy.NoProxyPool {
			errs = append(errs, fmt.Errorf("%q %q conflicts with %q %q: allowed: %q with %q, or %q with any pool",
				class.prefix+"mtls-mode", class.c.MTLSMode, class.prefix+"proxy-pool", class.c.ProxyPool,
				policy.MTLSFull, policy.NoProxyPool, policy.MTLSLightweight))
		}
	}
	return errs
}

// durationAbove accepts *d > floor; a floor of -1ns therefore means ">= 0".
func durationAbove(d *time.Duration, floor time.Duration) func() error {
	return func() error {
		if *d <= floor {
			return fmt.Errorf("%v is out of range", *d)
		}
		return nil
	}
}

// int32Between accepts lo <= *v <= hi.
func int32Between(v *int32, lo, hi int32) func() error {
	return func() error {
		if *v < lo || *v > hi {
			return fmt.Errorf("%d is out of range", *v)
		}
		return nil
	}
}

// retryOnConditions are the retry conditions Envoy (hence Istio's retryOn)
// understands; a typo there silently disables retries, so it is rejected here.
func retryOnConditions() []string {
	return []string{
		"5xx", "gateway-error", "reset", "reset-before-request", "connect-failure",
		"envoy-ratelimited", "retriable-4xx", "refused-stream", "retriable-status-codes",
		"retriable-headers", "http3-post-connect-failure",
		"cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable",
	}
}

// parseRetryOn checks every comma-separated condition and returns the list
// without blanks around entries, the form Envoy's header parser expects.
func parseRetryOn(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", nil
	}
	conditions := strings.Split(raw, ",")
	for i, c := range conditions {
		c = strings.TrimSpace(c)
		if !isRetryOnCondition(c) {
			return "", fmt.Errorf("unknown retry condition %q", c)
		}
		conditions[i] = c
	}
	return strings.Join(conditions, ","), nil
}

func isRetryOnCondition(c string) bool {
	if slices.Contains(retryOnConditions(), c) {
		return true
	}
	// Istio turns a status code in retryOn into retriable-status-codes.
	code, err := strconv.Atoi(c)
	return err == nil && code >= 100 && code <= 599 && len(c) == 3
}
