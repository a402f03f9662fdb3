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
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/kmeta"
)

// metaChanged says whether desired's labels and annotations are not all
// present on existing; keys other writers added are kept.
func metaChanged(existing, desired metav1.Object) (labels, annotations map[string]string, changed bool) {
	labels = kmeta.UnionMaps(existing.GetLabels(), desired.GetLabels())
	annotations = kmeta.UnionMaps(existing.GetAnnotations(), desired.GetAnnotations())
	changed = !equality.Semantic.DeepEqual(labels, existing.GetLabels()) ||
		!equality.Semantic.DeepEqual(annotations, existing.GetAnnotations())
	return labels, annotations, changed
}

func (r *Reconciler) virtualServiceOps() kindOps[*v1beta1.VirtualService] {
	client := r.istioClient.NetworkingV1beta1()
	return kindOps[*v1beta1.VirtualService]{
		kind: "VirtualService",
		get: func(ns, name string) (*v1beta1.VirtualService, error) {
			return r.virtualServiceLister.VirtualServices(ns).Get(name)
		},
		list: r.virtualServiceLister.List,
		create: func(ctx context.Context, o *v1beta1.VirtualService) error {
			_, err := client.VirtualServices(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
			return err
		},
		update: func(ctx context.Context, o *v1beta1.VirtualService) error {
			_, err := client.VirtualServices(o.Namespace).Update(ctx, o, metav1.UpdateOptions{})
			return err
		},
		delete: func(ctx context.Context, ns, name string) error {
			return client.VirtualServices(ns).Delete(ctx, name, metav1.DeleteOptions{})
		},
		merge: func(existing, desired *v1beta1.VirtualService) (*v1beta1.VirtualService, bool) {
			l, a, changed := metaChanged(existing, desired)
			if !changed && proto.Equal(&existing.Spec, &desired.Spec) {
				return existing, false
			}
			out := existing.DeepCopy()
			out.Labels, out.Annotations = l, a
			desired.Spec.DeepCopyInto(&out.Spec)
			return out, true
		},
	}
}

func (r *Reconciler) destinationRuleOps() kindOps[*v1beta1.DestinationRule] {
	client := r.istioClient.NetworkingV1beta1()
	return kindOps[*v1beta1.DestinationRule]{
		kind: "DestinationRule",
		get: func(ns, name string) (*v1beta1.DestinationRule, error) {
			return r.destinationRuleLister.DestinationRules(ns).Get(name)
		},
		list: r.destinationRuleLister.List,
		create: func(ctx context.Context, o *v1beta1.DestinationRule) error {
			_, err := client.DestinationRules(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
			return err
		},
		update: func(ctx context.Context, o *v1beta1.DestinationRule) error {
			_, err := client.DestinationRules(o.Namespace).Update(ctx, o, metav1.UpdateOptions{})
			return err
		},
		delete: func(ctx context.Context, ns, name string) error {
			return client.DestinationRules(ns).Delete(ctx, name, metav1.DeleteOptions{})
		},
		merge: func(existing, desired *v1beta1.DestinationRule) (*v1beta1.DestinationRule, bool) {
			l, a, changed := metaChanged(existing, desired)
			if !changed && proto.Equal(&existing.Spec, &desired.Spec) {
				return existing, false
			}
			out := existing.DeepCopy()
			out.Labels, out.Annotations = l, a
			desired.Spec.DeepCopyInto(&out.Spec)
			return out, true
		},
	}
}

func (r *Reconciler) gatewayOps() kindOps[*v1beta1.Gateway] {
	client := r.istioClient.NetworkingV1beta1()
	return kindOps[*v1beta1.Gateway]{
		kind: "Gateway",
		get: func(ns, name string) (*v1beta1.Gateway, error) {
			return r.gatewayLister.Gateways(ns).Get(name)
		},
		list: r.gatewayLister.List,
		create: func(ctx context.Context, o *v1beta1.Gateway) error {
			_, err := client.Gateways(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
			return err
		},
		update: func(ctx context.Context, o *v1beta1.Gateway) error {
			_, err := client.Gateways(o.Namespace).Update(ctx, o, metav1.UpdateOptions{})
			return err
		},
		delete: func(ctx context.Context, ns, name string) error {
			return client.Gateways(ns).Delete(ctx, name, metav1.DeleteOptions{})
		},
		merge: func(existing, desired *v1beta1.Gateway) (*v1beta1.Gateway, bool) {
			l, a, changed := metaChanged(existing, desired)
			if !changed && proto.Equal(&existing.Spec, &desired.Spec) {
				return existing, false
			}
			out := existing.DeepCopy()
			out.Labels, out.Annotations = l, a
			desired.Spec.DeepCopyInto(&out.Spec)
			return out, true
		},
	}
}

func (r *Reconciler) secretOps() kindOps[*corev1.Secret] {
	client := r.kubeClient.CoreV1()
	return kindOps[*corev1.Secret]{
		kind: "Secret",
		get: func(ns, name string) (*corev1.Secret, error) {
			return r.secretLister.Secrets(ns).Get(name)
		},
		list: r.secretLister.List,
		create: func(ctx context.Context, o *corev1.Secret) error {
			_, err := client.Secrets(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
			return err
		},
		update: func(ctx context.Context, o *corev1.Secret) error {
			_, err := client.Secrets(o.Namespace).Update(ctx, o, metav1.UpdateOptions{})
			return err
		},
		delete: func(ctx context.Context, ns, name string) error {
			return client.Secrets(ns).Delete(ctx, name, metav1.DeleteOptions{})
		},
		merge: func(existing, desired *corev1.Secret) (*corev1.Secret, bool) {
			l, a, changed := metaChanged(existing, desired)
			if !changed && existing.Type == desired.Type && equality.Semantic.DeepEqual(existing.Data, desired.Data) {
				return existing, false
			}
			out := existing.DeepCopy()
			out.Labels, out.Annotations = l, a
			out.Type, out.Data = desired.Type, desired.Data
			return out, true
		},
	}
}
