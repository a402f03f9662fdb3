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

package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPluginSettingsReadsTheStartLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name, log, want string
	}{{
		name: "active",
		log: `{"severity":"INFO","message":"Starting queue-proxy"}
{"severity":"INFO","message":"SSM plugin active","mtlsAddress":"[::]:8113","requireMTLS":true,"deadline":"5m0s"}
`,
		want: "active, requireMTLS=true, deadline=5m0s, mTLS on [::]:8113",
	}, {
		name: "off",
		log:  `{"severity":"INFO","message":"SSM plugin off: no podinfo annotations"}` + "\n",
		want: `NOT ACTIVE (no "SSM plugin active" line in its log)`,
	}}
	for _, tt := range tests {
		path := filepath.Join(dir, tt.name+".log")
		if err := os.WriteFile(path, []byte(tt.log), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := pluginSettings(path); got != tt.want {
			t.Errorf("%s: pluginSettings = %q, want %q", tt.name, got, tt.want)
		}
	}
}
