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
	"fmt"
	"time"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
	"github.com/serverless-mesh/ssm/pkg/policy"
)

// Inputs are everything that decides a revision's policy.
type Inputs struct {
	// Annotations are the Revision's, ssm.dev/* and others alike.
	Annotations map[string]string
	// Policy is the ServerlessPolicy that selects the revision's Knative
	// Service (Lookup.PolicyFor), nil when none does.
	Policy *v1alpha1.ServerlessPolicy
	// Defaults are config-ssm's policy defaults.
	Defaults policy.Defaults
	// SidecarlessRevisions is config-ssm's sidecarless-revisions switch.
	SidecarlessRevisions bool
	// RevisionTimeout is the revision's timeoutSeconds; 0 when unknown.
	RevisionTimeout time.Duration
	// Observation drives "auto" and derived timeouts; nil when none exists.
	Observation *policy.Observation
	// Previous is the class last applied, for "auto"'s hysteresis.
	Previous policy.Lifecycle
}

// Resolution is what SSM gives a revision.
type Resolution struct {
	// Governed is false when neither ssm.dev/* annotations nor a
	// ServerlessPolicy apply: the revision gets no SSM behaviour at all,
	// whatever config-ssm's default class would be.
	Governed bool
	// Policy is the revision's concrete policy; zero when not governed.
	Policy policy.Policy
	// Pods is what a pod of the revision is born with, decided from these
	// inputs minus observations (see NewPods).
	Pods Pods
}

// Resolve answers for one revision. Bad input (an annotation or a policy
// spec that slipped past the webhook, conflicting fields, invalid defaults)
// is an error naming the ServerlessPolicy when it is involved, so that a
// caller can surface it on status; nothing is half-resolved.
func Resolve(in Inputs) (Resolution, error) {
	if in.Policy == nil && !policy.HasSSMAnnotations(in.Annotations) {
		return Resolution{Pods: Pods{Unleasable: UnleasableNotGoverned}}, nil
	}
	pin, err := policyInput(in)
	if err != nil {
		return Resolution{}, err
	}
	p, err := policy.Resolve(pin)
	if err != nil {
		return Resolution{}, named(in.Policy, err)
	}
	// A new pod has no observation: it is born with the class "auto" starts
	// from, and keeps what it was born with until the next revision.
	born := p
	if pin.Observation != nil || pin.Previous != "" {
		pin.Observation, pin.Previous = nil, ""
		if born, err = policy.Resolve(pin); err != nil {
			return Resolution{}, named(in.Policy, err)
		}
	}
	if in.Policy != nil {
		p.ServerlessPolicy = PolicyRef(in.Policy)
	}
	return Resolution{Governed: true, Policy: p, Pods: NewPods(born, in.SidecarlessRevisions)}, nil
}

func policyInput(in Inputs) (policy.Input, error) {
	annotations, fe := policy.ParseAnnotations(in.Annotations)
	if fe != nil {
		// Already names the annotation and its allowed values.
		return policy.Input{}, fe
	}
	pin := policy.Input{
		Annotations:     annotations,
		Defaults:        in.Defaults,
		RevisionTimeout: in.RevisionTimeout,
		Observation:     in.Observation,
		Previous:        in.Previous,
	}
	if in.Policy != nil {
		o := in.Policy.Spec.Overrides()
		pin.Policy = &o
	}
	return pin, nil
}

// PolicyRef is how routes name the ServerlessPolicy, and the spec
// generation of it, they were resolved with.
func PolicyRef(sp *v1alpha1.ServerlessPolicy) string {
	return fmt.Sprintf("%s/%d", sp.Name, sp.Generation)
}

func named(sp *v1alpha1.ServerlessPolicy, err error) error {
	if sp == nil {
		return err
	}
	return fmt.Errorf("with ServerlessPolicy %q: %w", sp.Name, err)
}

// PolicyAlone is what sp gives a revision that carries no ssm.dev/*
// annotation, before anything is observed: the values a ServerlessPolicy's
// own status reports. Its errors are sp's own and do not repeat its name.
func PolicyAlone(sp *v1alpha1.ServerlessPolicy, d policy.Defaults) (policy.Policy, error) {
	o := sp.Spec.Overrides()
	return policy.Resolve(policy.Input{Policy: &o, Defaults: d})
}
