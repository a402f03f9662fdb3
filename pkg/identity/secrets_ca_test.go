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
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	logtesting "knative.dev/pkg/logging/testing"
)

const systemNamespace = "knative-serving"

// newSecretFixture returns a fake clientset holding clientObjs and a lister
// holding listerObjs; they differ only to simulate an informer lagging the
// API server.
func newSecretFixture(t *testing.T, clientObjs, listerObjs []runtime.Object) (*fake.Clientset, corev1listers.SecretLister) {
	t.Helper()
	kube := fake.NewClientset(clientObjs...)
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, obj := range listerObjs {
		if err := indexer.Add(obj); err != nil {
			t.Fatal(err)
		}
	}
	return kube, corev1listers.NewSecretLister(indexer)
}

// actionVerbs is "verb resource" per recorded action.
func actionVerbs(kube *fake.Clientset) []string {
	var verbs []string
	for _, a := range kube.Actions() {
		verbs = append(verbs, a.GetVerb()+" "+a.GetResource().Resource)
	}
	return verbs
}

func caSecret(data map[string][]byte) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: systemNamespace,
			Name:      "ssm-ca",
			Labels:    map[string]string{"app.kubernetes.io/managed-by": "ssm"},
		},
		Type: corev1.SecretTypeOpaque,
		Data: data,
	}
}

const caRecoveryHint = "; SSM does not replace a CA Secret because every leaf certificate is signed by it: " +
	"delete the Secret to have a new CA created and every leaf Secret re-issued"

func TestEnsureCA(t *testing.T) {
	t.Parallel()
	existing := mustCA(t, t0, 365*24*time.Hour)
	existingCert, existingKey := existing.PEM()
	other := mustCA(t, t0, 365*24*time.Hour)
	_, otherKey := other.PEM()
	expired := mustCA(t, t0.Add(-48*time.Hour), 24*time.Hour)
	expiredCert, expiredKey := expired.PEM()
	valid := caSecret(map[string][]byte{"ca.crt": existingCert, "ca.key": existingKey})

	tests := []struct {
		name        string
		clientObjs  []runtime.Object
		listerObjs  []runtime.Object
		wantActions []string
		wantCert    []byte // nil: a new CA was created
		wantErr     string
		wantErrKey  string
	}{{
		name:        "missing: created",
		wantActions: []string{"create secrets"},
	}, {
		name:       "present: no API calls",
		clientObjs: []runtime.Object{valid},
		listerObjs: []runtime.Object{valid},
		wantCert:   existingCert,
	}, {
		name:        "created by someone else since the informer last looked",
		clientObjs:  []runtime.Object{valid},
		wantActions: []string{"create secrets", "get secrets"},
		wantCert:    existingCert,
	}, {
		name:       "corrupt key",
		clientObjs: []runtime.Object{caSecret(map[string][]byte{"ca.crt": existingCert, "ca.key": []byte("garbage")})},
		listerObjs: []runtime.Object{caSecret(map[string][]byte{"ca.crt": existingCert, "ca.key": []byte("garbage")})},
		wantErr:    "CA Secret knative-serving/ssm-ca key ca.key: no PEM block found" + caRecoveryHint,
		wantErrKey: "ca.key",
	}, {
		name:       "corrupt certificate",
		listerObjs: []runtime.Object{caSecret(map[string][]byte{"ca.crt": []byte("garbage"), "ca.key": existingKey})},
		wantErr:    "CA Secret knative-serving/ssm-ca key ca.crt: no PEM block found" + caRecoveryHint,
		wantErrKey: "ca.crt",
	}, {
		name:       "missing key",
		listerObjs: []runtime.Object{caSecret(map[string][]byte{"ca.crt": existingCert})},
		wantErr:    "CA Secret knative-serving/ssm-ca key ca.key: missing or empty" + caRecoveryHint,
		wantErrKey: "ca.key",
	}, {
		name:       "key of another CA",
		listerObjs: []runtime.Object{caSecret(map[string][]byte{"ca.crt": existingCert, "ca.key": otherKey})},
		wantErr:    `CA Secret knative-serving/ssm-ca: CA key does not belong to CA certificate "ssm-ca"` + caRecoveryHint,
		wantErrKey: "",
	}, {
		name:       "expired",
		listerObjs: []runtime.Object{caSecret(map[string][]byte{"ca.crt": expiredCert, "ca.key": expiredKey})},
		wantErr:    "CA Secret knative-serving/ssm-ca key ca.crt: CA expired at 2026-01-01T03:04:05Z" + caRecoveryHint,
		wantErrKey: "ca.crt",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			kube, lister := newSecretFixture(t, tt.clientObjs, tt.listerObjs)
			ca, err := EnsureCA(logtesting.TestContextWithLogger(t), kube, lister, systemNamespace, t0)
			if diff := cmp.Diff(tt.wantActions, actionVerbs(kube)); diff != "" {
				t.Errorf("API actions (-want +got):\n%s", diff)
			}
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("EnsureCA error = %v\nwant %s", err, tt.wantErr)
				}
				var secretErr *CASecretError
				if !errors.As(err, &secretErr) || secretErr.Key != tt.wantErrKey {
					t.Errorf("EnsureCA error %#v, want a *CASecretError for key %q", err, tt.wantErrKey)
				}
				return
			}
			if err != nil {
				t.Fatalf("EnsureCA: %v", err)
			}
			gotCert, _ := ca.Signer.PEM()
			if string(ca.Trust) != string(gotCert) || !ca.NextStep.IsZero() {
				t.Errorf("trust bundle of a CA with no rotation under way = %q (next step %v), want just the CA", ca.Trust, ca.NextStep)
			}
			if tt.wantCert != nil {
				if string(gotCert) != string(tt.wantCert) {
					t.Error("EnsureCA returned a CA other than the one in the Secret")
				}
				return
			}
			stored, err := kube.CoreV1().Secrets(systemNamespace).Get(context.Background(), "ssm-ca", metav1.GetOptions{})
			if err != nil {
				t.Fatalf("created CA Secret: %v", err)
			}
			if got, want := stored.Labels, map[string]string{"app.kubernetes.io/managed-by": "ssm"}; !cmp.Equal(got, want) {
				t.Errorf("labels = %v, want %v", got, want)
			}
			if string(stored.Data["ca.crt"]) != string(gotCert) || len(stored.Data["ca.key"]) == 0 {
				t.Error("created Secret does not hold the returned CA under ca.crt and ca.key")
			}
			if want := time.Date(2035, 12, 31, 3, 4, 5, 0, time.UTC); !ca.Signer.Certificate().NotAfter.Equal(want) {
				t.Errorf("new CA NotAfter = %v, want %v (3650 days, two leap years)", ca.Signer.Certificate().NotAfter, want)
			}
		})
	}
}
