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
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	ssmv1alpha1 "github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
)

// TestDataplanePolicyOnlyRevisionIsLeased: a Knative Service with no
// ssm.dev/* annotation, governed only by a ServerlessPolicy that asks for
// lightweight mTLS and the default pool, gets what the policy's status
// says. SSM's revisions webhook stamps its Revision sidecar-less for that
// pool, its pod runs without a sidecar with the queue-proxy plugin, and
// its cold start leases a pooled proxy that carries its requests.
func TestDataplanePolicyOnlyRevisionIsLeased(t *testing.T) {
	requireDataplane(t)
	c := newClients(t)
	ctx := context.Background()
	ensureNamespace(t, c, dataplaneNS)
	const service, revision = "by-policy", "by-policy-00001"

	sp := &ssmv1alpha1.ServerlessPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "lightweight-functions", Namespace: dataplaneNS},
		Spec: ssmv1alpha1.ServerlessPolicySpec{
			Selector:  metav1.LabelSelector{MatchLabels: map[string]string{"ssm.dev/test": "policy-only"}},
			MTLSMode:  "lightweight",
			ProxyPool: "default",
		},
	}
	if _, err := c.ssm.SsmV1alpha1().ServerlessPolicies(dataplaneNS).Create(ctx, sp, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating ServerlessPolicy: %v", err)
	}
	t.Cleanup(func() {
		if err := c.ssm.SsmV1alpha1().ServerlessPolicies(dataplaneNS).Delete(ctx, sp.Name, metav1.DeleteOptions{}); err != nil {
			t.Errorf("deleting ServerlessPolicy: %v", err)
		}
	})
	// The revisions webhook reads policies from its informer: wait until
	// the policy's own status shows the controller saw it, a lower bound on
	// when the webhook's cache has it too.
	eventually(t, "ServerlessPolicy "+sp.Name+" resolved", 30*time.Second, func(ctx context.Context) (bool, error) {
		got, err := c.ssm.SsmV1alpha1().ServerlessPolicies(dataplaneNS).Get(ctx, sp.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		r := got.Status.Resolved
		return r != nil && r.MTLSMode == "lightweight" && r.ProxyPool == "default", fmt.Errorf("status.resolved %+v", r)
	})

	deployLabelledFunction(t, c, service, map[string]string{"ssm.dev/test": "policy-only"}, nil, servingv1.RevisionSpec{})

	rev, err := c.serving.ServingV1().Revisions(dataplaneNS).Get(ctx, revision, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"resolved.ssm.dev/pods": "sidecarless", "resolved.ssm.dev/proxy-pool": "default"} {
		if got := rev.Annotations[k]; got != want {
			t.Errorf("Revision annotation %s = %q, want %q", k, got, want)
		}
	}
	pods, err := revisionPods(ctx, c, revision)
	if err != nil || len(pods) == 0 {
		t.Fatalf("pods of %s: %d, %v", revision, len(pods), err)
	}
	for k, want := range map[string]string{
		"sidecar.istio.io/inject":           "false",
		"qpoption.knative.dev/ssm-activate": "enable",
		"ssm.dev/mtls-mode":                 "lightweight",
	} {
		if got := pods[0].Annotations[k]; got != want {
			t.Errorf("pod annotation %s = %q, want %q", k, got, want)
		}
	}

	granted := `ssm_pool_leases_total{outcome="granted"}`
	grantedBefore := poolCounter(t, c, granted)
	waitScaledToZero(t, c, revision)
	client := &http.Client{Timeout: 30 * time.Second}
	want := "hello from " + revision
	forwarded := "for cluster ssm/" + dataplaneNS + "/" + revision + " to "
	eventually(t, "a request of "+revision+" through a leased pooled proxy", 60*time.Second, func(ctx context.Context) (bool, error) {
		code, body, err := activatorGet(ctx, client, service, revision, "/")
		if err != nil || code != http.StatusOK || body != want {
			t.Fatalf("request through the activator: status %d body %q err %v, want 200 %q", code, body, err, want)
		}
		logs, err := standinLogs(c)
		return strings.Contains(logs, forwarded), err
	})
	if got := poolCounter(t, c, granted); got <= grantedBefore {
		t.Errorf("ssm-pool granted no lease for %s (granted %v before and after)", revision, got)
	}
}
