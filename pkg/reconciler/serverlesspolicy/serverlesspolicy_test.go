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
	"testing"
	"time"

	istiov1beta1 "istio.io/client-go/pkg/apis/networking/v1beta1"
	istiolisters "istio.io/client-go/pkg/listers/networking/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgotesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/logging"
	logtesting "knative.dev/pkg/logging/testing"
	pkgreconciler "knative.dev/pkg/reconciler"
	rtesting "knative.dev/pkg/reconciler/testing"
	"knative.dev/serving/pkg/apis/serving"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	servinglisters "knative.dev/serving/pkg/client/listers/serving/v1"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
	fakessmclient "github.com/serverless-mesh/ssm/pkg/client/injection/client/fake"
	policyreconciler "github.com/serverless-mesh/ssm/pkg/client/injection/reconciler/ssm/v1alpha1/serverlesspolicy"
	ssmlisters "github.com/serverless-mesh/ssm/pkg/client/listers/ssm/v1alpha1"
	"github.com/serverless-mesh/ssm/pkg/config"
	"github.com/serverless-mesh/ssm/pkg/policy"
)

const ns = "fns"

var (
	older   = metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	newer   = metav1.NewTime(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	fixedAt = metav1.NewTime(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
)

func ptr[T any](v T) *T { return &v }

func serverlessPolicy(name string, created metav1.Time, spec v1alpha1.ServerlessPolicySpec, status ...v1alpha1.ServerlessPolicyStatus) *v1alpha1.ServerlessPolicy {
	p := &v1alpha1.ServerlessPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, CreationTimestamp: created, Generation: 1},
		Spec:       spec,
	}
	if len(status) > 0 {
		p.Status = status[0]
	}
	return p
}

func knService(name string, labels map[string]string) *servingv1.Service {
	return &servingv1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels}}
}

func revision(name, service string) *servingv1.Revision {
	return &servingv1.Revision{ObjectMeta: metav1.ObjectMeta{
		Name: name, Namespace: ns, Labels: map[string]string{serving.ServiceLabelKey: service},
	}}
}

// routed is a revision a Route sends traffic to.
func routed(name, service string) *servingv1.Revision {
	r := revision(name, service)
	r.Labels[serving.RoutingStateLabelKey] = "active"
	return r
}

// destinationRule is SSM's rule for revision, resolved with policyRef ("" for
// none), as the KIngress reconciler writes it.
func destinationRule(name, revision, policyRef string) *istiov1beta1.DestinationRule {
	dr := &istiov1beta1.DestinationRule{ObjectMeta: metav1.ObjectMeta{
		Name: name, Namespace: ns, Labels: map[string]string{"app.kubernetes.io/managed-by": "ssm"},
		Annotations: map[string]string{"ssm.dev/revision": revision, "ssm.dev/lifecycle-class": "short-lived"},
	}}
	if policyRef != "" {
		dr.Annotations["ssm.dev/serverless-policy"] = policyRef
	}
	return dr
}

const destinationRulesKey = "destinationRules"

func withDestinationRules(drs ...*istiov1beta1.DestinationRule) map[string]interface{} {
	return map[string]interface{}{destinationRulesKey: drs}
}

func pendingStatus(message string, revisions ...string) v1alpha1.ServerlessPolicyStatus {
	s := appliedStatus(revisions...)
	s.Conditions = conditions(corev1.ConditionUnknown, "RoutesPending", message)
	return s
}

var thumbnails = v1alpha1.ServerlessPolicySpec{
	Selector:  metav1.LabelSelector{MatchLabels: map[string]string{"team": "media"}},
	Lifecycle: "short-lived",
	Timeout:   &metav1.Duration{Duration: 3 * time.Second},
}

// The resolved values below are written out from DESIGN.md's table and
// config-ssm's documented defaults, not computed by pkg/policy.
var thumbnailsResolved = &v1alpha1.ResolvedPolicy{
	Lifecycle: "short-lived",
	Timeout:   "3s",
	Retries:   1,
	RetryOn:   "connect-failure",
	MTLSMode:  "lightweight",
	ProxyPool: "default",
}

func conditions(applied corev1.ConditionStatus, reason, message string) duckv1.Conditions {
	return duckv1.Conditions{{
		Type: v1alpha1.ServerlessPolicyConditionPolicyApplied, Status: applied, Reason: reason, Message: message,
	}, {
		Type: apis.ConditionReady, Status: applied, Reason: reason, Message: message,
	}}
}

func appliedStatus(revisions ...string) v1alpha1.ServerlessPolicyStatus {
	return v1alpha1.ServerlessPolicyStatus{
		Status:      duckv1.Status{ObservedGeneration: 1, Conditions: conditions(corev1.ConditionTrue, "", "")},
		LastUpdated: &fixedAt,
		Resolved:    thumbnailsResolved,
		Revisions:   revisions,
	}
}

func TestReconcile(t *testing.T) {
	table := rtesting.TableTest{{
		Name: "resolves the policy and lists the revisions it governs",
		Key:  ns + "/thumbnails",
		Objects: []runtime.Object{
			serverlessPolicy("thumbnails", older, thumbnails),
			knService("resize", map[string]string{"team": "media"}),
			knService("billing", map[string]string{"team": "money"}),
			revision("resize-00002", "resize"),
			revision("resize-00001", "resize"),
			revision("billing-00001", "billing"),
		},
		WantStatusUpdates: []clientgotesting.UpdateActionImpl{{
			Object: serverlessPolicy("thumbnails", older, thumbnails, appliedStatus("resize-00001", "resize-00002")),
		}},
	}, {
		Name: "unchanged: no write at all",
		Key:  ns + "/thumbnails",
		Objects: []runtime.Object{
			serverlessPolicy("thumbnails", older, thumbnails, appliedStatus("resize-00001")),
			knService("resize", map[string]string{"team": "media"}),
			revision("resize-00001", "resize"),
		},
	}, {
		Name: "the newer of two policies selecting one Service reports the conflict",
		Key:  ns + "/second",
		Objects: []runtime.Object{
			serverlessPolicy("first", older, thumbnails, appliedStatus("resize-00001")),
			serverlessPolicy("second", newer, thumbnails),
			knService("resize", map[string]string{"team": "media"}),
			revision("resize-00001", "resize"),
		},
		WantStatusUpdates: []clientgotesting.UpdateActionImpl{{
			Object: serverlessPolicy("second", newer, thumbnails, v1alpha1.ServerlessPolicyStatus{
				Status: duckv1.Status{ObservedGeneration: 1, Conditions: conditions(corev1.ConditionFalse, "PolicyConflict",
					`ServerlessPolicy "first" selects a Service that this policy also selects; a Service may be selected by one policy only`)},
				LastUpdated: &fixedAt,
				Resolved:    thumbnailsResolved,
			}),
		}},
	}, {
		Name: "applied: every routed revision's routes carry the current generation",
		Key:  ns + "/thumbnails",
		Objects: []runtime.Object{
			serverlessPolicy("thumbnails", older, thumbnails),
			knService("resize", map[string]string{"team": "media"}),
			routed("resize-00001", "resize"),
			revision("resize-00002", "resize"), // no Route: nothing to carry
		},
		OtherTestData: withDestinationRules(
			destinationRule("hello-resize-00001-1", "resize-00001", "thumbnails/1"),
			destinationRule("other-resize-00001-2", "resize-00001", "thumbnails/1"),
		),
		WantStatusUpdates: []clientgotesting.UpdateActionImpl{{
			Object: serverlessPolicy("thumbnails", older, thumbnails, appliedStatus("resize-00001", "resize-00002")),
		}},
	}, {
		Name: "pending: a routed revision without SSM routes, one with a route of an older generation",
		Key:  ns + "/thumbnails",
		Objects: []runtime.Object{
			serverlessPolicy("thumbnails", older, thumbnails),
			knService("resize", map[string]string{"team": "media"}),
			routed("resize-00001", "resize"),
			routed("resize-00002", "resize"),
		},
		OtherTestData: withDestinationRules(
			destinationRule("hello-resize-00001-1", "resize-00001", "thumbnails/1"),
			destinationRule("other-resize-00001-2", "resize-00001", "thumbnails/0"),
			// Another revision's rule says nothing about these.
			destinationRule("hello-billing-00001-3", "billing-00001", "thumbnails/1"),
		),
		WantStatusUpdates: []clientgotesting.UpdateActionImpl{{
			Object: serverlessPolicy("thumbnails", older, thumbnails, pendingStatus(
				`the routes of revision resize-00001 carry "thumbnails/0", not "thumbnails/1" yet; revision resize-00002 has no SSM route yet`,
				"resize-00001", "resize-00002")),
		}},
	}, {
		Name: "the older of two policies stays applied",
		Key:  ns + "/first",
		Objects: []runtime.Object{
			serverlessPolicy("first", older, thumbnails, appliedStatus("resize-00001")),
			serverlessPolicy("second", newer, thumbnails),
			knService("resize", map[string]string{"team": "media"}),
			revision("resize-00001", "resize"),
		},
	}, {
		// It was applied before the bad edit (the webhook was down): the
		// values and revisions it no longer governs leave its status.
		Name: "full mTLS with a named pool is reported, not applied",
		Key:  ns + "/bad",
		Objects: []runtime.Object{
			serverlessPolicy("bad", older, v1alpha1.ServerlessPolicySpec{MTLSMode: "full", ProxyPool: "warm"},
				appliedStatus("resize-00001")),
		},
		WantStatusUpdates: []clientgotesting.UpdateActionImpl{{
			Object: serverlessPolicy("bad", older, v1alpha1.ServerlessPolicySpec{MTLSMode: "full", ProxyPool: "warm"},
				v1alpha1.ServerlessPolicyStatus{LastUpdated: &fixedAt, Status: duckv1.Status{ObservedGeneration: 1, Conditions: conditions(corev1.ConditionFalse, "InvalidPolicy",
					`ServerlessPolicy: mtlsMode "full" conflicts with proxyPool "warm": a full-mTLS revision keeps its own Istio sidecar, `+
						`while a pooled proxy serves only sidecar-less (lightweight) pods; use mTLS mode lightweight or proxy pool none: mtlsMode, proxyPool`)}}),
		}},
	}}

	table.Test(t, factory)
}

type staticStore struct{ cfg *config.Config }

func (s staticStore) ToContext(ctx context.Context) context.Context {
	return config.ToContext(ctx, s.cfg)
}

func factory(t *testing.T, row *rtesting.TableRow) (controller.Reconciler, rtesting.ActionRecorderList, rtesting.EventList) {
	ctx := logging.WithLogger(context.Background(), logtesting.TestLogger(t))
	recorder := record.NewFakeRecorder(10)
	ctx = controller.WithEventRecorder(ctx, recorder)

	policies := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	services := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	revisions := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	drs := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	var ssmObjects []runtime.Object
	for _, o := range row.Objects {
		switch o := o.(type) {
		case *v1alpha1.ServerlessPolicy:
			if err := policies.Add(o); err != nil {
				t.Fatal(err)
			}
			ssmObjects = append(ssmObjects, o)
		case *servingv1.Service:
			if err := services.Add(o); err != nil {
				t.Fatal(err)
			}
		case *servingv1.Revision:
			if err := revisions.Add(o); err != nil {
				t.Fatal(err)
			}

		}
	}
	// DestinationRules are Istio protos, which the table's check that
	// Objects were not mutated cannot compare; they come in OtherTestData.
	if v, ok := row.OtherTestData[destinationRulesKey]; ok {
		for _, dr := range v.([]*istiov1beta1.DestinationRule) {
			if err := drs.Add(dr); err != nil {
				t.Fatal(err)
			}
		}
	}
	ctx, client := fakessmclient.With(ctx, ssmObjects...)
	row.Ctx = ctx

	r := &Reconciler{
		policyLister:     ssmlisters.NewServerlessPolicyLister(policies),
		serviceLister:    servinglisters.NewServiceLister(services),
		revisionLister:   servinglisters.NewRevisionLister(revisions),
		destinationRules: istiolisters.NewDestinationRuleLister(drs),
		now:              func() metav1.Time { return fixedAt },
	}
	cfg := &config.Config{SSM: &config.SSM{Policy: policy.NewDefaults()}}
	c := policyreconciler.NewReconciler(ctx, logging.FromContext(ctx), client, r.policyLister, recorder, r,
		controller.Options{ConfigStore: staticStore{cfg: cfg}})
	if la, ok := c.(pkgreconciler.LeaderAware); ok {
		_ = la.Promote(pkgreconciler.UniversalBucket(), func(pkgreconciler.Bucket, types.NamespacedName) {})
	}
	return c, rtesting.ActionRecorderList{client}, rtesting.EventList{Recorder: recorder}
}
