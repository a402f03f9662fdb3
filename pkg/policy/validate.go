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
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"knative.dev/pkg/apis"
)

// Validate checks every set field of o and the conflicts between them. Paths
// are ServerlessPolicySpec's JSON field names ("mtlsMode",
// "connectionPool.maxConnections"); the API type adds ViaField("spec").
func (o Overrides) Validate() *apis.FieldError {
	var errs *apis.FieldError
	if o.Lifecycle != nil {
		if _, err := ParseLifecycle(string(*o.Lifecycle)); err != nil {
			errs = errs.Also(apis.ErrInvalidValue(strconv.Quote(string(*o.Lifecycle)), "lifecycle", "lifecycle "+allowedLifecycles))
		}
	}
	if o.Timeout != nil && ValidateTimeout(*o.Timeout) != nil {
		errs = errs.Also(apis.ErrInvalidValue(o.Timeout.String(), "timeout", "timeout "+allowedTimeout))
	}
	if o.Retries != nil && ValidateRetries(int64(*o.Retries)) != nil {
		errs = errs.Also(apis.ErrInvalidValue(*o.Retries, "retries", "retries "+allowedRetries))
	}
	if o.MTLSMode != nil {
		if _, err := ParseMTLSMode(string(*o.MTLSMode)); err != nil {
			errs = errs.Also(apis.ErrInvalidValue(strconv.Quote(string(*o.MTLSMode)), "mtlsMode", "mtlsMode "+allowedMTLSModes))
		}
	}
	if o.ProxyPool != nil && ValidateProxyPoolName(*o.ProxyPool) != nil {
		errs = errs.Also(apis.ErrInvalidValue(strconv.Quote(*o.ProxyPool), "proxyPool", "proxyPool "+allowedProxyPool))
	}
	if o.MTLSMode != nil && *o.MTLSMode == MTLSFull && o.ProxyPool != nil && namedPool(*o.ProxyPool) {
		errs = errs.Also(apis.ErrGeneric(
			conflictMessage(`mtlsMode "full"`, "proxyPool "+strconv.Quote(*o.ProxyPool)),
			"mtlsMode", "proxyPool"))
	}
	errs = errs.Also(o.ConnectionPool.validate().ViaField("connectionPool"))
	return errs.Also(o.OutlierDetection.validate().ViaField("outlierDetection"))
}

func (c ConnectionPoolOverrides) validate() *apis.FieldError {
	return nonNegative(c.MaxConnections, "maxConnections").
		Also(nonNegative(c.MaxPendingRequests, "maxPendingRequests")).
		Also(nonNegative(c.MaxRequestsPerConnection, "maxRequestsPerConnection")).
		Also(nonNegativeDuration(c.IdleTimeout, "idleTimeout"))
}

func (od OutlierDetectionOverrides) validate() *apis.FieldError {
	errs := nonNegative(od.ConsecutiveGatewayErrors, "consecutiveGatewayErrors").
		Also(nonNegativeDuration(od.Interval, "interval")).
		Also(nonNegativeDuration(od.BaseEjectionTime, "baseEjectionTime"))
	if p := od.MaxEjectionPercent; p != nil && (*p < 0 || *p > 100) {
		errs = errs.Also(apis.ErrInvalidValue(*p, "maxEjectionPercent", "maxEjectionPercent "+allowedPercent))
	}
	return errs
}

func nonNegative(v *int32, field string) *apis.FieldError {
	if v != nil && *v < 0 {
		return apis.ErrInvalidValue(*v, field, field+" "+allowedNonNeg)
	}
	return nil
}

func nonNegativeDuration(v *time.Duration, field string) *apis.FieldError {
	if v != nil && *v < 0 {
		return apis.ErrInvalidValue(v.String(), field, field+" "+allowedNonNeg)
	}
	return nil
}

// Validate checks the defaults as a whole; config-ssm's parser calls it after
// reading every key. Errors name the Defaults field (and the class, for class
// defaults); all problems are joined, not just the first.
func (d Defaults) Validate() error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	if _, err := ParseLifecycle(string(d.Lifecycle)); err != nil {
		add("Lifecycle: %w", err)
	}
	if d.ShortLivedThreshold <= 0 {
		add("ShortLivedThreshold %v: must be greater than 0", d.ShortLivedThreshold)
	}
	if d.LongLivedThreshold < d.ShortLivedThreshold {
		add("LongLivedThreshold %v: must not be below ShortLivedThreshold %v", d.LongLivedThreshold, d.ShortLivedThreshold)
	}
	// A multiplier below 1 would derive a timeout shorter than the observed
	// p99, cutting the slowest percent of requests by design.
	if !(d.TimeoutMultiplier >= 1) || math.IsInf(d.TimeoutMultiplier, 1) {
		add("TimeoutMultiplier %v: must be a finite number of at least 1", d.TimeoutMultiplier)
	}
	if d.MinTimeout <= 0 {
		add("MinTimeout %v: must be greater than 0", d.MinTimeout)
	}
	if d.MinSamples < 0 {
		add("MinSamples %d: must not be negative", d.MinSamples)
	}
	if !concreteLifecycle(d.AutoInitial) {
		add("AutoInitial %q: must be one of: short-lived, long-lived", d.AutoInitial)
	}
	if err := d.ShortLived.validate(); err != nil {
		add("ShortLived: %w", err)
	}
	if err := d.LongLived.validate(); err != nil {
		add("LongLived: %w", err)
	}
	return errors.Join(errs...)
}

func (c ClassDefaults) validate() error {
	var errs []error
	if err := ValidateRetries(int64(c.Retries)); err != nil {
		errs = append(errs, fmt.Errorf("Retries: %w", err))
	}
	mode, err := ParseMTLSMode(string(c.MTLSMode))
	if err != nil {
		errs = append(errs, fmt.Errorf("MTLSMode: %w", err))
	}
	if c.ProxyPool != "" {
		if err := ValidateProxyPoolName(c.ProxyPool); err != nil {
			errs = append(errs, fmt.Errorf("ProxyPool: %w", err))
		}
	}
	if mode == MTLSFull && namedPool(c.ProxyPool) {
		errs = append(errs, errors.New(conflictMessage(`MTLSMode "full"`, "ProxyPool "+strconv.Quote(c.ProxyPool))))
	}
	if fe := c.overrides().Validate(); fe != nil {
		errs = append(errs, fe)
	}
	return errors.Join(errs...)
}

// overrides views the connection pool and outlier detection of c as
// overrides, so their ranges are checked by the same code as a policy's.
func (c ClassDefaults) overrides() Overrides {
	cp, od := c.ConnectionPool, c.OutlierDetection
	return Overrides{
		ConnectionPool: ConnectionPoolOverrides{
			MaxConnections:           &cp.MaxConnections,
			MaxPendingRequests:       &cp.MaxPendingRequests,
			MaxRequestsPerConnection: &cp.MaxRequestsPerConnection,
			IdleTimeout:              &cp.IdleTimeout,
		},
		OutlierDetection: OutlierDetectionOverrides{
			ConsecutiveGatewayErrors: &od.ConsecutiveGatewayErrors,
			Interval:                 &od.Interval,
			BaseEjectionTime:         &od.BaseEjectionTime,
			MaxEjectionPercent:       &od.MaxEjectionPercent,
		},
	}
}
