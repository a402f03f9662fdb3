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

package testing

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	ktesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"
	fakenetworkingclient "knative.dev/networking/pkg/client/injection/client/fake"
	fakestatus "knative.dev/networking/pkg/testing/status"
	fakekubeclient "knative.dev/pkg/client/injection/kube/client/fake"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/logging"
	logtesting "knative.dev/pkg/logging/testing"
	pkgreconciler "knative.dev/pkg/reconciler"
	rtesting "knative.dev/pkg/reconciler/testing"

	fakeistioclient "github.com/serverless-mesh/ssm/pkg/client/istio/injection/client/fake"
)

// Ctor builds the reconciler under test from a context holding fake
// clients, the row's listers and a static ConfigMap watcher.
type Ctor func(ctx context.Context, listers *Listers, cmw configmap.Watcher) controller.Reconciler

type statusManagerKey struct{}

// WithStatusManager makes the factory hand sm to the reconciler instead of
// a prober that always answers ready. Set it on a TableRow's Ctx.
func WithStatusManager(ctx context.Context, sm *fakestatus.FakeStatusManager) context.Context {
	return context.WithValue(ctx, statusManagerKey{}, sm)
}

// GetStatusManager returns the fake prober the factory put in ctx.
func GetStatusManager(ctx context.Context) *fakestatus.FakeStatusManager {
	sm, _ := ctx.Value(statusManagerKey{}).(*fakestatus.FakeStatusManager)
	return sm
}

// AlwaysReady is a fake prober that finds every KIngress served.
func AlwaysReady() *fakestatus.FakeStatusManager {
	return &fakestatus.FakeStatusManager{
		FakeIsReady: func(context.Context, *v1alpha1.Ingress) (bool, error) { return true, nil },
	}
}

// MakeFactory returns a table-test factory that seeds fake networking,
// Istio and Kubernetes clients with the row's objects, records events, and
// builds the reconciler with ctor. Revisions, Knative Services and
// ServerlessPolicies are served by the listers only: SSM never writes them.
func MakeFactory(ctor Ctor) rtesting.Factory {
	return func(t *testing.T, r *rtesting.TableRow) (controller.Reconciler, rtesting.ActionRecorderList, rtesting.EventList) {
		ls, err := NewListers(r.Objects)
		if err != nil {
			t.Fatalf("NewListers: %v", err)
		}

		ctx := r.Ctx
		if ctx == nil {
			ctx = context.Background()
		}
		ctx = logging.WithLogger(ctx, logtesting.TestLogger(t))

		// Big enough that no row's events are dropped.
		recorder := record.NewFakeRecorder(64)
		ctx = controller.WithEventRecorder(ctx, recorder)

		ctx, networkingClient := fakenetworkingclient.With(ctx, ls.GetNetworkingObjects()...)
		ctx, istioClient := fakeistioclient.With(ctx, ls.GetIstioObjects()...)
		ctx, kubeClient := fakekubeclient.With(ctx, ls.GetKubeObjects()...)

		if GetStatusManager(ctx) == nil {
			ctx = WithStatusManager(ctx, AlwaysReady())
		}

		for _, reactor := range r.WithReactors {
			networkingClient.PrependReactor("*", "*", reactor)
			istioClient.PrependReactor("*", "*", reactor)
			kubeClient.PrependReactor("*", "*", reactor)
		}
		// KIngress writes must pass the KIngress webhook's validation.
		networkingClient.PrependReactor("create", "*", func(action ktesting.Action) (bool, runtime.Object, error) {
			return rtesting.ValidateCreates(context.Background(), action)
		})
		networkingClient.PrependReactor("update", "*", func(action ktesting.Action) (bool, runtime.Object, error) {
			return rtesting.ValidateUpdates(context.Background(), action)
		})

		c := ctor(ctx, ls, configmap.NewStaticWatcher())
		r.Ctx = ctx

		// The generated reconciler does nothing until it leads.
		if la, ok := c.(pkgreconciler.LeaderAware); ok {
			if err := la.Promote(pkgreconciler.UniversalBucket(), func(pkgreconciler.Bucket, types.NamespacedName) {}); err != nil {
				t.Fatalf("Promote: %v", err)
			}
		}

		return c, rtesting.ActionRecorderList{networkingClient, istioClient, kubeClient}, rtesting.EventList{Recorder: recorder}
	}
}
