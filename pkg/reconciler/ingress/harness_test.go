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
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clientgotesting "k8s.io/client-go/testing"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"
	fakenetworkingclient "knative.dev/networking/pkg/client/injection/client/fake"
	ingressreconciler "knative.dev/networking/pkg/client/injection/reconciler/networking/v1alpha1/ingress"
	fakestatus "knative.dev/networking/pkg/testing/status"
	fakekubeclient "knative.dev/pkg/client/injection/kube/client/fake"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/logging"
	. "knative.dev/pkg/reconciler/testing"
	"knative.dev/pkg/tracker"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	fakeistioclient "github.com/serverless-mesh/ssm/pkg/client/istio/injection/client/fake"
	"github.com/serverless-mesh/ssm/pkg/policy"
	ssmtesting "github.com/serverless-mesh/ssm/pkg/reconciler/testing"
)

func deleteAction(gvr schema.GroupVersionResource, namespace, name string) clientgotesting.DeleteActionImpl {
	return clientgotesting.DeleteActionImpl{
		ActionImpl: clientgotesting.ActionImpl{Namespace: namespace, Verb: "delete", Resource: gvr},
		Name:       name,
	}
}

func finalizerPatch(patch string) clientgotesting.PatchActionImpl {
	return clientgotesting.PatchActionImpl{
		ActionImpl: clientgotesting.ActionImpl{Namespace: testNS},
		Name:       ingName,
		Patch:      []byte(patch),
	}
}

// invalidTimeoutMessage names the revision, the annotation, the bad value
// and what is allowed.
const invalidTimeoutMessage = `revision ns/hello-00001: invalid value: "banana": metadata.annotations[ssm.dev/timeout]` + "\n" +
	"ssm.dev/timeout must be a Go duration (e.g. 500ms, 30s, 2m) greater than 0 and at most 1h0m0s"

const (
	addFinalizer    = `{"metadata":{"finalizers":["ingresses.networking.internal.knative.dev"],"resourceVersion":""}}`
	removeFinalizer = `{"metadata":{"finalizers":[],"resourceVersion":""}}`
)

var finalizerEvent = Eventf(corev1.EventTypeNormal, "FinalizerUpdate", "Updated %q finalizers", ingName)

func statusUpdate(ing *v1alpha1.Ingress) []clientgotesting.UpdateActionImpl {
	return []clientgotesting.UpdateActionImpl{{Object: ing}}
}

// typed sets obj's TypeMeta, which informers deliver and the tracker keys on.
func typed(obj runtime.Object, apiVersion, kind string) runtime.Object {
	obj.GetObjectKind().SetGroupVersionKind(schema.FromAPIVersionAndKind(apiVersion, kind))
	return obj
}

func proberCalls(want int) func(*testing.T, *TableRow) {
	return func(t *testing.T, r *TableRow) {
		t.Helper()
		if got := ssmtesting.GetStatusManager(r.Ctx).IsReadyCallCount(newIngress()); got != want {
			t.Errorf("prober IsReady calls = %d, want %d", got, want)
		}
	}
}

func prober(ready bool, err error) context.Context {
	return ssmtesting.WithStatusManager(context.Background(), &fakestatus.FakeStatusManager{
		FakeIsReady: func(context.Context, *v1alpha1.Ingress) (bool, error) { return ready, err },
	})
}

// objects prepends the gateway Services every row needs.
func objects(objs ...runtime.Object) []runtime.Object {
	out := []runtime.Object{}
	for _, svc := range gatewayServices() {
		out = append(out, svc)
	}
	return append(out, objs...)
}

type trackerKey struct{}

// withTracker gives the reconciler knative.dev/pkg's real tracker, so that a
// row can check what the KIngress tracks.
func withTracker() context.Context {
	return context.WithValue(context.Background(), trackerKey{}, tracker.New(func(types.NamespacedName) {}, time.Hour))
}

func trackerFrom(ctx context.Context) tracker.Interface {
	if t, ok := ctx.Value(trackerKey{}).(tracker.Interface); ok {
		return t
	}
	return &NullTracker{}
}

// tracks checks that a change of each object re-reconciles ns/hello.
func tracks(objs ...runtime.Object) func(*testing.T, *TableRow) {
	return func(t *testing.T, r *TableRow) {
		t.Helper()
		for _, obj := range objs {
			got := trackerFrom(r.Ctx).GetObservers(obj)
			if diff := cmp.Diff([]types.NamespacedName{{Namespace: testNS, Name: ingName}}, got); diff != "" {
				t.Errorf("observers of %T %v (-want, +got):\n%s", obj, obj.(metav1.Object).GetName(), diff)
			}
		}
	}
}

func newReconciler(ctx context.Context, ls *ssmtesting.Listers, _ configmap.Watcher) controller.Reconciler {
	r := &Reconciler{
		kubeClient:            fakekubeclient.Get(ctx),
		istioClient:           fakeistioclient.Get(ctx),
		virtualServiceLister:  ls.GetVirtualServiceLister(),
		destinationRuleLister: ls.GetDestinationRuleLister(),
		peerAuthLister:        ls.GetPeerAuthenticationLister(),
		gatewayLister:         ls.GetGatewayLister(),
		secretLister:          ls.GetSecretLister(),
		gatewayServiceLister:  ls.GetServiceLister(),
		revisionLister:        ls.GetRevisionLister(),
		knServiceLister:       ls.GetKnativeServiceLister(),
		policyLister:          ls.GetServerlessPolicyLister(),
		leaseSliceLister:      ls.GetEndpointSliceLister(),
		tracker:               trackerFrom(ctx),
		statusManager:         ssmtesting.GetStatusManager(ctx),
		observer:              policy.NoObservations{},
	}
	return ingressreconciler.NewReconciler(ctx, logging.FromContext(ctx), fakenetworkingclient.Get(ctx),
		ls.GetIngressLister(), controller.GetEventRecorder(ctx), r, ssm.IngressClassName,
		controller.Options{ConfigStore: staticConfigStore{cfg: testConfig()}})
}
