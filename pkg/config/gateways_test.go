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
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	twoExternalGateways = `
- name: public
  namespace: edge
  service: public-gw.edge.svc.cluster.local
- name: partners
  namespace: edge
  service: partners-gw.edge.svc.cluster.local.
  labelSelector:
    matchLabels:
      audience: partners
`
	oneLocalGateway = `
- name: inside
  namespace: edge
  service: inside-gw.edge.svc.cluster.local
`
)

func edgePublic() Gateway {
	return Gateway{Namespace: "edge", Name: "public", ServiceURL: "public-gw.edge.svc.cluster.local"}
}

func edgePartners() Gateway {
	return Gateway{
		Namespace:     "edge",
		Name:          "partners",
		ServiceURL:    "partners-gw.edge.svc.cluster.local.",
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"audience": "partners"}},
	}
}

func edgeInside() Gateway {
	return Gateway{Namespace: "edge", Name: "inside", ServiceURL: "inside-gw.edge.svc.cluster.local"}
}

type gatewayCase struct {
	name        string
	data        map[string]string
	wantErr     []string
	wantIngress []Gateway
	wantLocal   []Gateway
}

// Rules shared by config-ssm and config-istio.
func commonGatewayCases() []gatewayCase {
	return []gatewayCase{{
		name:        "no gateway keys: defaults",
		wantIngress: defaultIngressGatewaysLiteral(),
		wantLocal:   defaultLocalGatewaysLiteral(),
	}, {
		name:        "new format, both kinds",
		data:        map[string]string{"external-gateways": twoExternalGateways, "local-gateways": oneLocalGateway},
		wantIngress: []Gateway{edgePublic(), edgePartners()},
		wantLocal:   []Gateway{edgeInside()},
	}, {
		name:        "new format, external only: local keeps its default",
		data:        map[string]string{"external-gateways": twoExternalGateways},
		wantIngress: []Gateway{edgePublic(), edgePartners()},
		wantLocal:   defaultLocalGatewaysLiteral(),
	}, {
		name:        "new format, blank value means default",
		data:        map[string]string{"external-gateways": "  \n", "local-gateways": oneLocalGateway},
		wantIngress: defaultIngressGatewaysLiteral(),
		wantLocal:   []Gateway{edgeInside()},
	}, {
		name:        "new format, [] means none (mesh-only)",
		data:        map[string]string{"external-gateways": "[]", "local-gateways": "[]"},
		wantIngress: []Gateway{},
		wantLocal:   []Gateway{},
	}, {
		name: "legacy format, sorted by key, namespace optional",
		data: map[string]string{
			"gateway.edge.zeta":        "zeta.edge.svc.cluster.local",
			"gateway.edge.alpha":       "alpha.edge.svc.cluster.local",
			"gateway.plain":            "plain.istio-system.svc.cluster.local",
			"local-gateway.edge.local": "local.edge.svc.cluster.local",
		},
		wantIngress: []Gateway{
			{Namespace: "edge", Name: "alpha", ServiceURL: "alpha.edge.svc.cluster.local"},
			{Namespace: "edge", Name: "zeta", ServiceURL: "zeta.edge.svc.cluster.local"},
			{Namespace: "knative-serving", Name: "plain", ServiceURL: "plain.istio-system.svc.cluster.local"},
		},
		wantLocal: []Gateway{{Namespace: "edge", Name: "local", ServiceURL: "local.edge.svc.cluster.local"}},
	}, {
		name:        "legacy format, local only: external keeps its default",
		data:        map[string]string{"local-gateway.edge.local": "local.edge.svc.cluster.local"},
		wantIngress: defaultIngressGatewaysLiteral(),
		wantLocal:   []Gateway{{Namespace: "edge", Name: "local", ServiceURL: "local.edge.svc.cluster.local"}},
	}, {
		name:    "both formats",
		data:    map[string]string{"external-gateways": oneLocalGateway, "gateway.edge.x": "x.edge.svc"},
		wantErr: []string{`"external-gateways"`, `"local-gateways"`, `"gateway."*`, "cannot be set together"},
	}, {
		name:    "legacy bad service",
		data:    map[string]string{"gateway.edge.x": "Not_A_Host"},
		wantErr: []string{`"gateway.edge.x"`, `"Not_A_Host"`, "DNS-1123 subdomain"},
	}, {
		name:    "legacy empty service",
		data:    map[string]string{"local-gateway.edge.x": ""},
		wantErr: []string{`"local-gateway.edge.x"`, "service is required"},
	}, {
		name:    "new format not a list",
		data:    map[string]string{"external-gateways": "name: x"},
		wantErr: []string{`"external-gateways"`, "want a YAML list of {namespace, name, service, labelSelector}"},
	}, {
		name:    "new format missing namespace",
		data:    map[string]string{"external-gateways": "- name: x\n  service: x.y.svc"},
		wantErr: []string{`"external-gateways"`, "entry 0", "namespace is required"},
	}, {
		name:    "new format missing name",
		data:    map[string]string{"local-gateways": "- namespace: x\n  service: x.y.svc"},
		wantErr: []string{`"local-gateways"`, "entry 0", "name is required"},
	}, {
		name:    "new format missing service",
		data:    map[string]string{"external-gateways": "- namespace: x\n  name: gw"},
		wantErr: []string{`"external-gateways"`, "x/gw", "service is required"},
	}, {
		name:    "new format bad service",
		data:    map[string]string{"external-gateways": "- namespace: x\n  name: gw\n  service: UPPER.case"},
		wantErr: []string{`"external-gateways"`, `service "UPPER.case" must be a DNS-1123 subdomain`},
	}, {
		name: "new format bad label selector",
		data: map[string]string{"external-gateways": oneLocalGateway + `
- namespace: x
  name: gw
  service: gw.x.svc
  labelSelector:
    matchExpressions:
    - key: a
      operator: Sometimes
`},
		wantErr: []string{`"external-gateways"`, "entry 1 (x/gw)", "labelSelector", `"Sometimes"`},
	}, {
		name:    "new format two gateways without selector",
		data:    map[string]string{"external-gateways": oneLocalGateway + "- namespace: x\n  name: gw\n  service: y.x.svc\n"},
		wantErr: []string{`"external-gateways"`, "exactly one gateway must have no labelSelector, found 2"},
	}, {
		name: "new format only selective gateways",
		data: map[string]string{"local-gateways": `
- namespace: x
  name: gw
  service: gw.x.svc
  labelSelector: {matchLabels: {a: b}}
`},
		wantErr: []string{`"local-gateways"`, "exactly one gateway must have no labelSelector, found 0"},
	}}
}

func runGatewayCases(t *testing.T, cases []gatewayCase, parse func(map[string]string) ([]Gateway, []Gateway, error)) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ingress, local, err := parse(tc.data)
			if tc.wantErr != nil {
				wantErrContaining(t, err, tc.wantErr)
				return
			}
			if err != nil {
				t.Fatal("unexpected error:", err)
			}
			if diff := cmp.Diff(tc.wantIngress, ingress); diff != "" {
				t.Errorf("ingress gateways (-want, +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantLocal, local); diff != "" {
				t.Errorf("local gateways (-want, +got):\n%s", diff)
			}
		})
	}
}

func TestSSMGateways(t *testing.T) {
	t.Parallel()
	cases := append(commonGatewayCases(), gatewayCase{
		// Typo protection: config-ssm is SSM's own map.
		name:    "unknown field in an entry",
		data:    map[string]string{"external-gateways": oneLocalGateway + "  servce: typo\n"},
		wantErr: []string{`"external-gateways"`, `unknown field "servce"`},
	}, gatewayCase{
		name:    "bare legacy prefix",
		data:    map[string]string{"gateway.": "x.y.svc"},
		wantErr: []string{`"gateway."`, "want gateway.<namespace>.<name>"},
	})
	runGatewayCases(t, cases, func(data map[string]string) ([]Gateway, []Gateway, error) {
		ssm, err := NewSSMFromConfigMap(configMap(SSMConfigName, data))
		if err != nil {
			return nil, nil, err
		}
		if ssm.GatewaysFromIstioConfig {
			t.Error("GatewaysFromIstioConfig = true for config-ssm alone")
		}
		return ssm.IngressGateways, ssm.LocalGateways, nil
	})
}

func TestIstioGateways(t *testing.T) {
	t.Parallel()
	cases := append(commonGatewayCases(), gatewayCase{
		// net-istio accepts these, so SSM must too.
		name:        "unknown field in an entry",
		data:        map[string]string{"external-gateways": oneLocalGateway + "  port: 80\n"},
		wantIngress: []Gateway{edgeInside()},
		wantLocal:   defaultLocalGatewaysLiteral(),
	}, gatewayCase{
		name:        "bare legacy prefix is skipped",
		data:        map[string]string{"gateway.": "x.y.svc"},
		wantIngress: defaultIngressGatewaysLiteral(),
		wantLocal:   defaultLocalGatewaysLiteral(),
	}, gatewayCase{
		name:        "net-istio's other keys are ignored",
		data:        map[string]string{"enable-virtualservice-status": "true"},
		wantIngress: defaultIngressGatewaysLiteral(),
		wantLocal:   defaultLocalGatewaysLiteral(),
	})
	runGatewayCases(t, cases, func(data map[string]string) ([]Gateway, []Gateway, error) {
		return NewIstioGatewaysFromConfigMap(configMap(IstioConfigName, data))
	})
}

func TestIstioGatewaysAbsent(t *testing.T) {
	t.Parallel()
	ingress, local, err := NewIstioGatewaysFromConfigMap(nil)
	if err != nil {
		t.Fatal("NewIstioGatewaysFromConfigMap(nil) =", err)
	}
	if diff := cmp.Diff(defaultIngressGatewaysLiteral(), ingress); diff != "" {
		t.Errorf("ingress gateways (-want, +got):\n%s", diff)
	}
	if diff := cmp.Diff(defaultLocalGatewaysLiteral(), local); diff != "" {
		t.Errorf("local gateways (-want, +got):\n%s", diff)
	}
}

func TestResolveGateways(t *testing.T) {
	t.Parallel()
	ssmWithGateways := configMap(SSMConfigName, map[string]string{"local-gateways": oneLocalGateway})
	ssmWithoutGateways := configMap(SSMConfigName, map[string]string{"min-samples": "3"})
	istioWithGateways := configMap(IstioConfigName, map[string]string{"gateway.edge.public": "public-gw.edge.svc.cluster.local"})
	istioWithoutGateways := configMap(IstioConfigName, map[string]string{"enable-virtualservice-status": "true"})

	cases := []struct {
		name          string
		ssm, istio    *corev1.ConfigMap
		wantIngress   []Gateway
		wantLocal     []Gateway
		wantFromIstio bool
		wantErr       []string
	}{{
		name:        "config-ssm wins over config-istio",
		ssm:         ssmWithGateways,
		istio:       istioWithGateways,
		wantIngress: defaultIngressGatewaysLiteral(),
		wantLocal:   []Gateway{edgeInside()},
	}, {
		name:          "config-istio when config-ssm sets no gateway key",
		ssm:           ssmWithoutGateways,
		istio:         istioWithGateways,
		wantIngress:   []Gateway{edgePublic()},
		wantLocal:     defaultLocalGatewaysLiteral(),
		wantFromIstio: true,
	}, {
		name:        "defaults when config-istio sets no gateway key",
		ssm:         ssmWithoutGateways,
		istio:       istioWithoutGateways,
		wantIngress: defaultIngressGatewaysLiteral(),
		wantLocal:   defaultLocalGatewaysLiteral(),
	}, {
		name:        "defaults when config-istio is absent",
		ssm:         ssmWithoutGateways,
		wantIngress: defaultIngressGatewaysLiteral(),
		wantLocal:   defaultLocalGatewaysLiteral(),
	}, {
		name:        "config-ssm's gateways when config-istio is absent",
		ssm:         ssmWithGateways,
		wantIngress: defaultIngressGatewaysLiteral(),
		wantLocal:   []Gateway{edgeInside()},
	}, {
		name:    "invalid config-istio is reported even when config-ssm wins",
		ssm:     ssmWithGateways,
		istio:   configMap(IstioConfigName, map[string]string{"gateway.edge.x": "Bad_Host"}),
		wantErr: []string{"config-istio", `"gateway.edge.x"`, `"Bad_Host"`},
	}, {
		name:    "invalid config-ssm gateways",
		ssm:     configMap(SSMConfigName, map[string]string{"external-gateways": "[{}]"}),
		istio:   istioWithGateways,
		wantErr: []string{"config-ssm", `"external-gateways"`, "namespace is required"},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ingress, local, fromIstio, err := ResolveGateways(tc.ssm, tc.istio)
			if tc.wantErr != nil {
				wantErrContaining(t, err, tc.wantErr)
				return
			}
			if err != nil {
				t.Fatal("ResolveGateways() =", err)
			}
			if diff := cmp.Diff(tc.wantIngress, ingress); diff != "" {
				t.Errorf("ingress gateways (-want, +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantLocal, local); diff != "" {
				t.Errorf("local gateways (-want, +got):\n%s", diff)
			}
			if fromIstio != tc.wantFromIstio {
				t.Errorf("fromIstio = %v, want %v", fromIstio, tc.wantFromIstio)
			}
		})
	}
}

func TestQualifiedName(t *testing.T) {
	t.Parallel()
	if got, want := edgePublic().QualifiedName(), "edge/public"; got != want {
		t.Errorf("QualifiedName() = %q, want %q", got, want)
	}
}
