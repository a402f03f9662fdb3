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
	"os"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// fuzzData decodes the fuzzer's bytes into ConfigMap data: one key=value
// pair per line, "\x00" standing for a newline inside a value.
func fuzzData(input string) map[string]string {
	data := map[string]string{}
	for _, line := range strings.Split(input, "\n") {
		key, value, _ := strings.Cut(line, "=")
		data[key] = strings.ReplaceAll(value, "\x00", "\n")
	}
	return data
}

func fuzzEncode(data map[string]string) string {
	lines := make([]string, 0, len(data))
	for key, value := range data {
		lines = append(lines, key+"="+strings.ReplaceAll(value, "\n", "\x00"))
	}
	return strings.Join(lines, "\n")
}

// FuzzNewSSMFromConfigMap feeds random key/value pairs to the parser. It must
// never panic, and whatever it accepts must be a valid configuration.
func FuzzNewSSMFromConfigMap(f *testing.F) {
	raw, err := os.ReadFile("testdata/config-ssm.yaml")
	if err != nil {
		f.Fatal("ReadFile() =", err)
	}
	var shipped struct {
		Data map[string]string `json:"data"`
	}
	if err := yaml.Unmarshal(raw, &shipped); err != nil {
		f.Fatal("yaml.Unmarshal() =", err)
	}
	example := map[string]string{}
	if err := yaml.Unmarshal([]byte(shipped.Data["_example"]), &example); err != nil {
		f.Fatal("yaml.Unmarshal(_example) =", err)
	}
	f.Add(fuzzEncode(example))
	for key, value := range example {
		f.Add(key + "=" + strings.ReplaceAll(value, "\n", "\x00"))
	}
	f.Add("gateway.edge.public=public.edge.svc\nlocal-gateway.inside=inside.edge.svc")

	f.Fuzz(func(t *testing.T, input string) {
		ssm, err := NewSSMFromConfigMap(configMap(SSMConfigName, fuzzData(input)))
		if err != nil {
			if ssm != nil {
				t.Errorf("NewSSMFromConfigMap() = %+v with error %v, want nil", ssm, err)
			}
			return
		}
		if err := ssm.Policy.Validate(); err != nil {
			t.Errorf("accepted config fails Policy.Validate(): %v", err)
		}
		if _, err := parseReadinessMode(string(ssm.Readiness)); err != nil {
			t.Errorf("accepted readiness mode: %v", err)
		}
		if _, err := parseXDSAddress(ssm.XDSAddress); err != nil {
			t.Errorf("accepted xds-address: %v", err)
		}
		for _, g := range append(append([]Gateway{}, ssm.IngressGateways...), ssm.LocalGateways...) {
			if err := g.Validate(); err != nil {
				t.Errorf("accepted gateway %s: %v", g.QualifiedName(), err)
			}
		}
	})
}
