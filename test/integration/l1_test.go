//go:build integration

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

package integration

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
	istiov1beta1 "istio.io/api/networking/v1beta1"
	corev1 "k8s.io/api/core/v1"
	apierrs "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"knative.dev/networking/pkg/apis/networking"
	netv1alpha1 "knative.dev/networking/pkg/apis/networking/v1alpha1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/google/go-cmp/cmp"

	ssmv1alpha1 "github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
)

const testNS = "l1"

func ensureNamespace(t *testing.T, c *clients, name string) {
	t.Helper()
	_, err := c.kube.CoreV1().Namespaces().Create(context.Background(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrs.IsAlreadyExists(err) {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
}

func revision(name string, annotations map[string]string) *servingv1.Revision {
	timeout := int64(300)
	return &servingv1.Revision{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS, Annotations: annotations},
		Spec: servingv1.RevisionSpec{
			PodSpec:        corev1.PodSpec{Containers: []corev1.Container{{Image: "example.com/fn"}}},
			TimeoutSeconds: &timeout,
		},
	}
}

func kingress(name, host, backend string) *netv1alpha1.Ingress {
	return &netv1alpha1.Ingress{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: testNS,
			Annotations: map[string]string{networking.IngressClassAnnotationKey: "ssm.ingress.networking.knative.dev"},
		},
		Spec: netv1alpha1.IngressSpec{
			HTTPOption: netv1alpha1.HTTPOptionEnabled,
			Rules: []netv1alpha1.IngressRule{{
				Hosts:      []string{host},
				Visibility: netv1alpha1.IngressVisibilityExternalIP,
				HTTP: &netv1alpha1.HTTPIngressRuleValue{Paths: []netv1alpha1.HTTPIngressPath{{
					Splits: []netv1alpha1.IngressBackendSplit{{
						IngressBackend: netv1alpha1.IngressBackend{
							ServiceNamespace: testNS, ServiceName: backend, ServicePort: intstr.FromInt(80),
						},
						Percent:       100,
						AppendHeaders: map[string]string{"Knative-Serving-Revision": backend},
					}},
				}}},
			}},
		},
	}
}

// TestL1SSMRevisionPolicy: a KIngress routing to a revision annotated
// short-lived with a 2s timeout gets that timeout, connect-failure-only
// retries and a DestinationRule with the short-lived traffic policy, written
// by the controller running as its own ServiceAccount.
func TestL1SSMRevisionPolicy(t *testing.T) {
	c := newClients(t)
	ctx := context.Background()
	ensureNamespace(t, c, testNS)

	if _, err := c.serving.ServingV1().Revisions(testNS).Create(ctx, revision("fn-00001", map[string]string{
		"ssm.dev/lifecycle": "short-lived", "ssm.dev/timeout": "2s",
	}), metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the revision: %v", err)
	}
	if _, err := c.networking.NetworkingV1alpha1().Ingresses(testNS).Create(ctx,
		kingress("fn", "fn.l1.example.com", "fn-00001"), metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the KIngress: %v", err)
	}

	var route *istiov1beta1.HTTPRoute
	eventually(t, "VirtualService fn-ingress with the revision's route", 30*time.Second, func(ctx context.Context) (bool, error) {
		vs, err := c.istio.NetworkingV1beta1().VirtualServices(testNS).Get(ctx, "fn-ingress", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, r := range vs.Spec.GetHttp() {
			// The first route is the K-Network-Hash probe; the last is traffic.
			route = r
		}
		return route != nil, nil
	})
	want := &istiov1beta1.HTTPRoute{
		Timeout: durationpb.New(2 * time.Second),
		Retries: &istiov1beta1.HTTPRetry{Attempts: 1, RetryOn: "connect-failure"},
	}
	got := &istiov1beta1.HTTPRoute{Timeout: route.GetTimeout(), Retries: route.GetRetries()}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("route timeout/retries (-want +got):\n%s", diff)
	}

	eventually(t, "DestinationRule fn-fn-00001-d551af09", 30*time.Second, func(ctx context.Context) (bool, error) {
		dr, err := c.istio.NetworkingV1beta1().DestinationRules(testNS).Get(ctx, "fn-fn-00001-d551af09", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		wantPolicy := &istiov1beta1.TrafficPolicy{
			ConnectionPool: &istiov1beta1.ConnectionPoolSettings{
				Http: &istiov1beta1.ConnectionPoolSettings_HTTPSettings{IdleTimeout: durationpb.New(30 * time.Second)},
			},
			OutlierDetection: &istiov1beta1.OutlierDetection{
				// Application 5xx never eject (Istio's default would be 5).
				Consecutive_5XxErrors:    wrapperspb.UInt32(0),
				ConsecutiveGatewayErrors: wrapperspb.UInt32(5),
				Interval:                 durationpb.New(10 * time.Second),
				BaseEjectionTime:         durationpb.New(30 * time.Second),
				MaxEjectionPercent:       50,
			},
			Tls: &istiov1beta1.ClientTLSSettings{Mode: istiov1beta1.ClientTLSSettings_ISTIO_MUTUAL},
		}
		if diff := cmp.Diff(wantPolicy, dr.Spec.GetTrafficPolicy(), protocmp.Transform()); diff != "" {
			t.Errorf("DestinationRule traffic policy (-want +got):\n%s", diff)
		}
		if got := dr.Spec.GetHost(); got != "fn-00001.l1.svc.cluster.local" {
			t.Errorf("DestinationRule host = %q, want fn-00001.l1.svc.cluster.local", got)
		}
		return true, nil
	})

	// Ready only once istiod serves the route (readiness-mode xds): the
	// gateway address is then published.
	eventually(t, "KIngress fn Ready with the gateway's address", 60*time.Second,
		func(ctx context.Context) (bool, error) {
			ing, err := c.networking.NetworkingV1alpha1().Ingresses(testNS).Get(ctx, "fn", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			lbs := ing.Status.PublicLoadBalancer
			return ing.IsReady() && lbs != nil && len(lbs.Ingress) == 1 &&
				lbs.Ingress[0].DomainInternal == "istio-ingressgateway.istio-system.svc.cluster.local", nil
		})
}

// TestL1WebhookRejects: the webhook, reached by the real apiserver, rejects
// bad annotations, policies, pools and config-ssm, naming the field and
// value. (Bad input that slips past a webhook that is down is covered by
// the reconciler's TableTests.)
func TestL1WebhookRejects(t *testing.T) {
	c := newClients(t)
	ctx := context.Background()
	ensureNamespace(t, c, testNS)

	_, err := c.serving.ServingV1().Revisions(testNS).Create(ctx, revision("bad-00001", map[string]string{
		"ssm.dev/timeout": "banana",
	}), metav1.CreateOptions{})
	wantRejected(t, "Revision with ssm.dev/timeout: banana", err, "ssm.dev/timeout", "banana")

	_, err = c.serving.ServingV1().Services(testNS).Create(ctx, &servingv1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "bad", Namespace: testNS},
		Spec: servingv1.ServiceSpec{ConfigurationSpec: servingv1.ConfigurationSpec{Template: servingv1.RevisionTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{"ssm.dev/lifecycle": "forever"}},
			Spec:       servingv1.RevisionSpec{PodSpec: corev1.PodSpec{Containers: []corev1.Container{{Image: "example.com/fn"}}}},
		}}},
	}, metav1.CreateOptions{})
	wantRejected(t, "Service with ssm.dev/lifecycle: forever", err,
		"spec.template.metadata.annotations[ssm.dev/lifecycle]", "forever", "auto, short-lived, long-lived")

	_, err = c.ssm.SsmV1alpha1().ServerlessPolicies(testNS).Create(ctx, &ssmv1alpha1.ServerlessPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "conflict", Namespace: testNS},
		Spec:       ssmv1alpha1.ServerlessPolicySpec{MTLSMode: "full", ProxyPool: "warm"},
	}, metav1.CreateOptions{})
	wantRejected(t, "ServerlessPolicy with full mTLS and a pool", err, "mtlsMode", "proxyPool")

	minSize, maxSize := int32(5), int32(2)
	_, err = c.ssm.SsmV1alpha1().ProxyPools(testNS).Create(ctx, &ssmv1alpha1.ProxyPool{
		ObjectMeta: metav1.ObjectMeta{Name: "pool", Namespace: testNS},
		Spec:       ssmv1alpha1.ProxyPoolSpec{MinSize: &minSize, MaxSize: &maxSize, Image: "envoy"},
	}, metav1.CreateOptions{})
	wantRejected(t, "ProxyPool with minSize > maxSize", err, "spec.minSize", "spec.maxSize")

	_, err = c.kube.CoreV1().ConfigMaps("knative-serving").Update(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "config-ssm", Namespace: "knative-serving",
			Labels: map[string]string{"app.kubernetes.io/name": "ssm", "app.kubernetes.io/component": "controller"}},
		Data: map[string]string{"short-lived-retries": "eleven"},
	}, metav1.UpdateOptions{})
	wantRejected(t, "config-ssm with short-lived-retries: eleven", err, "short-lived-retries", "eleven")
}

func wantRejected(t *testing.T, what string, err error, mentions ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: accepted, want rejected by the webhook", what)
		return
	}
	for _, m := range mentions {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("%s: rejection %q does not mention %q", what, err.Error(), m)
		}
	}
}

// TestL1RBAC: the controller's ClusterRole grants no "*", and the controller,
// webhook and ssm-pool, each running as its own ServiceAccount, were never
// refused a request.
func TestL1RBAC(t *testing.T) {
	c := newClients(t)
	ctx := context.Background()
	for _, name := range []string{"ssm-controller", "ssm-webhook"} {
		role, err := c.kube.RbacV1().ClusterRoles().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("getting ClusterRole %s: %v", name, err)
		}
		for _, rule := range role.Rules {
			for _, list := range [][]string{rule.Verbs, rule.Resources, rule.APIGroups} {
				for _, v := range list {
					if v == "*" {
						t.Errorf("ClusterRole %s grants %q in rule %+v", name, v, rule)
					}
				}
			}
		}
	}
	// Give the controller's informers time to have listed everything once:
	// by now the other tests' objects were reconciled.
	// Each replica of a Deployment logs to logs/DEPLOYMENT-N.log.
	var components []string
	for _, d := range []string{"ssm-controller", "ssm-webhook", "ssm-pool"} {
		logs, err := filepath.Glob(filepath.Join(c.stateDir, "logs", d+"-[0-9]*.log"))
		if err != nil || len(logs) == 0 {
			t.Fatalf("no log of any %s replica: %v", d, err)
		}
		for _, l := range logs {
			components = append(components, strings.TrimSuffix(filepath.Base(l), ".log"))
		}
	}
	for _, component := range components {
		logs, err := os.ReadFile(filepath.Join(c.stateDir, "logs", component+".log"))
		if err != nil {
			t.Fatalf("reading %s's log: %v", component, err)
		}
		for _, line := range strings.Split(string(logs), "\n") {
			if strings.Contains(line, "forbidden") || strings.Contains(line, "Forbidden") {
				t.Errorf("%s was refused a request: %s", component, line)
			}
		}
	}
}
