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
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"istio.io/client-go/pkg/apis/networking/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"

	"github.com/serverless-mesh/ssm/pkg/policy"
)

// kv is an ordered list of map entries, inserted into a map in a shuffled order.
type kv [][2]string

func (entries kv) shuffledMap(r *rand.Rand) map[string]string {
	order := r.Perm(len(entries))
	m := make(map[string]string, len(entries))
	for _, i := range order {
		m[entries[i][0]] = entries[i][1]
	}
	return m
}

// realisticIngress is what Knative Serving writes for a Service with two
// revisions in a 90/10 split and a tag, with every map filled in a shuffled
// order; the content is the same for every r.
func realisticIngress(r *rand.Rand) *v1alpha1.Ingress {
	headers := kv{{"Knative-Serving-Namespace", "default"}, {"Knative-Serving-Revision", "hello-00002"}, {"X-Extra", "1"}}
	matches := kv{{"Knative-Serving-Tag", "candidate"}, {"X-User", "alice"}, {"X-Tier", "gold"}}
	path := func(rev string, percent int) v1alpha1.IngressBackendSplit {
		s := split("default", rev, 80, percent)
		s.AppendHeaders = kv{{"Knative-Serving-Namespace", "default"}, {"Knative-Serving-Revision", rev}}.shuffledMap(r)
		return s
	}
	headerMatch := map[string]v1alpha1.HeaderMatch{}
	for _, i := range r.Perm(len(matches)) {
		headerMatch[matches[i][0]] = v1alpha1.HeaderMatch{Exact: matches[i][1]}
	}
	paths := func() []v1alpha1.HTTPIngressPath {
		return []v1alpha1.HTTPIngressPath{{
			Headers:       headerMatch,
			AppendHeaders: headers.shuffledMap(r),
			Splits:        []v1alpha1.IngressBackendSplit{path("hello-00002", 100)},
		}, {
			Path:          "/",
			AppendHeaders: kv{{"Knative-Serving-Namespace", "default"}}.shuffledMap(r),
			Splits:        []v1alpha1.IngressBackendSplit{path("hello-00001", 90), path("hello-00002", 10)},
		}}
	}
	ing := ingressWith(
		rule(v1alpha1.IngressVisibilityExternalIP, []string{"hello.default.example.com", "candidate-hello.default.example.com"}, paths()...),
		rule(v1alpha1.IngressVisibilityClusterLocal, []string{
			"hello.default", "hello.default.svc", "hello.default.svc.cluster.local",
			"candidate-hello.default", "candidate-hello.default.svc", "candidate-hello.default.svc.cluster.local",
		}, paths()...),
	)
	ing.Spec.HTTPOption = v1alpha1.HTTPOptionRedirected
	return ing
}

func shuffledGateways(r *rand.Rand) map[v1alpha1.IngressVisibility]sets.Set[string] {
	ext := []string{"knative-serving/gw-c", "knative-serving/gw-a", "knative-serving/gw-b"}
	r.Shuffle(len(ext), func(i, j int) { ext[i], ext[j] = ext[j], ext[i] })
	return map[v1alpha1.IngressVisibility]sets.Set[string]{
		v1alpha1.IngressVisibilityExternalIP:   sets.New(ext...),
		v1alpha1.IngressVisibilityClusterLocal: sets.New(localGateway),
	}
}

func shuffledPolicies(r *rand.Rand) map[Backend]policy.Policy {
	entries := []struct {
		b Backend
		p policy.Policy
	}{
		{Backend{"default", "hello-00001"}, policy.Policy{Lifecycle: policy.LifecycleLongLived, Timeout: 40 * time.Second, Retries: 3, RetryOn: "connect-failure,refused-stream"}},
		{Backend{"default", "hello-00002"}, policy.Policy{Lifecycle: policy.LifecycleShortLived, Timeout: 2 * time.Second, Retries: 1, RetryOn: "connect-failure",
			OutlierDetection: policy.OutlierDetection{ConsecutiveGatewayErrors: 5, Interval: 10 * time.Second}}},
	}
	m := map[Backend]policy.Policy{}
	for _, i := range r.Perm(len(entries)) {
		m[entries[i].b] = entries[i].p
	}
	return m
}

func shuffledSecrets(r *rand.Rand) map[string]*corev1.Secret {
	m := map[string]*corev1.Secret{}
	for _, i := range r.Perm(4) {
		name := fmt.Sprintf("tls-%d", i)
		m["default/"+name] = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}}
	}
	return m
}

// TestDeterministicOutput builds everything many times from maps filled in
// shuffled orders (fixed seed) and wants identical objects, down to the
// deterministic wire bytes of every Istio spec.
func TestDeterministicOutput(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	services := []GatewayService{ingressGatewayService(), {Namespace: "gateways", Name: "gw"}}
	build := func() (out []any, wire [][]byte) {
		ing := realisticIngress(r)
		vses, err := MakeVirtualServices(ing, shuffledGateways(r), shuffledPolicies(r), nil)
		if err != nil {
			t.Fatalf("MakeVirtualServices: %v", err)
		}
		drs := MakeDestinationRules(ing, shuffledPolicies(r), nil)
		gws, err := MakeExternalGateways(ing, nil, services)
		if err != nil {
			t.Fatalf("MakeExternalGateways: %v", err)
		}
		secrets := MakeSecrets(ing, shuffledSecrets(r), services)
		marshal := func(m proto.Message) {
			b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			wire = append(wire, b)
		}
		for _, vs := range vses {
			marshal(&vs.Spec)
		}
		for _, dr := range drs {
			marshal(&dr.Spec)
		}
		for _, gw := range gws {
			marshal(&gw.Spec)
		}
		return []any{vses, drs, gws, secrets}, wire
	}

	first, firstWire := build()
	for i := range 30 {
		got, gotWire := build()
		// Wire bytes are cheap to compare; the full structural diff (slow
		// under -race) runs on the last build and on any mismatch.
		same := len(gotWire) == len(firstWire)
		for j := 0; same && j < len(gotWire); j++ {
			same = bytes.Equal(firstWire[j], gotWire[j])
		}
		if !same || i == 29 {
			if diff := cmp.Diff(first, got, protocmp.Transform()); diff != "" || !same {
				t.Fatalf("build %d differs from the first (byte-identical specs: %v) (-first, +got):\n%s", i, same, diff)
			}
		}
		if diff := cmp.Diff(metadataOf(first), metadataOf(got)); diff != "" {
			t.Fatalf("build %d: metadata differs from the first (-first, +got):\n%s", i, diff)
		}
	}
}

// metadataOf is the metadata and Secret content of built objects, which the
// spec wire bytes do not cover.
func metadataOf(objs []any) []any {
	var out []any
	for _, o := range objs {
		switch o := o.(type) {
		case []*v1beta1.VirtualService:
			for _, vs := range o {
				out = append(out, vs.ObjectMeta)
			}
		case []*v1beta1.DestinationRule:
			for _, dr := range o {
				out = append(out, dr.ObjectMeta)
			}
		case []*v1beta1.Gateway:
			for _, gw := range o {
				out = append(out, gw.ObjectMeta)
			}
		case []*corev1.Secret:
			out = append(out, o)
		}
	}
	return out
}

func BenchmarkMakeVirtualServices(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	ing := realisticIngress(r)
	gateways := shuffledGateways(r)
	policies := shuffledPolicies(r)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MakeVirtualServices(ing, gateways, policies, nil); err != nil {
			b.Fatal(err)
		}
	}
}
