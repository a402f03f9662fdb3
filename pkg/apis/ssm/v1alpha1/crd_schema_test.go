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

package v1alpha1

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
	"sigs.k8s.io/yaml"
)

// The CRD YAML is written by hand, so these tests are what keeps it equal to
// the Go types: a field added to one and not the other fails here.

const configDir = "../../../../config"

func loadCRD(t *testing.T, file string) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(configDir, file))
	if err != nil {
		t.Fatalf("reading %s: %v", file, err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	// Strict, so that a misspelt schema keyword is an error, not ignored.
	if err := yaml.UnmarshalStrict(b, crd); err != nil {
		t.Fatalf("parsing %s: %v", file, err)
	}
	return crd
}

func TestCRDsMatchGoTypes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		obj  interface{}
		// preserved lists the only paths allowed to keep unknown fields.
		preserved []string
	}{{
		file:      "300-serverlesspolicy.yaml",
		obj:       ServerlessPolicy{},
		preserved: nil,
	}, {
		file:      "300-proxypool.yaml",
		obj:       ProxyPool{},
		preserved: []string{"spec.resources"},
	}}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			crd := loadCRD(t, tc.file)
			if len(crd.Spec.Versions) != 1 || crd.Spec.Versions[0].Schema == nil {
				t.Fatalf("%s: want exactly one version with a schema, got %d versions", tc.file, len(crd.Spec.Versions))
			}
			w := &schemaWalker{t: t}
			w.compare("", reflect.TypeOf(tc.obj), *crd.Spec.Versions[0].Schema.OpenAPIV3Schema)
			if diff := cmp.Diff(tc.preserved, w.preserved); diff != "" {
				t.Errorf("x-kubernetes-preserve-unknown-fields paths (-want +got):\n%s", diff)
			}
		})
	}
}

// schemaWalker compares a Go type with an OpenAPI schema, field by field.
type schemaWalker struct {
	t         *testing.T
	preserved []string
}

// stringFormat reports whether typ marshals to a JSON string rather than to
// its Go structure, and the schema format that string has.
func stringFormat(typ reflect.Type) (string, bool) {
	switch typ {
	case reflect.TypeOf(metav1.Time{}):
		return "date-time", true
	case reflect.TypeOf(metav1.Duration{}), reflect.TypeOf(apis.VolatileTime{}):
		return "", true
	default:
		return "", false
	}
}

func (w *schemaWalker) compare(path string, typ reflect.Type, s apiextensionsv1.JSONSchemaProps) {
	w.t.Helper()
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if format, ok := stringFormat(typ); ok {
		w.expectType(path, s, "string", format)
		return
	}
	if typ == reflect.TypeOf(metav1.ObjectMeta{}) {
		// The API server owns metadata's schema.
		w.expectType(path, s, "object", "")
		if len(s.Properties) != 0 {
			w.t.Errorf("%s: metadata must not restate ObjectMeta's schema", path)
		}
		return
	}
	if s.XPreserveUnknownFields != nil && *s.XPreserveUnknownFields {
		w.expectType(path, s, "object", "")
		w.preserved = append(w.preserved, path)
		return
	}
	switch typ.Kind() {
	case reflect.String:
		w.expectType(path, s, "string", "")
	case reflect.Bool:
		w.expectType(path, s, "boolean", "")
	case reflect.Int32:
		w.expectType(path, s, "integer", "int32")
	case reflect.Int64:
		w.expectType(path, s, "integer", "int64")
	case reflect.Slice:
		w.expectType(path, s, "array", "")
		if s.Items == nil || s.Items.Schema == nil {
			w.t.Errorf("%s: array without an items schema", path)
			return
		}
		w.compare(path+"[]", typ.Elem(), *s.Items.Schema)
	case reflect.Map:
		w.expectType(path, s, "object", "")
		if s.AdditionalProperties == nil || s.AdditionalProperties.Schema == nil {
			w.t.Errorf("%s: map without an additionalProperties schema", path)
			return
		}
		w.compare(path+"{}", typ.Elem(), *s.AdditionalProperties.Schema)
	case reflect.Struct:
		w.expectType(path, s, "object", "")
		fields := jsonFields(typ)
		for _, name := range sortedKeys(fields) {
			prop, ok := s.Properties[name]
			if !ok {
				w.t.Errorf("%s: Go field %q (%v) is missing from the schema", path, name, fields[name])
				continue
			}
			w.compare(join(path, name), fields[name], prop)
		}
		for _, name := range sortedKeys(s.Properties) {
			if _, ok := fields[name]; !ok {
				w.t.Errorf("%s: schema property %q has no Go field in %v", path, name, typ)
			}
		}
	default:
		w.t.Errorf("%s: Go kind %v has no schema mapping in this test", path, typ.Kind())
	}
}

func (w *schemaWalker) expectType(path string, s apiextensionsv1.JSONSchemaProps, typ, format string) {
	w.t.Helper()
	if s.Type != typ || s.Format != format {
		w.t.Errorf("%s: schema type %q format %q, want type %q format %q", path, s.Type, s.Format, typ, format)
	}
}

// jsonFields maps the JSON names of typ's fields to their types, flattening
// embedded and ",inline" structs as encoding/json does.
func jsonFields(typ reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range typ.NumField() {
		f := typ.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" && f.Anonymous {
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
