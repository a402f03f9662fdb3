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
	"fmt"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"
	"knative.dev/pkg/tracker"

	"github.com/serverless-mesh/ssm/pkg/leaseroute"
	"github.com/serverless-mesh/ssm/pkg/policy"
	"github.com/serverless-mesh/ssm/pkg/reconciler/ingress/resources"
)

// leasedBackends are the SSM backends of ing whose lease Service (kept by
// the lease route controller for revisions whose pods have no sidecar) has
// a ready endpoint: pooled proxies or Knative's activator. Their splits go
// there. Routing there only once an endpoint exists means a new lease
// Service never takes traffic while it is still empty; a revision whose
// pods regain their sidecar loses its lease Service and comes back to
// Knative's public Service.
func (r *Reconciler) leasedBackends(ing *v1alpha1.Ingress, policies map[resources.Backend]policy.Policy) (sets.Set[resources.Backend], error) {
	out := sets.New[resources.Backend]()
	for b := range policies {
		sel := leaseroute.SliceLabels(b.Name)
		if err := r.tracker.TrackReference(tracker.Reference{
			APIVersion: discoveryv1.SchemeGroupVersion.String(),
			Kind:       "EndpointSlice",
			Namespace:  b.Namespace,
			Selector:   &metav1.LabelSelector{MatchLabels: sel},
		}, ing); err != nil {
			return nil, fmt.Errorf("tracking the lease Service of %s/%s: %w", b.Namespace, b.Name, err)
		}
		slices, err := r.leaseSliceLister.EndpointSlices(b.Namespace).List(labels.SelectorFromSet(sel))
		if err != nil {
			return nil, fmt.Errorf("listing the slices of lease Service %s/%s: %w", b.Namespace, leaseroute.ServiceName(b.Name), err)
		}
		if leaseroute.HasReadyEndpoint(slices) {
			out.Insert(b)
		}
	}
	return out, nil
}
