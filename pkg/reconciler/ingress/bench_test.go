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
	"fmt"
	"testing"

	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/tools/record"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"
	fakekubeclient "knative.dev/pkg/client/injection/kube/client/fake"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/logging"
	. "knative.dev/pkg/reconciler/testing"

	fakeistioclient "github.com/serverless-mesh/ssm/pkg/client/istio/injection/client/fake"
	"github.com/serverless-mesh/ssm/pkg/config"
	"github.com/serverless-mesh/ssm/pkg/policy"
	"github.com/serverless-mesh/ssm/pkg/reconciler/ingress/resources"
	ssmtesting "github.com/serverless-mesh/ssm/pkg/reconciler/testing"
)

// benchReconciler is a Reconciler over listers holding objs, with fake
// clients that record every write, and a context carrying testConfig.
func benchReconciler(b *testing.B, objs []runtime.Object) (context.Context, *Reconciler, func() int) {
	b.Helper()
	ls, err := ssmtesting.NewListers(objs)
	if err != nil {
		b.Fatal(err)
	}
	ctx := logging.WithLogger(context.Background(), zap.NewNop().Sugar())
	ctx = controller.WithEventRecorder(ctx, record.NewFakeRecorder(1024))
	ctx, istio := fakeistioclient.With(ctx, ls.GetIstioObjects()...)
	ctx, kube := fakekubeclient.With(ctx, ls.GetKubeObjects()...)
	ctx = config.ToContext(ctx, testConfig())
	r := &Reconciler{
		kubeClient:            kube,
		istioClient:           istio,
		virtualServiceLister:  ls.GetVirtualServiceLister(),
		destinationRuleLister: ls.GetDestinationRuleLister(),
		gatewayLister:         ls.GetGatewayLister(),
		secretLister:          ls.GetSecretLister(),
		gatewayServiceLister:  ls.GetServiceLister(),
		revisionLister:        ls.GetRevisionLister(),
		knServiceLister:       ls.GetKnativeServiceLister(),
		policyLister:          ls.GetServerlessPolicyLister(),
		leaseSliceLister:      ls.GetEndpointSliceLister(),
		tracker:               &NullTracker{},
		statusManager:         ssmtesting.AlwaysReady(),
		observer:              policy.NoObservations{},
	}
	writes := func() int { return len(istio.Actions()) + len(kube.Actions()) }
	return ctx, r, writes
}

// BenchmarkReconcileNoop reconciles a ready KIngress whose objects are all
// in place: the steady state of every resync.
func BenchmarkReconcileNoop(b *testing.B) {
	ing := newIngress(withFinalizer, withStatus(readyStatus()))
	ctx, r, writes := benchReconciler(b, objects(ing,
		revision(map[string]string{"ssm.dev/lifecycle": "short-lived", "ssm.dev/timeout": "2s"}),
		shortLivedDR(),
		ingressVS(hashBase, []string{externalGatewayQN, localGatewayQN}, externalGatewayQN, shortLived2s),
		meshVS(hashBase, shortLived2s)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := r.ReconcileKind(ctx, ing.DeepCopy()); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if n := writes(); n != 0 {
		b.Fatalf("a no-op reconcile made %d API calls, want 0", n)
	}
}

// BenchmarkTranslate resolves the policy of, and builds the VirtualServices
// and DestinationRules for, n distinct KIngresses with SSM backends.
func BenchmarkTranslate(b *testing.B) {
	bound := map[v1alpha1.IngressVisibility]sets.Set[string]{
		v1alpha1.IngressVisibilityExternalIP:   sets.New(externalGatewayQN),
		v1alpha1.IngressVisibilityClusterLocal: sets.New(localGatewayQN),
	}
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			ings := make([]*v1alpha1.Ingress, 0, n)
			objs := make([]runtime.Object, 0, 2*n)
			for i := range n {
				name := fmt.Sprintf("fn-%d", i)
				ing := newIngress()
				ing.Name = name
				for j := range ing.Spec.Rules {
					rule := &ing.Spec.Rules[j]
					rule.Hosts = []string{name + ".ns.svc.cluster.local"}
					if rule.Visibility == v1alpha1.IngressVisibilityExternalIP {
						rule.Hosts = []string{name + ".ns.example.com"}
					}
					rule.HTTP.Paths[0].Splits[0].ServiceName = name + "-00001"
				}
				rev := revision(map[string]string{"ssm.dev/lifecycle": "short-lived", "ssm.dev/timeout": "2s"})
				rev.Name = name + "-00001"
				ings = append(ings, ing)
				objs = append(objs, rev)
			}
			ctx, r, _ := benchReconciler(b, objs)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				for _, ing := range ings {
					policies, err := r.resolvePolicies(ctx, ing)
					if err != nil {
						b.Fatal(err)
					}
					if drs := resources.MakeDestinationRules(ing, policies, nil); len(drs) != 1 {
						b.Fatalf("%s: %d DestinationRules, want 1", ing.Name, len(drs))
					}
					if _, err := resources.MakeVirtualServices(ing, bound, policies, nil); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
