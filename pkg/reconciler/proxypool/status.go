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
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
)

// Reasons on a ProxyPool's conditions.
const (
	// ReasonNotOwned: an object of a name the pool needs exists and another
	// owner controls it; the pool writes nothing over it.
	ReasonNotOwned = "NotOwned"
	// ReasonInvalidName: the pool's name is not a valid label value.
	ReasonInvalidName = "InvalidName"
	// ReasonDeploying: the Deployment has not reported availability yet.
	ReasonDeploying = "Deploying"
	// ReasonPoolServerUnavailable: ssm-pool could not be asked for the
	// pool's counts.
	ReasonPoolServerUnavailable = "PoolServerUnavailable"
	// ReasonTooFewWarm: fewer proxies took ssm-pool's base configuration
	// than the pool keeps.
	ReasonTooFewWarm = "TooFewWarm"
)

// propagateDeploymentStatus carries the Deployment's Available condition,
// reason and message included, to DeploymentReady, and its ready replicas
// to readyProxies.
func propagateDeploymentStatus(pool *v1alpha1.ProxyPool, d *appsv1.Deployment) {
	pool.Status.ReadyProxies = d.Status.ReadyReplicas
	for _, c := range d.Status.Conditions {
		if c.Type != appsv1.DeploymentAvailable {
			continue
		}
		switch c.Status {
		case corev1.ConditionTrue:
			pool.Status.MarkDeploymentReady()
		case corev1.ConditionFalse:
			pool.Status.MarkDeploymentNotReady(c.Reason, "%s", c.Message)
		default:
			pool.GetConditionSet().Manage(&pool.Status).MarkUnknown(v1alpha1.ProxyPoolConditionDeploymentReady, c.Reason, "%s", c.Message)
		}
		return
	}
	pool.GetConditionSet().Manage(&pool.Status).MarkUnknown(v1alpha1.ProxyPoolConditionDeploymentReady,
		ReasonDeploying, "Deployment %s/%s has not reported its availability yet", d.Namespace, d.Name)
}

// propagateWarmth sets ProxiesWarm from the counts. The rule: warm + leased
// must reach minSize (the pool's replicas are never below it). Leased proxies
// count because they have ACKed the base configuration too, the API's
// definition of warm; a pool whose proxies are all leased is busy, not
// broken, and its Ready must not flip with load. Keeping idle proxies ahead
// of demand is the sizing model's headroom, not this condition's.
func propagateWarmth(pool *v1alpha1.ProxyPool) {
	minSize := *pool.Spec.MinSize
	warm, leased := pool.Status.WarmProxies, pool.Status.LeasedProxies
	if warm+leased >= minSize {
		pool.Status.MarkProxiesWarm()
		return
	}
	pool.Status.MarkProxiesNotWarm(ReasonTooFewWarm,
		"warm %d + leased %d proxies is below minSize %d: a cold start may find no warm proxy and take the plain Knative path",
		warm, leased, minSize)
}

// markProxiesWarmUnknown says why the counts could not be read; the counts
// on the status are the last ones read.
func markProxiesWarmUnknown(pool *v1alpha1.ProxyPool, why string) {
	pool.GetConditionSet().Manage(&pool.Status).MarkUnknown(v1alpha1.ProxyPoolConditionProxiesWarm,
		ReasonPoolServerUnavailable, "%s; warmProxies and leasedProxies are the last counts read", why)
}
