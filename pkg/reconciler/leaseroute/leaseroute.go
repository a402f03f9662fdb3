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

package leaseroute

import (
	"context"
	"fmt"
	"slices"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrs "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/kubernetes"
	appsv1listers "k8s.io/client-go/listers/apps/v1"
	corev1listers "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	networkingv1listers "k8s.io/client-go/listers/networking/v1"
	"k8s.io/client-go/tools/cache"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/logging"
	pkgreconciler "knative.dev/pkg/reconciler"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	servinglisters "knative.dev/serving/pkg/client/listers/serving/v1"
	revisionnames "knative.dev/serving/pkg/reconciler/revision/resources/names"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	"github.com/serverless-mesh/ssm/pkg/leaseroute"
)

// ActivatorServiceName is Knative's activator Service in the system
// namespace; its slices are the fallback of every lease Service.
const ActivatorServiceName = "activator-service"

// Reconciler keeps one sidecar-less revision's lease Service, activator
// slice and NetworkPolicy. Only the leader of a revision's bucket writes
// them.
type Reconciler struct {
	pkgreconciler.LeaderAwareFuncs

	kube        kubernetes.Interface
	revisions   servinglisters.RevisionLister
	deployments appsv1listers.DeploymentLister
	// services and slices are SSM's own (filtered by its managed-by label).
	services        corev1listers.ServiceLister
	slices          discoverylisters.EndpointSliceLister
	networkPolicies networkingv1listers.NetworkPolicyLister
	// activatorSlices holds the activator Service's slices.
	activatorSlices discoverylisters.EndpointSliceLister
	// endpoints holds ssm-pool's Endpoints: which replicas are alive.
	endpoints corev1listers.EndpointsLister
	namespace string
}

var _ pkgreconciler.LeaderAware = (*Reconciler)(nil)

// Reconcile brings the revision's lease Service and activator slice in line
// with its Deployment, Knative's activator and what ssm-pool publishes. A
// replica that does not lead the revision's bucket writes nothing.
func (r *Reconciler) Reconcile(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return fmt.Errorf("invalid key %q: %w", key, err)
	}
	if !r.IsLeaderFor(types.NamespacedName{Namespace: ns, Name: name}) {
		return controller.NewSkipKey(key)
	}
	rev, err := r.revisions.Revisions(ns).Get(name)
	if apierrs.IsNotFound(err) {
		return nil // What it owned goes with it.
	} else if err != nil {
		return fmt.Errorf("getting revision %s: %w", key, err)
	}
	sidecarless, err := r.sidecarless(rev)
	if err != nil {
		return err
	}
	if !sidecarless {
		return r.remove(ctx, rev)
	}
	if err := r.ensureService(ctx, rev); err != nil {
		return err
	}
	if err := r.ensureNetworkPolicy(ctx, rev); err != nil {
		return err
	}
	leased, err := r.leased(ctx, rev)
	if err != nil {
		return err
	}
	activator, err := r.activatorSlices.EndpointSlices(r.namespace).List(labels.SelectorFromSet(labels.Set{
		discoveryv1.LabelServiceName: ActivatorServiceName,
	}))
	if err != nil {
		return fmt.Errorf("listing the slices of %s/%s: %w", r.namespace, ActivatorServiceName, err)
	}
	desired := leaseroute.MakeActivatorSlice(rev, activator, leased)
	if len(desired.Ports) == 0 {
		logging.FromContext(ctx).Warnw("Knative's activator Service has no IPv4 slice with the revision's port; "+
			"the lease Service has no fallback", "revision", key, "service", r.namespace+"/"+ActivatorServiceName)
	}
	return r.ensureSlice(ctx, desired)
}

// enqueueRevisions hands every revision to enq, which keeps those of bkt
// (knative.dev/pkg's Impl.MaybeEnqueueBucketKey): each may need its lease
// Service and activator slice created, updated or deleted.
func enqueueRevisions(revisions servinglisters.RevisionLister, bkt pkgreconciler.Bucket, enq func(pkgreconciler.Bucket, types.NamespacedName)) error {
	all, err := revisions.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("listing revisions: %w", err)
	}
	for _, rev := range all {
		enq(bkt, types.NamespacedName{Namespace: rev.Namespace, Name: rev.Name})
	}
	return nil
}

// sidecarless: the revision's Deployment runs the queue-proxy plugin, so
// its pods have no sidecar and the gateway must not reach them directly.
func (r *Reconciler) sidecarless(rev *servingv1.Revision) (bool, error) {
	dep, err := r.deployments.Deployments(rev.Namespace).Get(revisionnames.Deployment(rev))
	if apierrs.IsNotFound(err) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("getting the Deployment of revision %s/%s: %w", rev.Namespace, rev.Name, err)
	}
	return dep.Spec.Template.Annotations[ssm.QueueProxyPluginAnnotationKey] == "enable", nil
}

// remove deletes the lease Service, activator slice and NetworkPolicy of a
// revision whose pods have sidecars again. The KIngress reconciler routes to the lease
// Service only while it has a ready endpoint, so it moves back to Knative's
// public Service on this deletion.
func (r *Reconciler) remove(ctx context.Context, rev *servingv1.Revision) error {
	name := leaseroute.ServiceName(rev.Name)
	if _, err := r.services.Services(rev.Namespace).Get(name); err == nil {
		if err := r.kube.CoreV1().Services(rev.Namespace).Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrs.IsNotFound(err) {
			return fmt.Errorf("deleting lease Service %s/%s: %w", rev.Namespace, name, err)
		}
	}
	slice := leaseroute.ActivatorSliceName(rev.Name)
	if _, err := r.slices.EndpointSlices(rev.Namespace).Get(slice); err == nil {
		if err := r.kube.DiscoveryV1().EndpointSlices(rev.Namespace).Delete(ctx, slice, metav1.DeleteOptions{}); err != nil && !apierrs.IsNotFound(err) {
			return fmt.Errorf("deleting activator slice %s/%s: %w", rev.Namespace, slice, err)
		}
	}
	policy := leaseroute.NetworkPolicyName(rev.Name)
	if _, err := r.networkPolicies.NetworkPolicies(rev.Namespace).Get(policy); err == nil {
		if err := r.kube.NetworkingV1().NetworkPolicies(rev.Namespace).Delete(ctx, policy, metav1.DeleteOptions{}); err != nil && !apierrs.IsNotFound(err) {
			return fmt.Errorf("deleting NetworkPolicy %s/%s: %w", rev.Namespace, policy, err)
		}
	}
	return nil
}

// ensureNetworkPolicy keeps the revision's pods closed but for
// queue-proxy's ports (leaseroute.MakeNetworkPolicy).
func (r *Reconciler) ensureNetworkPolicy(ctx context.Context, rev *servingv1.Revision) error {
	desired := leaseroute.MakeNetworkPolicy(rev)
	have, err := r.networkPolicies.NetworkPolicies(rev.Namespace).Get(desired.Name)
	switch {
	case apierrs.IsNotFound(err):
		if _, err := r.kube.NetworkingV1().NetworkPolicies(rev.Namespace).Create(ctx, desired, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating NetworkPolicy %s/%s: %w", rev.Namespace, desired.Name, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("getting NetworkPolicy %s/%s: %w", rev.Namespace, desired.Name, err)
	case equality.Semantic.DeepEqual(have.Spec, desired.Spec) && equality.Semantic.DeepEqual(have.Labels, desired.Labels):
		return nil
	}
	updated := have.DeepCopy()
	updated.Labels = desired.Labels
	updated.Spec = desired.Spec
	if _, err := r.kube.NetworkingV1().NetworkPolicies(rev.Namespace).Update(ctx, updated, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("updating NetworkPolicy %s/%s: %w", rev.Namespace, desired.Name, err)
	}
	return nil
}

func (r *Reconciler) ensureService(ctx context.Context, rev *servingv1.Revision) error {
	desired := leaseroute.MakeService(rev)
	have, err := r.services.Services(rev.Namespace).Get(desired.Name)
	switch {
	case apierrs.IsNotFound(err):
		if _, err := r.kube.CoreV1().Services(rev.Namespace).Create(ctx, desired, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating lease Service %s/%s: %w", rev.Namespace, desired.Name, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("getting lease Service %s/%s: %w", rev.Namespace, desired.Name, err)
	case equality.Semantic.DeepEqual(have.Spec.Ports, desired.Spec.Ports) && equality.Semantic.DeepEqual(have.Labels, desired.Labels):
		return nil
	}
	updated := have.DeepCopy()
	updated.Labels = desired.Labels
	updated.Spec.Ports = desired.Spec.Ports
	if _, err := r.kube.CoreV1().Services(rev.Namespace).Update(ctx, updated, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("updating lease Service %s/%s: %w", rev.Namespace, desired.Name, err)
	}
	return nil
}

// leased: a live ssm-pool replica publishes a proxy for the revision.
// Slices of replicas that are gone are deleted: their proxies have lost the
// revision's configuration.
func (r *Reconciler) leased(ctx context.Context, rev *servingv1.Revision) (bool, error) {
	list, err := r.slices.EndpointSlices(rev.Namespace).List(leaseroute.SliceSelector(rev.Name))
	if err != nil {
		return false, fmt.Errorf("listing the slices of lease Service %s/%s: %w", rev.Namespace, leaseroute.ServiceName(rev.Name), err)
	}
	alive, known := r.liveReplicas()
	var live []*discoveryv1.EndpointSlice
	for _, s := range list {
		if s.Labels[discoveryv1.LabelManagedBy] != leaseroute.ManagedByPool {
			continue
		}
		if known && !alive.Has(s.Labels[leaseroute.ReplicaLabelKey]) {
			err := r.kube.DiscoveryV1().EndpointSlices(s.Namespace).Delete(ctx, s.Name, metav1.DeleteOptions{})
			if err != nil && !apierrs.IsNotFound(err) {
				return false, fmt.Errorf("deleting lease slice %s/%s of a gone ssm-pool replica: %w", s.Namespace, s.Name, err)
			}
			logging.FromContext(ctx).Infow("Deleted the lease slice of a gone ssm-pool replica", "slice", s.Namespace+"/"+s.Name)
			continue
		}
		live = append(live, s)
	}
	return leaseroute.HasReadyEndpoint(live), nil
}

// liveReplicas are the replica IDs of ssm-pool's pods, ready or not: a
// replica that is briefly not ready still holds its proxies' streams, and its
// slices must survive. known is false when its Endpoints name no pod (e.g.
// written by hand): then every replica counts as alive.
func (r *Reconciler) liveReplicas() (sets.Set[string], bool) {
	eps, err := r.endpoints.Endpoints(r.namespace).Get(ssm.PoolServerName)
	if err != nil {
		return nil, false
	}
	alive := sets.New[string]()
	for _, subset := range eps.Subsets {
		for _, addr := range slices.Concat(subset.Addresses, subset.NotReadyAddresses) {
			if addr.TargetRef != nil && addr.TargetRef.Kind == "Pod" {
				alive.Insert(leaseroute.ReplicaID(addr.TargetRef.Name))
			}
		}
	}
	return alive, alive.Len() > 0
}

func (r *Reconciler) ensureSlice(ctx context.Context, desired *discoveryv1.EndpointSlice) error {
	client := r.kube.DiscoveryV1().EndpointSlices(desired.Namespace)
	have, err := r.slices.EndpointSlices(desired.Namespace).Get(desired.Name)
	switch {
	case apierrs.IsNotFound(err):
		if _, err := client.Create(ctx, desired, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating activator slice %s/%s: %w", desired.Namespace, desired.Name, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("getting activator slice %s/%s: %w", desired.Namespace, desired.Name, err)
	}
	updated := leaseroute.SliceUpdate(have, desired)
	if updated == nil {
		return nil
	}
	if _, err := client.Update(ctx, updated, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("updating activator slice %s/%s: %w", desired.Namespace, desired.Name, err)
	}
	return nil
}
