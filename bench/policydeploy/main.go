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

// Command policydeploy measures how long a policy change takes to reach (a)
// the VirtualService in the apiserver and (b) the route istiod serves to the
// ingress gateway, for ssm.dev/timeout annotation changes and
// ServerlessPolicy changes. In the same run it measures a baseline: a
// VirtualService written directly (no SSM) reaching istiod's gateway route,
// so that SSM's share of the delay is a ratio, not an absolute number from a
// noisy machine. bench/policy-deploy.sh runs it on the local cluster.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	istiov1beta1 "istio.io/api/networking/v1beta1"
	"istio.io/client-go/pkg/apis/networking/v1beta1"
	istioclientset "istio.io/client-go/pkg/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	apierrs "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"knative.dev/networking/pkg/apis/networking"
	netv1alpha1 "knative.dev/networking/pkg/apis/networking/v1alpha1"
	networkingclientset "knative.dev/networking/pkg/client/clientset/versioned"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	servingclientset "knative.dev/serving/pkg/client/clientset/versioned"

	ssmv1alpha1 "github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
	ssmclientset "github.com/serverless-mesh/ssm/pkg/client/clientset/versioned"
	"github.com/serverless-mesh/ssm/pkg/xdsprobe"
)

const ns = "bench-policy"

type clients struct {
	kube       kubernetes.Interface
	istio      istioclientset.Interface
	networking networkingclientset.Interface
	serving    servingclientset.Interface
	ssm        ssmclientset.Interface
	xds        xdsprobe.Options
}

var gateway = xdsprobe.Workload{Namespace: "istio-system", Labels: map[string]string{"istio": "ingressgateway"}}

func main() {
	dir := flag.String("cluster-dir", os.Getenv("SSM_CLUSTER_DIR"), "hack/cluster.sh's state directory")
	xds := flag.String("xds", "10.200.0.1:15010", "istiod's plaintext xDS address")
	n := flag.Int("n", 60, "changes per measured path (≥ 50 for a meaningful p99)")
	flag.Parse()

	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(*dir, "admin.kubeconfig"))
	if err != nil {
		fail("loading the admin kubeconfig: %v", err)
	}
	cfg.QPS, cfg.Burst = 500, 1000
	c := &clients{
		kube:       kubernetes.NewForConfigOrDie(cfg),
		istio:      istioclientset.NewForConfigOrDie(cfg),
		networking: networkingclientset.NewForConfigOrDie(cfg),
		serving:    servingclientset.NewForConfigOrDie(cfg),
		ssm:        ssmclientset.NewForConfigOrDie(cfg),
		xds:        xdsprobe.Options{Address: *xds},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	if err := setUp(ctx, c); err != nil {
		fail("setting up: %v", err)
	}

	results := []result{
		measure(ctx, c, "ssm.dev/timeout annotation", *n, func(ctx context.Context, timeout time.Duration) error {
			return annotate(ctx, c, timeout)
		}, "annotated-ingress", "annotated.bench.example.com"),
		measure(ctx, c, "ServerlessPolicy spec.timeout", *n, func(ctx context.Context, timeout time.Duration) error {
			return setPolicyTimeout(ctx, c, timeout)
		}, "selected-ingress", "selected.bench.example.com"),
		measure(ctx, c, "baseline: VirtualService written directly", *n, func(ctx context.Context, timeout time.Duration) error {
			return setBaselineTimeout(ctx, c, timeout)
		}, "baseline", "baseline.bench.example.com"),
	}
	report(results)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "policydeploy: "+format+"\n", args...)
	os.Exit(1)
}

// result holds one path's delays: to the apiserver and to istiod's xDS.
type result struct {
	name     string
	toAPI    []time.Duration
	toXDS    []time.Duration
	failures int
}

// measure applies n distinct timeouts through change and times each until
// the VirtualService vsName carries it and until istiod's gateway route for
// host carries it.
func measure(ctx context.Context, c *clients, name string, n int, change func(context.Context, time.Duration) error, vsName, host string) result {
	r := result{name: name}
	for i := 0; i < n; i++ {
		// Distinct and whole milliseconds, so each change is visible.
		timeout := time.Duration(1000+len(name)*100+i+1) * time.Millisecond
		start := time.Now()
		if err := change(ctx, timeout); err != nil {
			fail("%s: change %d: %v", name, i, err)
		}
		api, err := waitFor(ctx, start, func(ctx context.Context) (bool, error) { return vsTimeout(ctx, c, vsName, timeout) })
		if err != nil {
			r.failures++
			continue
		}
		xds, err := waitFor(ctx, start, func(ctx context.Context) (bool, error) { return xdsTimeout(ctx, c, host, timeout) })
		if err != nil {
			r.failures++
			continue
		}
		r.toAPI = append(r.toAPI, api)
		r.toXDS = append(r.toXDS, xds)
	}
	return r
}

// waitFor polls cond every 5ms for up to 30s and returns the time since start.
func waitFor(ctx context.Context, start time.Time, cond func(context.Context) (bool, error)) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		ok, err := cond(ctx)
		if ok {
			return time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("not seen after 30s (last error: %v)", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func vsTimeout(ctx context.Context, c *clients, name string, want time.Duration) (bool, error) {
	vs, err := c.istio.NetworkingV1beta1().VirtualServices(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return false, err
	}
	for _, r := range vs.Spec.GetHttp() {
		if r.GetTimeout().AsDuration() == want {
			return true, nil
		}
	}
	return false, nil
}

func xdsTimeout(ctx context.Context, c *clients, host string, want time.Duration) (bool, error) {
	configs, err := xdsprobe.FetchRouteConfigurations(ctx, c.xds, gateway)
	if err != nil {
		return false, err
	}
	for _, rc := range configs {
		for _, vh := range rc.GetVirtualHosts() {
			for _, d := range vh.GetDomains() {
				if d != host {
					continue
				}
				for _, r := range vh.GetRoutes() {
					if r.GetRoute().GetTimeout().AsDuration() == want {
						return true, nil
					}
				}
			}
		}
	}
	return false, nil
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	idx := int(p*float64(len(s))+0.5) - 1
	return s[max(0, min(idx, len(s)-1))]
}

func report(results []result) {
	fmt.Printf("%-44s %5s %10s %10s %10s %10s %6s\n", "change", "n", "api p50", "api p99", "xds p50", "xds p99", "failed")
	for _, r := range results {
		fmt.Printf("%-44s %5d %10v %10v %10v %10v %6d\n", r.name, len(r.toAPI),
			percentile(r.toAPI, 0.5).Round(time.Millisecond/10), percentile(r.toAPI, 0.99).Round(time.Millisecond/10),
			percentile(r.toXDS, 0.5).Round(time.Millisecond/10), percentile(r.toXDS, 0.99).Round(time.Millisecond/10), r.failures)
	}
	base := results[len(results)-1]
	for _, r := range results[:len(results)-1] {
		fmt.Printf("ratio to baseline, %s → xDS: p50 %.2f, p99 %.2f\n", r.name,
			ratio(percentile(r.toXDS, 0.5), percentile(base.toXDS, 0.5)),
			ratio(percentile(r.toXDS, 0.99), percentile(base.toXDS, 0.99)))
	}
}

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// --- the objects measured ---

func setUp(ctx context.Context, c *clients) error {
	if _, err := c.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !apierrs.IsAlreadyExists(err) {
		return err
	}
	// "annotated-00001" carries the annotation; "selected-00001" belongs to a
	// Knative Service a ServerlessPolicy selects.
	timeout := int64(300)
	revs := []*servingv1.Revision{{
		ObjectMeta: metav1.ObjectMeta{Name: "annotated-00001", Namespace: ns,
			Annotations: map[string]string{"ssm.dev/lifecycle": "short-lived", "ssm.dev/timeout": "1s"}},
	}, {
		ObjectMeta: metav1.ObjectMeta{Name: "selected-00001", Namespace: ns,
			Labels: map[string]string{"serving.knative.dev/service": "selected"}},
	}}
	for _, rev := range revs {
		rev.Spec = servingv1.RevisionSpec{PodSpec: corev1.PodSpec{Containers: []corev1.Container{{Image: "example.com/fn"}}}, TimeoutSeconds: &timeout}
		if _, err := c.serving.ServingV1().Revisions(ns).Create(ctx, rev, metav1.CreateOptions{}); err != nil && !apierrs.IsAlreadyExists(err) {
			return err
		}
	}
	svc := &servingv1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "selected", Namespace: ns, Labels: map[string]string{"team": "bench"}},
		Spec: servingv1.ServiceSpec{ConfigurationSpec: servingv1.ConfigurationSpec{Template: servingv1.RevisionTemplateSpec{
			Spec: servingv1.RevisionSpec{PodSpec: corev1.PodSpec{Containers: []corev1.Container{{Image: "example.com/fn"}}}},
		}}},
	}
	if _, err := c.serving.ServingV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil && !apierrs.IsAlreadyExists(err) {
		return err
	}
	policy := &ssmv1alpha1.ServerlessPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "bench", Namespace: ns},
		Spec: ssmv1alpha1.ServerlessPolicySpec{
			Selector:  metav1.LabelSelector{MatchLabels: map[string]string{"team": "bench"}},
			Lifecycle: "short-lived",
			Timeout:   &metav1.Duration{Duration: time.Second},
		},
	}
	if _, err := c.ssm.SsmV1alpha1().ServerlessPolicies(ns).Create(ctx, policy, metav1.CreateOptions{}); err != nil && !apierrs.IsAlreadyExists(err) {
		return err
	}
	for name, rev := range map[string]string{"annotated": "annotated-00001", "selected": "selected-00001"} {
		if _, err := c.networking.NetworkingV1alpha1().Ingresses(ns).Create(ctx, kingress(name, rev), metav1.CreateOptions{}); err != nil && !apierrs.IsAlreadyExists(err) {
			return err
		}
	}
	base := &v1beta1.VirtualService{
		ObjectMeta: metav1.ObjectMeta{Name: "baseline", Namespace: ns},
		Spec: istiov1beta1.VirtualService{
			Hosts:    []string{"baseline.bench.example.com"},
			Gateways: []string{"knative-serving/knative-ingress-gateway"},
			Http: []*istiov1beta1.HTTPRoute{{
				Route:   []*istiov1beta1.HTTPRouteDestination{{Destination: &istiov1beta1.Destination{Host: "baseline.bench.svc.cluster.local"}}},
				Timeout: durationpb.New(time.Second),
			}},
		},
	}
	if _, err := c.istio.NetworkingV1beta1().VirtualServices(ns).Create(ctx, base, metav1.CreateOptions{}); err != nil && !apierrs.IsAlreadyExists(err) {
		return err
	}
	return nil
}

func kingress(name, revision string) *netv1alpha1.Ingress {
	return &netv1alpha1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns,
			Annotations: map[string]string{networking.IngressClassAnnotationKey: "ssm.ingress.networking.knative.dev"}},
		Spec: netv1alpha1.IngressSpec{Rules: []netv1alpha1.IngressRule{{
			Hosts:      []string{name + ".bench.example.com"},
			Visibility: netv1alpha1.IngressVisibilityExternalIP,
			HTTP: &netv1alpha1.HTTPIngressRuleValue{Paths: []netv1alpha1.HTTPIngressPath{{
				Splits: []netv1alpha1.IngressBackendSplit{{
					IngressBackend: netv1alpha1.IngressBackend{ServiceNamespace: ns, ServiceName: revision, ServicePort: intstr.FromInt(80)},
					Percent:        100,
				}},
			}}},
		}}},
	}
}

func annotate(ctx context.Context, c *clients, timeout time.Duration) error {
	patch := fmt.Sprintf(`{"metadata":{"annotations":{"ssm.dev/timeout":%q}}}`, timeout.String())
	_, err := c.serving.ServingV1().Revisions(ns).Patch(ctx, "annotated-00001", types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	return err
}

func setPolicyTimeout(ctx context.Context, c *clients, timeout time.Duration) error {
	patch := fmt.Sprintf(`{"spec":{"timeout":%q}}`, timeout.String())
	_, err := c.ssm.SsmV1alpha1().ServerlessPolicies(ns).Patch(ctx, "bench", types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	return err
}

func setBaselineTimeout(ctx context.Context, c *clients, timeout time.Duration) error {
	patch := fmt.Sprintf(`{"spec":{"http":[{"route":[{"destination":{"host":"baseline.bench.svc.cluster.local"}}],"timeout":%q}]}}`, timeout.String())
	_, err := c.istio.NetworkingV1beta1().VirtualServices(ns).Patch(ctx, "baseline", types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	return err
}
