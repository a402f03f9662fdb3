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

package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	cmtesting "knative.dev/pkg/configmap/testing"
)

// TestExample checks the shipped config-ssm: its checksum annotation matches
// the _example block (ConfigMapsFromTestFile fails otherwise), the map as
// shipped parses to the defaults, and so does the _example block, which sets
// every key to the default it documents.
func TestExample(t *testing.T) {
	t.Parallel()
	shipped, example := cmtesting.ConfigMapsFromTestFile(t, SSMConfigName)

	for name, cm := range map[string]map[string]string{"shipped": shipped.Data, "example": example.Data} {
		got, err := NewSSMFromConfigMap(configMap(SSMConfigName, cm))
		if err != nil {
			t.Fatalf("NewSSMFromConfigMap(%s) = %v", name, err)
		}
		if diff := cmp.Diff(defaultSSMLiteral(), got); diff != "" {
			t.Errorf("NewSSMFromConfigMap(%s) (-want, +got):\n%s", name, diff)
		}
	}
}

// TestExampleDocumentsEveryKey keeps the _example block complete: each key
// the parser knows must be set in it, so the documentation cannot fall
// behind the code.
func TestExampleDocumentsEveryKey(t *testing.T) {
	t.Parallel()
	_, example := cmtesting.ConfigMapsFromTestFile(t, SSMConfigName)
	for _, rule := range ssmRules(defaultSSM()) {
		if _, ok := example.Data[rule.key]; !ok {
			t.Errorf("key %q is not in the _example block", rule.key)
		}
	}
	for _, key := range []string{ExternalGatewaysKey, LocalGatewaysKey} {
		if _, ok := example.Data[key]; !ok {
			t.Errorf("key %q is not in the _example block", key)
		}
	}
}
