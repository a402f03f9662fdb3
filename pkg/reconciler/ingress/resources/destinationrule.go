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

package resources

import (
	"cmp"
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
	istiov1beta1 "istio.io/api/networking/v1beta1"
	"istio.io/client-go/pkg/apis/networking/v1beta1"
	"k8s.io/apimachinery/pkg/util/sets"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"

	"github.com/serverless-mesh/ssm/pkg/policy"
	"github.com/serverless-mesh/ssm/pkg/reconciler/ingress/resources/names"
)

// MakeDestinationRules builds one DestinationRule per SSM backend of ing (a
// backend with an entry in policies), sorted by namespace and name. Each lives
// in its backend's namespace, targets the backend Service's cluster hostname
// and carries the backend's connection pool, outlier detection and mTLS.
// Backends without a policy get none: net-istio makes no DestinationRule.
//
// A leased backend's rule targets its lease Service and sets no TLS mode:
// its endpoints are pooled proxies, which have no sidecar and take plain
// HTTP from the gateway, or Knative's activator, which Istio reaches with
// mTLS when it has a sidecar (Istio's automatic mTLS decides per endpoint).
// The hop to the revision's pod is mTLS either way, terminated by the
// queue-proxy plugin.
func MakeDestinationRules(ing *v1alpha1.Ingress, policies map[Backend]policy.Policy, leased sets.Set[Backend]) []*v1beta1.DestinationRule {
	backends := ReferencedBackends(ing)
	drs := make([]*v1beta1.DestinationRule, 0, len(backends))
	for _, b := range backends {
		p, ok := policies[b]
		if !ok {
			continue
		}
		dr := &v1beta1.DestinationRule{
			ObjectMeta: objectMeta(ing, b.Namespace, names.DestinationRule(ing, b.Namespace, b.Name)),
		}
		dr.Annotations = map[string]string{RevisionAnnotationKey: b.Name}
		if p.Lifecycle != "" {
			dr.Annotations[LifecycleClassAnnotationKey] = string(p.Lifecycle)
		}
		if p.ServerlessPolicy != "" {
			dr.Annotations[ServerlessPolicyAnnotationKey] = p.ServerlessPolicy
		}
		dr.Spec.Host = backendHost(b, leased)
		dr.Spec.TrafficPolicy = &istiov1beta1.TrafficPolicy{
			ConnectionPool:   connectionPool(p.ConnectionPool),
			OutlierDetection: outlierDetection(p.OutlierDetection),
		}
		if !leased.Has(b) {
			// A revision whose pods are reached directly has a sidecar
			// (sidecar-less pods are always leased): mTLS, whatever the mode,
			// so an unknown mode is no silent downgrade. Unset, Istio's
			// automatic mTLS would pick per endpoint, plaintext included.
			dr.Spec.TrafficPolicy.Tls = &istiov1beta1.ClientTLSSettings{Mode: istiov1beta1.ClientTLSSettings_ISTIO_MUTUAL}
		}
		drs = append(drs, dr)
	}
	return drs
}

// ReferencedBackends are the distinct backends of ing's splits, sorted by
// namespace and name.
func ReferencedBackends(ing *v1alpha1.Ingress) []Backend {
	var out []Backend
	for _, rule := range ing.Spec.Rules {
		if rule.HTTP == nil {
			continue
		}
		for _, path := range rule.HTTP.Paths {
			for _, split := range path.Splits {
				out = append(out, BackendOf(split))
			}
		}
	}
	slices.SortFunc(out, func(a, b Backend) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return slices.Compact(out)
}

// connectionPool sets only the limits the policy sets: a zero keeps Istio's
// default. Nil when the policy sets none.
func connectionPool(c policy.ConnectionPool) *istiov1beta1.ConnectionPoolSettings {
	var tcp *istiov1beta1.ConnectionPoolSettings_TCPSettings
	if c.MaxConnections > 0 {
		tcp = &istiov1beta1.ConnectionPoolSettings_TCPSettings{MaxConnections: c.MaxConnections}
	}
	var http *istiov1beta1.ConnectionPoolSettings_HTTPSettings
	if c.MaxPendingRequests > 0 || c.MaxRequestsPerConnection > 0 || c.IdleTimeout > 0 {
		http = &istiov1beta1.ConnectionPoolSettings_HTTPSettings{
			Http1MaxPendingRequests:  max(c.MaxPendingRequests, 0),
			MaxRequestsPerConnection: max(c.MaxRequestsPerConnection, 0),
			IdleTimeout:              optionalDuration(c.IdleTimeout),
		}
	}
	if tcp == nil && http == nil {
		return nil
	}
	return &istiov1beta1.ConnectionPoolSettings{Tcp: tcp, Http: http}
}

// outlierDetection ejects endpoints after consecutive gateway errors (502,
// 503, 504, connect failures) and never for any other 5xx; nil, that is off,
// when the policy counts none. A zero interval, base ejection time or
// percent keeps Istio's default (10s, 30s, 10%).
func outlierDetection(o policy.OutlierDetection) *istiov1beta1.OutlierDetection {
	if o.ConsecutiveGatewayErrors <= 0 {
		return nil
	}
	return &istiov1beta1.OutlierDetection{
		ConsecutiveGatewayErrors: wrapperspb.UInt32(uint32(o.ConsecutiveGatewayErrors)),
		// Left unset, Istio keeps Envoy's consecutive_5xx of 5, enforced at
		// 100%: five application 5xx in a row would eject the endpoint, which
		// may be Knative's activator passing a function's 5xx through. 0
		// makes istiod emit consecutive_5xx and enforcing_consecutive_5xx 0.
		Consecutive_5XxErrors: wrapperspb.UInt32(0),
		Interval:              optionalDuration(o.Interval),
		BaseEjectionTime:      optionalDuration(o.BaseEjectionTime),
		MaxEjectionPercent:    max(o.MaxEjectionPercent, 0),
	}
}

// optionalDuration is d, or nil (Istio's default) when d is not positive.
func optionalDuration(d time.Duration) *durationpb.Duration {
	if d <= 0 {
		return nil
	}
	return durationpb.New(d)
}
