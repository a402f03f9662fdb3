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

package lifecycle

import (
	"context"
	"fmt"
	"slices"

	apierrs "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
	"knative.dev/pkg/controller"
	pkgreconciler "knative.dev/pkg/reconciler"
	"knative.dev/serving/pkg/apis/autoscaling"
	autoscalingv1alpha1 "knative.dev/serving/pkg/apis/autoscaling/v1alpha1"
	"knative.dev/serving/pkg/apis/serving"
	palisters "knative.dev/serving/pkg/client/listers/autoscaling/v1alpha1"
	servinglisters "knative.dev/serving/pkg/client/listers/serving/v1"
	"knative.dev/serving/pkg/networking"

	"github.com/serverless-mesh/ssm/pkg/pool/revision"
)

// Reconciler reads a revision, its KPA PodAutoscaler and its private
// Endpoints from informer caches and hands what it saw to the History. It
// writes nothing to the API server: no status, no finalizer, no event.
//
// It is LeaderAware only because sharedmain requires every reconciler to be
// under leader election; it never asks whether it leads and observes every
// revision on every replica. That is safe because it writes nothing to the
// API server, and required because each replica keeps its own History:
// whichever replica leads the ProxyPool reconciler, or a KIngress's bucket,
// must read a History that saw every revision. Promotion has nothing to
// catch up on, so there is no PromoteFunc.
type Reconciler struct {
	pkgreconciler.LeaderAwareFuncs

	paLister        palisters.PodAutoscalerLister
	revisionLister  servinglisters.RevisionLister
	endpointsLister corev1listers.EndpointsLister
	history         *History
	clock           clock.PassiveClock
}

var (
	_ controller.Reconciler     = (*Reconciler)(nil)
	_ pkgreconciler.LeaderAware = (*Reconciler)(nil)
)

// Reconcile observes the revision named by key ("namespace/name").
func (r *Reconciler) Reconcile(_ context.Context, key string) error {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return controller.NewPermanentError(fmt.Errorf("invalid revision key %q: %w", key, err))
	}
	rk := revision.Key{Namespace: namespace, Name: name}

	rev, err := r.revisionLister.Revisions(namespace).Get(name)
	if apierrs.IsNotFound(err) {
		r.history.Forget(rk)
		return nil
	} else if err != nil {
		return fmt.Errorf("get revision %s: %w", rk, err)
	}

	// Knative names a revision's PodAutoscaler after the revision.
	pa, err := r.paLister.PodAutoscalers(namespace).Get(name)
	if apierrs.IsNotFound(err) || (err == nil && !isKPA(pa)) {
		// Not scaled by the KPA (yet, or ever): nothing to observe.
		r.history.Forget(rk)
		return nil
	} else if err != nil {
		return fmt.Errorf("get PodAutoscaler %s: %w", rk, err)
	}

	ready, err := r.readyAddresses(namespace, name)
	if err != nil {
		return fmt.Errorf("list private endpoints of revision %s: %w", rk, err)
	}
	r.history.update(rk, observedRevision{
		Annotations:  rev.Annotations,
		DesiredScale: desiredScale(pa),
		ReadyIPs:     ready,
	}, r.clock.Now())
	return nil
}

// isKPA reports whether pa is scaled by Knative's own autoscaler, the only
// class that scales to zero through the activator.
func isKPA(pa *autoscalingv1alpha1.PodAutoscaler) bool {
	return pa.Annotations[autoscaling.ClassAnnotationKey] == autoscaling.KPA
}

// desiredScale is the PA's status.desiredScale, -1 when unset.
//
// It is the signal for scale-from-zero because the KPA sets it from the
// activator's first request statistic, before any pod exists; ActualScale
// only moves once a pod is ready (it is what time-to-ready ends on, through
// the Endpoints instead), the Active condition's "Activating" also covers
// scaling up from a non-zero scale, and the SKS's Proxy mode also means
// "burst capacity exhausted" with pods running.
func desiredScale(pa *autoscalingv1alpha1.PodAutoscaler) int32 {
	if pa.Status.DesiredScale == nil {
		return -1
	}
	return *pa.Status.DesiredScale
}

// readyAddresses lists the ready pod IPs of the revision's private
// Endpoints, the ones Knative's activator routes to. The Endpoints API (not
// EndpointSlices) is read because it is what the activator of this Knative
// version reads, and the controller already watches it for the ingress.
func (r *Reconciler) readyAddresses(namespace, name string) ([]string, error) {
	selector := labels.SelectorFromSet(labels.Set{
		serving.RevisionLabelKey:  name,
		networking.ServiceTypeKey: string(networking.ServiceTypePrivate),
	})
	list, err := r.endpointsLister.Endpoints(namespace).List(selector)
	if err != nil {
		return nil, err
	}
	var ips []string
	for _, eps := range list {
		for _, subset := range eps.Subsets {
			for _, addr := range subset.Addresses {
				ips = append(ips, addr.IP)
			}
		}
	}
	slices.Sort(ips)
	return slices.Compact(ips), nil
}
