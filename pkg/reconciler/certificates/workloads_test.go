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

package certificates

import (
	"context"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	appsv1listers "k8s.io/client-go/listers/apps/v1"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	clocktesting "k8s.io/utils/clock/testing"
	fakekubeclient "knative.dev/pkg/client/injection/kube/client/fake"
	deploymentfilteredinformer "knative.dev/pkg/client/injection/kube/informers/apps/v1/deployment/filtered"
	secretfilteredinformer "knative.dev/pkg/client/injection/kube/informers/core/v1/secret/filtered"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/controller"
	pkgreconciler "knative.dev/pkg/reconciler"

	"github.com/serverless-mesh/ssm/pkg/identity"
	ssmtesting "github.com/serverless-mesh/ssm/pkg/reconciler/testing"
)

func revisionDeployment(ns, name, sa string, annotations map[string]string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"serving.knative.dev/revision": name}},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Annotations: annotations},
			Spec:       corev1.PodSpec{ServiceAccountName: sa},
		}},
	}
}

// reconcileWorkload runs the workload reconciler once against a fake
// clientset whose listers show what it holds.
func reconcileWorkload(t *testing.T, kube *fake.Clientset, dep *appsv1.Deployment, now time.Time) error {
	t.Helper()
	ctx := context.Background()
	secrets := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	list, err := kube.CoreV1().Secrets(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range list.Items {
		_ = secrets.Add(&list.Items[i])
	}
	deps := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	_ = deps.Add(dep)
	r := &WorkloadReconciler{
		kube:        kube,
		deployments: appsv1listers.NewDeploymentLister(deps),
		secrets:     corev1listers.NewSecretLister(secrets),
		trustDomain: "cluster.local",
		clock:       clocktesting.NewFakePassiveClock(now),
	}
	leadEverything(t, r)
	return r.Reconcile(ctx, dep.Namespace+"/"+dep.Name)
}

func TestWorkloadCertificates(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	plugin := map[string]string{"qpoption.knative.dev/ssm-activate": "enable"}
	tests := []struct {
		name       string
		dep        *appsv1.Deployment
		wantSecret string // "" when none is issued
		wantURI    string
	}{{
		name:       "a sidecar-less revision's ServiceAccount gets its certificate",
		dep:        revisionDeployment("fn-ns", "fn-00001-deployment", "fn-sa", plugin),
		wantSecret: "ssm-workload-fn-sa",
		wantURI:    "spiffe://cluster.local/ns/fn-ns/sa/fn-sa",
	}, {
		name:       "no ServiceAccount named: the namespace's default",
		dep:        revisionDeployment("fn-ns", "fn-00001-deployment", "", plugin),
		wantSecret: "ssm-workload-default",
		wantURI:    "spiffe://cluster.local/ns/fn-ns/sa/default",
	}, {
		name: "a revision without the plugin switch gets nothing",
		dep:  revisionDeployment("fn-ns", "fn-00001-deployment", "fn-sa", nil),
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			kube := fake.NewSimpleClientset(caSecretFor(t, now))
			err := reconcileWorkload(t, kube, tc.dep, now)
			if tc.wantSecret == "" {
				if err != nil || len(writes(kube)) != 0 {
					t.Fatalf("Reconcile() = %v with writes %v, want nil and none", err, writes(kube))
				}
				return
			}
			if ok, _ := controller.IsRequeueKey(err); !ok {
				t.Fatalf("Reconcile() = %v, want a requeue for renewal", err)
			}
			s, err := kube.CoreV1().Secrets(tc.dep.Namespace).Get(context.Background(), tc.wantSecret, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("Secret %s: %v", tc.wantSecret, err)
			}
			if got := uriOf(t, s); got != tc.wantURI {
				t.Errorf("workload identity = %s, want %s", got, tc.wantURI)
			}
			kube.ClearActions()
			_ = reconcileWorkload(t, kube, tc.dep, now.Add(time.Hour))
			if w := writes(kube); len(w) != 0 {
				t.Errorf("second reconcile wrote %v, want nothing", w)
			}
		})
	}
}

func TestWorkloadCertificatesWriteOnlyAsLeader(t *testing.T) {
	t.Parallel()
	plugin := map[string]string{"qpoption.knative.dev/ssm-activate": "enable"}
	deployments := []*appsv1.Deployment{
		revisionDeployment("fn-ns", "fn-00001-deployment", "fn-sa", plugin),
		revisionDeployment("fn-ns", "fn-00002-deployment", "fn-sa", nil),
		revisionDeployment("other-ns", "other-00001-deployment", "", plugin),
	}
	tests := []struct {
		name         string
		bucket       pkgreconciler.Bucket
		wantEnqueued []types.NamespacedName
		wantWrites   []string
	}{{
		name:   "promoted for every key: every Deployment with the plugin switch is enqueued and certified",
		bucket: pkgreconciler.UniversalBucket(),
		wantEnqueued: []types.NamespacedName{
			{Namespace: "fn-ns", Name: "fn-00001-deployment"},
			{Namespace: "other-ns", Name: "other-00001-deployment"},
		},
		wantWrites: []string{
			"create secrets fn-ns/ssm-workload-fn-sa",
			"create secrets other-ns/ssm-workload-default",
		},
	}, {
		name: "promoted for some keys: only their Deployments with the plugin switch",
		bucket: ssmtesting.KeysBucket{
			{Namespace: "fn-ns", Name: "fn-00001-deployment"},
			{Namespace: "fn-ns", Name: "fn-00002-deployment"},
		},
		wantEnqueued: []types.NamespacedName{{Namespace: "fn-ns", Name: "fn-00001-deployment"}},
		wantWrites:   []string{"create secrets fn-ns/ssm-workload-fn-sa"},
	}, {
		name:   "promoted for a bucket of none of them: nothing",
		bucket: ssmtesting.KeysBucket{{Namespace: "fn-ns", Name: "fn-00003-deployment"}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := injectionContext(t)
			kube := fakekubeclient.Get(ctx)
			// SSM's CA exists, so that the only writes are workload certificates.
			ca, err := identity.NewCA(time.Now(), identity.DefaultCAValidity)
			if err != nil {
				t.Fatal(err)
			}
			caSecret := identity.MakeCASecret(identity.CANamespace, ca)
			if _, err := kube.CoreV1().Secrets(caSecret.Namespace).Create(ctx, caSecret, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := secretfilteredinformer.Get(ctx, SecretLabelSelector).Informer().GetIndexer().Add(caSecret); err != nil {
				t.Fatal(err)
			}
			depIndexer := deploymentfilteredinformer.Get(ctx, RevisionDeploymentSelector).Informer().GetIndexer()
			for _, dep := range deployments {
				if err := depIndexer.Add(dep); err != nil {
					t.Fatal(err)
				}
			}
			kube.ClearActions()
			impl := NewWorkloadController(ctx, configmap.NewStaticWatcher())
			la := leaderAware(t, impl)

			for _, dep := range deployments {
				if err := impl.Reconciler.Reconcile(ctx, dep.Namespace+"/"+dep.Name); !controller.IsSkipKey(err) {
					t.Errorf("Reconcile(%s/%s) before promotion = %v, want the key skipped", dep.Namespace, dep.Name, err)
				}
			}
			if w := writes(kube); len(w) != 0 {
				t.Fatalf("Reconcile() before promotion wrote %v, want nothing", w)
			}

			if diff := gocmp.Diff(tc.wantEnqueued, ssmtesting.Promote(t, la, tc.bucket)); diff != "" {
				t.Errorf("keys enqueued on promotion (-want +got):\n%s", diff)
			}
			for _, dep := range deployments {
				err := impl.Reconciler.Reconcile(ctx, dep.Namespace+"/"+dep.Name)
				if err != nil && !controller.IsSkipKey(err) && !isRequeue(err) {
					t.Errorf("Reconcile(%s/%s) after promotion = %v", dep.Namespace, dep.Name, err)
				}
			}
			if diff := gocmp.Diff(tc.wantWrites, writes(kube)); diff != "" {
				t.Errorf("API writes after promotion (-want +got):\n%s", diff)
			}
		})
	}
}

// caSecretFor is SSM's CA Secret as the certificates reconciler creates it:
// other issuers only load it.
func caSecretFor(t *testing.T, now time.Time) *corev1.Secret {
	t.Helper()
	ca, err := identity.NewCA(now.Add(-time.Hour), identity.DefaultCAValidity)
	if err != nil {
		t.Fatal(err)
	}
	return identity.MakeCASecret(identity.CANamespace, ca)
}
