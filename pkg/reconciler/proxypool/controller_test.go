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

package proxypool

import (
	"context"
	"testing"

	_ "knative.dev/pkg/client/injection/kube/client/fake"
	_ "knative.dev/pkg/client/injection/kube/informers/apps/v1/deployment/filtered/fake"
	_ "knative.dev/pkg/client/injection/kube/informers/core/v1/configmap/filtered/fake"
	_ "knative.dev/pkg/client/injection/kube/informers/core/v1/pod/filtered/fake"
	_ "knative.dev/pkg/client/injection/kube/informers/core/v1/secret/filtered/fake"
	_ "knative.dev/pkg/client/injection/kube/informers/core/v1/service/filtered/fake"
	_ "knative.dev/pkg/client/injection/kube/informers/core/v1/serviceaccount/filtered/fake"
	filteredfactory "knative.dev/pkg/client/injection/kube/informers/factory/filtered"
	_ "knative.dev/pkg/client/injection/kube/informers/factory/filtered/fake"
	_ "knative.dev/pkg/client/injection/kube/informers/policy/v1/poddisruptionbudget/filtered/fake"
	"knative.dev/pkg/configmap"
	rtesting "knative.dev/pkg/reconciler/testing"

	_ "github.com/serverless-mesh/ssm/pkg/client/injection/client/fake"
	_ "github.com/serverless-mesh/ssm/pkg/client/injection/informers/ssm/v1alpha1/proxypool/fake"
	"github.com/serverless-mesh/ssm/pkg/reconciler/proxypool/resources"
)

// TestNewController wires the controller the way sharedmain does, with fake
// informers: a missing informer or selector panics here, not in a cluster.
func TestNewController(t *testing.T) {
	t.Parallel()
	ctx, _ := rtesting.SetupFakeContext(t, func(ctx context.Context) context.Context {
		return filteredfactory.WithSelectors(ctx, ObjectLabelSelector, IdentityLabelSelector)
	})
	impl := NewController(resources.DefaultConfig(), &fakeSizer{}, fakeStats{})(ctx, configmap.NewStaticWatcher())
	if impl == nil {
		t.Fatal("NewController() returned no controller")
	}
	if impl.Name == "" {
		t.Error("the controller has no name")
	}
}
