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
	"testing"

	"github.com/serverless-mesh/ssm/pkg/pool/snapshot"
	"github.com/serverless-mesh/ssm/pkg/reconciler/proxypool/resources/names"
)

// TestSnapshotReferencesTheBootstrapSecrets: ssm-pool's clusters refer to
// the secrets this bootstrap defines, by name and file. If either side
// drifts, Envoy rejects every leased revision's cluster.
func TestSnapshotReferencesTheBootstrapSecrets(t *testing.T) {
	t.Parallel()
	o := snapshot.DefaultOptions()
	for _, c := range []struct{ what, got, want string }{
		{"identity secret", o.IdentitySecret, names.EnvoyIdentitySecret},
		{"trust bundle secret", o.TrustBundleSecret, names.EnvoyTrustBundleSecret},
		{"SDS directory", o.SecretDirectory, BootstrapDir},
	} {
		if c.got != c.want {
			t.Errorf("snapshot's %s = %q, the bootstrap's = %q", c.what, c.got, c.want)
		}
	}
	files, err := MakeSDSFiles()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{o.IdentitySecret, o.TrustBundleSecret} {
		if _, ok := files[SDSFile(name)]; !ok {
			t.Errorf("the bootstrap ConfigMap has no SDS file for %q", name)
		}
	}
}
