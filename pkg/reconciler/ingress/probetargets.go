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
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"

	istiov1beta1 "istio.io/api/networking/v1beta1"
	"istio.io/client-go/pkg/apis/networking/v1beta1"
	istiolisters "istio.io/client-go/pkg/listers/networking/v1beta1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"
	"knative.dev/networking/pkg/ingress"
	"knative.dev/networking/pkg/k8s"
	"knative.dev/networking/pkg/status"
)

// errNoGatewayPods means there is nothing to probe. knative.dev/networking's
// prober calls an Ingress with no probe targets ready; SSM refuses that
// hollow success and reports the missing gateway pods instead.
var errNoGatewayPods = errors.New("no ready gateway pods to probe")

// gatewayProbeTargets lists, for each Gateway an Ingress is bound to, the
// ready pods behind the gateway's Service and one URL per HTTP(S) server.
type gatewayProbeTargets struct {
	gatewayLister   istiolisters.GatewayLister
	serviceLister   corev1listers.ServiceLister
	endpointsLister corev1listers.EndpointsLister
	// gatewaysFor returns the qualified gateway names per visibility that
	// the reconciler bound ing to.
	gatewaysFor func(ctx context.Context, ing *v1alpha1.Ingress) map[v1alpha1.IngressVisibility]sets.Set[string]
}

var _ status.ProbeTargetLister = (*gatewayProbeTargets)(nil)

// ListProbeTargets implements status.ProbeTargetLister. It fails with
// errNoGatewayPods when no bound gateway has a ready pod. When pods exist but
// no server can be probed (a KIngress whose own Gateway only redirects to
// HTTPS, or only serves MUTUAL TLS), it returns no targets, which the prober
// takes as ready: what those servers answer cannot be checked over plain
// HTTP(S), and net-istio behaves the same.
func (l *gatewayProbeTargets) ListProbeTargets(ctx context.Context, ing *v1alpha1.Ingress) ([]status.ProbeTarget, error) {
	bound, err := l.boundGateways(ctx, ing)
	if err != nil {
		return nil, err
	}
	var out []status.ProbeTarget
	pods := 0
	names := make([]string, 0, len(bound))
	for _, b := range bound {
		names = append(names, b.qualified)
		targets, ready, err := l.targetsOf(b.gateway)
		if err != nil {
			return nil, fmt.Errorf("gateway %s: %w", b.qualified, err)
		}
		pods += ready
		// Every host of a gateway is in the same VirtualService, which Istio
		// applies atomically: probing one host proves them all.
		host := b.hosts[0]
		for _, t := range targets {
			u := *t.URLs[0]
			u.Host = host + ":" + t.Port
			t.URLs = []*url.URL{&u}
			out = append(out, t)
		}
	}
	if pods == 0 {
		return nil, fmt.Errorf("%w for gateways %v", errNoGatewayPods, names)
	}
	return out, nil
}

// boundGateway is a Gateway ing is bound to and the hosts of ing it serves.
type boundGateway struct {
	qualified string
	gateway   *v1beta1.Gateway
	// hosts are sorted.
	hosts []string
}

// boundGateways reads the Gateways ing is bound to, sorted by qualified
// name, with the hosts each serves: what both the HTTP probe targets and the
// xDS readiness targets start from.
func (l *gatewayProbeTargets) boundGateways(ctx context.Context, ing *v1alpha1.Ingress) ([]boundGateway, error) {
	hostsByGateway := ingress.HostsPerVisibility(ing, l.gatewaysFor(ctx, ing))
	out := make([]boundGateway, 0, len(hostsByGateway))
	for _, qualified := range sets.List(sets.KeySet(hostsByGateway)) {
		ns, name, err := cache.SplitMetaNamespaceKey(qualified)
		if err != nil || ns == "" {
			return nil, fmt.Errorf("gateway name %q is not namespace/name", qualified)
		}
		gw, err := l.gatewayLister.Gateways(ns).Get(name)
		if err != nil {
			return nil, fmt.Errorf("getting Gateway %s: %w", qualified, err)
		}
		out = append(out, boundGateway{qualified: qualified, gateway: gw, hosts: sets.List(hostsByGateway[qualified])})
	}
	return out, nil
}

// targetsOf returns a probe target per probe-able server of gw, and how many
// ready pods serve gw.
func (l *gatewayProbeTargets) targetsOf(gw *v1beta1.Gateway) ([]status.ProbeTarget, int, error) {
	svc, err := l.serviceOf(gw)
	if err != nil {
		return nil, 0, err
	}
	eps, err := l.endpointsLister.Endpoints(svc.Namespace).Get(svc.Name)
	if err != nil {
		return nil, 0, fmt.Errorf("getting Endpoints %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	ready := sets.New[string]()
	for _, subset := range eps.Subsets {
		for _, a := range subset.Addresses {
			ready.Insert(a.IP)
		}
	}
	seen := sets.New[string]()
	var out []status.ProbeTarget
	for _, server := range gw.Spec.GetServers() {
		scheme := probeScheme(server)
		if scheme == "" {
			continue
		}
		port := int32(server.GetPort().GetNumber()) //nolint:gosec // Istio validates port numbers.
		portName, err := k8s.NameForPortNumber(svc, port)
		if err != nil {
			continue // the gateway Service does not expose this server
		}
		key := scheme + "/" + strconv.Itoa(int(port))
		if seen.Has(key) {
			continue
		}
		seen.Insert(key)
		for _, subset := range eps.Subsets {
			// Service target ports may be names; Endpoints carry numbers.
			podPort, err := k8s.PortNumberForName(subset, portName)
			if err != nil || len(subset.Addresses) == 0 {
				continue
			}
			ips := sets.New[string]()
			for _, a := range subset.Addresses {
				ips.Insert(a.IP)
			}
			out = append(out, status.ProbeTarget{
				PodIPs:  ips,
				PodPort: strconv.Itoa(int(podPort)),
				Port:    strconv.Itoa(int(port)),
				URLs:    []*url.URL{{Scheme: scheme, Path: "/"}},
			})
		}
	}
	return out, ready.Len(), nil
}

// serviceOf finds the Service in front of gw's pods: the one whose labels
// match the gateway's workload selector (the convention of Istio's gateway
// charts), the first by namespace/name when several do.
func (l *gatewayProbeTargets) serviceOf(gw *v1beta1.Gateway) (*corev1.Service, error) {
	sel := gw.Spec.GetSelector()
	if len(sel) == 0 {
		return nil, errors.New("has no workload selector")
	}
	svcs, err := l.serviceLister.List(labels.SelectorFromSet(sel))
	if err != nil {
		return nil, fmt.Errorf("listing Services for selector %v: %w", sel, err)
	}
	if len(svcs) == 0 {
		return nil, fmt.Errorf("no Service is labelled %v", sel)
	}
	sort.Slice(svcs, func(i, j int) bool {
		return svcs[i].Namespace+"/"+svcs[i].Name < svcs[j].Namespace+"/"+svcs[j].Name
	})
	return svcs[0], nil
}

// probeScheme is the scheme to probe server with, or "" when it cannot be
// probed: redirects answer 301 without reaching the route, and MUTUAL TLS
// needs a client certificate the prober does not have.
func probeScheme(server *istiov1beta1.Server) string {
	switch server.GetPort().GetProtocol() {
	case "HTTP", "HTTP2":
		if server.GetTls().GetHttpsRedirect() {
			return ""
		}
		return "http"
	case "HTTPS":
		if server.GetTls().GetMode() == istiov1beta1.ServerTLSSettings_MUTUAL {
			return ""
		}
		return "https"
	}
	return ""
}
