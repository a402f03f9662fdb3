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
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	apierrs "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	ssmv1alpha1 "github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
)

// The lease of the KIngress reconciler in the controller: knative.dev/pkg
// names it COMPONENT.RECONCILER-TYPE.BUCKET, lower-cased.
const ingressLease = "ssm-controller.github.com.serverless-mesh.ssm.pkg.reconciler.ingress.reconciler.00-of-01"

// takeover is how long a dead leader's leases may take to move: Knative's
// config-leader-election defaults (lease 60 s, retry 10 s) with margin.
const takeover = 150 * time.Second

// replicaPods maps each running replica of an SSM Deployment (hack/cluster.sh
// names them DEPLOYMENT-N) to the name of the pod it runs.
func replicaPods(t *testing.T, c *clients, deployment string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(c.stateDir, "ssm-pods", deployment+"-*.name"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".name")] = strings.TrimSpace(string(data))
	}
	return out
}

// leasesHeldBy lists the Leases of component (e.g. "ssm-controller") in
// knative-serving whose holder is pod: knative.dev/pkg's identity is the
// host name (the pod's name) followed by "_" and a random suffix.
func leasesHeldBy(ctx context.Context, c *clients, component, pod string) ([]string, error) {
	list, err := c.kube.CoordinationV1().Leases("knative-serving").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var held []string
	for _, l := range list.Items {
		if !strings.HasPrefix(l.Name, component+".") || l.Spec.HolderIdentity == nil {
			continue
		}
		if strings.HasPrefix(*l.Spec.HolderIdentity, pod+"_") {
			held = append(held, l.Name)
		}
	}
	sort.Strings(held)
	return held, nil
}

// leaderOf returns the replica (and its pod) that holds the lease named name.
func leaderOf(t *testing.T, c *clients, deployment, name string) (replica, pod string) {
	t.Helper()
	pods := replicaPods(t, c, deployment)
	if len(pods) < 2 {
		t.Fatalf("%s runs %d replicas (%v); config/ installs two", deployment, len(pods), pods)
	}
	eventually(t, "a leader for "+name, takeover, func(ctx context.Context) (bool, error) {
		l, err := c.kube.CoordinationV1().Leases("knative-serving").Get(ctx, name, metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil {
			return false, err
		}
		for r, p := range pods {
			if strings.HasPrefix(*l.Spec.HolderIdentity, p+"_") {
				replica, pod = r, p
				return true, nil
			}
		}
		return false, nil
	})
	return replica, pod
}

// waitTakenOver waits until none of leases is held by the dead pod any more
// and each is held by another of the deployment's pods.
func waitTakenOver(t *testing.T, c *clients, deployment, dead string, leases []string) {
	t.Helper()
	alive := map[string]bool{}
	for _, p := range replicaPods(t, c, deployment) {
		if p != dead {
			alive[p] = true
		}
	}
	for _, name := range leases {
		eventually(t, name+" taken over from "+dead, takeover, func(ctx context.Context) (bool, error) {
			l, err := c.kube.CoordinationV1().Leases("knative-serving").Get(ctx, name, metav1.GetOptions{})
			if err != nil || l.Spec.HolderIdentity == nil {
				return false, err
			}
			holder, _, _ := strings.Cut(*l.Spec.HolderIdentity, "_")
			return alive[holder], nil
		})
	}
}

// TestL1ControllerLeaderFailover: the controller runs as config/ installs
// it, two replicas under leader election. Killing the replica that leads the
// KIngress reconciler (SIGKILL, so it cannot hand its leases back) leaves
// the other to take over, and a KIngress change made after the kill is
// reconciled.
func TestL1ControllerLeaderFailover(t *testing.T) {
	c := newClients(t)
	ctx := context.Background()
	ensureNamespace(t, c, testNS)

	ing := kingress("failover", "failover.l1.example.com", "failover-backend")
	if _, err := c.networking.NetworkingV1alpha1().Ingresses(testNS).Create(ctx, ing, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the KIngress: %v", err)
	}
	t.Cleanup(func() {
		_ = c.networking.NetworkingV1alpha1().Ingresses(testNS).Delete(context.Background(), "failover", metav1.DeleteOptions{})
	})
	waitAppendedHeader(t, c, "failover-ingress", "failover-backend", 30*time.Second)

	replica, pod := leaderOf(t, c, "ssm-controller", ingressLease)
	held, err := leasesHeldBy(ctx, c, "ssm-controller", pod)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s (pod %s) leads %d reconcilers: %v", replica, pod, len(held), held)
	clusterCommand(t, "kill", replica)
	t.Cleanup(func() { clusterCommand(t, "start", replica) })
	killed := time.Now()

	// The change is made while nobody leads the KIngress reconciler.
	current, err := c.networking.NetworkingV1alpha1().Ingresses(testNS).Get(ctx, "failover", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	current.Spec.Rules[0].HTTP.Paths[0].Splits[0].AppendHeaders["Knative-Serving-Revision"] = "after-failover"
	if _, err := c.networking.NetworkingV1alpha1().Ingresses(testNS).Update(ctx, current, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("updating the KIngress: %v", err)
	}
	waitAppendedHeader(t, c, "failover-ingress", "after-failover", takeover)
	t.Logf("the change was reconciled %v after the leader was killed", time.Since(killed).Round(time.Second))
	waitTakenOver(t, c, "ssm-controller", pod, held)
}

// waitAppendedHeader waits until the VirtualService's traffic route appends
// Knative-Serving-Revision: want.
func waitAppendedHeader(t *testing.T, c *clients, vsName, want string, timeout time.Duration) {
	t.Helper()
	eventually(t, "VirtualService "+vsName+" appends Knative-Serving-Revision: "+want, timeout, func(ctx context.Context) (bool, error) {
		vs, err := c.istio.NetworkingV1beta1().VirtualServices(testNS).Get(ctx, vsName, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, r := range vs.Spec.GetHttp() {
			for _, d := range r.GetRoute() {
				if d.GetHeaders().GetRequest().GetSet()["Knative-Serving-Revision"] == want {
					return true, nil
				}
			}
		}
		return false, nil
	})
}

// TestL1WebhookLeaderFailover: the webhook runs two replicas. Killing the
// one that leads its reconcilers leaves admission served by the other (the
// dead pod leaves the Service's endpoints as a kubelet would report it),
// and the survivor takes over keeping the webhook configurations: a CA
// bundle removed after the kill is put back.
func TestL1WebhookLeaderFailover(t *testing.T) {
	c := newClients(t)
	ctx := context.Background()
	ensureNamespace(t, c, testNS)

	const config = "validation.webhook.ssm.dev"
	pods := replicaPods(t, c, "ssm-webhook")
	var replica, pod string
	var held []string
	for r, p := range pods {
		leases, err := leasesHeldBy(ctx, c, "ssm-webhook", p)
		if err != nil {
			t.Fatal(err)
		}
		if len(leases) > len(held) {
			replica, pod, held = r, p, leases
		}
	}
	if len(held) == 0 {
		t.Fatalf("no ssm-webhook Lease is held by any of %v", pods)
	}
	t.Logf("%s (pod %s) leads %d reconcilers: %v", replica, pod, len(held), held)
	clusterCommand(t, "kill", replica)
	t.Cleanup(func() { clusterCommand(t, "start", replica) })

	// Admission still works: a bad ServerlessPolicy is refused, naming the field.
	eventually(t, "the surviving webhook replica rejects a bad ServerlessPolicy", 30*time.Second, func(ctx context.Context) (bool, error) {
		bad := &ssmv1alpha1.ServerlessPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: "bad-after-failover", Namespace: testNS},
			Spec:       ssmv1alpha1.ServerlessPolicySpec{Lifecycle: "forever"},
		}
		_, err := c.ssm.SsmV1alpha1().ServerlessPolicies(testNS).Create(ctx, bad, metav1.CreateOptions{})
		if err == nil {
			_ = c.ssm.SsmV1alpha1().ServerlessPolicies(testNS).Delete(ctx, bad.Name, metav1.DeleteOptions{})
			t.Fatal("a ServerlessPolicy with lifecycle \"forever\" was admitted")
		}
		return apierrs.IsBadRequest(err) || strings.Contains(err.Error(), "lifecycle"), err
	})

	// The configuration loses its CA bundle; only a leader puts it back.
	vwc, err := c.kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, config, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	patch := []byte(`[{"op":"replace","path":"/webhooks/0/clientConfig/caBundle","value":""}]`)
	if _, err := c.kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Patch(ctx, config,
		types.JSONPatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatalf("clearing %s's CA bundle: %v", config, err)
	}
	eventually(t, config+"'s CA bundle put back by the new leader", takeover, func(ctx context.Context) (bool, error) {
		got, err := c.kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, config, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return string(got.Webhooks[0].ClientConfig.CABundle) == string(vwc.Webhooks[0].ClientConfig.CABundle), nil
	})
	waitTakenOver(t, c, "ssm-webhook", pod, held)
}
