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

package webhook

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// installDocs strictly decodes every document of config/<name> into the
// typed object its kind names, so a misspelt field fails here rather than
// at kubectl apply.
func installDocs(t *testing.T, name string) []any {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "config", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	reader := utilyaml.NewYAMLReader(bufio.NewReader(f))
	var out []any
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		js, err := utilyaml.ToJSON(doc)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if string(bytes.TrimSpace(js)) == "null" {
			continue
		}
		var meta metav1.TypeMeta
		if err := json.Unmarshal(js, &meta); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var obj any
		switch meta.Kind {
		case "ServiceAccount":
			obj = &corev1.ServiceAccount{}
		case "Service":
			obj = &corev1.Service{}
		case "Secret":
			obj = &corev1.Secret{}
		case "Deployment":
			obj = &appsv1.Deployment{}
		case "PodDisruptionBudget":
			obj = &policyv1.PodDisruptionBudget{}
		case "MutatingWebhookConfiguration":
			obj = &admissionregistrationv1.MutatingWebhookConfiguration{}
		case "ValidatingWebhookConfiguration":
			obj = &admissionregistrationv1.ValidatingWebhookConfiguration{}
		case "ClusterRole", "Role":
			obj = &rbacv1.ClusterRole{} // same shape as Role
		case "ClusterRoleBinding", "RoleBinding":
			obj = &rbacv1.ClusterRoleBinding{} // same shape as RoleBinding
		default:
			t.Fatalf("%s: unexpected kind %q", name, meta.Kind)
		}
		dec := json.NewDecoder(bytes.NewReader(js))
		dec.DisallowUnknownFields()
		if err := dec.Decode(obj); err != nil {
			t.Fatalf("%s: %s: %v", name, meta.Kind, err)
		}
		out = append(out, obj)
	}
}

// webhookShell is what the install YAML must give each webhook: the parts
// the reconcilers do not fill in.
type webhookShell struct {
	Name, Service, Namespace, FailurePolicy, SideEffects string
	ReviewVersions                                       []string
}

func TestInstallWebhookConfigurations(t *testing.T) {
	t.Parallel()
	var got []webhookShell
	for _, obj := range installDocs(t, "600-webhook-configurations.yaml") {
		switch c := obj.(type) {
		case *admissionregistrationv1.MutatingWebhookConfiguration:
			for _, w := range c.Webhooks {
				got = append(got, webhookShell{c.Name + "/" + w.Name, w.ClientConfig.Service.Name, w.ClientConfig.Service.Namespace,
					string(*w.FailurePolicy), string(*w.SideEffects), w.AdmissionReviewVersions})
			}
		case *admissionregistrationv1.ValidatingWebhookConfiguration:
			for _, w := range c.Webhooks {
				got = append(got, webhookShell{c.Name + "/" + w.Name, w.ClientConfig.Service.Name, w.ClientConfig.Service.Namespace,
					string(*w.FailurePolicy), string(*w.SideEffects), w.AdmissionReviewVersions})
			}
		}
	}
	// The reconcilers only fill in the webhook whose name equals its
	// configuration's name, hence "x/x".
	want := []webhookShell{
		{"defaulting.webhook.ssm.dev/defaulting.webhook.ssm.dev", "ssm-webhook", "knative-serving", "Fail", "None", []string{"v1", "v1beta1"}},
		{"validation.webhook.ssm.dev/validation.webhook.ssm.dev", "ssm-webhook", "knative-serving", "Fail", "None", []string{"v1", "v1beta1"}},
		{"config.webhook.ssm.dev/config.webhook.ssm.dev", "ssm-webhook", "knative-serving", "Fail", "None", []string{"v1", "v1beta1"}},
		{"deployments.webhook.ssm.dev/deployments.webhook.ssm.dev", "ssm-webhook", "knative-serving", "Ignore", "None", []string{"v1", "v1beta1"}},
		{"revisions.webhook.ssm.dev/revisions.webhook.ssm.dev", "ssm-webhook", "knative-serving", "Ignore", "None", []string{"v1", "v1beta1"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("webhook configurations (-want +got):\n%s", diff)
	}
	for _, name := range []string{DefaultingWebhookName, ValidationWebhookName, ConfigValidationWebhookName, RevisionDeploymentWebhookName, RevisionWebhookName} {
		found := false
		for _, w := range got {
			found = found || w.Name == name+"/"+name
		}
		if !found {
			t.Errorf("no webhook configuration for %s", name)
		}
	}
}

func TestInstallWebhookDeployment(t *testing.T) {
	t.Parallel()
	var (
		secrets, services []string
		servicePorts      map[string]string
		containerPorts    map[string]int32
		env               map[string]string
		serviceAccount    string
	)
	for _, obj := range installDocs(t, "500-webhook.yaml") {
		switch o := obj.(type) {
		case *corev1.Secret:
			secrets = append(secrets, o.Namespace+"/"+o.Name)
		case *corev1.Service:
			services = append(services, o.Namespace+"/"+o.Name)
			servicePorts = map[string]string{}
			for _, p := range o.Spec.Ports {
				servicePorts[p.Name] = p.TargetPort.String()
			}
		case *appsv1.Deployment:
			serviceAccount = o.Spec.Template.Spec.ServiceAccountName
			c := o.Spec.Template.Spec.Containers[0]
			containerPorts = map[string]int32{}
			for _, p := range c.Ports {
				containerPorts[p.Name] = p.ContainerPort
			}
			env = map[string]string{}
			for _, e := range c.Env {
				env[e.Name] = e.Value
			}
		}
	}
	if diff := cmp.Diff([]string{"knative-serving/ssm-webhook-certs"}, secrets); diff != "" {
		t.Errorf("Secrets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"knative-serving/ssm-webhook"}, services); diff != "" {
		t.Errorf("Services (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"http-metrics": "metrics", "http-profiling": "profiling", "https-webhook": "https-webhook"}, servicePorts); diff != "" {
		t.Errorf("Service target ports (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int32{"metrics": 9090, "profiling": 8008, "https-webhook": 8443}, containerPorts); diff != "" {
		t.Errorf("container ports (-want +got):\n%s", diff)
	}
	wantEnv := map[string]string{
		"POD_NAME":                  "",
		"SYSTEM_NAMESPACE":          "",
		"CONFIG_LOGGING_NAME":       "config-logging",
		"CONFIG_OBSERVABILITY_NAME": "config-observability",
		"WEBHOOK_PORT":              "8443",
	}
	if diff := cmp.Diff(wantEnv, env); diff != "" {
		t.Errorf("container env (-want +got):\n%s", diff)
	}
	if serviceAccount != "ssm-webhook" {
		t.Errorf("serviceAccountName = %q, want ssm-webhook", serviceAccount)
	}
	if ServiceName != "ssm-webhook" || SecretName != "ssm-webhook-certs" {
		t.Errorf("ServiceName, SecretName = %q, %q; the install YAML uses ssm-webhook, ssm-webhook-certs", ServiceName, SecretName)
	}
}

func TestInstallWebhookRBACHasNoWildcards(t *testing.T) {
	t.Parallel()
	for _, obj := range installDocs(t, "200-webhook-rbac.yaml") {
		role, ok := obj.(*rbacv1.ClusterRole)
		if !ok {
			continue
		}
		for _, r := range role.Rules {
			for _, list := range [][]string{r.APIGroups, r.Resources, r.Verbs, r.ResourceNames} {
				for _, s := range list {
					if s == "*" {
						t.Errorf("%s %s: rule %+v uses \"*\"", role.Kind, role.Name, r)
					}
				}
			}
		}
	}
}
