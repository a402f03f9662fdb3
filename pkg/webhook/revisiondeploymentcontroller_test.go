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

package webhook

import (
	"context"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	fakekubeclient "knative.dev/pkg/client/injection/kube/client/fake"
	fakemwhinformer "knative.dev/pkg/client/injection/kube/informers/admissionregistration/v1/mutatingwebhookconfiguration/fake"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/system"
)

// TestInstallRevisionDeploymentWebhook checks what the reconciler does not
// fill in and the webhook relies on: only revision Deployments, on create
// and update, never blocking Knative.
func TestInstallRevisionDeploymentWebhook(t *testing.T) {
	t.Parallel()
	var found []admissionregistrationv1.MutatingWebhook
	for _, obj := range installDocs(t, "600-webhook-configurations.yaml") {
		if c, ok := obj.(*admissionregistrationv1.MutatingWebhookConfiguration); ok && c.Name == "deployments.webhook.ssm.dev" {
			found = append(found, c.Webhooks...)
		}
	}
	if len(found) != 1 {
		t.Fatalf("deployments.webhook.ssm.dev has %d webhooks, want 1", len(found))
	}
	w := found[0]
	wantRules := []admissionregistrationv1.RuleWithOperations{{
		Operations: []admissionregistrationv1.OperationType{"CREATE", "UPDATE"},
		Rule: admissionregistrationv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"},
			Resources: []string{"deployments"}, Scope: ptrTo(admissionregistrationv1.NamespacedScope)},
	}}
	if diff := cmp.Diff(wantRules, w.Rules); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
	wantSelector := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
		Key: "serving.knative.dev/revision", Operator: metav1.LabelSelectorOpExists,
	}}}
	if diff := cmp.Diff(wantSelector, w.ObjectSelector); diff != "" {
		t.Errorf("objectSelector (-want +got):\n%s", diff)
	}
	if w.NamespaceSelector != nil {
		t.Errorf("namespaceSelector = %v, want none (revisions live in any namespace)", w.NamespaceSelector)
	}
	if w.TimeoutSeconds == nil || *w.TimeoutSeconds != 3 {
		t.Errorf("timeoutSeconds = %v, want 3", w.TimeoutSeconds)
	}
	if w.ReinvocationPolicy == nil || *w.ReinvocationPolicy != admissionregistrationv1.NeverReinvocationPolicy {
		t.Errorf("reinvocationPolicy = %v, want Never", w.ReinvocationPolicy)
	}
}

// TestInstallRevisionWebhook: every new Revision, whatever its labels
// (one governed only by a ServerlessPolicy has no SSM mark), never
// blocking Knative.
func TestInstallRevisionWebhook(t *testing.T) {
	t.Parallel()
	var found []admissionregistrationv1.MutatingWebhook
	for _, obj := range installDocs(t, "600-webhook-configurations.yaml") {
		if c, ok := obj.(*admissionregistrationv1.MutatingWebhookConfiguration); ok && c.Name == "revisions.webhook.ssm.dev" {
			found = append(found, c.Webhooks...)
		}
	}
	if len(found) != 1 {
		t.Fatalf("revisions.webhook.ssm.dev has %d webhooks, want 1", len(found))
	}
	w := found[0]
	wantRules := []admissionregistrationv1.RuleWithOperations{{
		Operations: []admissionregistrationv1.OperationType{"CREATE"},
		Rule: admissionregistrationv1.Rule{APIGroups: []string{"serving.knative.dev"}, APIVersions: []string{"v1"},
			Resources: []string{"revisions"}, Scope: ptrTo(admissionregistrationv1.NamespacedScope)},
	}}
	if diff := cmp.Diff(wantRules, w.Rules); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
	if w.ObjectSelector != nil || w.NamespaceSelector != nil {
		t.Errorf("selectors = %v, %v; want none", w.ObjectSelector, w.NamespaceSelector)
	}
	if *w.FailurePolicy != admissionregistrationv1.Ignore {
		t.Errorf("failurePolicy = %v, want Ignore", *w.FailurePolicy)
	}
	if w.TimeoutSeconds == nil || *w.TimeoutSeconds != 3 {
		t.Errorf("timeoutSeconds = %v, want 3", w.TimeoutSeconds)
	}
}

// TestInstallWebhookRBAC: the webhook may update its mutating
// configurations and read what the revisions webhook resolves from.
func TestInstallWebhookRBAC(t *testing.T) {
	t.Parallel()
	can := func(group, resource, verb, name string) bool {
		for _, obj := range installDocs(t, "200-webhook-rbac.yaml") {
			role, ok := obj.(*rbacv1.ClusterRole)
			if !ok || role.Kind != "ClusterRole" {
				continue
			}
			for _, r := range role.Rules {
				if slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb) &&
					(name == "" && len(r.ResourceNames) == 0 || name != "" && slices.Contains(r.ResourceNames, name)) {
					return true
				}
			}
		}
		return false
	}
	for _, c := range []struct{ group, resource, verb, name string }{
		{"admissionregistration.k8s.io", "mutatingwebhookconfigurations", "update", "deployments.webhook.ssm.dev"},
		{"admissionregistration.k8s.io", "mutatingwebhookconfigurations", "update", "revisions.webhook.ssm.dev"},
		{"serving.knative.dev", "services", "list", ""},
		{"serving.knative.dev", "services", "watch", ""},
		{"ssm.dev", "serverlesspolicies", "list", ""},
		{"ssm.dev", "serverlesspolicies", "watch", ""},
	} {
		if !can(c.group, c.resource, c.verb, c.name) {
			t.Errorf("the webhook's ClusterRole cannot %s %s.%s %s", c.verb, c.resource, c.group, c.name)
		}
	}
}

func ptrTo[T any](v T) *T { return &v }

func TestMutatingWebhookReconcile(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, path string
		new        func(context.Context, configmap.Watcher) *controller.Impl
	}{
		{"deployments.webhook.ssm.dev", "/revision-deployments", NewRevisionDeploymentController},
		{"revisions.webhook.ssm.dev", "/revisions", NewRevisionController},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testMutatingWebhookReconcile(t, tc.name, tc.path, tc.new)
		})
	}
}

func testMutatingWebhookReconcile(t *testing.T, name, path string, newController func(context.Context, configmap.Watcher) *controller.Impl) {
	ctx := fakeWebhookContext(t)
	client := fakekubeclient.Get(ctx)
	rules := []admissionregistrationv1.RuleWithOperations{{
		Operations: []admissionregistrationv1.OperationType{"CREATE", "UPDATE"},
		Rule:       admissionregistrationv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"deployments"}},
	}}
	mwh := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:         name,
			ClientConfig: admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{Name: "ssm-webhook", Namespace: system.Namespace()}},
			Rules:        rules,
		}},
	}
	if _, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, mwh, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := fakemwhinformer.Get(ctx).Informer().GetIndexer().Add(mwh); err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "config-ssm", Namespace: system.Namespace()}}
	reconcileAsLeader(ctx, t, newController(ctx, configmap.NewStaticWatcher(cm)))

	got, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w := got.Webhooks[0]
	if string(w.ClientConfig.CABundle) != "test-ca" {
		t.Errorf("CABundle = %q, want test-ca", w.ClientConfig.CABundle)
	}
	if w.ClientConfig.Service.Path == nil || *w.ClientConfig.Service.Path != path {
		t.Errorf("service path = %v, want %s", w.ClientConfig.Service.Path, path)
	}
	if diff := cmp.Diff(rules, w.Rules); diff != "" {
		t.Errorf("rules changed by the reconciler (-want +got):\n%s", diff)
	}
	if len(got.OwnerReferences) != 1 || got.OwnerReferences[0].Kind != "Namespace" || got.OwnerReferences[0].Name != system.Namespace() {
		t.Errorf("ownerReferences = %v, want the system Namespace", got.OwnerReferences)
	}
}
