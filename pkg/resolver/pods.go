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

package resolver

import (
	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	"github.com/serverless-mesh/ssm/pkg/policy"
)

// Pods is what a revision's pods are born with. It cannot follow a policy
// that changes later: removing a sidecar, or adding one, means new pods, and
// Knative makes new pods only for a new revision. So it is decided once, when
// the Revision is admitted, and stamped on it.
type Pods struct {
	// Sidecarless pods run without an Istio sidecar; their queue-proxy
	// plugin terminates mTLS.
	Sidecarless bool
	// ProxyPool is the pool that may lease a proxy for the revision; "" when
	// none may. Only sidecar-less pods accept a pooled proxy: a pod that kept
	// its sidecar has no plugin listening for the proxy's mTLS.
	ProxyPool string
	// Unleasable says why no pool may lease for the revision ("" when one
	// may), for ssm-pool's NOT_POOLED answer and the activator's logs.
	Unleasable string
}

// Reasons a revision may not be leased.
const (
	UnleasableNotGoverned = "no ssm.dev/* annotation and no ServerlessPolicy governs it"
	UnleasableSwitchOff   = "config-ssm's sidecarless-revisions is off, so its pods keep their Istio sidecar"
	UnleasableSidecar     = "its pods were created with their Istio sidecar (config-ssm's sidecarless-revisions off, full mTLS, or long-lived without a named pool)"
	UnleasablePolicy      = "its policy keeps the Istio sidecar in its pods (full mTLS, or long-lived without a named pool)"
	UnleasableNoPool      = "its policy names no proxy pool"
	UnleasableNotStamped  = "it was admitted without SSM's decision (ssm-webhook was unavailable, or the revision predates it), so its pods keep their Istio sidecar"
)

// NewPods decides what pods of a revision with policy p are born with:
// sidecar-less when config-ssm's switch is on and policy.Sidecarless holds,
// leasable when, on top of that, the policy names a pool.
func NewPods(p policy.Policy, sidecarlessRevisions bool) Pods {
	switch {
	case !sidecarlessRevisions:
		return Pods{Unleasable: UnleasableSwitchOff}
	case !policy.Sidecarless(p):
		return Pods{Unleasable: UnleasablePolicy}
	case p.ProxyPool == "" || p.ProxyPool == policy.NoProxyPool:
		return Pods{Sidecarless: true, Unleasable: UnleasableNoPool}
	default:
		return Pods{Sidecarless: true, ProxyPool: p.ProxyPool}
	}
}

// Stamp is the annotations that carry pods onto a Revision: the stamp is
// always present on a revision SSM admitted, so its absence is told apart
// from "keeps its sidecar".
func (p Pods) Stamp() map[string]string {
	pods := ssm.ResolvedPodsSidecar
	if p.Sidecarless {
		pods = ssm.ResolvedPodsSidecarless
	}
	out := map[string]string{ssm.ResolvedPodsAnnotationKey: pods}
	if p.ProxyPool != "" {
		out[ssm.ResolvedProxyPoolAnnotationKey] = p.ProxyPool
	}
	return out
}

// StampedPods reads the decision Stamp left in annotations (a Revision's, or
// its pods' or Deployment's, which Knative copies from it). A revision
// without a stamp, or with one this version does not know, keeps its
// sidecar and is never leased: that is what its pods were born with if SSM
// never saw them, and it can never be wrong in the unsafe direction.
func StampedPods(annotations map[string]string) Pods {
	switch annotations[ssm.ResolvedPodsAnnotationKey] {
	case ssm.ResolvedPodsSidecarless:
		pool := annotations[ssm.ResolvedProxyPoolAnnotationKey]
		if pool == "" || pool == policy.NoProxyPool {
			return Pods{Sidecarless: true, Unleasable: UnleasableNoPool}
		}
		return Pods{Sidecarless: true, ProxyPool: pool}
	case ssm.ResolvedPodsSidecar:
		if !policy.HasSSMAnnotations(annotations) {
			return Pods{Unleasable: UnleasableNotGoverned}
		}
		return Pods{Unleasable: UnleasableSidecar}
	default:
		return Pods{Unleasable: UnleasableNotStamped}
	}
}
