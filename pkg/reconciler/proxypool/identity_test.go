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

package proxypool

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
	"github.com/serverless-mesh/ssm/pkg/identity"
	"github.com/serverless-mesh/ssm/pkg/reconciler/proxypool/resources"
)

// identityReconciler serves listers from what the fake clientset holds, as
// synced informers would.
func identityReconciler(t *testing.T, kube *fake.Clientset, now time.Time) *Reconciler {
	t.Helper()
	secrets := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	sas := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	ctx := context.Background()
	secretList, err := kube.CoreV1().Secrets(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range secretList.Items {
		_ = secrets.Add(&secretList.Items[i])
	}
	saList, err := kube.CoreV1().ServiceAccounts(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range saList.Items {
		_ = sas.Add(&saList.Items[i])
	}
	return &Reconciler{
		kubeClient:           kube,
		secretLister:         corev1listers.NewSecretLister(secrets),
		serviceAccountLister: corev1listers.NewServiceAccountLister(sas),
		cfg:                  resources.DefaultConfig(),
		now:                  func() time.Time { return now },
	}
}

func writesOf(kube *fake.Clientset) []string {
	var out []string
	for _, a := range kube.Actions() {
		if v := a.GetVerb(); v == "create" || v == "update" {
			out = append(out, v+" "+a.GetResource().Resource+" "+a.GetNamespace())
		}
	}
	return out
}

func TestEnsurePoolIdentity(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	kube := fake.NewSimpleClientset(caSecretFor(t, now))
	pool := &v1alpha1.ProxyPool{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "fast"}}

	if err := identityReconciler(t, kube, now).ensurePoolIdentity(context.Background(), pool); err != nil {
		t.Fatalf("ensurePoolIdentity() = %v", err)
	}
	want := []string{
		"create serviceaccounts team-a",
		"create secrets team-a", // the pool's certificate (SSM's CA is only loaded)
	}
	if got := writesOf(kube); !slices.Equal(got, want) {
		t.Fatalf("writes = %v, want %v", got, want)
	}
	sa, err := kube.CoreV1().ServiceAccounts("team-a").Get(context.Background(), "ssm-proxy", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Error("ssm-proxy mounts a ServiceAccount token; pooled Envoys need none")
	}
	s, err := kube.CoreV1().Secrets("team-a").Get(context.Background(), "ssm-proxy-fast-identity", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(s.Data["tls.crt"])
	if block == nil {
		t.Fatal("no certificate in tls.crt")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if len(cert.URIs) != 1 || cert.URIs[0].String() != "spiffe://cluster.local/ns/team-a/sa/ssm-proxy" {
		t.Errorf("certificate URIs = %v, want [spiffe://cluster.local/ns/team-a/sa/ssm-proxy]", cert.URIs)
	}

	// Nothing is due an hour later: no write at all.
	kube.ClearActions()
	if err := identityReconciler(t, kube, now.Add(time.Hour)).ensurePoolIdentity(context.Background(), pool); err != nil {
		t.Fatalf("second ensurePoolIdentity() = %v", err)
	}
	if got := writesOf(kube); len(got) != 0 {
		t.Errorf("second call wrote %v, want nothing", got)
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
