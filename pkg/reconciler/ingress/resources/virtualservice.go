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
	"encoding/hex"
	"fmt"
	"strings"

	istiov1beta1 "istio.io/api/networking/v1beta1"
	"istio.io/client-go/pkg/apis/networking/v1beta1"
	"k8s.io/apimachinery/pkg/util/sets"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"
	"knative.dev/networking/pkg/http/header"
	"knative.dev/networking/pkg/ingress"
	"knative.dev/pkg/network"

	"github.com/serverless-mesh/ssm/pkg/policy"
	"github.com/serverless-mesh/ssm/pkg/reconciler/ingress/resources/names"
)

// MeshGateway is Istio's reserved gateway name for "every sidecar in the mesh".
const MeshGateway = "mesh"

// Backend is the Kubernetes Service a KIngress split routes to: the split's
// ServiceNamespace and ServiceName.
type Backend struct {
	Namespace string
	Name      string
}

// BackendOf is the Backend of one split.
func BackendOf(split v1alpha1.IngressBackendSplit) Backend {
	return Backend{Namespace: split.ServiceNamespace, Name: split.ServiceName}
}

// ProbeHash is the value the gateways answer in the K-Network-Hash header once
// they serve this generation of ing. It is knative.dev/networking's hash, the
// one its status prober expects.
func ProbeHash(ing *v1alpha1.Ingress) (string, error) {
	sum, err := ingress.ComputeHash(ing)
	if err != nil {
		return "", fmt.Errorf("hashing KIngress %s/%s: %w", ing.Namespace, ing.Name, err)
	}
	return hex.EncodeToString(sum[:]), nil
}

// MakeVirtualServices builds the VirtualServices of ing, sorted by name:
//   - "<ing>-ingress", bound to the gateways: external rules match on
//     gateways[ExternalIP], cluster-local rules on gateways[ClusterLocal];
//   - "<ing>-mesh", bound to the "mesh" gateway, for the hosts that are
//     cluster-local Service names (*.svc.<cluster-domain>) of any rule.
//
// A VirtualService with no host is not built. Routes follow net-istio, plus
// SSM's policy for paths whose every split is an SSM backend (see
// routeResilience). Like net-istio, every path is preceded by a probe route
// matching K-Network-Hash: override that answers with ProbeHash(ing); unlike
// net-istio, ing itself is never modified.
//
// One deliberate difference: net-istio emits the routes of a visibility that
// has no gateway with an empty gateway list, which Istio reads as "every
// gateway of this VirtualService", so a cluster-local rule would be served by
// the external gateways. Here such routes are left out of the ingress
// VirtualService (the mesh VirtualService still serves cluster-local hosts).
//
// A split whose backend is in leased goes to the backend's lease Service
// (pkg/leaseroute) instead of Knative's public Service: the revision's pods
// have no sidecar, and the lease Service's endpoints are the pooled proxies
// that hold the revision, or Knative's activator.
func MakeVirtualServices(ing *v1alpha1.Ingress, gateways map[v1alpha1.IngressVisibility]sets.Set[string],
	policies map[Backend]policy.Policy, leased sets.Set[Backend],
) ([]*v1beta1.VirtualService, error) {
	if err := validateRules(ing); err != nil {
		return nil, err
	}
	hash, err := ProbeHash(ing)
	if err != nil {
		return nil, err
	}
	rules := withProbes(ing.Spec.Rules, hash)

	var vses []*v1beta1.VirtualService
	ingressVS := &v1beta1.VirtualService{ObjectMeta: objectMeta(ing, ing.Namespace, names.IngressVirtualService(ing))}
	if ingressSpec(&ingressVS.Spec, rules, gateways, policies, leased) {
		vses = append(vses, ingressVS)
	}
	meshVS := &v1beta1.VirtualService{ObjectMeta: objectMeta(ing, ing.Namespace, names.MeshVirtualService(ing))}
	if meshSpec(&meshVS.Spec, rules, gateways, policies, leased) {
		vses = append(vses, meshVS)
	}
	return vses, nil
}

// validateRules rejects what no VirtualService can express, naming the field.
func validateRules(ing *v1alpha1.Ingress) error {
	for i, rule := range ing.Spec.Rules {
		if rule.HTTP == nil {
			return fmt.Errorf("KIngress %s/%s: spec.rules[%d].http is missing: every rule needs an HTTP block",
				ing.Namespace, ing.Name, i)
		}
		for j, path := range rule.HTTP.Paths {
			for k, split := range path.Splits {
				if port := split.ServicePort.IntValue(); port < 1 || port > 65535 {
					return fmt.Errorf("KIngress %s/%s: spec.rules[%d].http.paths[%d].splits[%d].servicePort %q is not a port number: want 1-65535",
						ing.Namespace, ing.Name, i, j, k, split.ServicePort.String())
				}
			}
		}
	}
	return nil
}

// withProbes returns a copy of rules in which every path is preceded by its
// probe twin: the same route, matched only by K-Network-Hash: override, that
// sets K-Network-Hash to hash. This is ingress.InsertProbe without touching
// the caller's KIngress.
func withProbes(rules []v1alpha1.IngressRule, hash string) []v1alpha1.IngressRule {
	out := make([]v1alpha1.IngressRule, len(rules))
	for i := range rules {
		rule := rules[i].DeepCopy()
		paths := make([]v1alpha1.HTTPIngressPath, 0, 2*len(rule.HTTP.Paths))
		for _, path := range rule.HTTP.Paths {
			probe := path.DeepCopy()
			if probe.Headers == nil {
				probe.Headers = make(map[string]v1alpha1.HeaderMatch, 1)
			}
			probe.Headers[header.HashKey] = v1alpha1.HeaderMatch{Exact: header.HashValueOverride}
			if probe.AppendHeaders == nil {
				probe.AppendHeaders = make(map[string]string, 1)
			}
			probe.AppendHeaders[header.HashKey] = hash
			paths = append(paths, *probe)
		}
		rule.HTTP.Paths = append(paths, rule.HTTP.Paths...)
		out[i] = *rule
	}
	return out
}

// visibilityOf treats an unset visibility as external, as KIngress defaulting does.
func visibilityOf(rule v1alpha1.IngressRule) v1alpha1.IngressVisibility {
	if rule.Visibility == "" {
		return v1alpha1.IngressVisibilityExternalIP
	}
	return rule.Visibility
}

// ingressSpec binds the rules whose visibility has gateways to those gateways.
func ingressSpec(spec *istiov1beta1.VirtualService, rules []v1alpha1.IngressRule, gateways map[v1alpha1.IngressVisibility]sets.Set[string],
	policies map[Backend]policy.Policy, leased sets.Set[Backend],
) bool {
	served := make([]v1alpha1.IngressRule, 0, len(rules))
	ruleHosts := sets.New[string]()
	for _, rule := range rules {
		if gateways[visibilityOf(rule)].Len() > 0 {
			served = append(served, rule)
			ruleHosts.Insert(rule.Hosts...)
		}
	}
	return makeSpec(spec, served, ingress.ExpandedHosts(ruleHosts), func(v v1alpha1.IngressVisibility) []string {
		return sets.List(gateways[v])
	}, policies, leased)
}

// meshSpec serves, inside the mesh, the cluster-local Service hostnames of
// every rule, whatever its visibility.
func meshSpec(spec *istiov1beta1.VirtualService, rules []v1alpha1.IngressRule, gateways map[v1alpha1.IngressVisibility]sets.Set[string],
	policies map[Backend]policy.Policy, leased sets.Set[Backend],
) bool {
	suffix := ".svc." + network.GetClusterDomainName()
	hosts := sets.New[string]()
	for _, rule := range rules {
		for _, h := range rule.Hosts {
			if strings.HasSuffix(h, suffix) {
				hosts.Insert(h)
			}
		}
	}
	// net-istio adds the short forms (name.namespace, name.namespace.svc) only
	// when a local gateway exists (knative/serving#6488); kept for parity.
	if gateways[v1alpha1.IngressVisibilityClusterLocal].Len() > 0 {
		hosts = ingress.ExpandedHosts(hosts)
	}
	return makeSpec(spec, rules, hosts, func(v1alpha1.IngressVisibility) []string {
		return []string{MeshGateway}
	}, policies, leased)
}

// makeSpec fills spec with one route per path of every rule that shares a
// host with hosts, and says whether it has any. The VirtualService's gateways
// are exactly those its routes match on.
func makeSpec(spec *istiov1beta1.VirtualService, rules []v1alpha1.IngressRule, hosts sets.Set[string],
	gatewaysFor func(v1alpha1.IngressVisibility) []string, policies map[Backend]policy.Policy, leased sets.Set[Backend],
) bool {
	if hosts.Len() == 0 {
		return false
	}
	used := sets.New[string]()
	for _, rule := range rules {
		matched := hosts.Intersection(sets.New(rule.Hosts...))
		if matched.Len() == 0 {
			continue
		}
		gws := gatewaysFor(visibilityOf(rule))
		used.Insert(gws...)
		for i := range rule.HTTP.Paths {
			spec.Http = append(spec.Http, makeRoute(matched, &rule.HTTP.Paths[i], gws, policies, leased))
		}
	}
	if len(spec.Http) == 0 {
		return false
	}
	spec.Hosts = sets.List(hosts)
	spec.Gateways = sets.List(used)
	return true
}
