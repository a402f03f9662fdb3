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

package ingress

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"knative.dev/networking/pkg/apis/networking"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"
	netconfig "knative.dev/networking/pkg/config"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	pkgreconciler "knative.dev/pkg/reconciler"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	ssmv1alpha1 "github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
	"github.com/serverless-mesh/ssm/pkg/config"
	"github.com/serverless-mesh/ssm/pkg/policy"
)

// The fixtures: KIngress ns/hello routes hello.ns.svc.cluster.local
// (cluster-local) and hello.ns.example.com (external) to the Service of
// revision hello-00001, as Knative's Route reconciler would.
const (
	testNS    = "ns"
	ingName   = "hello"
	revName   = "hello-00001"
	finalizer = "ingresses.networking.internal.knative.dev"

	externalGatewayQN = "knative-serving/knative-ingress-gateway"
	localGatewayQN    = "knative-serving/knative-local-gateway"
	externalLB        = "istio-ingressgateway.istio-system.svc.cluster.local"
	localLB           = "knative-local-gateway.istio-system.svc.cluster.local"
	specialGatewayQN  = "knative-serving/special-gateway"
	specialLB         = "special-gateway.istio-system.svc.cluster.local"
	meshGateway       = "mesh"
)

// staticConfigStore hands every reconcile the same configuration.
type staticConfigStore struct{ cfg *config.Config }

var _ pkgreconciler.ConfigStore = staticConfigStore{}

func (s staticConfigStore) ToContext(ctx context.Context) context.Context {
	return config.ToContext(ctx, s.cfg)
}

// testConfig is config-ssm with one external and one local gateway and the
// built-in lifecycle defaults.
func testConfig() *config.Config {
	return &config.Config{
		SSM: &config.SSM{
			// The selector gateway comes first: a KIngress it does not
			// select must not see it, in its routes or in its status.
			IngressGateways: []config.Gateway{{
				Namespace:     "knative-serving",
				Name:          "special-gateway",
				ServiceURL:    specialLB,
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"gateway": "special"}},
			}, {
				Namespace:  "knative-serving",
				Name:       "knative-ingress-gateway",
				ServiceURL: externalLB,
			}},
			LocalGateways: []config.Gateway{{Namespace: "knative-serving", Name: "knative-local-gateway", ServiceURL: localLB}},
			Readiness:     config.ReadinessProbe,
			Policy:        policy.NewDefaults(),
		},
		Network: &netconfig.Config{},
	}
}

// gatewayServices are the Services in front of the configured gateways.
func gatewayServices() []*corev1.Service {
	return []*corev1.Service{{
		ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: "istio-ingressgateway", Labels: map[string]string{"istio": "ingressgateway"}},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"istio": "ingressgateway"}},
	}, {
		ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: "knative-local-gateway", Labels: map[string]string{"istio": "local-gateway"}},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"istio": "ingressgateway"}},
	}, {
		ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: "special-gateway", Labels: map[string]string{"istio": "special-gateway"}},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"istio": "special-gateway"}},
	}}
}

type ingressOption func(*v1alpha1.Ingress)

// newIngress is ns/hello of class SSM: a cluster-local rule and an external
// rule, each one path to hello-00001:80.
func newIngress(opts ...ingressOption) *v1alpha1.Ingress {
	path := func() v1alpha1.HTTPIngressPath {
		return v1alpha1.HTTPIngressPath{
			Splits: []v1alpha1.IngressBackendSplit{{
				IngressBackend: v1alpha1.IngressBackend{
					ServiceNamespace: testNS,
					ServiceName:      revName,
					ServicePort:      intstr.FromInt32(80),
				},
				Percent: 100,
				AppendHeaders: map[string]string{
					"Knative-Serving-Namespace": testNS,
					"Knative-Serving-Revision":  revName,
				},
			}},
		}
	}
	ing := &v1alpha1.Ingress{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   testNS,
			Name:        ingName,
			UID:         "8f2a3c1e-0000-4000-8000-000000000001",
			Generation:  1,
			Annotations: map[string]string{networking.IngressClassAnnotationKey: "ssm.ingress.networking.knative.dev"},
		},
		Spec: v1alpha1.IngressSpec{
			HTTPOption: v1alpha1.HTTPOptionEnabled,
			Rules: []v1alpha1.IngressRule{{
				Hosts:      []string{"hello.ns.svc.cluster.local"},
				Visibility: v1alpha1.IngressVisibilityClusterLocal,
				HTTP:       &v1alpha1.HTTPIngressRuleValue{Paths: []v1alpha1.HTTPIngressPath{path()}},
			}, {
				Hosts:      []string{"hello.ns.example.com"},
				Visibility: v1alpha1.IngressVisibilityExternalIP,
				HTTP:       &v1alpha1.HTTPIngressRuleValue{Paths: []v1alpha1.HTTPIngressPath{path()}},
			}},
		},
	}
	for _, opt := range opts {
		opt(ing)
	}
	return ing
}

func withLabels(labels map[string]string) ingressOption {
	return func(ing *v1alpha1.Ingress) { ing.Labels = labels }
}

func withFinalizer(ing *v1alpha1.Ingress) {
	ing.Finalizers = append(ing.Finalizers, finalizer)
}

func withDeletionTimestamp(ing *v1alpha1.Ingress) {
	t := metav1.NewTime(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	ing.DeletionTimestamp = &t
}

func withClusterLocalOnly(ing *v1alpha1.Ingress) {
	ing.Spec.Rules = ing.Spec.Rules[:1]
}

func withTLS(ing *v1alpha1.Ingress) {
	ing.Spec.TLS = []v1alpha1.IngressTLS{{
		Hosts:           []string{"hello.ns.example.com"},
		SecretName:      "hello-cert",
		SecretNamespace: testNS,
	}}
}

func withHTTPOption(o v1alpha1.HTTPOption) ingressOption {
	return func(ing *v1alpha1.Ingress) { ing.Spec.HTTPOption = o }
}

func withStatus(s v1alpha1.IngressStatus) ingressOption {
	return func(ing *v1alpha1.Ingress) { ing.Status = s }
}

// readyStatus is the status of a KIngress served by both gateways.
func readyStatus() v1alpha1.IngressStatus {
	return v1alpha1.IngressStatus{
		Status: duckv1.Status{
			ObservedGeneration: 1,
			Conditions: duckv1.Conditions{
				{Type: v1alpha1.IngressConditionLoadBalancerReady, Status: corev1.ConditionTrue},
				{Type: v1alpha1.IngressConditionNetworkConfigured, Status: corev1.ConditionTrue},
				{Type: apis.ConditionReady, Status: corev1.ConditionTrue},
			},
		},
		PublicLoadBalancer:  &v1alpha1.LoadBalancerStatus{Ingress: []v1alpha1.LoadBalancerIngressStatus{{DomainInternal: externalLB}}},
		PrivateLoadBalancer: &v1alpha1.LoadBalancerStatus{Ingress: []v1alpha1.LoadBalancerIngressStatus{{DomainInternal: localLB}}},
	}
}

// revision is ns/hello-00001 of Knative Service ns/hello, with the given
// annotations and timeoutSeconds 300.
func revision(annotations map[string]string) *servingv1.Revision {
	return &servingv1.Revision{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   testNS,
			Name:        revName,
			Labels:      map[string]string{"serving.knative.dev/service": "hello"},
			Annotations: annotations,
		},
		Spec: servingv1.RevisionSpec{TimeoutSeconds: ptr(int64(300))},
	}
}

// knService is the Knative Service ns/hello, labelled team=a.
func knService() *servingv1.Service {
	return &servingv1.Service{ObjectMeta: metav1.ObjectMeta{
		Namespace: testNS,
		Name:      "hello",
		Labels:    map[string]string{"team": "a"},
	}}
}

// serverlessPolicy selects team=a Services and sets the route timeout.
func serverlessPolicy(name string, created time.Time, timeout time.Duration) *ssmv1alpha1.ServerlessPolicy {
	return &ssmv1alpha1.ServerlessPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: name, CreationTimestamp: metav1.NewTime(created), Generation: 2},
		Spec: ssmv1alpha1.ServerlessPolicySpec{
			Selector: metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}},
			Timeout:  &metav1.Duration{Duration: timeout},
		},
	}
}

func ptr[T any](v T) *T { return &v }
