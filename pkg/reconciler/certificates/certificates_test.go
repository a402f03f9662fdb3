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
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	clocktesting "k8s.io/utils/clock/testing"
	"knative.dev/pkg/controller"
)

// reconcileOnce runs Reconcile against a fake clientset whose lister shows
// what the clientset holds, as a synced informer would.
func reconcileOnce(t *testing.T, kube *fake.Clientset, now time.Time) {
	t.Helper()
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	list, err := kube.CoreV1().Secrets("knative-serving").List(context.Background(), metav1.ListOptions{})
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
	err = r.Reconcile(context.Background(), "knative-serving/ssm-ca")
	if ok, after := controller.IsRequeueKey(err); !ok || after != time.Hour {
		t.Fatalf("Reconcile() = %v, want a requeue after 1h", err)
	}
}

func writes(kube *fake.Clientset) []string {
	var out []string
	for _, a := range kube.Actions() {
		if a.GetVerb() == "create" || a.GetVerb() == "update" {
			out = append(out, a.GetVerb()+" "+a.GetResource().Resource)
		}
	}
	return out
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
