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

package identity

import (
	"context"
	"crypto/tls"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	logtesting "knative.dev/pkg/logging/testing"
)

func leafSecret(secretType corev1.SecretType, labels map[string]string, data map[string][]byte) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: systemNamespace, Name: "ssm-pool-tls", Labels: labels},
		Type:       secretType,
		Data:       data,
	}
}

func TestEnsureLeaf(t *testing.T) {
	t.Parallel()
	ca := mustCA(t, t0, 365*24*time.Hour)
	foreign := mustCA(t, t0, 365*24*time.Hour)
	managed := map[string]string{"app.kubernetes.io/managed-by": "ssm"}

	spec := serverSpec()
	spec.Client = true
	spec.Validity = 3 * time.Hour
	leafCert, leafKey := mustIssue(t, ca, t0, spec)
	_, otherKey := mustIssue(t, ca, t0, spec)
	foreignCert, foreignKey := mustIssue(t, foreign, t0, spec)
	current := leafSecret(corev1.SecretTypeTLS, managed, map[string][]byte{
		"tls.crt": leafCert, "tls.key": leafKey, "ca.crt": caPEM(ca),
	})
	withExtraKey := leafSecret(corev1.SecretTypeTLS, managed, map[string][]byte{
		"tls.crt": leafCert, "tls.key": leafKey, "ca.crt": caPEM(ca), "extra": []byte("kept"),
	})
	fromForeignCA := leafSecret(corev1.SecretTypeTLS, managed, map[string][]byte{
		"tls.crt": foreignCert, "tls.key": foreignKey, "ca.crt": caPEM(foreign),
	})
	staleBundle := leafSecret(corev1.SecretTypeTLS, managed, map[string][]byte{
		"tls.crt": leafCert, "tls.key": leafKey, "ca.crt": caPEM(foreign),
	})
	mismatchedKey := leafSecret(corev1.SecretTypeTLS, managed, map[string][]byte{
		"tls.crt": leafCert, "tls.key": otherKey, "ca.crt": caPEM(ca),
	})
	unmanaged := leafSecret(corev1.SecretTypeTLS, nil, current.Data)
	opaque := leafSecret(corev1.SecretTypeOpaque, managed, current.Data)
	moreNames := spec
	moreNames.DNSNames = []string{testServerName, "ssm-pool.knative-serving.svc.cluster.local"}
	badSpec := spec
	badSpec.DNSNames = nil

	tests := []struct {
		name          string
		clientObjs    []runtime.Object
		listerObjs    []runtime.Object
		spec          LeafSpec
		now           time.Time
		wantChanged   bool
		wantActions   []string
		wantNotBefore time.Time
		wantExtra     string // a key SSM does not own, kept across renewal
		wantErr       string
	}{{
		name:          "missing: created",
		spec:          spec,
		now:           t0,
		wantChanged:   true,
		wantActions:   []string{"create secrets"},
		wantNotBefore: time.Date(2026, 1, 2, 3, 3, 5, 0, time.UTC),
	}, {
		name:       "current: no API calls",
		clientObjs: []runtime.Object{current},
		listerObjs: []runtime.Object{current},
		spec:       spec,
		now:        t0.Add(time.Hour),
	}, {
		name:          "at 70% of its lifetime: renewed, other keys kept",
		clientObjs:    []runtime.Object{withExtraKey},
		listerObjs:    []runtime.Object{withExtraKey},
		spec:          spec,
		now:           t0.Add(126 * time.Minute),
		wantChanged:   true,
		wantActions:   []string{"update secrets"},
		wantNotBefore: time.Date(2026, 1, 2, 5, 9, 5, 0, time.UTC),
		wantExtra:     "kept",
	}, {
		name:          "signed by another CA: renewed",
		clientObjs:    []runtime.Object{fromForeignCA},
		listerObjs:    []runtime.Object{fromForeignCA},
		spec:          spec,
		now:           t0.Add(time.Hour),
		wantChanged:   true,
		wantActions:   []string{"update secrets"},
		wantNotBefore: time.Date(2026, 1, 2, 4, 3, 5, 0, time.UTC),
	}, {
		name:          "stale ca.crt: renewed",
		clientObjs:    []runtime.Object{staleBundle},
		listerObjs:    []runtime.Object{staleBundle},
		spec:          spec,
		now:           t0.Add(time.Hour),
		wantChanged:   true,
		wantActions:   []string{"update secrets"},
		wantNotBefore: time.Date(2026, 1, 2, 4, 3, 5, 0, time.UTC),
	}, {
		name:          "key does not match: renewed",
		clientObjs:    []runtime.Object{mismatchedKey},
		listerObjs:    []runtime.Object{mismatchedKey},
		spec:          spec,
		now:           t0.Add(time.Hour),
		wantChanged:   true,
		wantActions:   []string{"update secrets"},
		wantNotBefore: time.Date(2026, 1, 2, 4, 3, 5, 0, time.UTC),
	}, {
		name:          "DNS names changed: renewed",
		clientObjs:    []runtime.Object{current},
		listerObjs:    []runtime.Object{current},
		spec:          moreNames,
		now:           t0.Add(time.Hour),
		wantChanged:   true,
		wantActions:   []string{"update secrets"},
		wantNotBefore: time.Date(2026, 1, 2, 4, 3, 5, 0, time.UTC),
	}, {
		name:        "created by someone else since the informer last looked",
		clientObjs:  []runtime.Object{current},
		spec:        spec,
		now:         t0.Add(time.Hour),
		wantActions: []string{"create secrets", "get secrets"},
	}, {
		name:          "created by someone else, and due",
		clientObjs:    []runtime.Object{fromForeignCA},
		spec:          spec,
		now:           t0.Add(time.Hour),
		wantChanged:   true,
		wantActions:   []string{"create secrets", "get secrets", "update secrets"},
		wantNotBefore: time.Date(2026, 1, 2, 4, 3, 5, 0, time.UTC),
	}, {
		name:       "not managed by SSM",
		clientObjs: []runtime.Object{unmanaged},
		listerObjs: []runtime.Object{unmanaged},
		spec:       spec,
		now:        t0,
		wantErr:    "leaf Secret knative-serving/ssm-pool-tls exists but is not labelled app.kubernetes.io/managed-by=ssm; refusing to overwrite it",
	}, {
		name:       "wrong type",
		clientObjs: []runtime.Object{opaque},
		listerObjs: []runtime.Object{opaque},
		spec:       spec,
		now:        t0,
		wantErr:    `leaf Secret knative-serving/ssm-pool-tls has type "Opaque", want "kubernetes.io/tls"; delete it to have it re-created`,
	}, {
		name:    "invalid spec",
		spec:    badSpec,
		now:     t0,
		wantErr: "leaf Secret knative-serving/ssm-pool-tls: leaf spec for spiffe://cluster.local/ns/knative-serving/sa/ssm-pool: a server certificate needs DNS names for clients to verify",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			kube, lister := newSecretFixture(t, tt.clientObjs, tt.listerObjs)
			ctx := logtesting.TestContextWithLogger(t)
			changed, err := EnsureLeaf(ctx, kube, lister, &Authority{Signer: ca, Trust: caPEM(ca)}, systemNamespace, "ssm-pool-tls", tt.spec, tt.now)
			if diff := cmp.Diff(tt.wantActions, actionVerbs(kube)); diff != "" {
				t.Errorf("API actions (-want +got):\n%s", diff)
			}
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("EnsureLeaf error = %v\nwant %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("EnsureLeaf: %v", err)
			}
			if changed != tt.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tt.wantChanged)
			}
			if !tt.wantChanged {
				return
			}
			stored, err := kube.CoreV1().Secrets(systemNamespace).Get(context.Background(), "ssm-pool-tls", metav1.GetOptions{})
			if err != nil {
				t.Fatalf("leaf Secret: %v", err)
			}
			checkLeafSecret(t, stored, ca, tt.spec, tt.wantNotBefore)
			if got := string(stored.Data["extra"]); got != tt.wantExtra {
				t.Errorf("Secret key extra = %q, want %q", got, tt.wantExtra)
			}
		})
	}
}

func checkLeafSecret(t *testing.T, secret *corev1.Secret, ca *CA, spec LeafSpec, wantNotBefore time.Time) {
	t.Helper()
	if secret.Type != corev1.SecretTypeTLS {
		t.Errorf("type = %q, want kubernetes.io/tls", secret.Type)
	}
	if got, want := secret.Labels, map[string]string{"app.kubernetes.io/managed-by": "ssm"}; !cmp.Equal(got, want) {
		t.Errorf("labels = %v, want %v", got, want)
	}
	if string(secret.Data["ca.crt"]) != string(caPEM(ca)) {
		t.Error("ca.crt is not the CA certificate")
	}
	if _, err := tls.X509KeyPair(secret.Data["tls.crt"], secret.Data["tls.key"]); err != nil {
		t.Errorf("tls.crt/tls.key: %v", err)
	}
	cert := mustParseCert(t, secret.Data["tls.crt"])
	if err := cert.CheckSignatureFrom(ca.Certificate()); err != nil {
		t.Errorf("tls.crt not signed by the CA: %v", err)
	}
	if len(cert.URIs) != 1 || cert.URIs[0].String() != spec.ID.String() {
		t.Errorf("URIs = %v, want [%s]", cert.URIs, spec.ID)
	}
	if diff := cmp.Diff(spec.DNSNames, cert.DNSNames); diff != "" {
		t.Errorf("DNS names (-want +got):\n%s", diff)
	}
	if !cert.NotBefore.Equal(wantNotBefore) {
		t.Errorf("NotBefore = %v, want %v", cert.NotBefore, wantNotBefore)
	}
}
