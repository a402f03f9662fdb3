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
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
)

// goldenFiles are the ConfigMap keys, each reviewed line by line in testdata/
// for pool fns/default under DefaultConfig.
var goldenFiles = []string{"bootstrap.yaml", "ssm-proxy-identity.yaml", "ssm-trust-bundle.yaml"}

func testPool() *v1alpha1.ProxyPool {
	return &v1alpha1.ProxyPool{ObjectMeta: metav1.ObjectMeta{Namespace: "fns", Name: "default", UID: "pool-uid"}}
}

func readGolden(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatalf("reading golden file: %v", err)
	}
	return string(b)
}

func TestBootstrapConfigMapMatchesGolden(t *testing.T) {
	t.Parallel()
	cm, err := MakeBootstrapConfigMap(testPool(), DefaultConfig())
	if err != nil {
		t.Fatalf("MakeBootstrapConfigMap() = %v", err)
	}
	var keys []string
	for k := range cm.Data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if diff := cmp.Diff(goldenFiles, keys); diff != "" {
		t.Fatalf("ConfigMap keys (-want +got):\n%s", diff)
	}
	for _, file := range goldenFiles {
		if diff := cmp.Diff(readGolden(t, file), cm.Data[file]); diff != "" {
			t.Errorf("%s (-golden +got):\n%s", file, diff)
		}
	}
}

// parseStrict reads Envoy YAML the way Envoy does (YAML → JSON → proto) and
// rejects unknown fields, also inside Any.
func parseStrict(y string, into proto.Message) error {
	j, err := yaml.YAMLToJSON([]byte(y))
	if err != nil {
		return fmt.Errorf("YAML: %w", err)
	}
	return protojson.UnmarshalOptions{DiscardUnknown: false}.Unmarshal(j, into)
}

// validateDeep runs the generated ValidateAll of m and of every message
// packed in an Any beneath it, which ValidateAll alone does not look into.
func validateDeep(m proto.Message) error {
	if v, ok := m.(interface{ ValidateAll() error }); ok {
		if err := v.ValidateAll(); err != nil {
			return fmt.Errorf("%s: %w", m.ProtoReflect().Descriptor().FullName(), err)
		}
	}
	var errs []error
	visit := func(v protoreflect.Value) {
		if a, ok := v.Message().Interface().(*anypb.Any); ok {
			inner, err := a.UnmarshalNew()
			if err != nil {
				errs = append(errs, fmt.Errorf("unpacking %s: %w", a.GetTypeUrl(), err))
				return
			}
			errs = append(errs, validateDeep(inner))
			return
		}
		errs = append(errs, validateDeep(v.Message().Interface()))
	}
	m.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			for i := range v.List().Len() {
				visit(v.List().Get(i))
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				visit(mv)
				return true
			})
		case !fd.IsList() && !fd.IsMap() && fd.Message() != nil:
			visit(v)
		}
		return true
	})
	return errors.Join(errs...)
}

func TestGoldenFilesAreValidEnvoyConfig(t *testing.T) {
	t.Parallel()
	// Each mutation is a typo or an out-of-range value that Envoy would
	// reject; the check must reject it too, or it proves nothing.
	tests := []struct {
		name     string
		file     string
		old, new string
		wantErr  string
	}{{
		name: "bootstrap as written",
		file: "bootstrap.yaml",
	}, {
		name: "identity SDS file as written",
		file: "ssm-proxy-identity.yaml",
	}, {
		name: "trust bundle SDS file as written",
		file: "ssm-trust-bundle.yaml",
	}, {
		name: "misspelt top-level field", file: "bootstrap.yaml",
		old: "dynamic_resources:", new: "dynamic_resource:",
		wantErr: `unknown field "dynamic_resource"`,
	}, {
		name: "misspelt field inside a typed_config", file: "bootstrap.yaml",
		old: "alpn_protocols:", new: "alpn_protocol:",
		wantErr: `unknown field "alpn_protocol"`,
	}, {
		name: "misspelt enum value", file: "bootstrap.yaml",
		old: "type: STRICT_DNS", new: "type: STRICT_DNZ",
		wantErr: "invalid value for enum field type",
	}, {
		name: "connect timeout out of range", file: "bootstrap.yaml",
		old: "connect_timeout: 1s", new: "connect_timeout: -1s",
		wantErr: "ConnectTimeout: value must be greater than 0s",
	}, {
		name: "keepalive interval out of range inside a typed_config", file: "bootstrap.yaml",
		old: "interval: 30s", new: "interval: 0.0001s",
		wantErr: "Interval: value must be greater than or equal to 1ms",
	}, {
		name: "misspelt field in an SDS file", file: "ssm-proxy-identity.yaml",
		old: "watched_directory:", new: "watched_directories:",
		wantErr: `unknown field "watched_directories"`,
	}, {
		name: "empty file name in an SDS secret", file: "ssm-trust-bundle.yaml",
		old: "filename: /etc/ssm/identity/ca.crt", new: "filename: ''",
		wantErr: "Filename: value length must be at least 1 runes",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			y := readGolden(t, tc.file)
			if tc.old != "" {
				if !strings.Contains(y, tc.old) {
					t.Fatalf("%s does not contain %q", tc.file, tc.old)
				}
				y = strings.Replace(y, tc.old, tc.new, 1)
			}
			var m proto.Message = &discoveryv3.DiscoveryResponse{}
			if tc.file == BootstrapFile {
				m = &bootstrapv3.Bootstrap{}
			}
			err := parseStrict(y, m)
			if err == nil {
				err = validateDeep(m)
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("%s is not valid Envoy config: %v", tc.file, err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("%s with %q → %q was accepted, want an error containing %q", tc.file, tc.old, tc.new, tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
			}
			if tc.file != BootstrapFile && tc.wantErr == "" {
				if n := len(m.(*discoveryv3.DiscoveryResponse).GetResources()); n != 1 {
					t.Errorf("%s holds %d resources, want 1", tc.file, n)
				}
			}
		})
	}
}

func TestBootstrapFollowsConfig(t *testing.T) {
	t.Parallel()
	cfg := Config{
		PoolServerHost:  "pool.ssm-system.svc.example.org",
		PoolServerPort:  9443,
		TrustDomain:     "example.org",
		SystemNamespace: "ssm-system",
	}
	cm, err := MakeBootstrapConfigMap(testPool(), cfg)
	if err != nil {
		t.Fatalf("MakeBootstrapConfigMap() = %v", err)
	}
	// The golden bootstrap with every Config-derived value replaced: nothing
	// else may differ.
	want := readGolden(t, BootstrapFile)
	for _, r := range [][2]string{
		{"address: ssm-pool.knative-serving.svc.cluster.local", "address: pool.ssm-system.svc.example.org"},
		{"port_value: 18000", "port_value: 9443"},
		{"exact: spiffe://cluster.local/ns/knative-serving/sa/ssm-pool", "exact: spiffe://example.org/ns/ssm-system/sa/ssm-pool"},
	} {
		if !strings.Contains(want, r[0]) {
			t.Fatalf("golden bootstrap does not contain %q", r[0])
		}
		want = strings.Replace(want, r[0], r[1], 1)
	}
	if diff := cmp.Diff(want, cm.Data[BootstrapFile]); diff != "" {
		t.Errorf("bootstrap (-want +got):\n%s", diff)
	}
}

func TestConfigMapHash(t *testing.T) {
	t.Parallel()
	// Expected digests from sha256sum over the documented encoding, e.g.
	// printf 'a\0b\0' | sha256sum; the golden one over the three testdata
	// files in key order.
	tests := []struct {
		name string
		data map[string]string
		want string
	}{{
		name: "empty",
		want: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	}, {
		name: "one key",
		data: map[string]string{"a": "b"},
		want: "8fb20ef63ced4145fc2e983ffe597d1dcff39154c3bf21f0fa9dde6a0c50fdc9",
	}, {
		name: "an empty value still counts",
		data: map[string]string{"c": "", "a": "b"},
		want: "3732ad584e0be51a27b845d7ebffbfe464d3ed41d647550b5be7d73dad993be0",
	}, {
		name: "the golden files",
		data: map[string]string{
			"bootstrap.yaml":          readGolden(t, "bootstrap.yaml"),
			"ssm-proxy-identity.yaml": readGolden(t, "ssm-proxy-identity.yaml"),
			"ssm-trust-bundle.yaml":   readGolden(t, "ssm-trust-bundle.yaml"),
		},
		want: "60bcdf527f3533192b9b3f360cdbbc420d7eb61611768a1a68c9eb02c037b50e",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := ConfigMapHash(&corev1.ConfigMap{Data: tc.data}); got != tc.want {
				t.Errorf("ConfigMapHash() = %s, want %s", got, tc.want)
			}
		})
	}
}
