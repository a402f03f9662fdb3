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

package kubelet

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteSecretVolume: each version is published whole through the
// ..data link, a key dropped from the Secret disappears, only the current
// version's directory remains, and a plain file an earlier writer left is
// replaced by the link.
func TestWriteSecretVolume(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), []byte("plain"), 0o644); err != nil {
		t.Fatal(err)
	}
	read := func(key string) string {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(dir, key))
		if err != nil {
			return "<" + err.Error() + ">"
		}
		return string(data)
	}
	if err := WriteSecretVolume(dir, map[string][]byte{"tls.crt": []byte("cert 1"), "ca.crt": []byte("ca 1")}); err != nil {
		t.Fatal(err)
	}
	if got := read("tls.crt") + "," + read("ca.crt"); got != "cert 1,ca 1" {
		t.Errorf("after version 1: %s", got)
	}
	if err := WriteSecretVolume(dir, map[string][]byte{"ca.crt": []byte("ca 2")}); err != nil {
		t.Fatal(err)
	}
	if got := read("ca.crt"); got != "ca 2" {
		t.Errorf("after version 2: ca.crt = %q", got)
	}
	if _, err := os.Lstat(filepath.Join(dir, "tls.crt")); !os.IsNotExist(err) {
		t.Errorf("tls.crt, dropped from the Secret, is still there (%v)", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var versions []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "..v") {
			versions = append(versions, e.Name())
		}
	}
	if len(versions) != 1 {
		t.Errorf("version directories %v, want only the current one", versions)
	}
	if target, err := os.Readlink(filepath.Join(dir, "ca.crt")); err != nil || target != filepath.Join("..data", "ca.crt") {
		t.Errorf("ca.crt links to %q (%v), want ..data/ca.crt", target, err)
	}
}
