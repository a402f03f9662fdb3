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

package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"knative.dev/pkg/network"
	"knative.dev/pkg/system"
	"sigs.k8s.io/yaml"
)

// The gateway keys are spelled exactly as in net-istio's config-istio, so a
// block copied from one ConfigMap works unchanged in the other.
const (
	// ExternalGatewaysKey holds a YAML list of gateways for external-visibility hosts.
	ExternalGatewaysKey = "external-gateways"
	// LocalGatewaysKey holds a YAML list of gateways for cluster-local hosts.
	LocalGatewaysKey = "local-gateways"
	// LegacyGatewayKeyPrefix starts the legacy "gateway.<namespace>.<name>: <service>" keys.
	LegacyGatewayKeyPrefix = "gateway."
	// LegacyLocalGatewayKeyPrefix starts the legacy "local-gateway.<namespace>.<name>: <service>" keys.
	LegacyLocalGatewayKeyPrefix = "local-gateway."

	// KnativeIngressGateway is the default external Gateway, in the Knative namespace.
	KnativeIngressGateway = "knative-ingress-gateway"
	// KnativeLocalGateway is the default cluster-local Gateway, in the Knative namespace.
	KnativeLocalGateway = "knative-local-gateway"
	// IstioIngressGateway is the Service in front of Istio's ingress gateway pods.
	IstioIngressGateway = "istio-ingressgateway"
	// IstioNamespace is where Istio's gateway Services run by default.
	IstioNamespace = "istio-system"
)

// DefaultIngressGateways is the external gateway used when no ConfigMap names one.
func DefaultIngressGateways() []Gateway {
	return []Gateway{{
		Namespace:  system.Namespace(),
		Name:       KnativeIngressGateway,
		ServiceURL: network.GetServiceHostname(IstioIngressGateway, IstioNamespace),
	}}
}

// DefaultLocalGateways is the cluster-local gateway used when no ConfigMap names one.
func DefaultLocalGateways() []Gateway {
	return []Gateway{{
		Namespace:  system.Namespace(),
		Name:       KnativeLocalGateway,
		ServiceURL: network.GetServiceHostname(KnativeLocalGateway, IstioNamespace),
	}}
}

// Validate checks the fields a VirtualService and the prober depend on.
func (g Gateway) Validate() error {
	if g.Namespace == "" {
		return errors.New("namespace is required")
	}
	if g.Name == "" {
		return errors.New("name is required")
	}
	if g.ServiceURL == "" {
		return errors.New("service is required")
	}
	// A fully qualified name may end in a dot; the hostname rules do not allow it.
	if errs := validation.IsDNS1123Subdomain(strings.TrimSuffix(g.ServiceURL, ".")); len(errs) > 0 {
		return fmt.Errorf("service %q must be a DNS-1123 subdomain: %s", g.ServiceURL, strings.Join(errs, "; "))
	}
	if _, err := metav1.LabelSelectorAsSelector(g.LabelSelector); err != nil {
		return fmt.Errorf("labelSelector: %w", err)
	}
	return nil
}

// gatewaySet is what one ConfigMap says about gateways.
type gatewaySet struct {
	// configured is true when the ConfigMap sets at least one gateway key;
	// only then does it take part in precedence.
	configured bool
	ingress    []Gateway
	local      []Gateway
}

// hasNewGatewayKeys reports whether external-gateways or local-gateways is present.
func hasNewGatewayKeys(data map[string]string) bool {
	_, external := data[ExternalGatewaysKey]
	_, local := data[LocalGatewaysKey]
	return external || local
}

// isLegacyGatewayKey reports whether key is a "gateway.*" or "local-gateway.*" key.
func isLegacyGatewayKey(key string) bool {
	return strings.HasPrefix(key, LegacyGatewayKeyPrefix) || strings.HasPrefix(key, LegacyLocalGatewayKeyPrefix)
}

func hasLegacyGatewayKeys(data map[string]string) bool {
	for key := range data {
		if isLegacyGatewayKey(key) {
			return true
		}
	}
	return false
}

// parseGateways reads the gateway keys of cm (config-ssm or config-istio) with
// net-istio's rules:
//   - the list keys and the legacy keys are mutually exclusive in one ConfigMap;
//   - a list key that is absent or blank means that kind's default gateway, while
//     "[]" means no gateway of that kind (mesh-only);
//   - a non-empty list has exactly one gateway without labelSelector, the one
//     Ingresses fall back to;
//   - with legacy keys, a kind with no key gets its default gateway, and a key
//     without a namespace ("gateway.<name>") means the Knative namespace.
//
// strict rejects unknown fields in list entries; config-istio is parsed
// leniently because net-istio accepts them and SSM must take any ConfigMap
// net-istio takes.
func parseGateways(cm *corev1.ConfigMap, strict bool) (gatewaySet, error) {
	var data map[string]string
	if cm != nil {
		data = cm.Data
	}
	newFormat, legacyFormat := hasNewGatewayKeys(data), hasLegacyGatewayKeys(data)
	set := gatewaySet{configured: newFormat || legacyFormat}
	var err error
	switch {
	case newFormat && legacyFormat:
		return gatewaySet{}, fmt.Errorf("%q and %q cannot be set together with %q* or %q* keys; use one format",
			ExternalGatewaysKey, LocalGatewaysKey, LegacyGatewayKeyPrefix, LegacyLocalGatewayKeyPrefix)
	case newFormat:
		if set.ingress, err = parseGatewayList(data, ExternalGatewaysKey, DefaultIngressGateways, strict); err != nil {
			return gatewaySet{}, err
		}
		if set.local, err = parseGatewayList(data, LocalGatewaysKey, DefaultLocalGateways, strict); err != nil {
			return gatewaySet{}, err
		}
	case legacyFormat:
		if set.ingress, err = parseLegacyGateways(data, LegacyGatewayKeyPrefix, strict); err != nil {
			return gatewaySet{}, err
		}
		if set.local, err = parseLegacyGateways(data, LegacyLocalGatewayKeyPrefix, strict); err != nil {
			return gatewaySet{}, err
		}
		if len(set.ingress) == 0 {
			set.ingress = DefaultIngressGateways()
		}
		if len(set.local) == 0 {
			set.local = DefaultLocalGateways()
		}
	default:
		set.ingress, set.local = DefaultIngressGateways(), DefaultLocalGateways()
	}
	return set, nil
}

// parseGatewayList parses the YAML list at key and checks its entries.
func parseGatewayList(data map[string]string, key string, defaults func() []Gateway, strict bool) ([]Gateway, error) {
	raw := data[key]
	if strings.TrimSpace(raw) == "" {
		return defaults(), nil
	}
	unmarshal := yaml.Unmarshal
	if strict {
		unmarshal = yaml.UnmarshalStrict
	}
	gateways := []Gateway{}
	if err := unmarshal([]byte(raw), &gateways); err != nil {
		return nil, fmt.Errorf("%q: want a YAML list of {namespace, name, service, labelSelector}: %w", key, err)
	}
	unselective := 0
	for i, g := range gateways {
		if err := g.Validate(); err != nil {
			return nil, fmt.Errorf("%q: entry %d (%s): %w", key, i, g.QualifiedName(), err)
		}
		if g.LabelSelector == nil {
			unselective++
		}
	}
	// The gateway without a selector is where Ingresses that match no
	// selector go; zero or several would make that choice ambiguous.
	if len(gateways) > 0 && unselective != 1 {
		return nil, fmt.Errorf("%q: exactly one gateway must have no labelSelector, found %d", key, unselective)
	}
	return gateways, nil
}

// parseLegacyGateways reads "<prefix><namespace>.<name>: <service>" keys,
// sorted by key so the result does not depend on map order. A bare prefix
// key names no gateway: net-istio skips it, strict parsing rejects it.
func parseLegacyGateways(data map[string]string, prefix string, strict bool) ([]Gateway, error) {
	keys := make([]string, 0, len(data))
	for key := range data {
		if strings.HasPrefix(key, prefix) {
			keys = append(keys, key)
		}
	}
	sort.Strings(keys)
	gateways := make([]Gateway, 0, len(keys))
	for _, key := range keys {
		rest := strings.TrimPrefix(key, prefix)
		if rest == "" {
			if !strict {
				continue
			}
			return nil, fmt.Errorf("%q: want %s<namespace>.<name>", key, prefix)
		}
		g := Gateway{Namespace: system.Namespace(), Name: rest, ServiceURL: data[key]}
		if namespace, name, ok := strings.Cut(rest, "."); ok {
			g.Namespace, g.Name = namespace, name
		}
		if err := g.Validate(); err != nil {
			return nil, fmt.Errorf("%q: value %q: %w", key, data[key], err)
		}
		gateways = append(gateways, g)
	}
	return gateways, nil
}

// NewIstioGatewaysFromConfigMap returns the gateways net-istio would use for
// config-istio cm: its gateway keys when set, else the defaults. A nil cm
// (config-istio absent) yields the defaults. Keys other than the gateway keys
// are ignored, since they belong to net-istio.
func NewIstioGatewaysFromConfigMap(cm *corev1.ConfigMap) (ingress, local []Gateway, err error) {
	set, err := parseGateways(cm, false)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", IstioConfigName, err)
	}
	return set.ingress, set.local, nil
}

// ResolveGateways applies SSM's gateway precedence: config-ssm's gateways when
// ssmCM sets any gateway key; else config-istio's when istioCM (which may be
// nil: config-istio is optional) sets any; else the defaults. fromIstio
// reports the middle case. Either ConfigMap's gateway keys being invalid is an
// error even when the other one wins, so a mistake never hides until the
// winning map changes.
func ResolveGateways(ssmCM, istioCM *corev1.ConfigMap) (ingress, local []Gateway, fromIstio bool, err error) {
	ssmSet, err := parseGateways(ssmCM, true)
	if err != nil {
		return nil, nil, false, fmt.Errorf("%s: %w", SSMConfigName, err)
	}
	istioSet, err := parseGateways(istioCM, false)
	if err != nil {
		return nil, nil, false, fmt.Errorf("%s: %w", IstioConfigName, err)
	}
	ingress, local, fromIstio = combineGateways(ssmSet, istioSet)
	return ingress, local, fromIstio, nil
}

// combineGateways is the precedence rule shared by ResolveGateways and Store.Load.
func combineGateways(ssm, istio gatewaySet) (ingress, local []Gateway, fromIstio bool) {
	switch {
	case ssm.configured:
		return ssm.ingress, ssm.local, false
	case istio.configured:
		return istio.ingress, istio.local, true
	default:
		return DefaultIngressGateways(), DefaultLocalGateways(), false
	}
}
