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
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgotesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
	rtesting "knative.dev/pkg/reconciler/testing"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
)

const (
	deploying      = "Deployment fns/ssm-proxy-default has not reported its availability yet"
	minAvailable   = "Deployment has minimum availability."
	noneWarmOfTwo  = "warm 0 + leased 0 proxies is below minSize 2: a cold start may find no warm proxy and take the plain Knative path"
	notOwnedDeploy = `There is an existing Deployment "fns/ssm-proxy-default" that we do not own.`
)

var (
	tenSeconds = requeue{Pool: types.NamespacedName{Namespace: ns, Name: poolName}, After: 10 * time.Second}

	availableTwo = available(corev1.ConditionTrue, "MinimumReplicasAvailable", minAvailable, 2)
)

func updated(objs ...runtime.Object) []clientgotesting.UpdateActionImpl {
	out := make([]clientgotesting.UpdateActionImpl, 0, len(objs))
	for _, o := range objs {
		out = append(out, clientgotesting.UpdateActionImpl{Object: o})
	}
	return out
}

// inPlace are a ready Fixed pool of two's objects as the API server holds
// them, the Deployment available with both pods ready.
func inPlace(t *testing.T) []runtime.Object {
	return []runtime.Object{
		bootstrapConfigMap(t),
		deployment(2, availableTwo),
		service(),
		podDisruptionBudget(),
	}
}

func TestReconcile(t *testing.T) {
	t.Parallel()
	historyReason := "3 concurrent cold starts predicted for 09:00-10:00, +25% headroom"

	table := rtesting.TableTest{{
		Name:    "creates the bootstrap, Deployment, Service and PodDisruptionBudget",
		Key:     poolKey,
		Ctx:     withDeps(&deps{stats: fakeStats{}}),
		Objects: []runtime.Object{proxyPool()},
		WantCreates: []runtime.Object{
			bootstrapConfigMap(t),
			deployment(2),
			service(),
			podDisruptionBudget(),
		},
		WantStatusUpdates: updated(proxyPool(withStatus(poolStatus(2, 0, 0, 0, "sizing policy Fixed: minSize 2 (was 0)", conditions(
			cond{corev1.ConditionUnknown, "Deploying", deploying},
			cond{corev1.ConditionFalse, "TooFewWarm", noneWarmOfTwo},
			cond{corev1.ConditionFalse, "TooFewWarm", noneWarmOfTwo},
		))))),
		PostConditions: []func(*testing.T, *rtesting.TableRow){requeuedAfter(tenSeconds)},
	}, {
		Name:           "everything in place: no write at all",
		Key:            poolKey,
		Ctx:            withDeps(&deps{stats: fakeStats{warm: 2}}),
		Objects:        append([]runtime.Object{proxyPool(withStatus(readyStatus()))}, inPlace(t)...),
		PostConditions: []func(*testing.T, *rtesting.TableRow){requeuedAfter(tenSeconds)},
	}, {
		Name: "what the API server defaults and other writers add is not drift",
		Key:  poolKey,
		Ctx:  withDeps(&deps{stats: fakeStats{warm: 2}}),
		Objects: []runtime.Object{
			proxyPool(withStatus(readyStatus())),
			func() *corev1.ConfigMap {
				cm := bootstrapConfigMap(t)
				cm.ResourceVersion = "5"
				cm.Annotations = map[string]string{"team": "edge"}
				return cm
			}(),
			deployment(2, availableTwo, deploymentDefaults),
			service(serviceDefaults),
			podDisruptionBudget(),
		},
	}, {
		Name: "a drifted Deployment is put back, keeping what others added",
		Key:  poolKey,
		Ctx:  withDeps(&deps{stats: fakeStats{warm: 2}}),
		Objects: []runtime.Object{
			proxyPool(withStatus(readyStatus())),
			bootstrapConfigMap(t),
			deployment(5, availableTwo, deploymentDefaults, func(d *appsv1.Deployment) {
				d.Spec.Template.Spec.Containers[0].Image = "envoyproxy/envoy:dev"
				d.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] = "2026-03-01T08:00:00Z"
			}),
			service(),
			podDisruptionBudget(),
		},
		// The template is ours again (its server defaults return when the
		// API server stores it); the rest of the object is kept.
		WantUpdates: updated(deployment(2, availableTwo, func(d *appsv1.Deployment) {
			d.ResourceVersion = "7"
			d.Generation = 1
			d.Annotations = map[string]string{"deployment.kubernetes.io/revision": "1"}
			d.Spec.RevisionHistoryLimit = ptr.To[int32](10)
			d.Spec.ProgressDeadlineSeconds = ptr.To[int32](600)
			d.Spec.Template.Annotations = map[string]string{
				"sidecar.istio.io/inject":            "false",
				"proxypool.ssm.dev/bootstrap-sha256": bootstrapHash,
				"kubectl.kubernetes.io/restartedAt":  "2026-03-01T08:00:00Z",
			}
		})),
		PostConditions: []func(*testing.T, *rtesting.TableRow){requeuedAfter(tenSeconds)},
	}, {
		Name: "resources removed from the spec are removed from the pods",
		Key:  poolKey,
		Ctx:  withDeps(&deps{stats: fakeStats{warm: 2}}),
		Objects: []runtime.Object{
			proxyPool(withStatus(readyStatus())),
			bootstrapConfigMap(t),
			deployment(2, availableTwo, withContainerResources(envoyResources)),
			service(),
			podDisruptionBudget(),
		},
		WantUpdates: updated(deployment(2, availableTwo)),
	}, {
		Name: "resources added to the spec reach the pods",
		Key:  poolKey,
		Ctx:  withDeps(&deps{stats: fakeStats{warm: 2}}),
		Objects: append([]runtime.Object{
			proxyPool(withResources(envoyResources), withStatus(readyStatus())),
		}, inPlace(t)...),
		WantUpdates: updated(deployment(2, availableTwo, withContainerResources(envoyResources))),
	}, {
		Name: "an edited bootstrap is put back, keeping others' labels",
		Key:  poolKey,
		Ctx:  withDeps(&deps{stats: fakeStats{warm: 2}}),
		Objects: []runtime.Object{
			proxyPool(withStatus(readyStatus())),
			func() *corev1.ConfigMap {
				cm := bootstrapConfigMap(t)
				cm.Labels = map[string]string{"app.kubernetes.io/managed-by": "ssm", "ssm.dev/proxy-pool": "default", "team": "edge"}
				cm.Data["bootstrap.yaml"] = "admin: {}\n"
				return cm
			}(),
			deployment(2, availableTwo),
			service(),
			podDisruptionBudget(),
		},
		WantUpdates: updated(func() *corev1.ConfigMap {
			cm := bootstrapConfigMap(t)
			cm.Labels = map[string]string{"app.kubernetes.io/managed-by": "ssm", "ssm.dev/proxy-pool": "default", "team": "edge"}
			return cm
		}()),
	}, {
		Name: "a Deployment another owner controls is not written",
		Key:  poolKey,
		Ctx:  withDeps(&deps{stats: fakeStats{warm: 2}}),
		Objects: []runtime.Object{
			proxyPool(withStatus(readyStatus())),
			bootstrapConfigMap(t),
			deployment(2, func(d *appsv1.Deployment) {
				d.OwnerReferences = []metav1.OwnerReference{{
					APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "someone-else", UID: "other-uid", Controller: ptr.To(true),
				}}
			}),
		},
		WantErr: true,
		WantStatusUpdates: updated(proxyPool(withStatus(poolStatus(2, 2, 2, 0, "sizing policy Fixed: minSize 2 (was 0)", conditions(
			cond{corev1.ConditionFalse, "NotOwned", notOwnedDeploy},
			isTrue,
			cond{corev1.ConditionFalse, "NotOwned", notOwnedDeploy},
		))))),
		WantEvents: []string{
			rtesting.Eventf(corev1.EventTypeWarning, "InternalError", "Deployment fns/ssm-proxy-default exists and is not owned by this ProxyPool"),
		},
		PostConditions: []func(*testing.T, *rtesting.TableRow){requeuedAfter()},
	}, {
		Name: "a Deployment without the pool label is found on the API server and not written",
		Key:  poolKey,
		Ctx:  withDeps(&deps{stats: fakeStats{warm: 2}}),
		Objects: []runtime.Object{
			proxyPool(withStatus(readyStatus())),
			bootstrapConfigMap(t),
			&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: proxyName}},
		},
		WantErr: true,
		// The create is how the name is found taken.
		WantCreates: []runtime.Object{deployment(2)},
		WantStatusUpdates: updated(proxyPool(withStatus(poolStatus(2, 2, 2, 0, "sizing policy Fixed: minSize 2 (was 0)", conditions(
			cond{corev1.ConditionFalse, "NotOwned", notOwnedDeploy},
			isTrue,
			cond{corev1.ConditionFalse, "NotOwned", notOwnedDeploy},
		))))),
		WantEvents: []string{
			rtesting.Eventf(corev1.EventTypeWarning, "InternalError", "Deployment fns/ssm-proxy-default exists and is not owned by this ProxyPool"),
		},
	}, {
		Name: "History: the sizing model's answer sets replicas and says why",
		Key:  poolKey,
		Ctx:  withDeps(&deps{sizer: &fakeSizer{replicas: 4, reason: historyReason}, stats: fakeStats{warm: 2}}),
		Objects: append([]runtime.Object{
			proxyPool(withPolicy(v1alpha1.SizingHistory), withSizes(1, 10), withStatus(readyStatus())),
		}, inPlace(t)...),
		WantUpdates: updated(deployment(4, availableTwo)),
		WantStatusUpdates: updated(proxyPool(withPolicy(v1alpha1.SizingHistory), withSizes(1, 10), withStatus(poolStatus(4, 2, 2, 0,
			"sizing policy History: 3 concurrent cold starts predicted for 09:00-10:00, +25% headroom (was 2)",
			conditions(isTrue, isTrue, isTrue))))),
		PostConditions: []func(*testing.T, *rtesting.TableRow){
			sizerAsked(sizerCall{Pool: types.NamespacedName{Namespace: ns, Name: poolName}, MinSize: 1, MaxSize: 10, Headroom: 25,
				IdleTimeout: 5 * time.Minute, Now: fixedNow}),
			requeuedAfter(tenSeconds),
		},
	}, {
		Name: "History: the model is told the pool's idle timeout and the proxies ssm-pool last reported leased",
		Key:  poolKey,
		Ctx:  withDeps(&deps{sizer: &fakeSizer{replicas: 4, reason: historyReason}, stats: fakeStats{warm: 2, leased: 3}}),
		Objects: append([]runtime.Object{
			proxyPool(withPolicy(v1alpha1.SizingHistory), withSizes(1, 10), withIdleTimeout(2*time.Minute),
				withStatus(poolStatus(2, 2, 2, 3, "sizing policy Fixed: minSize 2 (was 0)", conditions(isTrue, isTrue, isTrue)))),
		}, inPlace(t)...),
		WantUpdates: updated(deployment(4, availableTwo)),
		WantStatusUpdates: updated(proxyPool(withPolicy(v1alpha1.SizingHistory), withSizes(1, 10), withIdleTimeout(2*time.Minute),
			withStatus(poolStatus(4, 2, 2, 3,
				"sizing policy History: 3 concurrent cold starts predicted for 09:00-10:00, +25% headroom (was 2)",
				conditions(isTrue, isTrue, isTrue))))),
		PostConditions: []func(*testing.T, *rtesting.TableRow){
			sizerAsked(sizerCall{Pool: types.NamespacedName{Namespace: ns, Name: poolName}, MinSize: 1, MaxSize: 10, Headroom: 25,
				IdleTimeout: 2 * time.Minute, Leased: 3, Now: fixedNow}),
			requeuedAfter(tenSeconds),
		},
	}, {
		// A scale-down removes the cheapest pods first: leased proxies are
		// marked, a proxy whose lease ended loses the mark, and a cost
		// someone else set is left alone.
		Name: "the pods of leased proxies are marked to be removed last",
		Key:  poolKey,
		Ctx:  withDeps(&deps{stats: fakeStats{warm: 1, leased: 1, leasedProxies: []string{"ssm-proxy-default-a"}}}),
		Objects: append([]runtime.Object{
			proxyPool(withStatus(readyStatus())),
			poolPod("ssm-proxy-default-a", nil),
			poolPod("ssm-proxy-default-b", map[string]string{"controller.kubernetes.io/pod-deletion-cost": "1000"}),
			poolPod("ssm-proxy-default-c", map[string]string{"controller.kubernetes.io/pod-deletion-cost": "5"}),
		}, inPlace(t)...),
		WantPatches: []clientgotesting.PatchActionImpl{{
			ActionImpl: clientgotesting.ActionImpl{Namespace: ns},
			Name:       "ssm-proxy-default-a",
			Patch:      []byte(`{"metadata":{"annotations":{"controller.kubernetes.io/pod-deletion-cost":"1000"}}}`),
		}, {
			ActionImpl: clientgotesting.ActionImpl{Namespace: ns},
			Name:       "ssm-proxy-default-b",
			Patch:      []byte(`{"metadata":{"annotations":{"controller.kubernetes.io/pod-deletion-cost":null}}}`),
		}},
		WantStatusUpdates: updated(proxyPool(withStatus(poolStatus(2, 2, 1, 1, "sizing policy Fixed: minSize 2 (was 0)",
			conditions(isTrue, isTrue, isTrue))))),
	}, {
		Name: "History: an answer above maxSize is capped",
		Key:  poolKey,
		Ctx:  withDeps(&deps{sizer: &fakeSizer{replicas: 50, reason: "burst"}, stats: fakeStats{warm: 2}}),
		Objects: append([]runtime.Object{
			proxyPool(withPolicy(v1alpha1.SizingHistory), withSizes(1, 10), withStatus(readyStatus())),
		}, inPlace(t)...),
		WantUpdates: updated(deployment(10, availableTwo)),
		WantStatusUpdates: updated(proxyPool(withPolicy(v1alpha1.SizingHistory), withSizes(1, 10), withStatus(poolStatus(10, 2, 2, 0,
			"sizing policy History: burst; 50 capped at maxSize 10 (was 2)", conditions(isTrue, isTrue, isTrue))))),
	}, {
		Name: "History: an answer below minSize is raised",
		Key:  poolKey,
		Ctx:  withDeps(&deps{sizer: &fakeSizer{replicas: 0, reason: "idle for 6h"}, stats: fakeStats{warm: 2}}),
		Objects: append([]runtime.Object{
			proxyPool(withPolicy(v1alpha1.SizingHistory), withSizes(1, 10), withStatus(readyStatus())),
		}, inPlace(t)...),
		WantUpdates: updated(deployment(1, availableTwo)),
		WantStatusUpdates: updated(proxyPool(withPolicy(v1alpha1.SizingHistory), withSizes(1, 10), withStatus(poolStatus(1, 2, 2, 0,
			"sizing policy History: idle for 6h; 0 raised to minSize 1 (was 2)", conditions(isTrue, isTrue, isTrue))))),
	}, {
		Name: "History: the same size for a new reason writes nothing",
		Key:  poolKey,
		Ctx:  withDeps(&deps{sizer: &fakeSizer{replicas: 2, reason: "a different reason"}, stats: fakeStats{warm: 2}}),
		Objects: append([]runtime.Object{
			proxyPool(withPolicy(v1alpha1.SizingHistory), withSizes(1, 10), withStatus(readyStatus())),
		}, inPlace(t)...),
	}, {
		Name: "Fixed: minSize, and the sizing model is not asked",
		Key:  poolKey,
		Ctx:  withDeps(&deps{sizer: &fakeSizer{replicas: 7, reason: "unused"}, stats: fakeStats{warm: 2}}),
		Objects: append([]runtime.Object{
			proxyPool(withSizes(3, 10), withStatus(readyStatus())),
		}, inPlace(t)...),
		WantUpdates: updated(deployment(3, availableTwo)),
		WantStatusUpdates: updated(proxyPool(withSizes(3, 10), withStatus(poolStatus(3, 2, 2, 0,
			"sizing policy Fixed: minSize 3 (was 2)", conditions(
				isTrue,
				cond{corev1.ConditionFalse, "TooFewWarm", "warm 2 + leased 0 proxies is below minSize 3: a cold start may find no warm proxy and take the plain Knative path"},
				cond{corev1.ConditionFalse, "TooFewWarm", "warm 2 + leased 0 proxies is below minSize 3: a cold start may find no warm proxy and take the plain Knative path"},
			))))),
		PostConditions: []func(*testing.T, *rtesting.TableRow){sizerAsked()},
	}, {
		Name: "ssm-pool unreachable: the last counts stay, ProxiesWarm turns Unknown",
		Key:  poolKey,
		Ctx: withDeps(&deps{stats: fakeStats{
			warm: 9, leased: 9, err: errors.New("rpc error: code = Unavailable desc = connection refused"),
		}}),
		Objects: append([]runtime.Object{
			proxyPool(withStatus(poolStatus(2, 2, 1, 1, "sizing policy Fixed: minSize 2 (was 0)", conditions(isTrue, isTrue, isTrue)))),
		}, inPlace(t)...),
		WantStatusUpdates: updated(proxyPool(withStatus(poolStatus(2, 2, 1, 1, "sizing policy Fixed: minSize 2 (was 0)", conditions(
			isTrue,
			cond{corev1.ConditionUnknown, "PoolServerUnavailable", poolServerDown},
			cond{corev1.ConditionUnknown, "PoolServerUnavailable", poolServerDown},
		))))),
		PostConditions: []func(*testing.T, *rtesting.TableRow){requeuedAfter(tenSeconds)},
	}, {
		Name: "Deployment available and proxies warm: DeploymentReady and Ready turn true",
		Key:  poolKey,
		// Leased proxies count: they took the base configuration too.
		Ctx: withDeps(&deps{stats: fakeStats{warm: 1, leased: 1}}),
		Objects: append([]runtime.Object{
			proxyPool(withStatus(poolStatus(2, 0, 0, 0, "sizing policy Fixed: minSize 2 (was 0)", conditions(
				cond{corev1.ConditionUnknown, "Deploying", deploying},
				cond{corev1.ConditionFalse, "TooFewWarm", noneWarmOfTwo},
				cond{corev1.ConditionFalse, "TooFewWarm", noneWarmOfTwo},
			)))),
		}, inPlace(t)...),
		WantStatusUpdates: updated(proxyPool(withStatus(poolStatus(2, 2, 1, 1, "sizing policy Fixed: minSize 2 (was 0)",
			conditions(isTrue, isTrue, isTrue))))),
	}, {
		Name: "Deployment unavailable: its reason and message are carried over",
		Key:  poolKey,
		Ctx:  withDeps(&deps{stats: fakeStats{warm: 2}}),
		Objects: []runtime.Object{
			proxyPool(withStatus(readyStatus())),
			bootstrapConfigMap(t),
			deployment(2, available(corev1.ConditionFalse, "MinimumReplicasUnavailable", "Deployment does not have minimum availability.", 1)),
			service(),
			podDisruptionBudget(),
		},
		WantStatusUpdates: updated(proxyPool(withStatus(poolStatus(2, 1, 2, 0, "sizing policy Fixed: minSize 2 (was 0)", conditions(
			cond{corev1.ConditionFalse, "MinimumReplicasUnavailable", "Deployment does not have minimum availability."},
			isTrue,
			cond{corev1.ConditionFalse, "MinimumReplicasUnavailable", "Deployment does not have minimum availability."},
		))))),
	}, {
		Name:    "a failed create is retried",
		Key:     poolKey,
		Ctx:     withDeps(&deps{stats: fakeStats{}}),
		Objects: []runtime.Object{proxyPool(), bootstrapConfigMap(t)},
		WithReactors: []clientgotesting.ReactionFunc{
			rtesting.InduceFailure("create", "deployments"),
		},
		WantErr:     true,
		WantCreates: []runtime.Object{deployment(2)},
		WantStatusUpdates: updated(proxyPool(withStatus(poolStatus(2, 0, 0, 0, "sizing policy Fixed: minSize 2 (was 0)", conditions(
			cond{status: corev1.ConditionUnknown},
			cond{status: corev1.ConditionUnknown},
			cond{corev1.ConditionUnknown, "NewObservedGenFailure", "unsuccessfully observed a new generation"},
		))))),
		WantEvents: []string{
			rtesting.Eventf(corev1.EventTypeWarning, "InternalError",
				"creating Deployment fns/ssm-proxy-default: inducing failure for create deployments"),
		},
		PostConditions: []func(*testing.T, *rtesting.TableRow){requeuedAfter()},
	}, {
		Name: "a name that cannot label the pods is reported",
		Key:  ns + "/" + longName,
		Ctx:  withDeps(&deps{stats: fakeStats{}}),
		Objects: []runtime.Object{proxyPool(func(p *v1alpha1.ProxyPool) {
			p.Name = longName
		})},
		WantStatusUpdates: updated(proxyPool(func(p *v1alpha1.ProxyPool) {
			p.Name = longName
			p.Status = poolStatus(0, 0, 0, 0, "", conditions(
				cond{corev1.ConditionFalse, "InvalidName", invalidName},
				cond{status: corev1.ConditionUnknown},
				cond{corev1.ConditionFalse, "InvalidName", invalidName},
			))
		})),
		PostConditions: []func(*testing.T, *rtesting.TableRow){requeuedAfter()},
	}, {
		Name: "a deleted pool: nothing to do",
		Key:  poolKey,
	}}

	// Quantities compare by value: the table's default options ignore them.
	for i := range table {
		table[i].CmpOpts = append(table[i].CmpOpts, cmp.Comparer(func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 }))
	}
	table.Test(t, factory)
}

const poolServerDown = "reading the counts from ssm-pool: rpc error: code = Unavailable desc = connection refused; " +
	"warmProxies and leasedProxies are the last counts read"

var (
	longName    = strings.Repeat("p", 64)
	invalidName = `the ProxyPool's name "` + longName + `" labels its pods and must be a valid label value: must be no more than 63 bytes`
)
