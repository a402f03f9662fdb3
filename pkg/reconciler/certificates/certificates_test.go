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
	"crypto/x509"
	"encoding/pem"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	clocktesting "k8s.io/utils/clock/testing"
	fakekubeclient "knative.dev/pkg/client/injection/kube/client/fake"
	_ "knative.dev/pkg/client/injection/kube/informers/apps/v1/deployment/filtered/fake"
	_ "knative.dev/pkg/client/injection/kube/informers/core/v1/secret/filtered/fake"
	filteredfactory "knative.dev/pkg/client/injection/kube/informers/factory/filtered"
	_ "knative.dev/pkg/client/injection/kube/informers/factory/filtered/fake"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/controller"
	pkgreconciler "knative.dev/pkg/reconciler"
	rtesting "knative.dev/pkg/reconciler/testing"
	_ "knative.dev/pkg/system/testing" // SSM's namespace is knative-testing

	ssmtesting "github.com/serverless-mesh/ssm/pkg/reconciler/testing"
)

// reconcileOnce runs Reconcile against a fake clientset whose lister shows
// what the clientset holds, as a synced informer would.
func reconcileOnce(t *testing.T, kube *fake.Clientset, now time.Time) {
	t.Helper()
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	// Every namespace: the leaves are in knative-serving, the CA in ssm-ca.
	list, err := kube.CoreV1().Secrets(metav1.NamespaceAll).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range list.Items {
		if err := indexer.Add(&list.Items[i]); err != nil {
			t.Fatal(err)
		}
	}
	r := &Reconciler{
		kube:        kube,
		secrets:     corev1listers.NewSecretLister(indexer),
		namespace:   "knative-serving",
		trustDomain: "cluster.local",
		clock:       clocktesting.NewFakePassiveClock(now),
	}
	leadEverything(t, r)
	err = r.Reconcile(context.Background(), "ssm-ca/ssm-ca")
	if ok, after := controller.IsRequeueKey(err); !ok || after != time.Hour {
		t.Fatalf("Reconcile() = %v, want a requeue after 1h", err)
	}
}

// leadEverything promotes la as the only replica is: leader of every key.
func leadEverything(t *testing.T, la pkgreconciler.LeaderAware) {
	t.Helper()
	if err := la.Promote(pkgreconciler.UniversalBucket(), nil); err != nil {
		t.Fatalf("Promote() = %v", err)
	}
}

// writes are the write calls made, as "verb resource namespace/name",
// sorted.
func writes(kube *fake.Clientset) []string {
	var out []string
	for _, a := range kube.Actions() {
		switch a.GetVerb() {
		case "create", "update", "patch", "delete":
		default:
			continue
		}
		name := ""
		switch a := a.(type) {
		case interface{ GetName() string }:
			name = a.GetName()
		case interface{ GetObject() runtime.Object }:
			if m, err := meta.Accessor(a.GetObject()); err == nil {
				name = m.GetName()
			}
		}
		out = append(out, a.GetVerb()+" "+a.GetResource().Resource+" "+a.GetNamespace()+"/"+name)
	}
	slices.Sort(out)
	return out
}

// injectionContext is what sharedmain hands the controller constructors:
// fake clients and informers, the filtered ones on this package's selectors.
func injectionContext(t *testing.T) context.Context {
	t.Helper()
	ctx, _ := rtesting.SetupFakeContext(t, func(ctx context.Context) context.Context {
		return filteredfactory.WithSelectors(ctx, SecretLabelSelector, RevisionDeploymentSelector)
	})
	return ctx
}

// leaderAware is impl's reconciler as sharedmain requires it to be.
func leaderAware(t *testing.T, impl *controller.Impl) pkgreconciler.LeaderAware {
	t.Helper()
	la, ok := impl.Reconciler.(pkgreconciler.LeaderAware)
	if !ok {
		t.Fatalf("%T is not leader-aware: sharedmain refuses to start it with leader election on", impl.Reconciler)
	}
	return la
}

func isRequeue(err error) bool {
	ok, _ := controller.IsRequeueKey(err)
	return ok
}

func uriOf(t *testing.T, s *corev1.Secret) string {
	t.Helper()
	block, _ := pem.Decode(s.Data["tls.crt"])
	if block == nil {
		t.Fatalf("secret %s: no certificate", s.Name)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if len(cert.URIs) != 1 {
		t.Fatalf("secret %s: %d URI SANs", s.Name, len(cert.URIs))
	}
	return cert.URIs[0].String()
}

func TestReconcileIssuesOnceThenWritesNothing(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	kube := fake.NewSimpleClientset()

	reconcileOnce(t, kube, now)
	if got, want := len(writes(kube)), 4; got != want {
		t.Fatalf("first reconcile made %d writes (%v), want %d: the CA and three leaves", got, writes(kube), want)
	}
	want := map[string]string{
		"ssm-pool-tls":       "spiffe://cluster.local/ns/knative-serving/sa/ssm-pool",
		"ssm-controller-tls": "spiffe://cluster.local/ns/knative-serving/sa/ssm-controller",
		"ssm-activator-tls":  "spiffe://cluster.local/ns/knative-serving/sa/activator",
	}
	for name, uri := range want {
		s, err := kube.CoreV1().Secrets("knative-serving").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("secret %s: %v", name, err)
		}
		if got := uriOf(t, s); got != uri {
			t.Errorf("secret %s identity = %s, want %s", name, got, uri)
		}
	}

	kube.ClearActions()
	reconcileOnce(t, kube, now.Add(time.Hour))
	if w := writes(kube); len(w) != 0 {
		t.Errorf("second reconcile wrote %v, want nothing", w)
	}
}

func TestReconcileRenewsALeafDueForRenewal(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	kube := fake.NewSimpleClientset()
	reconcileOnce(t, kube, now)
	before, err := kube.CoreV1().Secrets("knative-serving").Get(context.Background(), "ssm-pool-tls", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kube.ClearActions()
	// Five days on: past two thirds of a leaf's 7-day lifetime, well inside the CA's.
	reconcileOnce(t, kube, now.Add(5*24*time.Hour))
	after, err := kube.CoreV1().Secrets("knative-serving").Get(context.Background(), "ssm-pool-tls", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(before.Data["tls.crt"]) == string(after.Data["tls.crt"]) {
		t.Error("ssm-pool-tls was not renewed")
	}
	if len(writes(kube)) == 0 {
		t.Error("renewal made no write")
	}
}

func TestCertificatesWriteOnlyAsLeader(t *testing.T) {
	t.Parallel()
	caKey := types.NamespacedName{Namespace: "ssm-ca", Name: "ssm-ca"}
	tests := []struct {
		name         string
		bucket       pkgreconciler.Bucket
		leads        bool // the bucket holds the CA key
		wantEnqueued []types.NamespacedName
		wantWrites   []string
	}{{
		name:         "promoted for every key: the CA key is enqueued, the CA and every leaf issued",
		bucket:       pkgreconciler.UniversalBucket(),
		leads:        true,
		wantEnqueued: []types.NamespacedName{{Namespace: "ssm-ca", Name: "ssm-ca"}},
		wantWrites: []string{
			"create secrets knative-testing/ssm-activator-tls",
			"create secrets knative-testing/ssm-controller-tls",
			"create secrets knative-testing/ssm-pool-tls",
			"create secrets ssm-ca/ssm-ca",
		},
	}, {
		name:   "promoted for a bucket without the CA key: still nothing is written",
		bucket: ssmtesting.KeysBucket{{Namespace: "knative-testing", Name: "ssm-pool-tls"}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := injectionContext(t)
			kube := fakekubeclient.Get(ctx)
			impl := NewController(ctx, configmap.NewStaticWatcher())
			la := leaderAware(t, impl)

			if err := impl.Reconciler.Reconcile(ctx, caKey.String()); !controller.IsSkipKey(err) {
				t.Errorf("Reconcile() before promotion = %v, want the key skipped", err)
			}
			if w := writes(kube); len(w) != 0 {
				t.Fatalf("Reconcile() before promotion wrote %v, want nothing", w)
			}

			if diff := gocmp.Diff(tc.wantEnqueued, ssmtesting.Promote(t, la, tc.bucket)); diff != "" {
				t.Errorf("keys enqueued on promotion (-want +got):\n%s", diff)
			}
			err := impl.Reconciler.Reconcile(ctx, caKey.String())
			if tc.leads && !isRequeue(err) || !tc.leads && !controller.IsSkipKey(err) {
				t.Errorf("Reconcile() after promotion = %v, want a requeue for renewal if it leads, the key skipped if not", err)
			}
			if diff := gocmp.Diff(tc.wantWrites, writes(kube)); diff != "" {
				t.Errorf("API writes after promotion (-want +got):\n%s", diff)
			}
		})
	}
}
