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
	// ServerlessPolicyConditionReady is true when the policy is in force for
	// every revision it selects.
	ServerlessPolicyConditionReady = apis.ConditionReady

	// ServerlessPolicyConditionPolicyApplied is true when the resolved policy
	// has been written to the Istio objects of every selected revision.
	ServerlessPolicyConditionPolicyApplied apis.ConditionType = "PolicyApplied"

	// ReasonPolicyConflict is the PolicyApplied reason when another
	// ServerlessPolicy in the namespace selects one of the same Services.
	ReasonPolicyConflict = "PolicyConflict"
)

// The condition set is built once and never changed, as in every Knative
// type: it is a constant in all but syntax.
var serverlessPolicyCondSet = apis.NewLivingConditionSet(ServerlessPolicyConditionPolicyApplied)

// GetConditionSet retrieves the condition set of ServerlessPolicy.
// Implements the KRShaped interface.
func (*ServerlessPolicy) GetConditionSet() apis.ConditionSet {
	return serverlessPolicyCondSet
}

// GetGroupVersionKind returns the GroupVersionKind of ServerlessPolicy.
func (*ServerlessPolicy) GetGroupVersionKind() schema.GroupVersionKind {
	return SchemeGroupVersion.WithKind("ServerlessPolicy")
}

// InitializeConditions sets every unset condition to Unknown.
func (s *ServerlessPolicyStatus) InitializeConditions() {
	serverlessPolicyCondSet.Manage(s).InitializeConditions()
}

// IsReady reports whether the Ready condition is true.
func (s *ServerlessPolicyStatus) IsReady() bool {
	return serverlessPolicyCondSet.Manage(s).IsHappy()
}

// MarkPolicyApplied records that the policy is in force everywhere it applies.
func (s *ServerlessPolicyStatus) MarkPolicyApplied() {
	serverlessPolicyCondSet.Manage(s).MarkTrue(ServerlessPolicyConditionPolicyApplied)
}

// MarkPolicyNotApplied records why the policy is not (yet) in force.
func (s *ServerlessPolicyStatus) MarkPolicyNotApplied(reason, messageFormat string, args ...interface{}) {
	serverlessPolicyCondSet.Manage(s).MarkFalse(ServerlessPolicyConditionPolicyApplied, reason, messageFormat, args...)
}

// MarkPolicyPending records that the policy is valid but not yet carried
// by every route it applies to.
func (s *ServerlessPolicyStatus) MarkPolicyPending(reason, messageFormat string, args ...interface{}) {
	serverlessPolicyCondSet.Manage(s).MarkUnknown(ServerlessPolicyConditionPolicyApplied, reason, messageFormat, args...)
}

// MarkConflict records that otherPolicyName selects a Service this policy
// also selects. Which policy wins is the reconciler's decision; this only
// makes the overlap visible on both objects, so that a user sees why a
// field they set is not in force.
func (s *ServerlessPolicyStatus) MarkConflict(otherPolicyName string) {
	serverlessPolicyCondSet.Manage(s).MarkFalse(ServerlessPolicyConditionPolicyApplied, ReasonPolicyConflict,
		"ServerlessPolicy %q selects a Service that this policy also selects; a Service may be selected by one policy only", otherPolicyName)
}
