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
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	ssmv1alpha1 "github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
)

// TestL3WebhookDownStopsOnlySSMObjects: with every ssm-webhook replica
// stopped, the validation webhook's match condition
// (config/600-webhook-configurations.yaml) keeps Knative working for
// objects that do not use SSM, and still fails closed for those that do.
// As Knative's own controller would, the test creates and relabels a
// Revision without ssm.dev/* annotations; it cannot add SSM's stamp to it,
// nor create an annotated Revision or Knative Service, nor a
// ServerlessPolicy. With Knative running (L3), a plain Knative Service
// deploys and becomes Ready in the meantime.
func TestL3WebhookDownStopsOnlySSMObjects(t *testing.T) {
	c := newClients(t)
	ctx := context.Background()
	const ns = "webhook-down"
	ensureNamespace(t, c, ns)

	clusterCommand(t, "kill", "ssm-webhook")
	t.Cleanup(func() {
		clusterCommand(t, "start", "ssm-webhook")
		// Later tests need admission back: wait until an annotated object
		// is validated again (a dry run writes nothing).
		eventually(t, "ssm-webhook admitting annotated objects again", time.Minute, func(ctx context.Context) (bool, error) {
			_, err := c.serving.ServingV1().Revisions(ns).Create(ctx, scopedRevision(ns, "back", map[string]string{"ssm.dev/timeout": "2s"}),
				metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			return err == nil, err
		})
	})
	// Refused because an SSM webhook could not be called, not by a rule
	// (nor by an error in the match condition).
	refused := func(what string, err error) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), "failed calling webhook") || !strings.Contains(err.Error(), ".webhook.ssm.dev\"") {
			t.Errorf("%s with ssm-webhook down: %v, want refused for want of an SSM webhook", what, err)
		}
	}

	// Not SSM's business: admitted without the webhook.
	revs := c.serving.ServingV1().Revisions(ns)
	plain, err := revs.Create(ctx, scopedRevision(ns, "bare-00001", map[string]string{"example.com/owner": "team-a"}), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating a Revision without ssm.dev/* annotations, ssm-webhook down: %v", err)
	}
	if _, stamped := plain.Annotations["resolved.ssm.dev/pods"]; stamped {
		t.Errorf("Revision %s/bare-00001 was stamped %v although ssm-webhook is down", ns, plain.Annotations)
	}
	relabel := []byte(`{"metadata":{"labels":{"serving.knative.dev/routingState":"active"}}}`)
	if _, err := revs.Patch(ctx, "bare-00001", types.MergePatchType, relabel, metav1.PatchOptions{}); err != nil {
		t.Errorf("relabelling a Revision without ssm.dev/* annotations, ssm-webhook down: %v", err)
	}

	// SSM's business: refused while it cannot be checked.
	stamp := []byte(`{"metadata":{"annotations":{"resolved.ssm.dev/pods":"sidecarless","resolved.ssm.dev/proxy-pool":"default"}}}`)
	_, err = revs.Patch(ctx, "bare-00001", types.MergePatchType, stamp, metav1.PatchOptions{})
	refused("stamping a Revision sidecar-less by hand", err)
	_, err = revs.Create(ctx, scopedRevision(ns, "annotated-00001", map[string]string{"ssm.dev/lifecycle": "short-lived"}), metav1.CreateOptions{})
	refused("creating a Revision with ssm.dev/lifecycle", err)
	_, err = c.serving.ServingV1().Services(ns).Create(ctx, scopedService(ns, "annotated", map[string]string{"ssm.dev/timeout": "2s"}),
		metav1.CreateOptions{})
	refused("creating a Knative Service with ssm.dev/timeout on its template", err)
	_, err = c.ssm.SsmV1alpha1().ServerlessPolicies(ns).Create(ctx, &ssmv1alpha1.ServerlessPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: ns},
		Spec:       ssmv1alpha1.ServerlessPolicySpec{Lifecycle: "short-lived"},
	}, metav1.CreateOptions{})
	refused("creating a ServerlessPolicy", err)

	if t.Failed() {
		return
	}
	if !knativeRunning() {
		t.Log("Knative Serving is not running (SSM_KNATIVE=0): the plain Knative Service part is skipped")
		return
	}
	if _, err := c.serving.ServingV1().Services(ns).Create(ctx, scopedService(ns, "plain", nil), metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating a Knative Service without ssm.dev/* annotations, ssm-webhook down: %v", err)
	}
	eventually(t, "Knative Service "+ns+"/plain Ready with ssm-webhook down", 90*time.Second, func(ctx context.Context) (bool, error) {
		ksvc, err := c.serving.ServingV1().Services(ns).Get(ctx, "plain", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return ksvc.IsReady(), fmt.Errorf("status %+v", ksvc.Status.Conditions)
	})
}

func scopedRevision(ns, name string, annotations map[string]string) *servingv1.Revision {
	rev := revision(name, annotations)
	rev.Namespace = ns
	return rev
}

// scopedService is a Knative Service of the sample function whose template
// carries annotations.
func scopedService(ns, name string, annotations map[string]string) *servingv1.Service {
	return &servingv1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: servingv1.ServiceSpec{ConfigurationSpec: servingv1.ConfigurationSpec{Template: servingv1.RevisionTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Annotations: annotations},
			// ssm.local is in config-deployment's registries-skipping-tag-resolving.
			Spec: servingv1.RevisionSpec{PodSpec: corev1.PodSpec{Containers: []corev1.Container{{Image: "ssm.local/hello"}}}},
		}}},
	}
}

// knativeRunning says whether the local cluster runs Knative Serving's
// controllers (hack/integration.sh with SSM_KNATIVE=1).
func knativeRunning() bool { return os.Getenv("SSM_KNATIVE") == "1" }
