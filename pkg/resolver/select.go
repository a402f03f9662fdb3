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

package resolver

import (
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
)

// Select returns the ServerlessPolicy that governs a Knative Service with the
// given labels, and the other policies that also select it. When several
// select the same Service the oldest wins (then the lexically first name), so
// the choice does not depend on informer order and does not change when a
// newer, conflicting policy is created. Policies whose selector does not
// parse select nothing: the webhook rejects them, and their own status says why.
func Select(policies []*v1alpha1.ServerlessPolicy, serviceLabels map[string]string) (*v1alpha1.ServerlessPolicy, []*v1alpha1.ServerlessPolicy) {
	var matching []*v1alpha1.ServerlessPolicy
	for _, p := range policies {
		if p.DeletionTimestamp != nil {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(&p.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(serviceLabels)) {
			continue
		}
		matching = append(matching, p)
	}
	if len(matching) == 0 {
		return nil, nil
	}
	sort.Slice(matching, func(i, j int) bool {
		ti, tj := matching[i].CreationTimestamp, matching[j].CreationTimestamp
		if !ti.Equal(&tj) {
			return ti.Before(&tj)
		}
		return matching[i].Name < matching[j].Name
	})
	return matching[0], matching[1:]
}
