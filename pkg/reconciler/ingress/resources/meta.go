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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/networking/pkg/apis/networking"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"
	"knative.dev/pkg/kmeta"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
)

const (
	// IngressNamespaceLabelKey carries the KIngress's namespace on every object
	// built for it. Together with networking.IngressLabelKey it identifies the
	// KIngress across namespaces, where owner references cannot.
	IngressNamespaceLabelKey = ssm.GroupName + "/ingress-namespace"

	// LifecycleClassAnnotationKey records on a DestinationRule the lifecycle
	// class (short-lived or long-lived) its policy was resolved for, so that
	// status, debugging and "auto" hysteresis can read it back.
	LifecycleClassAnnotationKey = ssm.RouteLifecycleClassAnnotationKey
	// RevisionAnnotationKey records on a DestinationRule the revision it is
	// for, and ServerlessPolicyAnnotationKey the ServerlessPolicy and its
	// generation the revision's policy was resolved with (resolver.PolicyRef),
	// when one selects it: the policy's status reads both to tell whether
	// the routes carry its current spec.
	RevisionAnnotationKey         = ssm.RouteRevisionAnnotationKey
	ServerlessPolicyAnnotationKey = ssm.RouteServerlessPolicyAnnotationKey
)

// ownerLabels are the labels every object built for ing carries: they let the
// reconciler find, and garbage-collect, everything it made for ing.
func ownerLabels(ing *v1alpha1.Ingress) map[string]string {
	return map[string]string{
		networking.IngressLabelKey: ing.Name,
		IngressNamespaceLabelKey:   ing.Namespace,
		ssm.ManagedByLabelKey:      ssm.ManagedByLabelValue,
	}
}

// objectMeta is the metadata of an object built for ing. Owner references
// cannot cross namespaces, so objects outside ing's namespace rely on
// ownerLabels alone.
func objectMeta(ing *v1alpha1.Ingress, namespace, name string) metav1.ObjectMeta {
	meta := metav1.ObjectMeta{
		Name:      name,
		Namespace: namespace,
		Labels:    ownerLabels(ing),
	}
	if namespace == ing.Namespace {
		meta.OwnerReferences = []metav1.OwnerReference{*kmeta.NewControllerRef(ing)}
	}
	return meta
}
