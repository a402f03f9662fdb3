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
	"cmp"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"knative.dev/networking/pkg/apis/networking"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"

	"github.com/serverless-mesh/ssm/pkg/reconciler/ingress/resources/names"
)

// MakeSecrets copies ing's TLS Secrets (originSecrets, keyed by SecretKey)
// into the namespace of every gateway Service that is not the Secret's own:
// an Istio gateway reads certificates only from its own namespace. Pass every
// gateway Service whose Gateways reference the Secrets (external and local);
// a namespace is served once. The copies are sorted by namespace and name.
func MakeSecrets(ing *v1alpha1.Ingress, originSecrets map[string]*corev1.Secret, services []GatewayService) []*corev1.Secret {
	namespaces := sets.New[string]()
	for _, svc := range services {
		namespaces.Insert(svc.Namespace)
	}
	var copies []*corev1.Secret
	for _, key := range slices.Sorted(maps.Keys(originSecrets)) {
		origin := originSecrets[key]
		for _, ns := range sets.List(namespaces) {
			if ns == origin.Namespace {
				continue
			}
			copies = append(copies, copySecret(ing, origin, ns))
		}
	}
	slices.SortFunc(copies, func(a, b *corev1.Secret) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return copies
}

// TargetSecretLabels are the labels that point a Secret copy back at its
// origin, so that a change of the origin can be traced to its copies.
func TargetSecretLabels(originNamespace, originName string) map[string]string {
	return map[string]string{
		networking.OriginSecretNamespaceLabelKey: originNamespace,
		networking.OriginSecretNameLabelKey:      names.OriginSecretNameLabel(originName),
	}
}

func copySecret(ing *v1alpha1.Ingress, origin *corev1.Secret, namespace string) *corev1.Secret {
	secret := &corev1.Secret{
		ObjectMeta: objectMeta(ing, namespace, names.TargetSecret(ing, origin.Namespace, origin.Name)),
		Type:       origin.Type,
	}
	maps.Copy(secret.Labels, TargetSecretLabels(origin.Namespace, origin.Name))
	// Set even when empty, as net-istio does: Secret informers filtered on the
	// presence of this label must see the copies.
	secret.Labels[networking.CertificateUIDLabelKey] = origin.Labels[networking.CertificateUIDLabelKey]
	if secret.Labels[networking.OriginSecretNameLabelKey] != origin.Name {
		// The label had to be shortened; the annotation keeps the full name.
		secret.Annotations = map[string]string{networking.OriginSecretNameLabelKey: origin.Name}
	}
	if origin.Data != nil {
		secret.Data = make(map[string][]byte, len(origin.Data))
		for k, v := range origin.Data {
			secret.Data[k] = slices.Clone(v)
		}
	}
	return secret
}
