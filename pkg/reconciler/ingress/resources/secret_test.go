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

package resources

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"
)

func TestMakeSecrets(t *testing.T) {
	t.Parallel()
	longName := strings.Repeat("c", 70)
	ing := tlsIngress(v1alpha1.HTTPOptionEnabled)
	origins := map[string]*corev1.Secret{
		"default/hello-tls": {
			ObjectMeta: metav1.ObjectMeta{
				Namespace: "default", Name: "hello-tls",
				Labels: map[string]string{"networking.internal.knative.dev/certificate-uid": "cert-1"},
			},
			Type: corev1.SecretTypeTLS,
			Data: map[string][]byte{"tls.crt": []byte("CERT"), "tls.key": []byte("KEY")},
		},
		"default/" + longName: {
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: longName},
			Type:       corev1.SecretTypeTLS,
			Data:       map[string][]byte{"tls.crt": []byte("CERT2"), "tls.key": []byte("KEY2")},
		},
		// Already in the gateway namespace: used in place, never copied there.
		"istio-system/shared-tls": {
			ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: "shared-tls"},
			Type:       corev1.SecretTypeTLS,
			Data:       map[string][]byte{"tls.crt": []byte("CERT3")},
		},
	}
	before := ing.DeepCopy()
	originsBefore := map[string]*corev1.Secret{}
	for k, v := range origins {
		originsBefore[k] = v.DeepCopy()
	}
	services := []GatewayService{
		ingressGatewayService(),
		localGatewayService(), // same namespace: copied there once
		{Namespace: "gateways", Name: "other-gateway"},
	}

	copyLabels := func(originNamespace, originName, certUID string) map[string]string {
		return map[string]string{
			"networking.internal.knative.dev/ingress":               "hello",
			"ssm.dev/ingress-namespace":                             "default",
			"app.kubernetes.io/managed-by":                          "ssm",
			"networking.internal.knative.dev/originSecretNamespace": originNamespace,
			"networking.internal.knative.dev/originSecretName":      originName,
			"networking.internal.knative.dev/certificate-uid":       certUID,
		}
	}
	// "hello-" + longName cut to 22 characters, md5 of it, then
	// "-" + sha256("default/hello/default/" + longName)[:4 bytes].
	longCopy := "hello-cccccccccccccccc" + "e25a8fcb6fa903dd81c1bbfcea568102" + "-64d2a742"
	longLabel := strings.Repeat("c", 54) + "-6fe5981a"
	longAnnotations := map[string]string{"networking.internal.knative.dev/originSecretName": longName}
	want := []*corev1.Secret{{
		ObjectMeta: metav1.ObjectMeta{Namespace: "gateways", Name: longCopy, Labels: copyLabels("default", longLabel, ""), Annotations: longAnnotations},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{"tls.crt": []byte("CERT2"), "tls.key": []byte("KEY2")},
	}, {
		ObjectMeta: metav1.ObjectMeta{Namespace: "gateways", Name: "hello-hello-tls-4d43772a", Labels: copyLabels("default", "hello-tls", "cert-1")},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{"tls.crt": []byte("CERT"), "tls.key": []byte("KEY")},
	}, {
		// sha256("default/hello/istio-system/shared-tls")[:4 bytes]
		ObjectMeta: metav1.ObjectMeta{Namespace: "gateways", Name: "hello-shared-tls-c040589d", Labels: copyLabels("istio-system", "shared-tls", "")},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{"tls.crt": []byte("CERT3")},
	}, {
		ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: longCopy, Labels: copyLabels("default", longLabel, ""), Annotations: longAnnotations},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{"tls.crt": []byte("CERT2"), "tls.key": []byte("KEY2")},
	}, {
		ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: "hello-hello-tls-4d43772a", Labels: copyLabels("default", "hello-tls", "cert-1")},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{"tls.crt": []byte("CERT"), "tls.key": []byte("KEY")},
	}}

	got := MakeSecrets(ing, origins, services)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("MakeSecrets (-want, +got):\n%s", diff)
	}

	// The copies own their data: writing to them leaves the origins alone.
	for _, s := range got {
		for k := range s.Data {
			s.Data[k][0] = 'X'
		}
	}
	if diff := cmp.Diff(originsBefore, origins); diff != "" {
		t.Errorf("origin Secrets share data with the copies (-before, +after):\n%s", diff)
	}
	if diff := cmp.Diff(before, ing); diff != "" {
		t.Errorf("mutated the KIngress (-before, +after):\n%s", diff)
	}
}

func TestTargetSecretLabels(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		"networking.internal.knative.dev/originSecretNamespace": "default",
		"networking.internal.knative.dev/originSecretName":      "hello-tls",
	}
	if diff := cmp.Diff(want, TargetSecretLabels("default", "hello-tls")); diff != "" {
		t.Errorf("TargetSecretLabels (-want, +got):\n%s", diff)
	}
}
