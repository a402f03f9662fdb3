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
	"context"

	"google.golang.org/protobuf/proto"
	"istio.io/client-go/pkg/apis/networking/v1beta1"
	securityv1beta1 "istio.io/client-go/pkg/apis/security/v1beta1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"knative.dev/pkg/kmeta"
)

// typedClient is the part of a generated typed client syncObjects uses.
type typedClient[T any] interface {
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
	Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error)
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
}

// newOps builds the kindOps of one kind from its typed client and lister.
func newOps[T kmeta.Accessor](kind string, client func(namespace string) typedClient[T],
	get func(namespace, name string) (T, error), list func(labels.Selector) ([]T, error),
	merge func(existing, desired T) (T, bool),
) kindOps[T] {
	return kindOps[T]{
		kind: kind,
		get:  get,
		list: list,
		create: func(ctx context.Context, o T) error {
			_, err := client(o.GetNamespace()).Create(ctx, o, metav1.CreateOptions{})
			return err
		},
		update: func(ctx context.Context, o T) error {
			_, err := client(o.GetNamespace()).Update(ctx, o, metav1.UpdateOptions{})
			return err
		},
		delete: func(ctx context.Context, ns, name string) error {
			return client(ns).Delete(ctx, name, metav1.DeleteOptions{})
		},
		merge: merge,
	}
}

// metaChanged merges desired's labels and annotations into existing's
// (keys other writers added are kept) and says whether that changes them.
func metaChanged(existing, desired metav1.Object) (labels, annotations map[string]string, changed bool) {
	labels = kmeta.UnionMaps(existing.GetLabels(), desired.GetLabels())
	annotations = kmeta.UnionMaps(existing.GetAnnotations(), desired.GetAnnotations())
	changed = !equality.Semantic.DeepEqual(labels, existing.GetLabels()) ||
		!equality.Semantic.DeepEqual(annotations, existing.GetAnnotations())
	return labels, annotations, changed
}

// mergeIstio is kindOps.merge for an Istio kind whose spec is a proto:
// specs are compared with proto.Equal, which byte-identical builder output
// makes exact.
func mergeIstio[T kmeta.Accessor](spec func(T) proto.Message, deepCopy func(T) T, setSpec func(dst, src T)) func(existing, desired T) (T, bool) {
	return func(existing, desired T) (T, bool) {
		l, a, changed := metaChanged(existing, desired)
		if !changed && proto.Equal(spec(existing), spec(desired)) {
			return existing, false
		}
		out := deepCopy(existing)
		out.SetLabels(l)
		out.SetAnnotations(a)
		setSpec(out, desired)
		return out, true
	}
}

func (r *Reconciler) virtualServiceOps() kindOps[*v1beta1.VirtualService] {
	type vs = *v1beta1.VirtualService
	return newOps("VirtualService",
		func(ns string) typedClient[vs] { return r.istioClient.NetworkingV1beta1().VirtualServices(ns) },
		func(ns, name string) (vs, error) { return r.virtualServiceLister.VirtualServices(ns).Get(name) },
		r.virtualServiceLister.List,
		mergeIstio(func(o vs) proto.Message { return &o.Spec }, vs.DeepCopy,
			func(dst, src vs) { src.Spec.DeepCopyInto(&dst.Spec) }))
}

func (r *Reconciler) destinationRuleOps() kindOps[*v1beta1.DestinationRule] {
	type dr = *v1beta1.DestinationRule
	return newOps("DestinationRule",
		func(ns string) typedClient[dr] { return r.istioClient.NetworkingV1beta1().DestinationRules(ns) },
		func(ns, name string) (dr, error) { return r.destinationRuleLister.DestinationRules(ns).Get(name) },
		r.destinationRuleLister.List,
		mergeIstio(func(o dr) proto.Message { return &o.Spec }, dr.DeepCopy,
			func(dst, src dr) { src.Spec.DeepCopyInto(&dst.Spec) }))
}

func (r *Reconciler) peerAuthenticationOps() kindOps[*securityv1beta1.PeerAuthentication] {
	type pa = *securityv1beta1.PeerAuthentication
	return newOps("PeerAuthentication",
		func(ns string) typedClient[pa] { return r.istioClient.SecurityV1beta1().PeerAuthentications(ns) },
		func(ns, name string) (pa, error) { return r.peerAuthLister.PeerAuthentications(ns).Get(name) },
		r.peerAuthLister.List,
		mergeIstio(func(o pa) proto.Message { return &o.Spec }, pa.DeepCopy,
			func(dst, src pa) { src.Spec.DeepCopyInto(&dst.Spec) }))
}

func (r *Reconciler) gatewayOps() kindOps[*v1beta1.Gateway] {
	type gw = *v1beta1.Gateway
	return newOps("Gateway",
		func(ns string) typedClient[gw] { return r.istioClient.NetworkingV1beta1().Gateways(ns) },
		func(ns, name string) (gw, error) { return r.gatewayLister.Gateways(ns).Get(name) },
		r.gatewayLister.List,
		mergeIstio(func(o gw) proto.Message { return &o.Spec }, gw.DeepCopy,
			func(dst, src gw) { src.Spec.DeepCopyInto(&dst.Spec) }))
}

func (r *Reconciler) secretOps() kindOps[*corev1.Secret] {
	return newOps("Secret",
		func(ns string) typedClient[*corev1.Secret] { return r.kubeClient.CoreV1().Secrets(ns) },
		func(ns, name string) (*corev1.Secret, error) { return r.secretLister.Secrets(ns).Get(name) },
		r.secretLister.List,
		func(existing, desired *corev1.Secret) (*corev1.Secret, bool) {
			l, a, changed := metaChanged(existing, desired)
			if !changed && equality.Semantic.DeepEqual(existing.Data, desired.Data) {
				return existing, false
			}
			// A Secret's type is immutable; the copy keeps the type it was
			// created with and follows the origin's data.
			out := existing.DeepCopy()
			out.Labels, out.Annotations = l, a
			out.Data = desired.Data
			return out, true
		})
}
