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
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

func leafSerial(t *testing.T, cert *tls.Certificate) string {
	t.Helper()
	return cert.Leaf.SerialNumber.String()
}

// TestFileSourceRewrittenInPlace covers directories that are not Secret
// volumes: files overwritten in place are noticed by modification time.
func TestFileSourceRewrittenInPlace(t *testing.T) {
	t.Parallel()
	ca := mustCA(t, t0, 24*time.Hour)
	cert1, key1 := mustIssue(t, ca, t0, clientSpec("demo", "one"))
	cert2, key2 := mustIssue(t, ca, t0, clientSpec("demo", "two"))
	dir := t.TempDir()
	write := func(certPEM, keyPEM []byte, modTime time.Time) {
		for name, data := range map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM, "ca.crt": caPEM(ca)} {
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			// Set explicitly: the kernel's coarse clock can give two quick
			// writes the same mtime.
			if err := os.Chtimes(path, modTime, modTime); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(cert1, key1, t0)
	source := NewFileSource(dir)

	first, err := source.Certificate()
	if err != nil {
		t.Fatalf("Certificate: %v", err)
	}
	if got, want := leafSerial(t, first), mustParseCert(t, cert1).SerialNumber.String(); got != want {
		t.Errorf("first load: serial %s, want %s", got, want)
	}
	again, err := source.Certificate()
	if err != nil {
		t.Fatalf("Certificate: %v", err)
	}
	if again != first {
		t.Error("unchanged files were parsed again")
	}

	write(cert2, key2, t0.Add(time.Second))
	rotated, err := source.Certificate()
	if err != nil {
		t.Fatalf("Certificate after rewrite: %v", err)
	}
	if got, want := leafSerial(t, rotated), mustParseCert(t, cert2).SerialNumber.String(); got != want {
		t.Errorf("after rewrite: serial %s, want %s", got, want)
	}
	bundle, err := source.Bundle()
	if err != nil {
		t.Fatalf("Bundle: %v", err)
	}
	if !bundle.Equal(ca.Bundle()) {
		t.Error("Bundle does not hold exactly the CA")
	}
}

func TestFileSourceErrors(t *testing.T) {
	t.Parallel()
	ca := mustCA(t, t0, 24*time.Hour)
	cert1, key1 := mustIssue(t, ca, t0, clientSpec("demo", "one"))
	_, key2 := mustIssue(t, ca, t0, clientSpec("demo", "two"))
	tests := []struct {
		name    string
		files   map[string][]byte
		wantErr string // {dir} stands for the directory
	}{{
		name:    "empty directory",
		wantErr: "certificate file: stat {dir}/tls.crt: no such file or directory",
	}, {
		name:    "no bundle",
		files:   map[string][]byte{"tls.crt": cert1, "tls.key": key2},
		wantErr: "certificate file: stat {dir}/ca.crt: no such file or directory",
	}, {
		name:    "key of another certificate",
		files:   map[string][]byte{"tls.crt": cert1, "tls.key": key2, "ca.crt": caPEM(ca)},
		wantErr: "certificate files in {dir}: tls.crt/tls.key: tls: private key does not match public key",
	}, {
		name:    "bundle without certificates",
		files:   map[string][]byte{"tls.crt": cert1, "tls.key": key1, "ca.crt": []byte("none")},
		wantErr: "certificate files in {dir}: ca.crt: no PEM certificate found",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for name, data := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			source := NewFileSource(dir)
			_, certErr := source.Certificate()
			_, bundleErr := source.Bundle()
			want := strings.ReplaceAll(tt.wantErr, "{dir}", dir)
			for _, err := range []error{certErr, bundleErr} {
				if err == nil || err.Error() != want {
					t.Errorf("error = %v\nwant %s", err, want)
				}
			}
		})
	}
}

func TestSecretSource(t *testing.T) {
	t.Parallel()
	ca := mustCA(t, t0, 24*time.Hour)
	cert1, key1 := mustIssue(t, ca, t0, clientSpec("demo", "one"))
	cert2, key2 := mustIssue(t, ca, t0, clientSpec("demo", "two"))
	secret := func(resourceVersion string, data map[string][]byte) *corev1.Secret {
		return &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: "knative-serving", Name: "activator-tls", ResourceVersion: resourceVersion},
			Type:       corev1.SecretTypeTLS,
			Data:       data,
		}
	}
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	source := NewSecretSource(corev1listers.NewSecretLister(indexer), "knative-serving", "activator-tls")

	if _, err := source.Certificate(); err == nil ||
		err.Error() != `getting Secret knative-serving/activator-tls: secret "activator-tls" not found` {
		t.Errorf("missing Secret: error = %v", err)
	}

	steps := []struct {
		name       string
		secret     *corev1.Secret
		wantSerial string // "" when an error is expected
		wantErr    string
	}{{
		name:       "first version",
		secret:     secret("1", map[string][]byte{"tls.crt": cert1, "tls.key": key1, "ca.crt": caPEM(ca)}),
		wantSerial: mustParseCert(t, cert1).SerialNumber.String(),
	}, {
		name:       "rotated",
		secret:     secret("2", map[string][]byte{"tls.crt": cert2, "tls.key": key2, "ca.crt": caPEM(ca)}),
		wantSerial: mustParseCert(t, cert2).SerialNumber.String(),
	}, {
		name:    "bundle emptied",
		secret:  secret("3", map[string][]byte{"tls.crt": cert2, "tls.key": key2, "ca.crt": []byte("none")}),
		wantErr: "Secret knative-serving/activator-tls: ca.crt: no PEM certificate found",
	}}
	for _, step := range steps {
		if err := indexer.Add(step.secret); err != nil {
			t.Fatal(err)
		}
		got, err := source.Certificate()
		if step.wantErr != "" {
			if err == nil || err.Error() != step.wantErr {
				t.Errorf("%s: error = %v, want %s", step.name, err, step.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if serial := leafSerial(t, got); serial != step.wantSerial {
			t.Errorf("%s: serial %s, want %s", step.name, serial, step.wantSerial)
		}
		again, err := source.Certificate()
		if err != nil || again != got {
			t.Errorf("%s: unchanged Secret was parsed again (err %v)", step.name, err)
		}
	}
}
