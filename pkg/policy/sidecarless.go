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

package policy

// Sidecarless reports whether a revision with policy p runs without an
// Istio sidecar, its queue-proxy terminating mTLS itself. Full mTLS needs
// the sidecar, and a long-lived revision without a pooled proxy keeps it
// because nothing else would terminate mTLS in front of it. The Deployment
// webhook removes the sidecar by this rule and the activator upgrades its
// requests to mTLS by the same one: were they to disagree, a pod would
// refuse the activator's plaintext.
func Sidecarless(p Policy) bool {
	return p.MTLSMode == MTLSLightweight && (p.Lifecycle == LifecycleShortLived || namedPool(p.ProxyPool))
}

// SidecarlessRevision applies Sidecarless to a revision as the Deployment
// webhook sees it: from its ssm.dev/* annotations and config-ssm's defaults
// and sidecarless-revisions switch, nothing else (no ServerlessPolicy, no
// observation). A revision without ssm.dev/* annotations, or whose
// annotations or policy do not resolve, keeps its sidecar. It returns the
// resolved policy when the answer is yes.
func SidecarlessRevision(annotations map[string]string, d Defaults, sidecarlessRevisions bool) (Policy, bool) {
	if !sidecarlessRevisions || !HasSSMAnnotations(annotations) {
		return Policy{}, false
	}
	overrides, ferr := ParseAnnotations(annotations)
	if ferr != nil {
		return Policy{}, false
	}
	p, err := Resolve(Input{Annotations: overrides, Defaults: d})
	if err != nil || !Sidecarless(p) {
		return Policy{}, false
	}
	return p, true
}

// Leasable reports whether a revision may be served through a pooled
// proxy: its pods run without a sidecar, so their queue-proxy plugin takes
// the proxy's mTLS, and its policy names a pool. A pod that kept its
// sidecar has nothing listening on the plugin's port, and a proxy leased
// for it would refuse every request. The activator asks for a lease, and
// ssm-pool grants one, only by this rule.
func Leasable(annotations map[string]string, d Defaults, sidecarlessRevisions bool) bool {
	p, ok := SidecarlessRevision(annotations, d, sidecarlessRevisions)
	return ok && namedPool(p.ProxyPool)
}
