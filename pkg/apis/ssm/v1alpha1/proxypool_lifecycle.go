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
	"k8s.io/apimachinery/pkg/runtime/schema"
	"knative.dev/pkg/apis"
)

const (
	// ProxyPoolConditionReady is true when the pool's Deployment is ready and
	// it holds warm proxies to lease.
	ProxyPoolConditionReady = apis.ConditionReady

	// ProxyPoolConditionDeploymentReady mirrors the availability of the
	// Envoy Deployment that backs the pool.
	ProxyPoolConditionDeploymentReady apis.ConditionType = "DeploymentReady"

	// ProxyPoolConditionProxiesWarm is true when at least MinSize proxies
	// have ACKed their base configuration, so that a lease does not wait for
	// an Envoy to start.
	ProxyPoolConditionProxiesWarm apis.ConditionType = "ProxiesWarm"
)

// Built once and never changed, as in every Knative type.
var proxyPoolCondSet = apis.NewLivingConditionSet(
	ProxyPoolConditionDeploymentReady,
	ProxyPoolConditionProxiesWarm,
)

// GetConditionSet retrieves the condition set of ProxyPool.
// Implements the KRShaped interface.
func (*ProxyPool) GetConditionSet() apis.ConditionSet {
	return proxyPoolCondSet
}

// GetGroupVersionKind returns the GroupVersionKind of ProxyPool.
func (*ProxyPool) GetGroupVersionKind() schema.GroupVersionKind {
	return SchemeGroupVersion.WithKind("ProxyPool")
}

// InitializeConditions sets every unset condition to Unknown.
func (s *ProxyPoolStatus) InitializeConditions() {
	proxyPoolCondSet.Manage(s).InitializeConditions()
}

// IsReady reports whether the Ready condition is true.
func (s *ProxyPoolStatus) IsReady() bool {
	return proxyPoolCondSet.Manage(s).IsHappy()
}

// MarkDeploymentReady records that the Envoy Deployment is available.
func (s *ProxyPoolStatus) MarkDeploymentReady() {
	proxyPoolCondSet.Manage(s).MarkTrue(ProxyPoolConditionDeploymentReady)
}

// MarkDeploymentNotReady records why the Envoy Deployment is not available.
func (s *ProxyPoolStatus) MarkDeploymentNotReady(reason, messageFormat string, args ...interface{}) {
	proxyPoolCondSet.Manage(s).MarkFalse(ProxyPoolConditionDeploymentReady, reason, messageFormat, args...)
}

// MarkProxiesWarm records that enough proxies are warm to serve leases.
func (s *ProxyPoolStatus) MarkProxiesWarm() {
	proxyPoolCondSet.Manage(s).MarkTrue(ProxyPoolConditionProxiesWarm)
}

// MarkProxiesNotWarm records why fewer proxies than needed are warm. The
// pool still leases the warm proxies it has; Ready false tells the activator
// hook's operators that cold starts may fall back to the plain Knative path.
func (s *ProxyPoolStatus) MarkProxiesNotWarm(reason, messageFormat string, args ...interface{}) {
	proxyPoolCondSet.Manage(s).MarkFalse(ProxyPoolConditionProxiesWarm, reason, messageFormat, args...)
}
