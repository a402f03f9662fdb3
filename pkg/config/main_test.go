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
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/system"

	"github.com/serverless-mesh/ssm/pkg/policy"
)

// TestMain runs the tests in the namespace the shipped ConfigMap names, so
// that its _example (written for knative-serving) equals the defaults.
func TestMain(m *testing.M) {
	if err := os.Setenv(system.NamespaceEnvKey, "knative-serving"); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

// Literal expectations, written out by hand: they must not be produced by
// the code under test (or by policy.NewDefaults), or a wrong default would
// pass unnoticed.

func defaultIngressGatewaysLiteral() []Gateway {
	return []Gateway{{
		Namespace:  "knative-serving",
		Name:       "knative-ingress-gateway",
		ServiceURL: "istio-ingressgateway.istio-system.svc.cluster.local",
	}}
}

func defaultLocalGatewaysLiteral() []Gateway {
	return []Gateway{{
		Namespace:  "knative-serving",
		Name:       "knative-local-gateway",
		ServiceURL: "knative-local-gateway.istio-system.svc.cluster.local",
	}}
}

func defaultSSMLiteral() *SSM {
	return &SSM{
		IngressGateways: defaultIngressGatewaysLiteral(),
		LocalGateways:   defaultLocalGatewaysLiteral(),
		Readiness:       "probe",
		XDSAddress:      "istiod.istio-system.svc:15010",
		Observation:     Observation{Window: 5 * time.Minute, DwellWindows: 2, ScrapeInterval: 30 * time.Second},
		Policy: policy.Defaults{
			Lifecycle:           "auto",
			ShortLivedThreshold: time.Second,
			LongLivedThreshold:  10 * time.Second,
			TimeoutMultiplier:   4,
			MinTimeout:          time.Second,
			MinSamples:          20,
			AutoInitial:         "long-lived",
			ShortLived: policy.ClassDefaults{
				Retries:        1,
				RetryOn:        "connect-failure",
				MTLSMode:       "lightweight",
				ProxyPool:      "default",
				ConnectionPool: policy.ConnectionPool{IdleTimeout: 30 * time.Second},
				OutlierDetection: policy.OutlierDetection{
					ConsecutiveGatewayErrors: 5,
					Interval:                 10 * time.Second,
					BaseEjectionTime:         30 * time.Second,
					MaxEjectionPercent:       50,
				},
			},
			LongLived: policy.ClassDefaults{
				Retries:        3,
				RetryOn:        "connect-failure,refused-stream",
				MTLSMode:       "full",
				ProxyPool:      "none",
				ConnectionPool: policy.ConnectionPool{IdleTimeout: 5 * time.Minute},
				OutlierDetection: policy.OutlierDetection{
					ConsecutiveGatewayErrors: 5,
					Interval:                 30 * time.Second,
					BaseEjectionTime:         30 * time.Second,
					MaxEjectionPercent:       50,
				},
			},
		},
	}
}

func configMap(name string, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: "knative-serving", Name: name},
		Data:       data,
	}
}

// wantErrContaining fails unless err is non-nil and its text has every part.
func wantErrContaining(t *testing.T, err error, parts []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("error = nil, want one containing %q", parts)
	}
	for _, part := range parts {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not contain %q", err, part)
		}
	}
}
