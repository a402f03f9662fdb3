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
	corev1 "k8s.io/api/core/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

// cond is the part of an apis.Condition a transition test asserts on; the
// transition time and severity are the condition manager's business.
type cond struct {
	Status  corev1.ConditionStatus
	Reason  string
	Message string
}

// summarize keys the conditions by type.
func summarize(conds duckv1.Conditions) map[apis.ConditionType]cond {
	out := make(map[apis.ConditionType]cond, len(conds))
	for _, c := range conds {
		out[c.Type] = cond{Status: c.Status, Reason: c.Reason, Message: c.Message}
	}
	return out
}
