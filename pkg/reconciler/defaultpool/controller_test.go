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

package defaultpool

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/configmap"
	rtesting "knative.dev/pkg/reconciler/testing"
	_ "knative.dev/pkg/system/testing" // sets SYSTEM_NAMESPACE

	_ "github.com/serverless-mesh/ssm/pkg/client/injection/client/fake"
	_ "github.com/serverless-mesh/ssm/pkg/client/injection/informers/ssm/v1alpha1/proxypool/fake"
)

// TestNewController wires the controller the way sharedmain does, with fake
// informers: a missing informer panics here, and so does watching a
// ConfigMap other than config-ssm (the static watcher knows only that one).
// Observing config-ssm must queue the one key.
func TestNewController(t *testing.T) {
	t.Parallel()
	ctx, _ := rtesting.SetupFakeContext(t)
	cmw := configmap.NewStaticWatcher(&corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "config-ssm", Namespace: "knative-testing"},
	})
	impl := NewController(ctx, cmw)
	if impl == nil {
		t.Fatal("NewController() returned no controller")
	}
	if got := impl.WorkQueue().Len(); got != 1 {
		t.Errorf("keys queued after config-ssm was observed = %d, want 1", got)
	}
}
