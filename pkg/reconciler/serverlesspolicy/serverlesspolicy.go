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

package serverlesspolicy

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	pkgreconciler "knative.dev/pkg/reconciler"
	"knative.dev/serving/pkg/apis/serving"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	servinglisters "knative.dev/serving/pkg/client/listers/serving/v1"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	"github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
	policyreconciler "github.com/serverless-mesh/ssm/pkg/client/injection/reconciler/ssm/v1alpha1/serverlesspolicy"
	ssmlisters "github.com/serverless-mesh/ssm/pkg/client/listers/ssm/v1alpha1"
	"github.com/serverless-mesh/ssm/pkg/config"
	"github.com/serverless-mesh/ssm/pkg/policy"
	"github.com/serverless-mesh/ssm/pkg/resolver"
	istiolisters "istio.io/client-go/pkg/listers/networking/v1beta1"
)

// Reasons on the PolicyApplied condition.
const (
	ReasonInvalidPolicy = "InvalidPolicy"
	// ReasonRoutesPending: a revision the policy governs and a Route sends
	// traffic to has no SSM route yet, or one resolved with an older
	// generation of the policy.
	ReasonRoutesPending = "RoutesPending"
)

// Reconciler reconciles ServerlessPolicy status.
type Reconciler struct {
	policyLister   ssmlisters.ServerlessPolicyLister
	serviceLister  servinglisters.ServiceLister
	revisionLister servinglisters.RevisionLister
	// destinationRules are SSM's, one per routed revision, annotated with
	// the ServerlessPolicy generation they were resolved with.
	destinationRules istiolisters.DestinationRuleLister
	now              func() metav1.Time
}

var _ policyreconciler.Interface = (*Reconciler)(nil)

// ReconcileKind resolves sp, finds what it governs and reports both.
func (r *Reconciler) ReconcileKind(ctx context.Context, sp *v1alpha1.ServerlessPolicy) pkgreconciler.Event {
	sp.Status.InitializeConditions()
	cfg := config.FromContext(ctx)

	resolved, err := resolver.PolicyAlone(sp, cfg.SSM.Policy)
	if err != nil {
		// Nothing of this policy is in force: report no values and no
		// revisions rather than the last ones that were.
		sp.Status.Resolved = nil
		sp.Status.Revisions = nil
		sp.Status.MarkPolicyNotApplied(ReasonInvalidPolicy, "%v", err)
		return nil
	}
	r.setResolved(sp, resolved)

	revisions, conflict, err := r.governed(sp)
	if err != nil {
		return err
	}
	sp.Status.Revisions = revisions
	if conflict != "" {
		sp.Status.MarkConflict(conflict)
		return nil
	}
	pending, err := r.routesPending(sp)
	if err != nil {
		return err
	}
	if pending != "" {
		sp.Status.MarkPolicyPending(ReasonRoutesPending, "%s", pending)
		return nil
	}
	sp.Status.MarkPolicyApplied()
	return nil
}

// maxPendingNamed bounds how many revisions a pending message names.
const maxPendingNamed = 3

// routesPending says which of the revisions sp governs that a Route sends
// traffic to (routingState active) do not yet have routes resolved with
// sp's current generation; "" when every one does. A revision no Route
// sends traffic to has no routes to carry the policy.
func (r *Reconciler) routesPending(sp *v1alpha1.ServerlessPolicy) (string, error) {
	drs, err := r.destinationRules.DestinationRules(sp.Namespace).List(labels.SelectorFromSet(labels.Set{
		ssm.ManagedByLabelKey: ssm.ManagedByLabelValue,
	}))
	if err != nil {
		return "", fmt.Errorf("listing DestinationRules in %s: %w", sp.Namespace, err)
	}
	carried := map[string][]string{}
	for _, dr := range drs {
		rev := dr.Annotations[ssm.RouteRevisionAnnotationKey]
		carried[rev] = append(carried[rev], dr.Annotations[ssm.RouteServerlessPolicyAnnotationKey])
	}
	want := resolver.PolicyRef(sp)
	var problems []string
	for _, name := range sp.Status.Revisions {
		rev, err := r.revisionLister.Revisions(sp.Namespace).Get(name)
		if err != nil || rev.Labels[serving.RoutingStateLabelKey] != string(servingv1.RoutingStateActive) {
			continue
		}
		refs := carried[name]
		if len(refs) == 0 {
			problems = append(problems, fmt.Sprintf("revision %s has no SSM route yet", name))
			continue
		}
		if i := slices.IndexFunc(refs, func(ref string) bool { return ref != want }); i >= 0 {
			problems = append(problems, fmt.Sprintf("the routes of revision %s carry %q, not %q yet", name, refs[i], want))
		}
	}
	if len(problems) == 0 {
		return "", nil
	}
	msg := strings.Join(problems[:min(len(problems), maxPendingNamed)], "; ")
	if more := len(problems) - maxPendingNamed; more > 0 {
		msg += fmt.Sprintf("; and %d more revisions", more)
	}
	return msg, nil
}

// setResolved reports resolved in status, moving LastUpdated only when the
// resolved values change, so that a no-op reconcile writes nothing.
func (r *Reconciler) setResolved(sp *v1alpha1.ServerlessPolicy, p policy.Policy) {
	want := &v1alpha1.ResolvedPolicy{
		Lifecycle: string(p.Lifecycle),
		Retries:   p.Retries,
		RetryOn:   p.RetryOn,
		MTLSMode:  string(p.MTLSMode),
		ProxyPool: p.ProxyPool,
	}
	if p.Timeout > 0 {
		want.Timeout = p.Timeout.String()
	}
	if equality.Semantic.DeepEqual(sp.Status.Resolved, want) {
		return
	}
	sp.Status.Resolved = want
	now := r.now()
	sp.Status.LastUpdated = &now
}

// governed lists the revisions (sorted) of every Knative Service sp selects
// and wins, and names a policy that beats sp to one of them, if any. The
// winner of a contested Service stays applied; only the loser reports the
// conflict, naming the policy in force.
func (r *Reconciler) governed(sp *v1alpha1.ServerlessPolicy) ([]string, string, error) {
	policies, err := r.policyLister.ServerlessPolicies(sp.Namespace).List(labels.Everything())
	if err != nil {
		return nil, "", fmt.Errorf("listing ServerlessPolicies in %s: %w", sp.Namespace, err)
	}
	services, err := r.serviceLister.Services(sp.Namespace).List(labels.Everything())
	if err != nil {
		return nil, "", fmt.Errorf("listing Services in %s: %w", sp.Namespace, err)
	}
	sort.Slice(services, func(i, j int) bool { return services[i].Name < services[j].Name })

	var revisions []string
	conflict := ""
	for _, svc := range services {
		winner, losers := resolver.Select(policies, svc.Labels)
		if winner == nil {
			continue
		}
		if winner.Name != sp.Name {
			for _, l := range losers {
				if l.Name == sp.Name && conflict == "" {
					conflict = winner.Name
				}
			}
			continue
		}
		revs, err := r.revisionLister.Revisions(sp.Namespace).List(labels.SelectorFromSet(labels.Set{
			serving.ServiceLabelKey: svc.Name,
		}))
		if err != nil {
			return nil, "", fmt.Errorf("listing revisions of %s/%s: %w", sp.Namespace, svc.Name, err)
		}
		for _, rev := range revs {
			revisions = append(revisions, rev.Name)
		}
	}
	sort.Strings(revisions)
	return revisions, conflict, nil
}
