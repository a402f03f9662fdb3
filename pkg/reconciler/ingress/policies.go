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

package ingress

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrs "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/tracker"
	"knative.dev/serving/pkg/apis/serving"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	ssmv1alpha1 "github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
	"github.com/serverless-mesh/ssm/pkg/config"
	"github.com/serverless-mesh/ssm/pkg/policy"
	"github.com/serverless-mesh/ssm/pkg/reconciler/ingress/resources"
	"github.com/serverless-mesh/ssm/pkg/reconciler/ingress/resources/names"
	"github.com/serverless-mesh/ssm/pkg/resolver"
)

// invalidPolicyError is bad user input found while resolving a backend's
// policy. It is reported on the KIngress status and never causes the
// existing Istio objects to change.
type invalidPolicyError struct {
	backend resources.Backend
	err     error
}

func (e *invalidPolicyError) Error() string {
	return fmt.Sprintf("revision %s/%s: %v", e.backend.Namespace, e.backend.Name, e.err)
}

func (e *invalidPolicyError) Unwrap() error { return e.err }

// resolvePolicies resolves the policy of every backend of ing that is an SSM
// revision. A backend that is not a Revision (a DomainMapping's Route
// Service, a plain Service) or a revision SSM does not govern is absent from
// the result and gets net-istio's behaviour. The first invalid input found
// is returned as an *invalidPolicyError.
func (r *Reconciler) resolvePolicies(ctx context.Context, ing *v1alpha1.Ingress) (map[resources.Backend]policy.Policy, error) {
	cfg := config.FromContext(ctx)
	out := make(map[resources.Backend]policy.Policy)
	for _, b := range resources.ReferencedBackends(ing) {
		// Knative names a Route split's Service after its Revision. Track it
		// so that an annotation change on the Revision re-reconciles us.
		if err := r.tracker.TrackReference(tracker.Reference{
			APIVersion: servingv1.SchemeGroupVersion.String(),
			Kind:       "Revision",
			Namespace:  b.Namespace,
			Name:       b.Name,
		}, ing); err != nil {
			return nil, fmt.Errorf("tracking revision %s/%s: %w", b.Namespace, b.Name, err)
		}
		rev, err := r.revisionLister.Revisions(b.Namespace).Get(b.Name)
		if apierrs.IsNotFound(err) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("getting revision %s/%s: %w", b.Namespace, b.Name, err)
		}
		p, governed, err := r.resolveRevision(ctx, ing, cfg, b, rev)
		if err != nil {
			return nil, err
		}
		if governed {
			out[b] = p
		}
	}
	return out, nil
}

// resolveRevision resolves one revision's policy with pkg/resolver.
// governed is false when neither ssm.dev/* annotations nor a
// ServerlessPolicy apply to it.
//
// Only what the user wrote (annotations, the ServerlessPolicy) comes back as
// an *invalidPolicyError; a failing lister or tracker is an ordinary error,
// retried, and never blamed on the user.
func (r *Reconciler) resolveRevision(ctx context.Context, ing *v1alpha1.Ingress, cfg *config.Config, b resources.Backend, rev *servingv1.Revision) (policy.Policy, bool, error) {
	selected, err := r.selectPolicy(ing, rev)
	if err != nil {
		return policy.Policy{}, false, err
	}
	in := resolver.Inputs{
		Annotations:          rev.Annotations,
		Policy:               selected,
		Defaults:             cfg.SSM.Policy,
		SidecarlessRevisions: cfg.SSM.SidecarlessRevisions,
		RevisionTimeout:      resolver.RevisionTimeout(rev),
		Previous:             r.previousLifecycle(ing, rev),
	}
	if obs, ok := r.observer.Observe(rev.Namespace, rev.Name); ok {
		in.Observation = &obs
	}
	res, err := resolver.Resolve(in)
	if err != nil {
		return policy.Policy{}, false, &invalidPolicyError{backend: b, err: err}
	}
	if res.Governed && in.Previous != "" && res.Policy.Lifecycle != in.Previous {
		// On the Revision, where `kubectl describe` shows it to the user
		// whose function it is. Objects from a lister carry no kind, and
		// the recorder drops an event whose object it cannot reference.
		about := rev.DeepCopy()
		about.SetGroupVersionKind(servingv1.SchemeGroupVersion.WithKind("Revision"))
		controller.GetEventRecorder(ctx).Event(about, corev1.EventTypeNormal, ReasonLifecycleChanged,
			lifecycleChangeMessage(in.Previous, res.Policy, in.Observation))
	}
	return res.Policy, res.Governed, nil
}

// ReasonLifecycleChanged is the Event a Revision gets when the class its
// routes carry changes.
const ReasonLifecycleChanged = "LifecycleClassChanged"

// lifecycleChangeMessage says what changed, what SSM observed and where
// every resolved field came from.
func lifecycleChangeMessage(previous policy.Lifecycle, p policy.Policy, obs *policy.Observation) string {
	var b strings.Builder
	fmt.Fprintf(&b, "SSM lifecycle class %s → %s (from %s", previous, p.Lifecycle, p.Sources[policy.SourceKeyLifecycle])
	if obs != nil {
		fmt.Fprintf(&b, ": p50 %v, p99 %v over %d requests", obs.P50, obs.P99, obs.Samples)
	}
	b.WriteString("); route timeout ")
	if p.Timeout > 0 {
		b.WriteString(p.Timeout.String())
	} else {
		b.WriteString("none")
	}
	fmt.Fprintf(&b, " (from %s), retries %d (from %s), mTLS %s (from %s)",
		p.Sources[policy.SourceKeyTimeout], p.Retries, p.Sources[policy.SourceKeyRetries],
		p.MTLSMode, p.Sources[policy.SourceKeyMTLSMode])
	return b.String()
}

// selectPolicy finds the ServerlessPolicy that selects rev's Knative
// Service, tracking what may change the answer.
func (r *Reconciler) selectPolicy(ing *v1alpha1.Ingress, rev *servingv1.Revision) (*ssmv1alpha1.ServerlessPolicy, error) {
	// Any policy in the namespace may start or stop selecting the Service.
	if err := r.tracker.TrackReference(tracker.Reference{
		APIVersion: ssmv1alpha1.SchemeGroupVersion.String(),
		Kind:       "ServerlessPolicy",
		Namespace:  rev.Namespace,
		Selector:   &metav1.LabelSelector{},
	}, ing); err != nil {
		return nil, fmt.Errorf("tracking ServerlessPolicies in %s: %w", rev.Namespace, err)
	}
	if svcName := rev.Labels[serving.ServiceLabelKey]; svcName != "" {
		if err := r.tracker.TrackReference(tracker.Reference{
			APIVersion: servingv1.SchemeGroupVersion.String(),
			Kind:       "Service",
			Namespace:  rev.Namespace,
			Name:       svcName,
		}, ing); err != nil {
			return nil, fmt.Errorf("tracking service %s/%s: %w", rev.Namespace, svcName, err)
		}
	}
	return resolver.Lookup{Services: r.knServiceLister, Policies: r.policyLister}.PolicyFor(rev.Namespace, rev.Labels)
}

// previousLifecycle is the class last applied to rev for ing, read back
// from the DestinationRule SSM wrote for it, so that "auto" keeps its
// hysteresis across controller restarts.
func (r *Reconciler) previousLifecycle(ing *v1alpha1.Ingress, rev *servingv1.Revision) policy.Lifecycle {
	dr, err := r.destinationRuleLister.DestinationRules(rev.Namespace).Get(names.DestinationRule(ing, rev.Namespace, rev.Name))
	if err != nil || !ownedBy(dr, ing) {
		return ""
	}
	return policy.Lifecycle(dr.Annotations[resources.LifecycleClassAnnotationKey])
}
