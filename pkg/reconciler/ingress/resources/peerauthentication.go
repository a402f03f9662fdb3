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
	istiosecurityv1beta1 "istio.io/api/security/v1beta1"
	istiotypev1beta1 "istio.io/api/type/v1beta1"
	"istio.io/client-go/pkg/apis/security/v1beta1"
	"k8s.io/apimachinery/pkg/util/sets"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"
	"knative.dev/serving/pkg/apis/serving"

	"github.com/serverless-mesh/ssm/pkg/policy"
	"github.com/serverless-mesh/ssm/pkg/reconciler/ingress/resources/names"
)

// MakePeerAuthentications builds, for each backend of ing whose policy is
// full mTLS, a PeerAuthentication in the backend's namespace that makes the
// revision's pods accept only mutual TLS: STRICT, selecting the pods by
// Knative's revision label. Sorted by namespace and name, like
// MakeDestinationRules, and named like the backend's DestinationRule.
//
// The DestinationRule's ISTIO_MUTUAL makes SSM's routes speak mTLS to the
// pods; only this makes the pods refuse everyone else's plaintext, which
// Istio's default PERMISSIVE mode accepts. A leased backend gets none: its
// pods are sidecar-less (the queue-proxy plugin refuses plaintext itself),
// and full mode is never leased.
//
// The whole workload is STRICT, the metrics ports included: in a mesh,
// Knative's activator and autoscaler reach a pod they cannot reach directly
// through its private Service, over their sidecars, as Knative's own STRICT
// setup does.
func MakePeerAuthentications(ing *v1alpha1.Ingress, policies map[Backend]policy.Policy, leased sets.Set[Backend]) []*v1beta1.PeerAuthentication {
	var pas []*v1beta1.PeerAuthentication
	for _, b := range ReferencedBackends(ing) {
		p, ok := policies[b]
		if !ok || p.MTLSMode != policy.MTLSFull || leased.Has(b) {
			continue
		}
		pa := &v1beta1.PeerAuthentication{
			ObjectMeta: objectMeta(ing, b.Namespace, names.DestinationRule(ing, b.Namespace, b.Name)),
		}
		pa.Annotations = map[string]string{RevisionAnnotationKey: b.Name}
		pa.Spec.Selector = &istiotypev1beta1.WorkloadSelector{MatchLabels: map[string]string{serving.RevisionLabelKey: b.Name}}
		pa.Spec.Mtls = &istiosecurityv1beta1.PeerAuthentication_MutualTLS{Mode: istiosecurityv1beta1.PeerAuthentication_MutualTLS_STRICT}
		pas = append(pas, pa)
	}
	return pas
}
