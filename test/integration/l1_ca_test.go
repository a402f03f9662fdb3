//go:build integration

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

package integration

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrs "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestL1OnlyTheControllerReadsTheCA asks the API server's authorizer, as
// `kubectl auth can-i` does, whether each ServiceAccount of the install
// (SSM's and Knative's in knative-serving, Istio's in istio-system, and
// any in ssm-ca) may get, list or watch the CA Secret ssm-ca/ssm-ca.
// Only SSM's controller may, and Knative's controller, whose ClusterRole
// knative-serving-core (Knative's release, applied as is) reads every
// Secret of the cluster; no Kubernetes object can be kept from it, Istio's
// CA included. Knative's activator, which can read every Secret of
// knative-serving, and SSM's webhook, ssm-pool and pooled proxies cannot.
// The CA is in ssm-ca and nowhere in knative-serving.
func TestL1OnlyTheControllerReadsTheCA(t *testing.T) {
	c := newClients(t)
	ctx := context.Background()
	eventually(t, "the CA Secret in ssm-ca", 30*time.Second, func(ctx context.Context) (bool, error) {
		_, err := c.kube.CoreV1().Secrets("ssm-ca").Get(ctx, "ssm-ca", metav1.GetOptions{})
		return err == nil, err
	})
	if _, err := c.kube.CoreV1().Secrets("knative-serving").Get(ctx, "ssm-ca", metav1.GetOptions{}); !apierrs.IsNotFound(err) {
		t.Errorf("a Secret knative-serving/ssm-ca exists (err %v): the CA must live in ssm-ca only", err)
	}

	var accounts []string
	for _, ns := range []string{"knative-serving", "istio-system", "ssm-ca"} {
		list, err := c.kube.CoreV1().ServiceAccounts(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, sa := range list.Items {
			accounts = append(accounts, ns+"/"+sa.Name)
		}
	}
	want := []string{"knative-serving/ssm-controller"}
	if knativeRunning() {
		want = append(want, "knative-serving/controller")
		for _, sa := range []string{"knative-serving/controller", "knative-serving/activator"} {
			if !slices.Contains(accounts, sa) {
				t.Errorf("Knative's ServiceAccount %s is not installed; the check would miss it", sa)
			}
		}
	}
	for _, sa := range []string{"knative-serving/ssm-webhook", "knative-serving/ssm-pool", "knative-serving/ssm-proxy"} {
		if !slices.Contains(accounts, sa) {
			t.Errorf("SSM's ServiceAccount %s is not installed; the check would miss it", sa)
		}
	}

	canRead := func(sa, namespace, secret string) bool {
		t.Helper()
		ns, name, _ := strings.Cut(sa, "/")
		for _, verb := range []string{"get", "list", "watch"} {
			review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User:   "system:serviceaccount:" + ns + ":" + name,
				Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
				ResourceAttributes: &authorizationv1.ResourceAttributes{
					Namespace: namespace, Verb: verb, Resource: "secrets", Name: secret,
				},
			}}
			got, err := c.kube.AuthorizationV1().SubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("can %s %s secrets %s/%s: %v", sa, verb, namespace, secret, err)
			}
			if got.Status.Allowed {
				return true
			}
		}
		return false
	}
	var readers []string
	for _, sa := range accounts {
		if canRead(sa, "ssm-ca", "ssm-ca") {
			readers = append(readers, sa)
		}
	}
	// Why the CA left knative-serving: Knative's internet-facing activator
	// reads every Secret there.
	if knativeRunning() && !canRead("knative-serving/activator", "knative-serving", "ssm-activator-tls") {
		t.Error("Knative's activator cannot read Secrets of knative-serving: the check does not see Knative's Role")
	}
	slices.Sort(want)
	if !slices.Equal(want, readers) {
		t.Errorf("ServiceAccounts that can read secrets ssm-ca/ssm-ca: %v, want %v (of %d checked: %v)", readers, want, len(accounts), accounts)
	}
}
