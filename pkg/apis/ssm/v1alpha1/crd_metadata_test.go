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
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/utils/ptr"
)

// crdSummary is what a CRD declares besides its field list.
type crdSummary struct {
	Name         string
	Labels       map[string]string
	Group        string
	Names        apiextensionsv1.CustomResourceDefinitionNames
	Scope        apiextensionsv1.ResourceScope
	Version      string
	Served       bool
	Storage      bool
	Subresources *apiextensionsv1.CustomResourceSubresources
	Columns      []apiextensionsv1.CustomResourceColumnDefinition
}

func TestCRDMetadata(t *testing.T) {
	t.Parallel()
	labels := map[string]string{
		"app.kubernetes.io/name":      "ssm",
		"app.kubernetes.io/component": "api",
		"knative.dev/crd-install":     "true",
	}
	ready := apiextensionsv1.CustomResourceColumnDefinition{
		Name: "Ready", Type: "string", JSONPath: ".status.conditions[?(@.type=='Ready')].status",
	}
	reason := apiextensionsv1.CustomResourceColumnDefinition{
		Name: "Reason", Type: "string", JSONPath: ".status.conditions[?(@.type=='Ready')].reason",
	}
	tests := []struct {
		file string
		want crdSummary
	}{{
		file: "300-serverlesspolicy.yaml",
		want: crdSummary{
			Name:   "serverlesspolicies.ssm.dev",
			Labels: labels,
			Group:  "ssm.dev",
			Names: apiextensionsv1.CustomResourceDefinitionNames{
				Kind: "ServerlessPolicy", ListKind: "ServerlessPolicyList",
				Plural: "serverlesspolicies", Singular: "serverlesspolicy",
				Categories: []string{"ssm"},
			},
			Scope:        "Namespaced",
			Version:      "v1alpha1",
			Served:       true,
			Storage:      true,
			Subresources: &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
			Columns: []apiextensionsv1.CustomResourceColumnDefinition{
				{Name: "Lifecycle", Type: "string", JSONPath: ".status.resolved.lifecycle"},
				ready, reason,
			},
		},
	}, {
		file: "300-proxypool.yaml",
		want: crdSummary{
			Name:   "proxypools.ssm.dev",
			Labels: labels,
			Group:  "ssm.dev",
			Names: apiextensionsv1.CustomResourceDefinitionNames{
				Kind: "ProxyPool", ListKind: "ProxyPoolList",
				Plural: "proxypools", Singular: "proxypool",
				Categories: []string{"ssm"},
			},
			Scope:        "Namespaced",
			Version:      "v1alpha1",
			Served:       true,
			Storage:      true,
			Subresources: &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
			Columns: []apiextensionsv1.CustomResourceColumnDefinition{
				{Name: "Warm", Type: "integer", JSONPath: ".status.warmProxies"},
				{Name: "Leased", Type: "integer", JSONPath: ".status.leasedProxies"},
				ready, reason,
			},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			crd := loadCRD(t, tc.file)
			v := crd.Spec.Versions[0]
			got := crdSummary{
				Name: crd.Name, Labels: crd.Labels, Group: crd.Spec.Group, Names: crd.Spec.Names,
				Scope: crd.Spec.Scope, Version: v.Name, Served: v.Served, Storage: v.Storage,
				Subresources: v.Subresources, Columns: v.AdditionalPrinterColumns,
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("CRD (-want +got):\n%s", diff)
			}
		})
	}
}

// constraint is the part of a property that restricts its values.
type constraint struct {
	Enum      []string
	Minimum   *float64
	Maximum   *float64
	MinLength *int64
	MaxLength *int64
	Pattern   string
	Required  []string
}

// The schema repeats the webhook's enums and bounds; these are the values
// Validate and pkg/policy accept, written out.
func TestCRDConstraints(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want map[string]constraint
	}{{
		file: "300-serverlesspolicy.yaml",
		want: map[string]constraint{
			"spec":                             {Required: []string{"selector"}},
			"spec.selector.matchExpressions[]": {Required: []string{"key", "operator"}},
			"spec.selector.matchExpressions[].operator": {Enum: []string{"In", "NotIn", "Exists", "DoesNotExist"}},
			"spec.lifecycle":                                 {Enum: []string{"auto", "short-lived", "long-lived"}},
			"spec.retries":                                   {Minimum: ptr.To[float64](0), Maximum: ptr.To[float64](10)},
			"spec.mtlsMode":                                  {Enum: []string{"lightweight", "full"}},
			"spec.proxyPool":                                 {MaxLength: ptr.To[int64](63), Pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
			"spec.connectionPool.maxConnections":             {Minimum: ptr.To[float64](0)},
			"spec.connectionPool.maxPendingRequests":         {Minimum: ptr.To[float64](0)},
			"spec.connectionPool.maxRequestsPerConnection":   {Minimum: ptr.To[float64](0)},
			"spec.outlierDetection.consecutiveGatewayErrors": {Minimum: ptr.To[float64](0)},
			"spec.outlierDetection.maxEjectionPercent":       {Minimum: ptr.To[float64](0), Maximum: ptr.To[float64](100)},
			"status.conditions[]":                            {Required: []string{"type", "status"}},
		},
	}, {
		file: "300-proxypool.yaml",
		want: map[string]constraint{
			"spec":                        {Required: []string{"image"}},
			"spec.minSize":                {Minimum: ptr.To[float64](0)},
			"spec.maxSize":                {Minimum: ptr.To[float64](1)},
			"spec.image":                  {MinLength: ptr.To[int64](1)},
			"spec.sizing.policy":          {Enum: []string{"Fixed", "History"}},
			"spec.sizing.headroomPercent": {Minimum: ptr.To[float64](0), Maximum: ptr.To[float64](1000)},
			"status.conditions[]":         {Required: []string{"type", "status"}},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			crd := loadCRD(t, tc.file)
			got := map[string]constraint{}
			collectConstraints("", *crd.Spec.Versions[0].Schema.OpenAPIV3Schema, got)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("constraints (-want +got):\n%s", diff)
			}
		})
	}
}

// collectConstraints records every property of s that restricts its values,
// keyed by path, so that a constraint added to the YAML alone also fails.
func collectConstraints(path string, s apiextensionsv1.JSONSchemaProps, out map[string]constraint) {
	c := constraint{
		Minimum: s.Minimum, Maximum: s.Maximum, MinLength: s.MinLength, MaxLength: s.MaxLength,
		Pattern: s.Pattern, Required: s.Required,
	}
	for _, e := range s.Enum {
		c.Enum = append(c.Enum, strings.Trim(string(e.Raw), "\""))
	}
	if !cmp.Equal(c, constraint{}) {
		out[path] = c
	}
	for name, p := range s.Properties {
		collectConstraints(join(path, name), p, out)
	}
	if s.Items != nil && s.Items.Schema != nil {
		collectConstraints(path+"[]", *s.Items.Schema, out)
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
		collectConstraints(path+"{}", *s.AdditionalProperties.Schema, out)
	}
}
