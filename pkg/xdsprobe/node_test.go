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

package xdsprobe

import (
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/structpb"
)

func TestGatewayNodeRejects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		workload Workload
		opts     nodeOptions
		wantErr  []string
	}{{
		name:     "no labels",
		workload: Workload{Namespace: "istio-system"},
		opts:     nodeOptions{clusterDomain: "cluster.local"},
		wantErr:  []string{"gateway workload istio-system{}", "no labels", "spec.selector"},
	}, {
		name:     "no namespace",
		workload: Workload{Labels: map[string]string{"istio": "ingressgateway"}},
		opts:     nodeOptions{clusterDomain: "cluster.local"},
		wantErr:  []string{"gateway workload {istio=ingressgateway}", "namespace is empty"},
	}, {
		name:     "no cluster domain",
		workload: Workload{Namespace: "istio-system", Labels: map[string]string{"istio": "ingressgateway"}},
		wantErr:  []string{"cluster domain is empty"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := gatewayNode(tc.workload, tc.opts)
			if err == nil {
				t.Fatalf("gatewayNode() = %v, want an error", got)
			}
			for _, part := range tc.wantErr {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not contain %q", err, part)
				}
			}
		})
	}
}

func TestGatewayNode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		workload Workload
		opts     nodeOptions
		want     *corev3.Node
	}{{
		name:     "ingress gateway, no version",
		workload: Workload{Namespace: "istio-system", Labels: map[string]string{"istio": "ingressgateway"}},
		opts:     nodeOptions{clusterID: "Kubernetes", clusterDomain: "cluster.local"},
		want: &corev3.Node{
			Id:      "router~192.0.2.1~ssm-readiness-75ee4938.istio-system~istio-system.svc.cluster.local",
			Cluster: "ssm-readiness-75ee4938.istio-system",
			Metadata: &structpb.Struct{Fields: map[string]*structpb.Value{
				"LABELS": structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{
					"istio": structpb.NewStringValue("ingressgateway"),
				}}),
				"NAMESPACE":    structpb.NewStringValue("istio-system"),
				"NAME":         structpb.NewStringValue("ssm-readiness-75ee4938"),
				"CLUSTER_ID":   structpb.NewStringValue("Kubernetes"),
				"INSTANCE_IPS": structpb.NewStringValue("192.0.2.1"),
			}},
		},
	}, {
		name: "two labels, version, other domain",
		workload: Workload{Namespace: "istio-system", Labels: map[string]string{
			"istio": "local-gateway", "app": "local",
		}},
		opts: nodeOptions{clusterID: "east", clusterDomain: "corp.internal", istioVersion: "1.29.0"},
		want: &corev3.Node{
			Id:      "router~192.0.2.1~ssm-readiness-c3f131b1.istio-system~istio-system.svc.corp.internal",
			Cluster: "ssm-readiness-c3f131b1.istio-system",
			Metadata: &structpb.Struct{Fields: map[string]*structpb.Value{
				"LABELS": structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{
					"istio": structpb.NewStringValue("local-gateway"),
					"app":   structpb.NewStringValue("local"),
				}}),
				"NAMESPACE":     structpb.NewStringValue("istio-system"),
				"NAME":          structpb.NewStringValue("ssm-readiness-c3f131b1"),
				"CLUSTER_ID":    structpb.NewStringValue("east"),
				"INSTANCE_IPS":  structpb.NewStringValue("192.0.2.1"),
				"ISTIO_VERSION": structpb.NewStringValue("1.29.0"),
			}},
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := gatewayNode(tc.workload, tc.opts)
			if err != nil {
				t.Fatal("gatewayNode() =", err)
			}
			if diff := cmp.Diff(tc.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("gatewayNode() (-want, +got):\n%s", diff)
			}
		})
	}
}
