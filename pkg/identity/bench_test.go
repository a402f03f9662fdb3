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
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkIssue is the cost of one leaf (key generation and signing), what
// the controller pays per renewal.
func BenchmarkIssue(b *testing.B) {
	ca, err := NewCA(t0, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	spec := serverSpec()
	for b.Loop() {
		if _, _, err := ca.Issue(t0, spec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFileSourceUnchanged is what every handshake pays to notice that
// the mounted Secret has not changed (one readlink and three stats).
func BenchmarkFileSourceUnchanged(b *testing.B) {
	ca, err := NewCA(t0, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue(t0, serverSpec())
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	for name, data := range map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM, "ca.crt": caPEM(ca)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	source := NewFileSource(dir)
	for b.Loop() {
		if _, err := source.Certificate(); err != nil {
			b.Fatal(err)
		}
	}
}
