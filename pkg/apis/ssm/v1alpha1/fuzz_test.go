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
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"

	"github.com/serverless-mesh/ssm/pkg/policy"
)

// validatedObject is what both kinds offer the checks below.
type validatedObject interface {
	apis.Validatable
	apis.Defaultable
}

// checkValidation asserts what holds for any object, valid or not: Validate
// neither panics nor changes the object and says the same thing twice; every
// error it reports carries a message and names a path under metadata or
// spec; and an object the API server could hold (all strings UTF-8) reads
// back from JSON unchanged, with the same verdict. It returns the paths the
// errors name.
func checkValidation[T validatedObject](t *testing.T, obj T, utf8Only bool, newObj func() T) map[string]bool {
	t.Helper()
	ctx := context.Background()
	before, err := json.Marshal(obj)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	fe := obj.Validate(ctx)
	if again := obj.Validate(ctx); fe.Error() != again.Error() {
		t.Errorf("Validate is not deterministic:\n%v\nthen\n%v", fe, again)
	}
	if after, _ := json.Marshal(obj); string(after) != string(before) {
		t.Errorf("Validate changed the object from %s to %s", before, after)
	}
	paths := map[string]bool{}
	for _, e := range fe.WrappedErrors() {
		if e.Message == "" {
			t.Errorf("error without a message: %#v", e)
		}
		if len(e.Paths) == 0 {
			t.Errorf("error %q names no field", e.Message)
		}
		for _, p := range e.Paths {
			if !strings.HasPrefix(p, "metadata.") && !strings.HasPrefix(p, "spec.") {
				t.Errorf("error %q names %q, not a field under metadata or spec", e.Message, p)
			}
			paths[p] = true
		}
	}
	if !utf8Only {
		// JSON cannot carry such a string: the API server never holds it.
		return paths
	}
	read := newObj()
	if err := json.Unmarshal(before, read); err != nil {
		t.Fatalf("json.Unmarshal(%s): %v", before, err)
	}
	if diff := cmp.Diff(obj, read, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("JSON round trip changed the object (-before +after):\n%s", diff)
	}
	if got := read.Validate(ctx); got.Error() != fe.Error() {
		t.Errorf("after a JSON round trip Validate says\n%v\nwant\n%v", got, fe)
	}
	return paths
}

// checkNamedExactly asserts that each field the caller knows to be bad is
// named by an error, and that no field it knows to be good is.
func checkNamedExactly(t *testing.T, paths map[string]bool, bad map[string]bool) {
	t.Helper()
	for p, isBad := range bad {
		if paths[p] != isBad {
			t.Errorf("field %s: named by an error = %v, want %v (errors name %v)", p, paths[p], isBad, paths)
		}
	}
}

func allUTF8(ss ...string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

// Bits of FuzzServerlessPolicyValidate's set: which optional fields are set.
const (
	bitTimeout = 1 << iota
	bitRetries
	bitConnectionPool
	bitMaxConnections
	bitMaxPendingRequests
	bitMaxRequestsPerConnection
	bitConnectionIdleTimeout
	bitOutlierDetection
	bitConsecutiveGatewayErrors
	bitInterval
	bitBaseEjectionTime
	bitMaxEjectionPercent
	bitMatchLabel
	bitMatchExpression
	bitExpressionValue
)

// FuzzServerlessPolicyValidate builds a ServerlessPolicy from fuzzed field
// values. Besides checkValidation: SetDefaults leaves it as written (unset
// fields fall through to config-ssm), and every numeric field, the
// lifecycle and the selector operator are named by an error exactly when
// they are outside what their documentation allows.
func FuzzServerlessPolicyValidate(f *testing.F) {
	all := uint16(1<<15 - 1)
	f.Add("fn-policy", "short-lived", "lightweight", "small", "app", "fn", "tier", "In", "web",
		int64(2*time.Second), int32(2), int32(100), int32(10), int32(1), int64(time.Minute),
		int32(5), int64(10*time.Second), int64(30*time.Second), int32(50), all)
	f.Add("fn-policy", "long-lived", "full", "none", "", "", "tier", "Exists", "",
		int64(time.Hour), int32(policy.MaxRetries), int32(0), int32(0), int32(0), int64(0),
		int32(0), int64(0), int64(0), int32(100), uint16(bitTimeout|bitRetries|bitMatchExpression))
	f.Add("fn-policy", "fast", "full", "small", "bad key", "x", "app", "Equals", "a",
		int64(0), int32(-1), int32(-1), int32(-2), int32(-3), int64(-time.Second),
		int32(-1), int64(-1), int64(-1), int32(101), all)
	f.Add("", "auto", "Full", "Small", "app", "-x", "app", "In", "",
		int64(time.Hour+1), int32(policy.MaxRetries+1), int32(1), int32(1), int32(1), int64(1),
		int32(1), int64(1), int64(1), int32(-1), all&^bitExpressionValue)
	f.Fuzz(func(t *testing.T, name, lifecycle, mtlsMode, proxyPool, labelKey, labelValue, exprKey, exprOp, exprValue string,
		timeout int64, retries, maxConnections, maxPending, maxPerConnection int32, connIdle int64,
		gatewayErrors int32, interval, baseEjection int64, ejectionPercent int32, set uint16) {
		has := func(bit uint16) bool { return set&bit != 0 }
		duration := func(bit uint16, d int64) *metav1.Duration {
			if !has(bit) {
				return nil
			}
			return &metav1.Duration{Duration: time.Duration(d)}
		}
		int32If := func(bit uint16, v int32) *int32 {
			if !has(bit) {
				return nil
			}
			return &v
		}
		p := &ServerlessPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: ServerlessPolicySpec{
				Lifecycle: lifecycle,
				Timeout:   duration(bitTimeout, timeout),
				Retries:   int32If(bitRetries, retries),
				MTLSMode:  mtlsMode,
				ProxyPool: proxyPool,
			},
		}
		if has(bitMatchLabel) {
			p.Spec.Selector.MatchLabels = map[string]string{labelKey: labelValue}
		}
		if has(bitMatchExpression) {
			expr := metav1.LabelSelectorRequirement{Key: exprKey, Operator: metav1.LabelSelectorOperator(exprOp)}
			if has(bitExpressionValue) {
				expr.Values = []string{exprValue}
			}
			p.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{expr}
		}
		if has(bitConnectionPool) {
			p.Spec.ConnectionPool = &ConnectionPoolSpec{
				MaxConnections:           int32If(bitMaxConnections, maxConnections),
				MaxPendingRequests:       int32If(bitMaxPendingRequests, maxPending),
				MaxRequestsPerConnection: int32If(bitMaxRequestsPerConnection, maxPerConnection),
				IdleTimeout:              duration(bitConnectionIdleTimeout, connIdle),
			}
		}
		if has(bitOutlierDetection) {
			p.Spec.OutlierDetection = &OutlierDetectionSpec{
				ConsecutiveGatewayErrors: int32If(bitConsecutiveGatewayErrors, gatewayErrors),
				Interval:                 duration(bitInterval, interval),
				BaseEjectionTime:         duration(bitBaseEjectionTime, baseEjection),
				MaxEjectionPercent:       int32If(bitMaxEjectionPercent, ejectionPercent),
			}
		}

		written := p.DeepCopy()
		p.SetDefaults(context.Background())
		if diff := cmp.Diff(written, p); diff != "" {
			t.Errorf("SetDefaults changed the policy (-written +defaulted):\n%s", diff)
		}
		utf8Only := allUTF8(name, lifecycle, mtlsMode, proxyPool, labelKey, labelValue, exprKey, exprOp, exprValue)
		paths := checkValidation(t, p, utf8Only, func() *ServerlessPolicy { return &ServerlessPolicy{} })

		pool, outlier := has(bitConnectionPool), has(bitOutlierDetection)
		checkNamedExactly(t, paths, map[string]bool{
			"spec.timeout":                                   has(bitTimeout) && (timeout <= 0 || time.Duration(timeout) > policy.MaxTimeout),
			"spec.retries":                                   has(bitRetries) && (retries < 0 || retries > policy.MaxRetries),
			"spec.connectionPool.maxConnections":             pool && has(bitMaxConnections) && maxConnections < 0,
			"spec.connectionPool.maxPendingRequests":         pool && has(bitMaxPendingRequests) && maxPending < 0,
			"spec.connectionPool.maxRequestsPerConnection":   pool && has(bitMaxRequestsPerConnection) && maxPerConnection < 0,
			"spec.connectionPool.idleTimeout":                pool && has(bitConnectionIdleTimeout) && connIdle < 0,
			"spec.outlierDetection.consecutiveGatewayErrors": outlier && has(bitConsecutiveGatewayErrors) && gatewayErrors < 0,
			"spec.outlierDetection.interval":                 outlier && has(bitInterval) && interval < 0,
			"spec.outlierDetection.baseEjectionTime":         outlier && has(bitBaseEjectionTime) && baseEjection < 0,
			"spec.outlierDetection.maxEjectionPercent":       outlier && has(bitMaxEjectionPercent) && (ejectionPercent < 0 || ejectionPercent > 100),
			"spec.lifecycle":                                 lifecycle != "" && lifecycle != "auto" && lifecycle != "short-lived" && lifecycle != "long-lived",
			"spec.selector.matchExpressions[0].operator":     has(bitMatchExpression) && !validOperator(exprOp),
		})
	})
}

func validOperator(op string) bool {
	switch metav1.LabelSelectorOperator(op) {
	case metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn, metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist:
		return true
	}
	return false
}

// Bits of FuzzProxyPoolValidate's set.
const (
	bitMinSize = 1 << iota
	bitMaxSize
	bitPoolIdleTimeout
	bitHeadroomPercent
)

// FuzzProxyPoolValidate builds a ProxyPool from fuzzed field values.
// Besides checkValidation, before and after SetDefaults: each field is named
// by an error exactly when it breaks the rule its documentation gives, and
// SetDefaults fills every optional field, keeps every set one, is
// idempotent and never makes a valid pool invalid.
func FuzzProxyPoolValidate(f *testing.F) {
	all := uint8(1<<4 - 1)
	f.Add("pool", int32(1), int32(10), "envoyproxy/envoy:v1.31", int64(5*time.Minute), "History", int32(25), all)
	f.Add("pool", int32(20), int32(0), "envoy", int64(0), "", int32(0), uint8(bitMinSize))
	f.Add("pool", int32(0), int32(1), "envoy", int64(1), "Fixed", int32(MaxHeadroomPercent), all)
	f.Add("pool", int32(11), int32(10), "envoy", int64(time.Minute), "fixed", int32(MaxHeadroomPercent+1), all)
	f.Add("Pool", int32(-1), int32(0), "", int64(-time.Second), "Random", int32(-1), all)
	f.Fuzz(func(t *testing.T, name string, minSize, maxSize int32, image string, idleTimeout int64,
		sizingPolicy string, headroom int32, set uint8) {
		has := func(bit uint8) bool { return set&bit != 0 }
		p := &ProxyPool{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: ProxyPoolSpec{
				Image:  image,
				Sizing: ProxyPoolSizing{Policy: SizingPolicy(sizingPolicy)},
			},
		}
		if has(bitMinSize) {
			p.Spec.MinSize = &minSize
		}
		if has(bitMaxSize) {
			p.Spec.MaxSize = &maxSize
		}
		if has(bitPoolIdleTimeout) {
			p.Spec.IdleTimeout = &metav1.Duration{Duration: time.Duration(idleTimeout)}
		}
		if has(bitHeadroomPercent) {
			p.Spec.Sizing.HeadroomPercent = &headroom
		}
		utf8Only := allUTF8(name, image, sizingPolicy)
		newPool := func() *ProxyPool { return &ProxyPool{} }

		written := p.DeepCopy()
		checkNamedExactly(t, checkValidation(t, p, utf8Only, newPool), proxyPoolRules(p.Spec))
		validWritten := p.Validate(context.Background()) == nil

		p.SetDefaults(context.Background())
		s := p.Spec
		if s.MinSize == nil || s.MaxSize == nil || s.IdleTimeout == nil || s.Sizing.Policy == "" || s.Sizing.HeadroomPercent == nil {
			t.Errorf("SetDefaults left an optional field unset: %+v", s)
		}
		if diff := cmp.Diff(written.Spec.MinSize, s.MinSize); written.Spec.MinSize != nil && diff != "" {
			t.Errorf("SetDefaults changed the set minSize: %s", diff)
		}
		if diff := cmp.Diff(written.Spec.MaxSize, s.MaxSize); written.Spec.MaxSize != nil && diff != "" {
			t.Errorf("SetDefaults changed the set maxSize: %s", diff)
		}
		if diff := cmp.Diff(written.Spec.IdleTimeout, s.IdleTimeout); written.Spec.IdleTimeout != nil && diff != "" {
			t.Errorf("SetDefaults changed the set idleTimeout: %s", diff)
		}
		if diff := cmp.Diff(written.Spec.Sizing.HeadroomPercent, s.Sizing.HeadroomPercent); written.Spec.Sizing.HeadroomPercent != nil && diff != "" {
			t.Errorf("SetDefaults changed the set headroomPercent: %s", diff)
		}
		if written.Spec.Sizing.Policy != "" && s.Sizing.Policy != written.Spec.Sizing.Policy {
			t.Errorf("SetDefaults changed the set sizing policy %q to %q", written.Spec.Sizing.Policy, s.Sizing.Policy)
		}
		if s.Image != written.Spec.Image || p.Name != written.Name {
			t.Errorf("SetDefaults changed the image or name: %q, %q", s.Image, p.Name)
		}
		twice := p.DeepCopy()
		twice.SetDefaults(context.Background())
		if diff := cmp.Diff(p, twice); diff != "" {
			t.Errorf("SetDefaults is not idempotent (-once +twice):\n%s", diff)
		}

		paths := checkValidation(t, p, utf8Only, newPool)
		checkNamedExactly(t, paths, proxyPoolRules(p.Spec))
		if validWritten && len(paths) > 0 {
			t.Errorf("a valid pool is invalid after SetDefaults: %v", p.Validate(context.Background()))
		}
	})
}

// proxyPoolRules says, for each spec field, whether it breaks the rule the
// ProxyPoolSpec documentation gives it.
func proxyPoolRules(s ProxyPoolSpec) map[string]bool {
	minBad := s.MinSize != nil && *s.MinSize < 0
	maxBad := s.MaxSize != nil && *s.MaxSize < 1
	crossed := s.MinSize != nil && s.MaxSize != nil && !minBad && !maxBad && *s.MinSize > *s.MaxSize
	h := s.Sizing.HeadroomPercent
	return map[string]bool{
		"spec.minSize":                minBad || crossed,
		"spec.maxSize":                maxBad || crossed,
		"spec.image":                  s.Image == "",
		"spec.idleTimeout":            s.IdleTimeout != nil && s.IdleTimeout.Duration <= 0,
		"spec.sizing.policy":          s.Sizing.Policy != "" && s.Sizing.Policy != SizingFixed && s.Sizing.Policy != SizingHistory,
		"spec.sizing.headroomPercent": h != nil && (*h < MinHeadroomPercent || *h > MaxHeadroomPercent),
	}
}
