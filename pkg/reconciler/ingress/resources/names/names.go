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

package names

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"
	"knative.dev/pkg/kmeta"
)

// maxLabelLength is the longest DNS-1123 label and the longest label value.
const maxLabelLength = validation.DNS1123LabelMaxLength

// IngressVirtualService names the VirtualService that binds a KIngress's
// routes to its ingress gateways.
func IngressVirtualService(ing kmeta.Accessor) string {
	return kmeta.ChildName(ing.GetName(), "-ingress")
}

// MeshVirtualService names the VirtualService that serves a KIngress's
// cluster-local hosts to workloads inside the mesh (gateway "mesh").
func MeshVirtualService(ing kmeta.Accessor) string {
	return kmeta.ChildName(ing.GetName(), "-mesh")
}

// DestinationRule names the DestinationRule that carries one backend's SSM
// policy. It lives in the backend's namespace, where several KIngresses may
// route to the same backend, and "<kingress>-<backend>" alone is ambiguous
// (KIngress a with backend b-c and KIngress a-b with backend c), so a hash of
// the KIngress and the backend in full ends the name. When the backend is
// not in the KIngress's namespace, the KIngress namespace leads the readable
// part.
func DestinationRule(ing kmeta.Accessor, backendNamespace, backendName string) string {
	parent := ing.GetName()
	if backendNamespace != ing.GetNamespace() {
		parent = ing.GetNamespace() + "-" + parent
	}
	return kmeta.ChildName(parent+"-"+backendName,
		"-"+shortHash(ing.GetNamespace(), ing.GetName(), backendNamespace, backendName))
}

// IngressGateway names the per-KIngress Gateway bound to the pods of one
// gateway Service. Istio references Gateways as "namespace/name" and wants the
// name to be a DNS-1123 label, so a KIngress name that is not one (it may hold
// dots) is replaced by its hash.
func IngressGateway(ing kmeta.Accessor, visibility v1alpha1.IngressVisibility, serviceNamespace, serviceName string) string {
	prefix := ing.GetName()
	if len(validation.IsDNS1123Label(prefix)) != 0 {
		prefix = "ingress-" + shortHash(prefix)
	}
	kind := "external"
	if visibility == v1alpha1.IngressVisibilityClusterLocal {
		kind = "local"
	}
	return kmeta.ChildName(prefix, "-"+kind+"-"+shortHash(serviceNamespace, serviceName))
}

// TargetSecret names the copy of a KIngress's TLS Secret in a gateway
// Service's namespace. Copies of every KIngress in the cluster share that
// namespace, so the hash covers the KIngress and the origin Secret in full.
func TargetSecret(ing kmeta.Accessor, originNamespace, originName string) string {
	return kmeta.ChildName(ing.GetName()+"-"+originName,
		"-"+shortHash(ing.GetNamespace(), ing.GetName(), originNamespace, originName))
}

// OriginSecretNameLabel is the value of the origin-secret-name label on a
// Secret copy. Secret names may be longer than a label value may be, so a long
// name is cut and made unique again with a hash; the full name then goes into
// an annotation of the same key.
func OriginSecretNameLabel(originName string) string {
	if len(originName) <= maxLabelLength {
		return originName
	}
	suffix := "-" + shortHash(originName)
	return strings.TrimRight(originName[:maxLabelLength-len(suffix)], "-.") + suffix
}

// shortHash is the first 8 hex digits of the SHA-256 of parts joined by "/",
// a character no Kubernetes name contains, so distinct tuples never join to
// the same string.
func shortHash(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "/")))
	return hex.EncodeToString(sum[:4])
}
