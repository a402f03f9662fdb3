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
	"path/filepath"
	"strings"
	"testing"

	discoveryv1 "k8s.io/api/discovery/v1"
	apierrs "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
)

// TestL1PoolWritesOnlyItsOwnSlices: RBAC lets ssm-pool write EndpointSlices
// anywhere; the ValidatingAdmissionPolicy config/600-pool-endpointslices.yaml
// holds it to the slices of lease Services. As ssm-pool, a slice without its
// managed-by label is refused on create, a slice labelled as its own but
// naming a Service that is not a lease Service is refused, and an existing
// slice of another Service can be neither relabelled nor deleted; its own
// slice is fine.
func TestL1PoolWritesOnlyItsOwnSlices(t *testing.T) {
	c := newClients(t)
	ctx := context.Background()
	const ns = "l1-pool-slices"
	ensureNamespace(t, c, ns)
	asPool := impersonate(t, c, "system:serviceaccount:knative-serving:ssm-pool")

	sliceOf := func(name, service, managedBy string) *discoveryv1.EndpointSlice {
		return &discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{
				discoveryv1.LabelServiceName:   service,
				discoveryv1.LabelManagedBy:     managedBy,
				"serving.knative.dev/revision": "fn-00001",
			}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints: []discoveryv1.Endpoint{{
				Addresses: []string{"10.244.9.9"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
			}},
		}
	}
	slice := func(name, managedBy string) *discoveryv1.EndpointSlice {
		return sliceOf(name, "fn-00001-ssm", managedBy)
	}
	const refusal = "ssm-pool may only"

	// Labelled as ssm-pool's, but joined to a Service that is not a lease
	// Service: kube-proxy would add the address to that Service.
	for _, service := range []string{"payments", "fn-00001", "fn-00001-private", "other-ssm"} {
		_, err := asPool.DiscoveryV1().EndpointSlices(ns).Create(ctx, sliceOf("not-a-lease-"+service, service, "ssm-pool.ssm.dev"), metav1.CreateOptions{})
		if err == nil || !strings.Contains(err.Error(), "only write the EndpointSlices of lease Services") {
			t.Errorf("creating a slice of Service %q, as ssm-pool: %v, want refused by the admission policy", service, err)
		}
	}

	_, err := asPool.DiscoveryV1().EndpointSlices(ns).Create(ctx, slice("not-ours", "someone-else"), metav1.CreateOptions{})
	if !apierrs.IsInvalid(err) && !apierrs.IsForbidden(err) || err == nil || !strings.Contains(err.Error(), refusal) {
		t.Errorf("creating a slice not labelled as ssm-pool's, as ssm-pool: %v, want refused by the admission policy", err)
	}

	theirs, err := c.kube.DiscoveryV1().EndpointSlices(ns).Create(ctx, slice("theirs", "someone-else"), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating a slice as admin: %v", err)
	}
	relabelled := theirs.DeepCopy()
	relabelled.Labels[discoveryv1.LabelManagedBy] = "ssm-pool.ssm.dev"
	if _, err := asPool.DiscoveryV1().EndpointSlices(ns).Update(ctx, relabelled, metav1.UpdateOptions{}); err == nil ||
		!strings.Contains(err.Error(), refusal) {
		t.Errorf("taking over another Service's slice by relabelling it, as ssm-pool: %v, want refused", err)
	}
	if err := asPool.DiscoveryV1().EndpointSlices(ns).Delete(ctx, "theirs", metav1.DeleteOptions{}); err == nil ||
		!strings.Contains(err.Error(), refusal) {
		t.Errorf("deleting another Service's slice, as ssm-pool: %v, want refused", err)
	}

	if _, err := asPool.DiscoveryV1().EndpointSlices(ns).Create(ctx, slice("ours", "ssm-pool.ssm.dev"), metav1.CreateOptions{}); err != nil {
		t.Errorf("creating its own lease slice, as ssm-pool: %v", err)
	}
	if err := asPool.DiscoveryV1().EndpointSlices(ns).Delete(ctx, "ours", metav1.DeleteOptions{}); err != nil {
		t.Errorf("deleting its own lease slice, as ssm-pool: %v", err)
	}
}

// impersonate is a client of the local cluster acting as user.
func impersonate(t *testing.T, c *clients, user string) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(c.stateDir, "admin.kubeconfig"))
	if err != nil {
		t.Fatalf("loading the admin kubeconfig: %v", err)
	}
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	return kubernetes.NewForConfigOrDie(cfg)
}
