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
	"fmt"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/controller"
	pkgreconciler "knative.dev/pkg/reconciler"
	"knative.dev/pkg/system"
	"knative.dev/pkg/webhook"
	certresources "knative.dev/pkg/webhook/certificates/resources"

	fakekubeclient "knative.dev/pkg/client/injection/kube/client/fake"
	fakemwhinformer "knative.dev/pkg/client/injection/kube/informers/admissionregistration/v1/mutatingwebhookconfiguration/fake"
	fakevwhinformer "knative.dev/pkg/client/injection/kube/informers/admissionregistration/v1/validatingwebhookconfiguration/fake"
	fakesecretinformer "knative.dev/pkg/injection/clients/namespacedkube/informers/core/v1/secret/fake"
	rtesting "knative.dev/pkg/reconciler/testing"
	_ "knative.dev/pkg/system/testing" // sets SYSTEM_NAMESPACE
)

func TestValidationTypes(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		"ssm.dev/v1alpha1, Kind=ServerlessPolicy":    "*v1alpha1.ServerlessPolicy",
		"ssm.dev/v1alpha1, Kind=ProxyPool":           "*v1alpha1.ProxyPool",
		"serving.knative.dev/v1, Kind=Service":       "*webhook.knativeObject",
		"serving.knative.dev/v1, Kind=Configuration": "*webhook.knativeObject",
		"serving.knative.dev/v1, Kind=Revision":      "*webhook.knativeObject",
	}
	got := map[string]string{}
	for gvk, handler := range ValidationTypes() {
		got[gvk.String()] = fmt.Sprintf("%T", handler)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ValidationTypes() (-want +got):\n%s", diff)
	}
}

func TestCRDTypes(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		"ssm.dev/v1alpha1, Kind=ServerlessPolicy": "*v1alpha1.ServerlessPolicy",
		"ssm.dev/v1alpha1, Kind=ProxyPool":        "*v1alpha1.ProxyPool",
	}
	got := map[string]string{}
	for gvk, handler := range CRDTypes() {
		got[gvk.String()] = fmt.Sprintf("%T", handler)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CRDTypes() (-want +got):\n%s", diff)
	}
}

func TestValidationCallbacks(t *testing.T) {
	t.Parallel()
	want := []string{
		"serving.knative.dev/v1, Kind=Configuration",
		"serving.knative.dev/v1, Kind=Revision",
		"serving.knative.dev/v1, Kind=Service",
	}
	var got []string
	for gvk := range ValidationCallbacks() {
		got = append(got, gvk.String())
	}
	sort.Strings(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ValidationCallbacks() kinds (-want +got):\n%s", diff)
	}
}

func TestConfigConstructors(t *testing.T) {
	t.Parallel()
	got := ConfigConstructors()
	var names []string
	for name, ctor := range got {
		names = append(names, name)
		if err := configmap.ValidateConstructor(ctor); err != nil {
			t.Errorf("constructor for %s: %v", name, err)
		}
	}
	if diff := cmp.Diff([]string{"config-ssm"}, names); diff != "" {
		t.Errorf("ConfigConstructors() names (-want +got):\n%s", diff)
	}
}

// fakeWebhookContext is an injection context with the objects every webhook
// reconciler reads: the cert Secret, the system Namespace and the webhook
// configurations as the install YAML creates them (rules empty).
func fakeWebhookContext(t *testing.T) context.Context {
	t.Helper()
	ctx, _ := rtesting.SetupFakeContext(t)
	ctx = webhook.WithOptions(ctx, webhook.Options{
		ServiceName: ServiceName,
		SecretName:  SecretName,
		Port:        8443,
	})
	client := fakekubeclient.Get(ctx)

	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: SecretName, Namespace: system.Namespace()},
		Data:       map[string][]byte{certresources.CACert: []byte("test-ca")},
	}
	if err := fakesecretinformer.Get(ctx).Informer().GetIndexer().Add(secret); err != nil {
		t.Fatal(err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: system.Namespace()}}
	if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	service := admissionregistrationv1.WebhookClientConfig{
		Service: &admissionregistrationv1.ServiceReference{Name: ServiceName, Namespace: system.Namespace()},
	}
	for _, name := range []string{ValidationWebhookName, ConfigValidationWebhookName} {
		vwh := &admissionregistrationv1.ValidatingWebhookConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Webhooks:   []admissionregistrationv1.ValidatingWebhook{{Name: name, ClientConfig: *service.DeepCopy()}},
		}
		if _, err := client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, vwh, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := fakevwhinformer.Get(ctx).Informer().GetIndexer().Add(vwh); err != nil {
			t.Fatal(err)
		}
	}
	mwh := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: DefaultingWebhookName},
		Webhooks:   []admissionregistrationv1.MutatingWebhook{{Name: DefaultingWebhookName, ClientConfig: *service.DeepCopy()}},
	}
	if _, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, mwh, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := fakemwhinformer.Get(ctx).Informer().GetIndexer().Add(mwh); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// reconcileAsLeader runs one reconcile of an admission controller the way
// the leader does.
func reconcileAsLeader(ctx context.Context, t *testing.T, impl *controller.Impl) {
	t.Helper()
	la, ok := impl.Reconciler.(pkgreconciler.LeaderAware)
	if !ok {
		t.Fatalf("%T is not leader aware", impl.Reconciler)
	}
	if err := la.Promote(pkgreconciler.UniversalBucket(), func(pkgreconciler.Bucket, types.NamespacedName) {}); err != nil {
		t.Fatal(err)
	}
	if err := impl.Reconciler.Reconcile(ctx, "any"); err != nil {
		t.Fatalf("Reconcile() = %v", err)
	}
}

func ops(o ...admissionregistrationv1.OperationType) []admissionregistrationv1.OperationType {
	return o
}

func TestValidationWebhookRules(t *testing.T) {
	t.Parallel()
	ctx := fakeWebhookContext(t)
	reconcileAsLeader(ctx, t, NewValidationAdmissionController(ctx, configmap.NewStaticWatcher()))

	got, err := fakekubeclient.Get(ctx).AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, ValidationWebhookName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	create, update, del := admissionregistrationv1.Create, admissionregistrationv1.Update, admissionregistrationv1.Delete
	want := []admissionregistrationv1.RuleWithOperations{{
		Operations: ops(create, update),
		Rule: admissionregistrationv1.Rule{
			APIGroups: []string{"serving.knative.dev"}, APIVersions: []string{"v1"},
			Resources: []string{"configurations"},
		},
	}, {
		Operations: ops(create, update),
		Rule: admissionregistrationv1.Rule{
			APIGroups: []string{"serving.knative.dev"}, APIVersions: []string{"v1"},
			Resources: []string{"revisions"},
		},
	}, {
		Operations: ops(create, update),
		Rule: admissionregistrationv1.Rule{
			APIGroups: []string{"serving.knative.dev"}, APIVersions: []string{"v1"},
			Resources: []string{"services"},
		},
	}, {
		Operations: ops(create, update, del),
		Rule: admissionregistrationv1.Rule{
			APIGroups: []string{"ssm.dev"}, APIVersions: []string{"v1alpha1"},
			Resources: []string{"proxypools", "proxypools/status"},
		},
	}, {
		Operations: ops(create, update, del),
		Rule: admissionregistrationv1.Rule{
			APIGroups: []string{"ssm.dev"}, APIVersions: []string{"v1alpha1"},
			Resources: []string{"serverlesspolicies", "serverlesspolicies/status"},
		},
	}}
	if diff := cmp.Diff(want, got.Webhooks[0].Rules); diff != "" {
		t.Errorf("validation webhook rules (-want +got):\n%s", diff)
	}
	if got, want := *got.Webhooks[0].ClientConfig.Service.Path, "/resource-validation"; got != want {
		t.Errorf("validation webhook path = %q, want %q", got, want)
	}
}

func TestDefaultingWebhookRules(t *testing.T) {
	t.Parallel()
	ctx := fakeWebhookContext(t)
	reconcileAsLeader(ctx, t, NewDefaultingAdmissionController(ctx, configmap.NewStaticWatcher()))

	got, err := fakekubeclient.Get(ctx).AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, DefaultingWebhookName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	create, update := admissionregistrationv1.Create, admissionregistrationv1.Update
	want := []admissionregistrationv1.RuleWithOperations{{
		Operations: ops(create, update),
		Rule: admissionregistrationv1.Rule{
			APIGroups: []string{"ssm.dev"}, APIVersions: []string{"v1alpha1"},
			Resources: []string{"proxypools", "proxypools/status"},
		},
	}, {
		Operations: ops(create, update),
		Rule: admissionregistrationv1.Rule{
			APIGroups: []string{"ssm.dev"}, APIVersions: []string{"v1alpha1"},
			Resources: []string{"serverlesspolicies", "serverlesspolicies/status"},
		},
	}}
	if diff := cmp.Diff(want, got.Webhooks[0].Rules); diff != "" {
		t.Errorf("defaulting webhook rules (-want +got):\n%s", diff)
	}
	if got, want := *got.Webhooks[0].ClientConfig.Service.Path, "/defaulting"; got != want {
		t.Errorf("defaulting webhook path = %q, want %q", got, want)
	}
}

func TestConfigWebhookRules(t *testing.T) {
	t.Parallel()
	ctx := fakeWebhookContext(t)
	reconcileAsLeader(ctx, t, NewConfigValidationController(ctx, configmap.NewStaticWatcher()))

	got, err := fakekubeclient.Get(ctx).AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, ConfigValidationWebhookName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	namespaced := admissionregistrationv1.NamespacedScope
	want := []admissionregistrationv1.RuleWithOperations{{
		Operations: ops(admissionregistrationv1.Create, admissionregistrationv1.Update),
		Rule: admissionregistrationv1.Rule{
			APIGroups: []string{""}, APIVersions: []string{"v1"},
			Resources: []string{"configmaps/*"}, Scope: &namespaced,
		},
	}}
	if diff := cmp.Diff(want, got.Webhooks[0].Rules); diff != "" {
		t.Errorf("config webhook rules (-want +got):\n%s", diff)
	}
	if got, want := *got.Webhooks[0].ClientConfig.Service.Path, "/config-validation"; got != want {
		t.Errorf("config webhook path = %q, want %q", got, want)
	}
}
