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
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestL1ControllerWritesOnlySSMObjects: the controller's ClusterRole lets it
// write Deployments, ServiceAccounts and Secrets in every namespace; the
// ValidatingAdmissionPolicy config/600-controller-writes.yaml holds it to
// objects labelled app.kubernetes.io/managed-by: ssm. As ssm-controller,
// unlabelled objects are refused on create, an existing object of someone
// else can be neither labelled over, changed nor deleted, and an SSM object
// can be written as before.
func TestL1ControllerWritesOnlySSMObjects(t *testing.T) {
	c := newClients(t)
	ctx := context.Background()
	const ns = "l1-controller-writes"
	ensureNamespace(t, c, ns)
	asController := impersonate(t, c, "system:serviceaccount:knative-serving:ssm-controller")
	const refusal = "ssm-controller may only"
	refused := func(what string, err error) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), refusal) {
			t.Errorf("%s, as ssm-controller: %v, want refused by the admission policy", what, err)
		}
	}
	ssmLabels := map[string]string{"app.kubernetes.io/managed-by": "ssm"}
	secret := func(name string, labels map[string]string) *corev1.Secret {
		return &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
			Data:       map[string][]byte{"token": []byte("not SSM's")},
		}
	}
	deployment := func(name string, labels map[string]string) *appsv1.Deployment {
		sel := map[string]string{"app": name}
		return &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
			Spec: appsv1.DeploymentSpec{
				Selector: &metav1.LabelSelector{MatchLabels: sel},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: sel},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.com/app"}}},
				},
			},
		}
	}

	_, err := asController.AppsV1().Deployments(ns).Create(ctx, deployment("unlabelled", nil), metav1.CreateOptions{})
	refused("creating an unlabelled Deployment", err)
	_, err = asController.CoreV1().Secrets(ns).Create(ctx, secret("unlabelled", map[string]string{"app": "x"}), metav1.CreateOptions{})
	refused("creating an unlabelled Secret", err)
	_, err = asController.CoreV1().ServiceAccounts(ns).Create(ctx,
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "unlabelled", Namespace: ns}}, metav1.CreateOptions{})
	refused("creating an unlabelled ServiceAccount", err)

	// Someone else's objects, made by the admin.
	if _, err := c.kube.CoreV1().Secrets(ns).Create(ctx, secret("theirs", nil), metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating a Secret as admin: %v", err)
	}
	if _, err := c.kube.AppsV1().Deployments(ns).Create(ctx, deployment("theirs", nil), metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating a Deployment as admin: %v", err)
	}
	// The controller's verbs are create, update and delete (Deployments: no
	// delete), so those are what it is refused.
	theirs, err := c.kube.CoreV1().Secrets(ns).Get(ctx, "theirs", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Unconditional updates (no resourceVersion): kube-controller-manager
	// writes the Deployment meanwhile, and a conflict would end the request
	// before admission, which is what is under test.
	takenOver := theirs.DeepCopy()
	takenOver.ResourceVersion = ""
	takenOver.Labels = ssmLabels
	takenOver.Data = map[string][]byte{"token": []byte("owned")}
	_, err = asController.CoreV1().Secrets(ns).Update(ctx, takenOver, metav1.UpdateOptions{})
	refused("labelling another's Secret as SSM's and rewriting it", err)
	theirDeployment, err := c.kube.AppsV1().Deployments(ns).Get(ctx, "theirs", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	scaled := theirDeployment.DeepCopy()
	scaled.ResourceVersion = ""
	scaled.Spec.Replicas = ptr.To(int32(0))
	_, err = asController.AppsV1().Deployments(ns).Update(ctx, scaled, metav1.UpdateOptions{})
	refused("scaling another's Deployment", err)
	refused("deleting another's Secret", asController.CoreV1().Secrets(ns).Delete(ctx, "theirs", metav1.DeleteOptions{}))

	// Its own: written as before, and the label cannot be dropped.
	if _, err := asController.CoreV1().Secrets(ns).Create(ctx, secret("ours", ssmLabels), metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating an SSM Secret, as ssm-controller: %v", err)
	}
	ours, err := c.kube.CoreV1().Secrets(ns).Get(ctx, "ours", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	unlabelled := ours.DeepCopy()
	unlabelled.ResourceVersion = ""
	unlabelled.Labels = nil
	_, err = asController.CoreV1().Secrets(ns).Update(ctx, unlabelled, metav1.UpdateOptions{})
	refused("dropping the managed-by label of an SSM Secret", err)
	if err := asController.CoreV1().Secrets(ns).Delete(ctx, "ours", metav1.DeleteOptions{}); err != nil {
		t.Errorf("deleting an SSM Secret, as ssm-controller: %v", err)
	}
	if _, err := asController.AppsV1().Deployments(ns).Create(ctx, deployment("ours", ssmLabels), metav1.CreateOptions{}); err != nil {
		t.Errorf("creating an SSM Deployment, as ssm-controller: %v", err)
	}
}
