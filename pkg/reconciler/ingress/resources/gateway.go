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
	"fmt"
	"maps"
	"strings"

	"google.golang.org/protobuf/proto"
	istiov1beta1 "istio.io/api/networking/v1beta1"
	"istio.io/client-go/pkg/apis/networking/v1beta1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"

	"github.com/serverless-mesh/ssm/pkg/config"
	"github.com/serverless-mesh/ssm/pkg/reconciler/ingress/resources/names"
)

// Ports of the servers on per-KIngress Gateways; the same as net-istio's, so
// an install that switches from net-istio keeps its gateway Services.
const (
	GatewayHTTPPort              = 80
	ExternalGatewayHTTPSPort     = 443
	ClusterLocalGatewayHTTPSPort = 8444

	// HTTPServerPortName names the plain-HTTP server of a Gateway.
	HTTPServerPortName = "http-server"
)

// GatewayService is the Kubernetes Service in front of a gateway's pods, as
// far as the builders need it. The reconciler reads it from its lister; the
// builders stay pure.
type GatewayService struct {
	Namespace string
	Name      string
	// Selector is the Service's spec.selector. A per-KIngress Gateway selects
	// the same pods, so its servers are configured on them.
	Selector map[string]string
}

// GatewayServiceKey is the namespace and name of a configured gateway's
// Service, parsed from its ServiceURL ("name.namespace.svc.<cluster-domain>").
func GatewayServiceKey(gw config.Gateway) (types.NamespacedName, error) {
	parts := strings.SplitN(gw.ServiceURL, ".", 3)
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return types.NamespacedName{}, fmt.Errorf("gateway %s: service %q is not a Service hostname: want <name>.<namespace>.svc.<cluster-domain>",
			gw.QualifiedName(), gw.ServiceURL)
	}
	return types.NamespacedName{Namespace: parts[1], Name: parts[0]}, nil
}

// SecretKey is "namespace/name", the key of the originSecrets maps.
func SecretKey(namespace, name string) string {
	return namespace + "/" + name
}

// NeedsIngressHTTPServer says whether ing's external plain-HTTP traffic is
// served by its own Gateway rather than by the configured external gateways:
// when ing has external TLS (the user wants SSM to own TLS and HTTP) or asks
// for an HTTPS redirect, which no shared gateway server does. When false, the
// reconciler binds ing's external rules to the configured external gateways.
func NeedsIngressHTTPServer(ing *v1alpha1.Ingress) bool {
	return isPublic(ing) && (ing.Spec.HTTPOption == v1alpha1.HTTPOptionRedirected ||
		len(ing.GetIngressTLSForVisibility(v1alpha1.IngressVisibilityExternalIP)) > 0)
}

// PublicHosts are the hosts of ing's external rules, sorted.
func PublicHosts(ing *v1alpha1.Ingress) []string {
	hosts := sets.New[string]()
	for _, rule := range ing.Spec.Rules {
		if visibilityOf(rule) == v1alpha1.IngressVisibilityExternalIP {
			hosts.Insert(rule.Hosts...)
		}
	}
	return sets.List(hosts)
}

func isPublic(ing *v1alpha1.Ingress) bool {
	return len(PublicHosts(ing)) > 0
}

// MakeExternalGateways builds ing's own external Gateways, one per external
// gateway Service: a TLS server per external IngressTLS of ing, then the HTTP
// server when NeedsIngressHTTPServer (HTTPOption Redirected makes it redirect
// to HTTPS). It returns nothing when ing needs no Gateway of its own. This is
// the composition net-istio's reconciler does inline around
// MakeIngressTLSGateways and MakeExternalIngressGateways.
func MakeExternalGateways(ing *v1alpha1.Ingress, originSecrets map[string]*corev1.Secret, services []GatewayService) ([]*v1beta1.Gateway, error) {
	var tls []v1alpha1.IngressTLS
	if isPublic(ing) {
		tls = ing.GetIngressTLSForVisibility(v1alpha1.IngressVisibilityExternalIP)
	}
	var http *istiov1beta1.Server
	if NeedsIngressHTTPServer(ing) {
		http = MakeHTTPServer(ing.Spec.HTTPOption, PublicHosts(ing))
	}
	if len(tls) == 0 && http == nil {
		return nil, nil
	}
	gateways := make([]*v1beta1.Gateway, 0, len(services))
	for _, svc := range services {
		servers, err := MakeTLSServers(ing, v1alpha1.IngressVisibilityExternalIP, tls, svc.Namespace, originSecrets)
		if err != nil {
			return nil, err
		}
		if http != nil {
			servers = append(servers, proto.Clone(http).(*istiov1beta1.Server))
		}
		gateways = append(gateways, makeGateway(ing, v1alpha1.IngressVisibilityExternalIP, svc, servers))
	}
	return gateways, nil
}

// MakeIngressTLSGateways builds, per gateway Service, a Gateway of ing that
// holds only TLS servers: one per entry of tls, on the HTTPS port of the
// visibility. No TLS, no Gateways.
func MakeIngressTLSGateways(ing *v1alpha1.Ingress, visibility v1alpha1.IngressVisibility, tls []v1alpha1.IngressTLS,
	originSecrets map[string]*corev1.Secret, services []GatewayService,
) ([]*v1beta1.Gateway, error) {
	if len(tls) == 0 {
		return nil, nil
	}
	gateways := make([]*v1beta1.Gateway, 0, len(services))
	for _, svc := range services {
		servers, err := MakeTLSServers(ing, visibility, tls, svc.Namespace, originSecrets)
		if err != nil {
			return nil, err
		}
		gateways = append(gateways, makeGateway(ing, visibility, svc, servers))
	}
	return gateways, nil
}

// MakeExternalIngressGateways builds, per external gateway Service, a Gateway
// of ing holding the given servers (each Gateway gets its own copy).
func MakeExternalIngressGateways(ing *v1alpha1.Ingress, servers []*istiov1beta1.Server, services []GatewayService) []*v1beta1.Gateway {
	gateways := make([]*v1beta1.Gateway, 0, len(services))
	for _, svc := range services {
		copied := make([]*istiov1beta1.Server, 0, len(servers))
		for _, s := range servers {
			copied = append(copied, proto.Clone(s).(*istiov1beta1.Server))
		}
		gateways = append(gateways, makeGateway(ing, v1alpha1.IngressVisibilityExternalIP, svc, copied))
	}
	return gateways
}

// MakeTLSServers builds one HTTPS server per entry of tls, in order. A
// certificate whose Secret is not in the gateway Service's namespace is read
// from its copy there (see MakeSecrets), whose origin must be in originSecrets.
//
// Every certificate, wildcard or not, gets a server on the KIngress's own
// Gateway. net-istio instead shares one Gateway per wildcard certificate
// among all KIngresses, because Istio can answer 404 when a browser reuses an
// HTTP/2 connection across hosts served by different servers with the same
// certificate; that sharing is not implemented here.
func MakeTLSServers(ing *v1alpha1.Ingress, visibility v1alpha1.IngressVisibility, tls []v1alpha1.IngressTLS,
	gatewayServiceNamespace string, originSecrets map[string]*corev1.Secret,
) ([]*istiov1beta1.Server, error) {
	var port uint32
	switch visibility {
	case v1alpha1.IngressVisibilityExternalIP:
		port = ExternalGatewayHTTPSPort
	case v1alpha1.IngressVisibilityClusterLocal:
		port = ClusterLocalGatewayHTTPSPort
	default:
		return nil, fmt.Errorf("KIngress %s/%s: visibility %q is not supported: want %s or %s",
			ing.Namespace, ing.Name, visibility, v1alpha1.IngressVisibilityExternalIP, v1alpha1.IngressVisibilityClusterLocal)
	}
	servers := make([]*istiov1beta1.Server, 0, len(tls))
	for i, t := range tls {
		credential := t.SecretName
		if t.SecretNamespace != gatewayServiceNamespace {
			if _, ok := originSecrets[SecretKey(t.SecretNamespace, t.SecretName)]; !ok {
				return nil, fmt.Errorf("KIngress %s/%s: spec.tls secret %s/%s is not among the secrets read for it",
					ing.Namespace, ing.Name, t.SecretNamespace, t.SecretName)
			}
			credential = names.TargetSecret(ing, t.SecretNamespace, t.SecretName)
		}
		servers = append(servers, &istiov1beta1.Server{
			Hosts: append([]string(nil), t.Hosts...),
			Port: &istiov1beta1.Port{
				// net-istio's "<namespace>/<name>:<index>", so that servers it
				// left on shared gateways are still recognised as this KIngress's.
				Name:     fmt.Sprintf("%s/%s:%d", ing.Namespace, ing.Name, i),
				Number:   port,
				Protocol: "HTTPS",
			},
			Tls: &istiov1beta1.ServerTLSSettings{
				Mode:           istiov1beta1.ServerTLSSettings_SIMPLE,
				CredentialName: credential,
			},
		})
	}
	return servers, nil
}

// MakeHTTPServer is the plain-HTTP server for hosts; with HTTPOption
// Redirected it answers every request with a redirect to HTTPS. An empty
// option means HTTP is disabled: nil.
func MakeHTTPServer(option v1alpha1.HTTPOption, hosts []string) *istiov1beta1.Server {
	if option == "" {
		return nil
	}
	server := &istiov1beta1.Server{
		Hosts: append([]string(nil), hosts...),
		Port: &istiov1beta1.Port{
			Name:     HTTPServerPortName,
			Number:   GatewayHTTPPort,
			Protocol: "HTTP",
		},
	}
	if option == v1alpha1.HTTPOptionRedirected {
		server.Tls = &istiov1beta1.ServerTLSSettings{HttpsRedirect: true}
	}
	return server
}

// makeGateway is ing's Gateway on the pods of svc. It lives in ing's
// namespace, so ing owns it.
func makeGateway(ing *v1alpha1.Ingress, visibility v1alpha1.IngressVisibility, svc GatewayService,
	servers []*istiov1beta1.Server,
) *v1beta1.Gateway {
	gw := &v1beta1.Gateway{
		ObjectMeta: objectMeta(ing, ing.Namespace, names.IngressGateway(ing, visibility, svc.Namespace, svc.Name)),
	}
	gw.Spec.Selector = maps.Clone(svc.Selector)
	gw.Spec.Servers = servers
	return gw
}
